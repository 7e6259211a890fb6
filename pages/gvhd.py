"""GvHD: maximum acute grade by day 100, acute and chronic GvHD cumulative incidence."""

from smart101_dash import ui

ui.panel_page("gvhd")
