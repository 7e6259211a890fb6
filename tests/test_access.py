"""The roles file: permissions per role, addresses and domains, and every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from smart101_dash.access import (
    LOCAL_ROLE_ENV,
    ROLES_ENV,
    AccessDenied,
    Permission,
    RolesFileError,
    load_roles,
    local_viewer,
    roles_file,
)
from smart101_dash.config import PACKAGE_ROOT

EXAMPLE = PACKAGE_ROOT / "docs" / "roles.example.toml"


def test_default_roles_are_written_in_the_file_not_in_code() -> None:
    roles = load_roles()
    assert roles.permissions == {
        "dsmb": frozenset(Permission), "analyst": frozenset(
            {Permission.AGGREGATE, Permission.SUBJECT_LEVEL, Permission.DOWNLOAD}),
        "sponsor": frozenset({Permission.AGGREGATE, Permission.DOWNLOAD})}
    assert roles.users == {} and roles.domains == {}  # nobody until the data office says so


def test_addresses_win_over_domains_and_case_does_not_matter() -> None:
    roles = load_roles(EXAMPLE)
    assert roles.role_of("Chair@DSMB.example.org") == "dsmb"
    assert roles.role_of("lead.analyst@cro.example.com") == "analyst"
    assert roles.role_of("anyone@sponsor.example.com") == "sponsor"
    assert roles.role_of("someone@elsewhere.example") is None
    assert roles.role_of("sponsor.example.com") is None  # not an address
    assert roles.viewer("x@elsewhere.example") is None
    viewer = roles.viewer("anyone@sponsor.example.com")
    assert viewer is not None and not viewer.can(Permission.SUBJECT_LEVEL)
    with pytest.raises(AccessDenied, match="'sponsor' does not allow the listings"):
        viewer.require(Permission.SUBJECT_LEVEL, "the listings")


@pytest.mark.parametrize(("text", "message"), [
    ("[roles.dsmb]\npermissions = ['everything']", "unknown permission"),
    ("[roles.dsmb]\ndescription = 'x'", "needs permissions"),
    ("[roles.dsmb]\npermissions = ['aggregate']\n[users]\n'a@b.c' = 'admin'",
     "undefined role 'admin'"),
    ("roles = 3", r"\[roles\] must be a table"),
    ("[roles.dsmb\n", "not valid TOML"),
])
def test_a_malformed_file_is_refused_with_its_mistake(tmp_path: Path, text: str,
                                                      message: str) -> None:
    path = tmp_path / "roles.toml"
    path.write_text(text)
    with pytest.raises(RolesFileError, match=message):
        load_roles(path)


def test_missing_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROLES_ENV, str(tmp_path / "absent.toml"))
    assert roles_file() == tmp_path / "absent.toml"
    with pytest.raises(RolesFileError, match="cannot read the roles file"):
        load_roles()


def test_local_role(monkeypatch: pytest.MonkeyPatch) -> None:
    roles = load_roles()
    monkeypatch.delenv(LOCAL_ROLE_ENV, raising=False)
    assert local_viewer(roles).role == "dsmb"
    monkeypatch.setenv(LOCAL_ROLE_ENV, "sponsor")
    assert local_viewer(roles).permissions == roles.permissions["sponsor"]
    monkeypatch.setenv(LOCAL_ROLE_ENV, "admin")
    with pytest.raises(RolesFileError, match="role 'admin' is not defined"):
        local_viewer(roles)
