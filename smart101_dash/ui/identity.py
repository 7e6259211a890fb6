"""Who is looking, and which pages they get: sign-in, roles, local mode, the audit records.

With an `[auth]` section in .streamlit/secrets.toml the app signs users in through OpenID
Connect (`st.login`) and gives each the role the roles file maps their e-mail to. Without it,
the app runs in local mode: one user, the role in $SMART101_LOCAL_ROLE, a visible warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from smart101_dash.access import (
    Permission,
    RolesFileError,
    Viewer,
    load_roles,
    local_viewer,
)
from smart101_dash.audit import Action, AuditError, AuditLog, audit_dir
from smart101_dash.config import data_dir
from smart101_dash.safe_text import escape_markdown


@dataclass(frozen=True)
class Visitor:
    """The person at the browser: a viewer with a role, or why they have none."""

    viewer: Viewer | None = None
    email: str | None = None  # signed in (or local) but perhaps without a role
    local: bool = False
    problem: str = ""  # a configuration error: nobody gets in until it is fixed


def auth_configured() -> bool:
    """An [auth] section in the secrets: OpenID Connect sign-in is on."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all  # noqa: BLE001
        return False


def identify() -> Visitor:
    """Resolve the session's user and role (fail closed on any configuration error)."""
    try:
        roles = load_roles()
        if not auth_configured():
            return Visitor(local_viewer(roles), "local user", local=True)
        if not st.user.get("is_logged_in"):
            return Visitor()
        email = str(st.user.get("email") or "")
        return Visitor(roles.viewer(email) if email else None, email or "(no e-mail claim)")
    except RolesFileError as exc:
        return Visitor(problem=str(exc))


def audit_log() -> AuditLog:
    return AuditLog(audit_dir(), export_dir=data_dir())


def record(viewer: Viewer, action: Action, **fields: object) -> None:
    """Append to the audit trail; a trail that cannot be written stops the page (fail closed)."""
    try:
        audit_log().append(viewer, action, **fields)  # type: ignore[arg-type]
    except AuditError as exc:
        st.error("The audit trail cannot be written, so no data is shown: "
                 + escape_markdown(exc))
        st.stop()


def record_sign_in(visitor: Visitor) -> None:
    """One sign-in record per session and user."""
    if visitor.viewer is None:
        return
    if st.session_state.get("_audit_signed_in") != visitor.viewer.email:
        st.session_state["_audit_signed_in"] = visitor.viewer.email
        record(visitor.viewer, Action.SIGN_IN,
               detail="local mode" if visitor.local else "OpenID Connect")


def sign_out(viewer: Viewer) -> None:
    record(viewer, Action.SIGN_OUT)
    st.session_state.pop("_audit_signed_in", None)
    st.logout()


def sign_in_page() -> None:
    from smart101_dash.ui.shared_view import remember_link_for_sign_in  # ui/page imports us

    remember_link_for_sign_in()  # the view of the link opened, shown after sign-in
    st.title("Smart-101 outcomes", anchor=False)
    st.write("This dashboard shows the outcomes of a running clinical trial. Sign in with your "
             "organisation's account to continue; what you may see depends on the role the "
             "trial's data office has given you.")
    if st.button("Sign in", type="primary", key="sign_in"):
        st.login()


def no_access_page(visitor: Visitor) -> Callable[[], None]:
    def page() -> None:
        st.title("No access", anchor=False)
        st.error(f"You are signed in as {escape_markdown(visitor.email)}, which has no role in "
                 "this dashboard. Ask the trial's data office for access.")
        if st.button("Sign out", key="sign_out_no_role"):
            st.logout()
    return page


def configuration_problem_page(problem: str) -> Callable[[], None]:
    def page() -> None:
        st.title("Not available", anchor=False)
        st.error("The dashboard's access configuration is broken, so nobody can sign in "
                 "until it is fixed: " + escape_markdown(problem))
    return page


def sidebar_identity(visitor: Visitor) -> None:
    """Who is signed in, with what role; sign out; or the local-mode warning."""
    viewer = visitor.viewer
    assert viewer is not None
    if visitor.local:
        st.sidebar.caption(f"Local mode · role {escape_markdown(viewer.role)}")
        return
    st.sidebar.caption(f"Signed in as {escape_markdown(viewer.email)} · role "
                       f"{escape_markdown(viewer.role)}")
    if st.sidebar.button("Sign out", key="sign_out"):
        sign_out(viewer)


def local_mode_warning(visitor: Visitor) -> None:
    if visitor.local:
        st.warning("Local mode: not for shared use. No sign-in is configured; everyone who "
                   "reaches this address is the one local user. docs/access.md says how to "
                   "serve it to others.", icon=":material/lock_open:")


def may(visitor: Visitor, permission: Permission) -> bool:
    return visitor.viewer is not None and visitor.viewer.can(permission)
