"""Causes of death: relapse-related or not, and the non-relapse cause, by period."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints._frame import follow_up, require

RELAPSE = "Relapse"
NOT_GIVEN = "Not given"
OTHER = "Other"
EARLY_DAYS = 100  # the period boundary: day 0-100, later
PERIODS = (f"day 0-{EARLY_DAYS}", f"after day {EARLY_DAYS}")


def death_cause_categories(settings: EndpointSettings) -> tuple[str, ...]:
    """Every category in the order tables show them: relapse, then the non-relapse causes."""
    named = tuple(c for c, _ in settings.death_cause_patterns if c != RELAPSE)
    return (RELAPSE, *named, OTHER, NOT_GIVEN)


def classify_cause(text: object, relapsed: bool, settings: EndpointSettings) -> str:
    """The category of one death: relapse-related when the patient relapsed on or before the
    death (or the cause names the disease), else the first matching pattern of
    settings.death_cause_patterns, "Other" if none matches, "Not given" without a cause."""
    cause = "" if text is None or pd.isna(text) else str(text)  # type: ignore[arg-type]
    if relapsed:
        return RELAPSE
    if not cause.strip():
        return NOT_GIVEN
    for category, pattern in settings.death_cause_patterns:
        if re.search(pattern, cause, flags=re.IGNORECASE):
            return category
    return OTHER


def death_causes(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """One row per transplanted subject who died on day 0..cut-off (the deaths OS counts):
    USUBJID, day, period ("day 0-100" or "after day 100"), relapse_related, category, DTHCAUS
    (as given). A death dated before the transplant or after the cut-off is not here.
    """
    require(adsl, "adsl", ("USUBJID", "DTHCAUS"))
    base = follow_up(adsl)
    died = ~np.isnan(base["death_day"].to_numpy())
    base = base.loc[died]
    cause = base["USUBJID"].map(adsl.set_index("USUBJID")["DTHCAUS"])
    relapsed = ~np.isnan(base["relapse_day"].to_numpy())
    category = [classify_cause(c, r, settings) for c, r in zip(cause, relapsed, strict=True)]
    day = base["death_day"].to_numpy().astype(np.int64)
    return pd.DataFrame({
        "USUBJID": base["USUBJID"].to_numpy(), "day": day,
        "period": np.where(day <= EARLY_DAYS, *PERIODS),
        "relapse_related": np.asarray(category) == RELAPSE,
        "category": category, "DTHCAUS": cause.to_numpy(dtype=object)})
