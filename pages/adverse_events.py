"""Adverse events (not built yet: it says so rather than show invented numbers)."""

from smart101_dash import ui

ui.page_start()
ui.not_built_yet("Adverse events", "worst CTCAE grade per patient by system organ class and preferred term, and listings of serious adverse events and deaths")
