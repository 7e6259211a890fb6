"""Who may see what: permissions, roles read from a TOML file, and the viewer of a request.

Roles are sets of permissions written in the roles file (config/roles.toml, or the file named
by $SMART101_ROLES), not in code; the code only knows the permissions themselves. Every layer
that reads data takes a `Viewer` and asks it, so a permission is enforced where data is read
(docs/access.md).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from smart101_dash.config import PACKAGE_ROOT

ROLES_ENV = "SMART101_ROLES"
LOCAL_ROLE_ENV = "SMART101_LOCAL_ROLE"
DEFAULT_ROLES_FILE = PACKAGE_ROOT / "config" / "roles.toml"
DEFAULT_LOCAL_ROLE = "dsmb"


class Permission(StrEnum):
    AGGREGATE = "aggregate"          # aggregate results on every page
    SUBJECT_LEVEL = "subject_level"  # listings, trajectories, subject IDs, subject-level files
    DOWNLOAD = "download"            # files of what a panel shows
    AUDIT = "audit"                  # the audit trail
    CLOSED_REPORT = "closed_report"  # the DSMB's closed-session report (comparisons by arm)


class AccessDenied(Exception):
    """A read or a page that the viewer's permissions do not allow."""


class RolesFileError(ValueError):
    """The roles file is missing or malformed: nobody gets access until it is fixed."""


@dataclass(frozen=True)
class Viewer:
    """Who is asking: their e-mail, role and permissions; the key of every cache they touch."""

    email: str
    role: str
    permissions: frozenset[Permission] = field(default_factory=frozenset)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission, what: str) -> None:
        if not self.can(permission):
            raise AccessDenied(f"The role {self.role!r} does not allow {what}.")


@dataclass(frozen=True)
class Roles:
    """The roles file: permissions per role, and the role of each address and domain."""

    permissions: dict[str, frozenset[Permission]]
    users: dict[str, str]
    domains: dict[str, str]
    source: Path

    def role_of(self, email: str) -> str | None:
        """The role of an e-mail address: its own entry, else its domain's, else None."""
        address = email.strip().lower()
        if address in self.users:
            return self.users[address]
        domain = address.rpartition("@")[2]
        return self.domains.get(domain) if "@" in address else None

    def viewer(self, email: str, role: str | None = None) -> Viewer | None:
        """The viewer for `email` (with `role`, or the role the file gives the address)."""
        role = role if role is not None else self.role_of(email)
        if role is None:
            return None
        if role not in self.permissions:
            raise RolesFileError(f"{self.source}: role {role!r} is not defined "
                                 f"(defined: {', '.join(sorted(self.permissions))})")
        return Viewer(email, role, self.permissions[role])


def roles_file() -> Path:
    value = os.environ.get(ROLES_ENV)
    return Path(value).expanduser().resolve() if value else DEFAULT_ROLES_FILE


def load_roles(path: Path | None = None) -> Roles:
    """Read and check a roles file; every mistake is a RolesFileError naming the entry."""
    path = path or roles_file()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RolesFileError(f"cannot read the roles file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RolesFileError(f"the roles file {path} is not valid TOML: {exc}") from None
    known = {p.value for p in Permission}
    permissions: dict[str, frozenset[Permission]] = {}
    for name, spec in _table(document, "roles", path).items():
        listed = spec.get("permissions") if isinstance(spec, dict) else None
        if not isinstance(listed, list) or not all(isinstance(p, str) for p in listed):
            raise RolesFileError(f"{path}: [roles.{name}] needs permissions = [...] (strings)")
        unknown = sorted(set(listed) - known)
        if unknown:
            raise RolesFileError(f"{path}: [roles.{name}] has unknown permission(s) "
                                 f"{', '.join(unknown)}; known: {', '.join(sorted(known))}")
        permissions[name] = frozenset(Permission(p) for p in listed)
    users = _assignments(document, "users", permissions, path)
    domains = _assignments(document, "domains", permissions, path)
    return Roles(permissions, users, domains, path)


def _table(document: dict, name: str, path: Path) -> dict:
    table = document.get(name, {})
    if not isinstance(table, dict):
        raise RolesFileError(f"{path}: [{name}] must be a table")
    return table


def _assignments(document: dict, name: str, permissions: dict[str, frozenset[Permission]],
                 path: Path) -> dict[str, str]:
    out = {}
    for who, role in _table(document, name, path).items():
        if role not in permissions:
            raise RolesFileError(f"{path}: [{name}] {who!r} has the undefined role {role!r}")
        out[who.strip().lower()] = role
    return out


def local_viewer(roles: Roles) -> Viewer:
    """The one user of local mode (no sign-in configured): the role in $SMART101_LOCAL_ROLE."""
    role = os.environ.get(LOCAL_ROLE_ENV, DEFAULT_LOCAL_ROLE).strip()
    viewer = roles.viewer("local user", role)
    assert viewer is not None  # a role was given, so viewer() returns one or raises
    return viewer
