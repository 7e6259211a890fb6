"""Engraftment (neutrophil and platelet recovery), graft failure, and GvHD-free relapse-free
survival (GRFS): the transplant endpoints a DSMB reads first.

Recovery and graft-failure dates come from adsl (ANCRDT, PLTRDT, GFDT); a neutrophil recovery
date can also be derived from daily ANC counts (`neutrophil_recovery_dates`) when the export
has no ANCRDT. Definitions: docs/endpoints.md (CIBMTR conventions).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints._frame import (
    EndpointInputError,
    as_dates,
    event_or_competing,
    first_day,
    follow_up,
    horizon_days,
    require,
    result,
    transplant_day,
)
from smart101_dash.endpoints.gvhd import CGVHD_LEVELS, acute_grade

ANC_RECOVERY_PER_UL = 500.0  # neutrophils, cells/uL
RECOVERY_RUN = 3  # consecutive measurements at or above the level
ChronicEvent = Literal["systemic", "moderate_severe"]


def _dated_day(adsl: pd.DataFrame, base: pd.DataFrame, column: str) -> np.ndarray:
    """Each subject's day of `column` on day 0..end of follow-up, else NaN.

    `base` (`follow_up`) holds adsl's transplanted rows in adsl's order: the days line up
    without a merge (100,000 subjects: a merge per date column costs more than the rest).
    """
    hsct = as_dates(adsl["HSCTDT"])
    transplanted = hsct.notna().to_numpy()
    day = transplant_day(adsl.loc[transplanted, column], hsct[transplanted]).to_numpy()
    end = base["end_day"].to_numpy()
    return np.where((day >= 0) & (day <= end), day, np.nan)


def _graft_failure_day(adsl: pd.DataFrame, base: pd.DataFrame) -> np.ndarray:
    if "GFDT" not in adsl.columns:
        return np.full(len(base), np.nan)
    return _dated_day(adsl, base, "GFDT")


def _recovery(adsl: pd.DataFrame, settings: EndpointSettings, column: str) -> pd.DataFrame:
    require(adsl, "adsl", (column,))
    base = follow_up(adsl)
    event = _dated_day(adsl, base, column)
    competing = np.fmin(base["death_day"].to_numpy(), _graft_failure_day(adsl, base))
    return event_or_competing(base, event, competing, horizon_days(settings))


def neutrophil_engraftment(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Neutrophil engraftment (NEUTR): recovery at ANCRDT (first of three consecutive days with
    ANC >= 500/uL) is the event (1). Death or graft failure before it competes (2), at the
    earlier of the two; a recovery on the day of either counts as recovery (it was observed),
    and a recovery after graft failure does not count (the failure came first). Censored (0)
    at last known alive or the cut-off. Cumulative incidence endpoint.
    """
    return _recovery(adsl, settings, "ANCRDT")


