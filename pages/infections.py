"""Infections through 24 months: episodes by category and grade, density, first infection, MCC."""

from smart101_dash import ui

ui.panel_page("infections")
