"""Survival, relapse and NRM: Kaplan-Meier with risk tables, cumulative incidence, landmarks."""

from smart101_dash import ui
from smart101_dash.panels import survival

ui.run_panel(survival.build, ui.page_start())
