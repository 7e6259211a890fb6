"""Overview: enrollment against target, enrollment status, baseline characteristics."""

from smart101_dash import ui
from smart101_dash.panels import overview

ui.run_panel(overview.build, ui.page_start())
