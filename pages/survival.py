"""Survival, relapse and non-relapse mortality (not built yet: it says so rather than show invented numbers)."""

from smart101_dash import ui

ui.page_start()
ui.not_built_yet("Survival, relapse and non-relapse mortality", "Kaplan-Meier overall and disease-free survival with numbers at risk, 1- and 2-year landmarks, and the cumulative incidence of relapse and NRM")
