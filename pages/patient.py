"""A patient's whole story: the SMART101 swimmer plot and one patient's timeline."""

from smart101_dash import ui

ui.panel_page("patient")
