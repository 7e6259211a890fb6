"""Infections (not built yet: it says so rather than show invented numbers)."""

from smart101_dash import ui

ui.page_start()
ui.not_built_yet("Infections", "infection episodes by category and grade, infection density and the cumulative incidence of the first infection")