def platelet_engraftment(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Platelet engraftment (PLTR): recovery at PLTRDT (first of three consecutive days with
    platelets >= 20,000/uL without a transfusion in the 7 days before); death or graft failure
    competing, as `neutrophil_engraftment`."""
    return _recovery(adsl, settings, "PLTRDT")


def graft_failure(adsl: pd.DataFrame, settings: EndpointSettings) -> pd.DataFrame:
    """Graft failure (GF), primary or secondary: GFDT is the event (1), death without it
    competes (2); a failure on the day of death counts as failure. Censored (0) at last known
    alive or the cut-off. Cumulative incidence endpoint."""
    require(adsl, "adsl", ("GFDT",))
    base = follow_up(adsl)
    return event_or_competing(base, _graft_failure_day(adsl, base),
                              base["death_day"].to_numpy(), horizon_days(settings))


def gvhd_relapse_free_survival(adsl: pd.DataFrame, adgvhd: pd.DataFrame,
                               settings: EndpointSettings, *,
                               chronic: ChronicEvent = "systemic") -> pd.DataFrame:
    """GvHD-free relapse-free survival (GRFS, Holtan et al. 2015; BMT CTN): the first of grade
    III-IV acute GvHD (MAGIC, any day of follow-up), chronic GvHD needing systemic
    immunosuppression (CGVHDIST = Y; `chronic="moderate_severe"`: moderate or severe chronic
    GvHD instead, the usual proxy when CGVHDIST is not recorded), relapse, or death is the
    event (1). Censored (0) at last known alive or the cut-off. Kaplan-Meier endpoint.
    """
    require(adgvhd, "adgvhd", ("USUBJID", "ADT", "AGVHDGR", "CGVHDSEV"))
    if chronic not in ("systemic", "moderate_severe"):
        raise EndpointInputError(f"chronic must be 'systemic' or 'moderate_severe', got "
                                 f"{chronic!r}")
    base = follow_up(adsl)
    acute = adgvhd.loc[(acute_grade(adgvhd) >= 3).to_numpy()]
    if chronic == "systemic":
        require(adgvhd, "adgvhd", ("CGVHDIST",))
        chronic_rows = adgvhd.loc[adgvhd["CGVHDIST"].eq("Y").fillna(False).to_numpy(bool)]
    else:
        chronic_rows = adgvhd.loc[adgvhd["CGVHDSEV"].isin(
            CGVHD_LEVELS["moderate_severe"]).to_numpy()]
    first = np.fmin.reduce([first_day(acute, base, "ADT"), first_day(chronic_rows, base, "ADT"),
                            base["relapse_day"].to_numpy(), base["death_day"].to_numpy()])
    event = ~np.isnan(first)
    time = np.where(event, first, base["end_day"].to_numpy())
    return result(base, time, event.astype(int), horizon_days(settings))


def neutrophil_recovery_dates(anc: pd.DataFrame, adsl: pd.DataFrame) -> pd.Series:
    """ANCRDT derived from daily ANC counts (adlb PARAMCD "ANC"): per transplanted subject, the
    first of three consecutive measurements (on different days, several on one day counting
    as their mean) with ANC >= 500/uL, after the nadir (the first count below 500 from day 0;
    from day 0 when none is below). NaT when there is no such run. Indexed by USUBJID.
    """
    require(anc, "adlb", ("USUBJID", "ADT", "AVAL"))
    require(adsl, "adsl", ("USUBJID", "HSCTDT"))
    hsct = adsl.assign(HSCTDT=as_dates(adsl["HSCTDT"]))[["USUBJID", "HSCTDT"]]
    hsct = hsct[hsct["HSCTDT"].notna()]
    lab = anc[["USUBJID", "ADT", "AVAL"]].assign(ADT=as_dates(anc["ADT"]),
                                                   AVAL=pd.to_numeric(anc["AVAL"], errors="coerce"))
    lab = lab.merge(hsct, on="USUBJID", how="inner")
    lab = lab[lab["AVAL"].notna() & lab["ADT"].notna() & (lab["ADT"] >= lab["HSCTDT"])]
    daily = lab.groupby(["USUBJID", "ADT"], as_index=False)["AVAL"].mean()
    daily = daily.sort_values(["USUBJID", "ADT"], kind="stable").reset_index(drop=True)
    subject = daily["USUBJID"]
    above = (daily["AVAL"] >= ANC_RECOVERY_PER_UL).to_numpy()
    # After the nadir: from the first count below the level (every count if none is below).
    below_seen = pd.Series(~above).groupby(subject).cummax().to_numpy(bool)
    never_below = ~pd.Series(~above).groupby(subject).transform("any").to_numpy(bool)
    eligible = above & (below_seen | never_below)
    run = pd.Series(eligible)
    starts = run.copy()
    for ahead in range(1, RECOVERY_RUN):
        starts &= run.groupby(subject).shift(-ahead, fill_value=False).astype(bool)
    first = daily.loc[starts.to_numpy()].groupby("USUBJID")["ADT"].min()
    # reindex, not map: map fails on an empty datetime Series (nobody recovered).
    dates = pd.to_datetime(first).reindex(hsct["USUBJID"].to_numpy())
    return pd.Series(dates.to_numpy(), index=hsct["USUBJID"].to_numpy(), name="ANCRDT")
