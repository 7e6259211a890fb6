"""CD4+ immune reconstitution (van Roessel et al. 2020; Admiraal et al. 2015)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints._frame import (
    event_or_competing,
    follow_up,
    horizon_days,
    require,
    transplant_day,
)


def cd4_reconstitution(
    adsl: pd.DataFrame, adlb: pd.DataFrame, settings: EndpointSettings
) -> pd.DataFrame:
    """CD4+ immune reconstitution: CD4+ T cells above settings.cd4_threshold_cells_per_ul
    (default 50 cells/uL; `>=` if settings.cd4_threshold_inclusive, else `>`) on two
    consecutive measurements within settings.cd4_window_days (default 100) of HSCT.

    Event (1) dated at the first of the two qualifying measurements (a convention). Death
    before it, within the window, competes (2). Censored (0) at the window, last known alive
    or cut-off. Measurements are PARAMCD "CD4" rows with a value and a date on day
    0..window (and not after the end of follow-up); several on one day count as one, their
    mean. A single value above the threshold, or none at all, is not reconstitution.
    """
    require(adlb, "adlb", ("USUBJID", "PARAMCD", "AVAL", "ADT"))
    base = follow_up(adsl)
    horizon = horizon_days(settings, settings.cd4_window_days)
    lab = adlb.loc[adlb["PARAMCD"].eq("CD4").to_numpy(), ["USUBJID", "AVAL", "ADT"]]
    lab = lab.merge(base[["USUBJID", "HSCTDT", "end_day"]], on="USUBJID", how="inner")
    lab["day"] = transplant_day(lab["ADT"], lab["HSCTDT"])
    lab["AVAL"] = pd.to_numeric(lab["AVAL"], errors="coerce")
    lab = lab[lab["AVAL"].notna() & (lab["day"] >= 0) & (lab["day"] <= horizon)
              & (lab["day"] <= lab["end_day"])]
    daily = lab.groupby(["USUBJID", "day"], as_index=False)["AVAL"].mean()
    daily = daily.sort_values(["USUBJID", "day"], kind="stable")
    threshold = settings.cd4_threshold_cells_per_ul
    above = (daily["AVAL"] >= threshold) if settings.cd4_threshold_inclusive else (
        daily["AVAL"] > threshold)
    next_above = above.groupby(daily["USUBJID"]).shift(-1, fill_value=False).astype(bool)
    first = daily.loc[(above & next_above).to_numpy()].groupby("USUBJID")["day"].min()
    event = base["USUBJID"].map(first).to_numpy(dtype=np.float64)
    return event_or_competing(base, event, base["death_day"].to_numpy(), horizon)


LYMPHOCYTE_ORDER = ("CD4", "CD3", "CD8", "CD19", "NK")  # the order of tables and charts


def daily_counts(adsl: pd.DataFrame, labs: pd.DataFrame) -> pd.DataFrame:
    """USUBJID, PARAMCD, day, AVAL: one value per patient, subset and transplant day.

    Day 0 = HSCTDT. Counts before day 0 or after the data cut-off are left out; several on one
    day count as their mean, as the CD4+IR derivation does.
    """
    columns = ["USUBJID", "PARAMCD", "day", "AVAL"]
    require(labs, "adlb", ("USUBJID", "PARAMCD", "AVAL", "ADT"))
    lab = labs.merge(adsl[["USUBJID", "HSCTDT", "DCUTDT"]], on="USUBJID", how="inner")
    if lab.empty:
        return pd.DataFrame(columns=columns)
    lab["day"] = transplant_day(lab["ADT"], lab["HSCTDT"])
    cut_day = transplant_day(lab["DCUTDT"], lab["HSCTDT"])
    lab["AVAL"] = pd.to_numeric(lab["AVAL"], errors="coerce")
    keep = lab["AVAL"].notna() & (lab["day"] >= 0) & (cut_day.isna() | (lab["day"] <= cut_day))
    daily = lab[keep].groupby(["USUBJID", "PARAMCD", "day"], as_index=False)["AVAL"].mean()
    daily["day"] = daily["day"].astype("int64")  # whole days; NaN days were left out above
    return daily[columns].sort_values(["PARAMCD", "USUBJID", "day"]).reset_index(drop=True)


def protocol_day_counts(daily: pd.DataFrame, windows: dict[int, int]) -> pd.DataFrame:
    """Per patient, subset and protocol day: the count closest to the day within its window.

    `windows` maps each protocol day to its half-width in days. At equal distance the earlier
    count wins: a fixed rule, so the choice never depends on row order. Columns: USUBJID,
    PARAMCD, protocol_day, day, AVAL.
    """
    columns = ["USUBJID", "PARAMCD", "protocol_day", "day", "AVAL"]
    picked = []
    for target, half_width in windows.items():
        near = daily[(daily["day"] - target).abs() <= half_width].copy()
        near["protocol_day"] = target
        near["distance"] = (near["day"] - target).abs()
        near = near.sort_values(["USUBJID", "PARAMCD", "distance", "day"])
        picked.append(near.drop_duplicates(["USUBJID", "PARAMCD"], keep="first"))
    picked = [p for p in picked if not p.empty]
    if not picked:
        return pd.DataFrame(columns=columns)
    return pd.concat(picked, ignore_index=True)[columns]
