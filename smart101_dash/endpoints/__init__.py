"""Endpoint derivations: pure functions from the export's datasets to one row per subject.

Each returns USUBJID, time (days from HSCTDT, day 0 included) and status (0 censored, 1 the
event, 2 the competing event), for transplanted subjects only. No Streamlit, no DuckDB: they
take pandas DataFrames with the contract's column names and an EndpointSettings.
Definitions and conventions: docs/endpoints.md.
"""

from smart101_dash.endpoints._frame import EndpointInputError, transplant_day
from smart101_dash.endpoints.deaths import death_cause_categories, death_causes
from smart101_dash.endpoints.definitions import definition
from smart101_dash.endpoints.engraftment import (
    graft_failure,
    gvhd_relapse_free_survival,
    neutrophil_engraftment,
    neutrophil_recovery_dates,
    platelet_engraftment,
)
from smart101_dash.endpoints.gvhd import acute_grade, acute_gvhd, acute_gvhd_grade, chronic_gvhd
from smart101_dash.endpoints.immune import (
    LYMPHOCYTE_ORDER,
    cd4_reconstitution,
)
from smart101_dash.endpoints.infections import (
    InfectionEpisodes,
    first_infection,
    infection_episodes,
)
from smart101_dash.endpoints.survival import (
    disease_free_survival,
    non_relapse_mortality,
    overall_survival,
    relapse,
)

__all__ = [
    "LYMPHOCYTE_ORDER",
    "EndpointInputError",
    "InfectionEpisodes",
    "acute_grade",
    "acute_gvhd",
    "acute_gvhd_grade",
    "cd4_reconstitution",
    "chronic_gvhd",
    "death_cause_categories",
    "death_causes",
    "definition",
    "disease_free_survival",
    "first_infection",
    "graft_failure",
    "gvhd_relapse_free_survival",
    "infection_episodes",
    "neutrophil_engraftment",
    "neutrophil_recovery_dates",
    "non_relapse_mortality",
    "overall_survival",
    "platelet_engraftment",
    "relapse",
    "transplant_day",
]
