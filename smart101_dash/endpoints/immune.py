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
