"""CD4+ reconstitution: CD4+ counts over time, the day-100 table, the cumulative incidence of
CD4+IR (death competing) and the other lymphocyte subsets, SMART101 against control."""

from functools import partial

import streamlit as st

from smart101_dash import ui
from smart101_dash.panels import cd4_reconstitution

context = ui.page_start()
ep = context.settings.endpoints
# The widgets start at the settings, so untouched they give the `tables` command's numbers.
definition, view = st.columns([3, 2])
with definition:
    threshold_col, inclusive_col, window_col = st.columns(3)
    threshold = threshold_col.number_input(
        "CD4+IR threshold (cells/uL)", min_value=0.0, max_value=2000.0,
        value=float(ep.cd4_threshold_cells_per_ul), step=10.0, key="cd4_threshold",
        help="Two consecutive CD4 counts above this value define CD4+ immune reconstitution.")
    inclusive = inclusive_col.checkbox(
        "Inclusive (>=)", value=ep.cd4_threshold_inclusive,
        key="cd4_inclusive", help="van Roessel 2020 writes 'above 50'; Admiraal 2015 '>= 50'.")
    window = window_col.number_input(
        "CD4+IR window (days)", min_value=1, max_value=ep.follow_up_days,
        value=ep.cd4_window_days, step=10, key="cd4_window")
with view:
    log_axis = st.toggle("Log axis", value=False, key="cd4_log_axis")
    trajectories = st.toggle("Patient trajectories", value=False, key="cd4_trajectories")

ui.run_panel(partial(cd4_reconstitution.build, threshold_cells_per_ul=float(threshold),
                     threshold_inclusive=bool(inclusive), window_days=int(window),
                     log_axis=log_axis, trajectories=trajectories), context)
