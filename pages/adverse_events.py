"""Adverse events: worst CTCAE grade per patient, by SOC and PT; SAE and death listings."""

from functools import partial

import streamlit as st

from smart101_dash import ui
from smart101_dash.panels import adverse_events

context = ui.page_start()
windows = {"Through day 100 (primary outcome)": context.settings.endpoints.ae_window_days,
           "Through 24 months (day 730)": context.settings.endpoints.follow_up_days}
choice = st.radio("Window", list(windows), horizontal=True, key="ae_window")
ui.run_panel(partial(adverse_events.build, window_days=windows[choice]), context)
