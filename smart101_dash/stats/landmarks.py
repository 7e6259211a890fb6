"""Estimates at landmark days (day 100, 1 and 2 years) read from a fitted step function."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from smart101_dash.stats._steps import step_index
from smart101_dash.stats._validate import StatsInputError
from smart101_dash.stats.competing_risks import CumulativeIncidence
from smart101_dash.stats.kaplan_meier import KaplanMeier
from smart101_dash.stats.recurrent_events import MeanCumulativeCount

Fit = KaplanMeier | CumulativeIncidence | MeanCumulativeCount


def _read(block: pd.DataFrame, days: np.ndarray, start: dict[str, float]) -> pd.DataFrame:
    """Row of the last time at or before each day (or `start` before the first), n at risk.

    Built column by column from arrays, then one frame: a frame changed cell by cell costs
    more than the estimates (the landmark table reads dozens of these per click).
    """
    times = block["time"].to_numpy(dtype=float)
    idx = step_index(times, days)
    first_after = np.searchsorted(times, days, side="left")
    n_risk = block["n_risk"].to_numpy()
    columns: dict[str, object] = {
        "time": days,
        "n_risk": np.where(first_after < times.size,
                           n_risk[np.minimum(first_after, times.size - 1)], 0)}
    before_first = idx < 0
    for col, before in start.items():
        taken = pd.Series(block[col].array.take(np.maximum(idx, 0)))
        columns[col] = taken.mask(before_first, before) if before_first.any() else taken
    return pd.DataFrame(columns)


def landmarks(fit: Fit, days: Sequence[float]) -> pd.DataFrame:
    """Estimates at fixed days, as R's `summary(survfit, times=)` and cmprsk's `timepoints`.

    Each estimate is that of the last time at or before the day; n_risk counts subjects
    with time >= day. Days after a group's last follow-up time are left out (nobody is
    observed there; R would carry the last value forward). Before the first time: surv 1 with
    std_err 0 (Kaplan-Meier) or est 0 with var 0 (cumulative incidence, mean count), and
    interval limits as the estimator defines them there (<NA> where undefined).

    Columns: Kaplan-Meier: group, time, n_risk, surv, std_err, lower, upper. Cumulative
    incidence: group, cause, time, n_risk, est, var, std_err, lower, upper. Mean cumulative
    count: group, time, n_risk, mcc.
    """
    points = np.asarray(days, dtype=np.float64)
    if points.ndim != 1 or not np.all(np.isfinite(points)) or np.any(points < 0):
        raise StatsInputError("landmarks: days must be a list of finite days >= 0")
    points = np.unique(points)
    if isinstance(fit, KaplanMeier):
        keys, start = ["group"], {"surv": 1.0, "std_err": 0.0, "lower": pd.NA, "upper": pd.NA}
        if fit.conf_type != "log-log":
            start.update(lower=1.0, upper=1.0)
    elif isinstance(fit, CumulativeIncidence):
        keys, start = ["group", "cause"], {"est": 0.0, "var": 0.0, "std_err": 0.0,
                                           "lower": pd.NA, "upper": pd.NA}
    elif isinstance(fit, MeanCumulativeCount):
        keys, start = ["group"], {"mcc": 0.0}
    else:
        raise StatsInputError(f"landmarks: cannot read a {type(fit).__name__}")
    rows = []
    for key, block in fit.table.groupby(keys, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        inside = points[points <= fit.max_time[key[0]]]
        if inside.size == 0:
            continue
        if isinstance(fit, MeanCumulativeCount):
            # The risk set at a day is not in the episode table: n_risk is left out here.
            out = _read(block.assign(n_risk=0), inside, start).drop(columns="n_risk")
        else:
            out = _read(block.reset_index(drop=True), inside, start)
        for name, value in zip(keys, key, strict=True):
            out.insert(keys.index(name), name, value)
        rows.append(out)
    if not rows:
        return pd.DataFrame(columns=[*keys, "time", "n_risk", *start])
    return pd.concat(rows, ignore_index=True)
