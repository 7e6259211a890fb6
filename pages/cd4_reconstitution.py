"""CD4+ reconstitution (not built yet: it says so rather than show invented numbers)."""

from smart101_dash import ui

ui.page_start()
ui.not_built_yet("CD4+ reconstitution", "CD4+ counts over time by cohort, the day-100 table and the cumulative incidence of CD4+ reconstitution")
