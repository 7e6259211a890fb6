"""Since the last cut: new subjects and events, re-adjudicated and removed records, estimates then and now."""

from smart101_dash import ui

ui.panel_page("changes")
