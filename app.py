"""Smart-101 outcomes dashboard: the entry point (`streamlit run app.py`).

Decides who is looking (sign-in or local mode) and lists only the pages they may see: the
sign-in page alone for an anonymous visitor, "no access" for a user without a role, else every
panel's page (from the panel registry), Data quality and, with the audit permission, Audit.
st.navigation is always called, so only the listed pages are ever served.
"""

from __future__ import annotations

import streamlit as st

from smart101_dash.panels.registry import PANELS
from smart101_dash.ui import identity, review_pages
from smart101_dash.ui.page import run_navigation

st.set_page_config(page_title="Smart-101 outcomes", page_icon=":bar_chart:", layout="wide")

visitor = identity.identify()
if visitor.problem:
    pages = [st.Page(identity.configuration_problem_page(visitor.problem), title="Not available",
                     url_path="not-available", default=True)]
elif visitor.email is None:
    # The sign-in page at every page's address too (not listed): a link to a page opens on
    # the sign-in page, not on Streamlit's "page not found", and is followed after sign-in.
    pages = [st.Page(identity.sign_in_page, title="Sign in", url_path="sign-in", default=True)]
    pages += [st.Page(identity.sign_in_page, title="Sign in", url_path=key) for key in
              (*(panel.key for panel in PANELS), "data_quality", "reports", "audit")]
elif visitor.viewer is None:
    pages = [st.Page(identity.no_access_page(visitor), title="No access", url_path="no-access",
                     default=True)]
else:
    identity.record_sign_in(visitor)
    identity.sidebar_identity(visitor)
    identity.local_mode_warning(visitor)
    # A page whose every item is subject-level (the patient's story) is listed only for a
    # role that may see one; for others its URL is "not found", as the Audit page's is.
    pages = [st.Page(f"pages/{panel.key}.py", title=panel.title, icon=panel.icon,
                     default=i == 0) for i, panel in enumerate(PANELS)
             if panel.allowed_items(visitor.viewer)]
    pages.append(st.Page("pages/data_quality.py", title="Data quality",
                         icon=":material/fact_check:"))
    pages.append(st.Page("pages/reports.py", title="Reports", icon=":material/print:"))
    if review_pages.may_audit(visitor.viewer):
        pages.append(st.Page("pages/audit.py", title="Audit", icon=":material/policy:"))

run_navigation(visitor, pages, listed=visitor.email is not None or visitor.problem is not None)
