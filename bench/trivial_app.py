"""The framework's own floor for the page benchmark: one radio and one Plotly chart."""

import plotly.graph_objects as go
import streamlit as st

choice = st.radio("Arm", ["Both arms", "Group A (adults)", "Group B (pediatric)"])
n = {"Both arms": 30, "Group A (adults)": 20, "Group B (pediatric)": 10}[choice]
st.plotly_chart(go.Figure(go.Scatter(x=list(range(n)), y=[i * i for i in range(n)])))
