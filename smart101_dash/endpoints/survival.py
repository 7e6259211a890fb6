"""Overall and disease-free survival, relapse and non-relapse mortality, from ADSL alone."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints._frame import follow_up, horizon_days, result


def overall_survival(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Overall survival: death from any cause (status 1) at DTHDT; else censored (0) at the
    last day known alive (LSTALVDT), the data cut-off or the follow-up horizon, whichever
    comes first. Kaplan-Meier endpoint; one row per transplanted subject: USUBJID, time,
    status. A death after the cut-off is ignored (the subject is censored at the cut-off).
    """
    base = follow_up(adsl)
    died = ~np.isnan(base["death_day"].to_numpy())
    return result(base, base["end_day"].to_numpy(), died.astype(int), horizon_days(settings))


def disease_free_survival(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Disease-free survival: relapse (RLPSDT) or death from any cause (DTHDT), whichever
    comes first, is the event (status 1); else censored (0) at last known alive, cut-off or
    horizon. Kaplan-Meier endpoint.
    """
    base = follow_up(adsl)
    first = np.fmin(base["relapse_day"].to_numpy(), base["death_day"].to_numpy())
    event = ~np.isnan(first)
    time = np.where(event, first, base["end_day"].to_numpy())
    return result(base, time, event.astype(int), horizon_days(settings))


def _relapse_or_death(adsl: pd.DataFrame, settings: EndpointSettings, relapse_code: int
                      ) -> pd.DataFrame:
    base = follow_up(adsl)
    rel, death = base["relapse_day"].to_numpy(), base["death_day"].to_numpy()
    relapsed = ~np.isnan(rel)  # follow_up keeps a relapse only on or before death
    died_first = ~relapsed & ~np.isnan(death)
    time = np.where(relapsed, rel, np.where(died_first, death, base["end_day"].to_numpy()))
    status = np.where(relapsed, relapse_code, np.where(died_first, 3 - relapse_code, 0))
    return result(base, time, status, horizon_days(settings))


def relapse(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Relapse (status 1 at RLPSDT), with death without prior relapse competing (status 2).

    A death on the day of relapse counts as relapse (the relapse is taken to come first, the
    usual convention, so the death is relapse-related, not NRM). Censored (0) otherwise.
    Cumulative incidence endpoint (Aalen-Johansen; Gray's test).
    """
    return _relapse_or_death(adsl, settings, relapse_code=1)


def non_relapse_mortality(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Non-relapse mortality: death without prior relapse (status 1), with relapse competing
    (status 2, at RLPSDT). A death on the day of relapse is not NRM: relapse (status 2) on
    that day. The mirror image of `relapse`: status 1 and 2 swap, times are equal.
    """
    return _relapse_or_death(adsl, settings, relapse_code=2)
