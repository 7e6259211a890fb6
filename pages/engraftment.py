"""Engraftment and graft failure: neutrophil and platelet recovery, primary and secondary graft
failure."""

from smart101_dash import ui

ui.panel_page("engraftment")
