"""Infections: the first episode (overall or by category) and all episodes for rates and MCC."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings
from smart101_dash.contract import INFECTION_CATEGORIES
from smart101_dash.endpoints._frame import (
    EndpointInputError,
    event_or_competing,
    first_day,
    follow_up,
    horizon_days,
    require,
    result,
    transplant_day,
)


def _episodes_of(adinf: pd.DataFrame, category: str | None) -> pd.DataFrame:
    require(adinf, "adinf", ("USUBJID", "ASTDT", "INFCAT"))
    if category is None:
        return adinf
    if category not in INFECTION_CATEGORIES:
        raise EndpointInputError(f"category must be one of {INFECTION_CATEGORIES}, got "
                                 f"{category!r}")
    return adinf.loc[adinf["INFCAT"].eq(category).to_numpy()]


def first_infection(
    adsl: pd.DataFrame,
    adinf: pd.DataFrame,
    settings: EndpointSettings,
    *,
    category: str | None = None,
    window_days: int | None = None,
) -> pd.DataFrame:
    """First infection episode (any, or of one INFCAT: BACTERIAL, VIRAL, FUNGAL, OTHER).

    Event (1): onset (ASTDT) of the first episode on day 0 or later. Death without one
    competes (2). Censored (0) at last known alive, cut-off, horizon or `window_days`.
    An onset on the day of death counts as the infection.
    """
    base = follow_up(adsl)
    horizon = horizon_days(settings, window_days)
    event = first_day(_episodes_of(adinf, category), base, "ASTDT", np.full(len(base), horizon))
    return event_or_competing(base, event, base["death_day"].to_numpy(), horizon)


@dataclass(frozen=True)
class InfectionEpisodes:
    """Episodes within follow-up, and each subject's time at risk.

    `subjects`: USUBJID, time (days at risk from day 0 to the end of follow-up), status
    (0 alive at the end of follow-up, 2 died: the terminal event), n_episodes.
    `episodes`: USUBJID, day (onset, transplant day) and the adinf columns present among
    INFSEQ, INFCAT, PATHOGEN, INFSITE, INFSEV, VIRREACT; sorted by subject and day.
    """

    subjects: pd.DataFrame
    episodes: pd.DataFrame

    @property
    def patient_days(self) -> int:
        return int(self.subjects["time"].sum())


def infection_episodes(
    adsl: pd.DataFrame,
    adinf: pd.DataFrame,
    settings: EndpointSettings,
    *,
    category: str | None = None,
    window_days: int | None = None,
) -> InfectionEpisodes:
    """Every infection episode with onset on day 0..end of follow-up (death, last known alive,
    cut-off, horizon or `window_days`), for infection density (episodes per 100 patient-days,
    exact Poisson interval) and the mean cumulative count (Ghosh & Lin 2000).

    Time at risk runs from day 0 to the end of follow-up; several episodes on one day all
    count. Episodes outside follow-up are left out.
    """
    base = follow_up(adsl)
    horizon = horizon_days(settings, window_days)
    died = ~np.isnan(base["death_day"].to_numpy())
    subjects = result(base, base["end_day"].to_numpy(), np.where(died, 2, 0), horizon)
    keep = [c for c in ("INFSEQ", "INFCAT", "PATHOGEN", "INFSITE", "INFSEV", "VIRREACT")
            if c in adinf.columns]
    eps = _episodes_of(adinf, category)[["USUBJID", "ASTDT", *keep]].merge(
        base[["USUBJID", "HSCTDT"]], on="USUBJID", how="inner")
    eps["day"] = transplant_day(eps["ASTDT"], eps["HSCTDT"])
    eps = eps.merge(subjects[["USUBJID", "time"]], on="USUBJID")
    eps = eps[(eps["day"] >= 0) & (eps["day"] <= eps["time"])]
    eps = eps.assign(day=eps["day"].astype(np.int64)).sort_values(["USUBJID", "day"],
                                                                   kind="stable")
    episodes = eps[["USUBJID", "day", *keep]].reset_index(drop=True)
    counts = episodes.groupby("USUBJID").size()
    subjects["n_episodes"] = subjects["USUBJID"].map(counts).fillna(0).astype(np.int64)
    return InfectionEpisodes(subjects=subjects, episodes=episodes)
