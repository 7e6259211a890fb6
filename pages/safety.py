"""Safety summary: exposure, deaths, serious and severe events, stopping rules, changes."""

from smart101_dash import ui

ui.panel_page("safety")
