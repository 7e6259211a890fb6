"""Survival, relapse and NRM: Kaplan-Meier with risk tables, cumulative incidence, landmarks."""

from smart101_dash import ui

ui.panel_page("survival")
