"""GvHD (not built yet: it says so rather than show invented numbers)."""

from smart101_dash import ui

ui.page_start()
ui.not_built_yet("GvHD", "maximum acute GvHD grade by day 100 and the cumulative incidence of acute and chronic GvHD")
