"""Smart-101 outcomes dashboard: the entry point (`streamlit run app.py`).

Lists the pages and runs the one the user chose; each page begins with `ui.page_start()` (export,
filters, banner). st.navigation is always called so that only the listed pages are ever served.
"""

from __future__ import annotations

import streamlit as st

from smart101_dash import ui

st.set_page_config(page_title="Smart-101 outcomes", page_icon=":bar_chart:", layout="wide")

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/groups:", default=True),
    st.Page("pages/cd4_reconstitution.py", title="CD4+ reconstitution",
            icon=":material/monitoring:"),
    st.Page("pages/gvhd.py", title="GvHD", icon=":material/healing:"),
    st.Page("pages/infections.py", title="Infections", icon=":material/coronavirus:"),
    st.Page("pages/adverse_events.py", title="Adverse events", icon=":material/warning:"),
    st.Page("pages/survival.py", title="Survival, relapse and NRM", icon=":material/timeline:"),
    st.Page("pages/data_quality.py", title="Data quality", icon=":material/fact_check:"),
]

ui.run_navigation(PAGES)
