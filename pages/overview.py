"""Overview: enrollment against target, enrollment status, baseline characteristics."""

from smart101_dash import ui

ui.panel_page("overview")
