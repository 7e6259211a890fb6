"""Infections through 24 months: episodes by category and grade, density, first infection, MCC."""

from functools import partial

import streamlit as st

from smart101_dash import ui
from smart101_dash.panels import infections

context = ui.page_start()
# The first choice, "ALL", is build's default: the `tables` command writes the same numbers.
category = st.selectbox("First infection: category", infections.CATEGORIES, index=0,
                        key="inf_category",
                        help="The category of the cumulative-incidence curve; the tables cover "
                             "every category.")
ui.run_panel(partial(infections.build, category=category), context)
