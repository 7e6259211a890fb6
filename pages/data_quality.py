"""Data quality: what the contract check found in the loaded export."""

import streamlit as st

from smart101_dash import ui

context = ui.page_start()
st.subheader("Data quality: the export against the contract")
st.caption(f"Export folder: {context.cut.export_dir} · fingerprint {context.cut.fingerprint}. "
           "Datasets with an error are left out; warnings flag rows the panels leave out.")
ui.show_report(context.cut.report)
