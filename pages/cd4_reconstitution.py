"""CD4+ reconstitution: CD4+ counts over time, the day-100 table, the cumulative incidence of
CD4+IR (death competing) and the other lymphocyte subsets, SMART101 against control."""

from smart101_dash import ui

ui.panel_page("cd4_reconstitution")
