"""The safety stopping rules of the protocol and their status on this cut."""

from smart101_dash import ui

ui.panel_page("stopping_rules")
