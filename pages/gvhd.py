"""GvHD: maximum acute grade by day 100, acute and chronic GvHD cumulative incidence."""

from smart101_dash import ui
from smart101_dash.panels import gvhd

ui.run_panel(gvhd.build, ui.page_start())
