"""A second floor for the page benchmark: the trivial page's radio and chart inside a copy of
the app's frame (a sidebar listing 14 pages, with a cut picker, the Cohort multiselect, the Arm
radio, the closed "More filters" expander and a toggle; a title and two lines of banner). What a click costs the
browser for the frame alone, before any panel: the app cannot draw a page for less."""

from datetime import date

import plotly.graph_objects as go
import streamlit as st

st.set_page_config(page_title="Frame", layout="wide")
ARMS = {"Both arms": 30, "Group A (adults)": 20, "Group B (pediatric)": 10}


def page() -> None:
    sidebar = st.sidebar
    sidebar.caption("Local mode · role dsmb")
    sidebar.selectbox("Data cut", ["2026-10-31 (newest)", "2026-06-30"])
    sidebar.header("Filters", anchor=False)
    sidebar.multiselect("Cohort", ["SMART101", "CONTROL"], default=["SMART101", "CONTROL"])
    choice = sidebar.radio("Arm", list(ARMS))
    more = sidebar.expander("More filters", key="more", on_change="rerun")
    if more.open:  # as in the app: drawn only while open (closed in the benchmark)
        for label in ("Age group", "Diagnosis", "Disease status", "Donor type"):
            more.multiselect(label, ["A", "B", "C"])
        more.date_input("Enrollment period", (date(2022, 1, 1), date(2026, 10, 31)))
    sidebar.toggle("Print view")
    st.title("Smart-101 outcomes", anchor=False)
    st.markdown(f"**SMART101-01** · data cut-off **2026-10-31** · filters: {choice}")
    st.markdown("SMART101: 36 enrolled · CONTROL: 150 enrolled")
    n = ARMS[choice]
    st.plotly_chart(go.Figure(go.Scatter(x=list(range(n)), y=[i * i for i in range(n)])))


pages = [st.Page(page, title="Overview", url_path="overview", default=True)]
pages += [st.Page(lambda: None, title=f"Page {i}", url_path=f"page{i}",
                  icon=":material/monitoring:") for i in range(1, 14)]
st.navigation(pages, expanded=True).run()
