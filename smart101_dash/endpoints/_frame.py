"""Shared steps of every derivation: transplant days, each subject's follow-up, the output frame.

Conventions (docs/endpoints.md): day 0 is HSCTDT and exists; subjects without HSCTDT are left
out; everything is censored at the data cut-off (DCUTDT) and, if the settings say so, at the
follow-up horizon; event dates before day 0 or after the subject's end of follow-up are
ignored.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings

OUTPUT_COLUMNS = ("USUBJID", "time", "status")


class EndpointInputError(ValueError):
    """A dataset given to a derivation lacks a column it needs; the message names it."""


def require(df: pd.DataFrame, name: str, columns: Iterable[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise EndpointInputError(f"{name} lacks column(s) {', '.join(missing)}")


def as_dates(values: pd.Series) -> pd.Series:
    """Dates from datetime64, python `date`/`datetime` objects, strings or None, as datetime64."""
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def transplant_day(dates: pd.Series, hsctdt: pd.Series) -> pd.Series:
    """Days from the transplant: HSCTDT is day 0, the next day day 1, the day before day -1.

    Unlike CDISC's ADY there is a day 0 (transplant convention). Missing dates give NaN.
    """
    return (as_dates(dates) - as_dates(hsctdt)).dt.days.astype("float64")


def horizon_days(settings: EndpointSettings, window_days: float | None = None) -> float:
    """The day after which everything is censored: the window, and the follow-up horizon if on."""
    limit = float(settings.follow_up_days) if settings.censor_at_follow_up else np.inf
    return min(limit, float(window_days)) if window_days is not None else limit


def follow_up(adsl: pd.DataFrame) -> pd.DataFrame:
    """One row per transplanted subject: USUBJID, HSCTDT, end_day, death_day, relapse_day.

    cut-off day: the subject's DCUTDT, or the export's latest if missing (no cut-off if none).
    death_day: DTHDT on day 0..cut-off (a DTHFL of Y without DTHDT cannot be dated: the
    subject is censored at last known alive). relapse_day: RLPSDT on day 0..cut-off and not
    after death. end_day: death_day for those who died, else the last day known alive
    (LSTALVDT, or a later relapse date) capped at the cut-off; day 0 if no date is known.
    """
    require(adsl, "adsl", ("USUBJID", "HSCTDT", "DCUTDT", "LSTALVDT", "DTHDT", "RLPSDT"))
    hsct = as_dates(adsl["HSCTDT"])
    adsl = adsl.loc[hsct.notna()]
    hsct = hsct.loc[adsl.index]

    def day(col: str) -> np.ndarray:
        return transplant_day(adsl[col], hsct).to_numpy()

    cut = day("DCUTDT")
    cutoff_dates = as_dates(adsl["DCUTDT"])
    if cutoff_dates.notna().any():
        export_cut = transplant_day(pd.Series(cutoff_dates.max(), index=adsl.index), hsct)
        cut = np.where(np.isnan(cut), export_cut.to_numpy(), cut)
    cut = np.where(np.isnan(cut), np.inf, cut)
    death = day("DTHDT")
    death = np.where((death >= 0) & (death <= cut), death, np.nan)
    rel = day("RLPSDT")
    rel = np.where((rel >= 0) & (rel <= cut) & ~(rel > death), rel, np.nan)
    alive = np.fmax(day("LSTALVDT"), rel)
    alive = np.where(np.isnan(alive), 0.0, np.clip(alive, 0.0, None))
    end = np.where(np.isnan(death), np.minimum(alive, cut), death)
    return pd.DataFrame({"USUBJID": adsl["USUBJID"].to_numpy(), "HSCTDT": hsct.to_numpy(),
                         "end_day": end, "death_day": death, "relapse_day": rel})


def result(base: pd.DataFrame, time: np.ndarray, status: np.ndarray, horizon: float
           ) -> pd.DataFrame:
    """USUBJID, time (whole days), status (0/1/2), censored at the horizon."""
    after = time > horizon
    time = np.where(after, horizon, time)
    status = np.where(after, 0, status)
    return pd.DataFrame({"USUBJID": base["USUBJID"].to_numpy(),
                         "time": time.astype(np.int64), "status": status.astype(np.int64)})


def first_day(
    rows: pd.DataFrame, base: pd.DataFrame, date_col: str, limit: np.ndarray | None = None
) -> np.ndarray:
    """Each subject's first transplant day among `rows` (day 0..end of follow-up), else NaN.

    `limit` (one per subject of `base`) further bounds the days, for a window.
    """
    bound = base["end_day"].to_numpy() if limit is None else np.minimum(
        base["end_day"].to_numpy(), limit)
    merged = rows[["USUBJID", date_col]].merge(
        base[["USUBJID", "HSCTDT"]].assign(bound=bound), on="USUBJID", how="inner")
    merged["day"] = transplant_day(merged[date_col], merged["HSCTDT"])
    merged = merged[(merged["day"] >= 0) & (merged["day"] <= merged["bound"])]
    first = merged.groupby("USUBJID")["day"].min()
    return base["USUBJID"].map(first).to_numpy(dtype=np.float64)


def event_or_competing(base: pd.DataFrame, event_day: np.ndarray, competing_day: np.ndarray,
                       horizon: float) -> pd.DataFrame:
    """Status 1 at the event, 2 at a competing event before it, else censored at end/horizon.

    An event on the same day as the competing event counts as the event (it was observed).
    """
    end = base["end_day"].to_numpy()
    has_event = ~np.isnan(event_day) & (event_day <= horizon)
    has_comp = ~np.isnan(competing_day) & (competing_day <= horizon)
    event_first = has_event & ~(has_comp & (competing_day < event_day))
    time = np.where(event_first, event_day, np.where(has_comp, competing_day, end))
    status = np.where(event_first, 1, np.where(has_comp, 2, 0))
    return result(base, time, status, horizon)
