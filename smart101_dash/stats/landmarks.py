"""Estimates at landmark days (day 100, 1 and 2 years) read from a fitted step function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smart101_dash.stats._steps import step_index
from smart101_dash.stats._validate import StatsInputError
from smart101_dash.stats.competing_risks import CumulativeIncidence
from smart101_dash.stats.kaplan_meier import KaplanMeier
from smart101_dash.stats.recurrent_events import MeanCumulativeCount

Fit = KaplanMeier | CumulativeIncidence | MeanCumulativeCount


@dataclass(frozen=True)
class Reading:
    """One group's (and cause's) estimates at the landmark days inside its follow-up.

    `values`: each estimate column as floats, NaN where undefined (`landmarks` turns NaN
    into <NA> where the fit's own column holds <NA>).
    """

    group: object  # the fit's group label
    cause: int | None
    time: np.ndarray
    n_risk: np.ndarray
    values: dict[str, np.ndarray]


def read_at(fit: Fit, days: Sequence[float]) -> list[Reading]:
    """The step functions of `fit` read at `days`, per group (and cause), as arrays.

    The rules are those of `landmarks`, which is this as a table; arrays because the
    landmark table reads dozens of these per click, and a frame per reading costs more than
    the estimates.
    """
    points = np.asarray(days, dtype=np.float64)
    if points.ndim != 1 or not np.all(np.isfinite(points)) or np.any(points < 0):
        raise StatsInputError("landmarks: days must be a list of finite days >= 0")
    points = np.unique(points)
    start = _start_values(fit)
    codes, labels, columns = _columns(fit, start)
    times = columns["time"]
    n_risk = columns.get("n_risk", np.zeros(times.size, dtype=np.int64))
    causes = columns.get("cause", np.zeros(times.size, dtype=np.int64))
    out = []
    for code, cause in sorted(set(zip(codes.tolist(), causes.tolist(), strict=True))):
        label = labels[code]
        inside = points[points <= fit.max_time[label]]
        if inside.size == 0:
            continue
        rows = np.flatnonzero((codes == code) & (causes == cause))
        block_times = times[rows]
        idx = step_index(block_times, inside)
        first_after = np.searchsorted(block_times, inside, side="left")
        at = rows[np.maximum(idx, 0)]
        before_first = idx < 0
        values = {c: np.where(before_first, np.nan if v is pd.NA else v, columns[c][at])
                  for c, v in start.items()}
        risk = np.where(first_after < rows.size,
                        n_risk[rows[np.minimum(first_after, rows.size - 1)]], 0)
        out.append(Reading(label, cause if "cause" in columns else None, inside, risk, values))
    return out


def _columns(fit: Fit, start: dict[str, object]
             ) -> tuple[np.ndarray, Sequence[object], dict[str, np.ndarray]]:
    """The fit's group codes, their labels, and its columns as arrays (NaN for <NA>)."""
    if not isinstance(fit, MeanCumulativeCount):
        return np.asarray(fit.columns["group"], dtype=np.int64), fit.groups, fit.columns
    table = fit.table
    group = pd.Categorical(table["group"])
    columns = {c: table[c].to_numpy(dtype=float, na_value=np.nan) for c in ("time", *start)}
    columns["n_risk"] = table["n_risk"].to_numpy()
    return np.asarray(group.codes), group.categories, columns


def _start_values(fit: Fit) -> dict[str, object]:
    """Each estimate column's value before the first time (<NA>: undefined there)."""
    if isinstance(fit, KaplanMeier):
        start: dict[str, object] = {"surv": 1.0, "std_err": 0.0, "lower": pd.NA,
                                    "upper": pd.NA}
        if fit.conf_type != "log-log":
            start.update(lower=1.0, upper=1.0)
        return start
    if isinstance(fit, CumulativeIncidence):
        return {"est": 0.0, "var": 0.0, "std_err": 0.0, "lower": pd.NA, "upper": pd.NA}
    if isinstance(fit, MeanCumulativeCount):
        return {"mcc": 0.0}
    raise StatsInputError(f"landmarks: cannot read a {type(fit).__name__}")


def landmarks(fit: Fit, days: Sequence[float]) -> pd.DataFrame:
    """Estimates at fixed days, as R's `summary(survfit, times=)` and cmprsk's `timepoints`.

    Each estimate is that of the last time at or before the day; n_risk counts subjects
    with time >= day. Days after a group's last follow-up time are left out (nobody is
    observed there; R would carry the last value forward). Before the first time: surv 1 with
    std_err 0 (Kaplan-Meier) or est 0 with var 0 (cumulative incidence, mean count), and
    interval limits as the estimator defines them there (<NA> where undefined).

    Columns: Kaplan-Meier: group, time, n_risk, surv, std_err, lower, upper. Cumulative
    incidence: group, cause, time, n_risk, est, var, std_err, lower, upper. Mean cumulative
    count: group, time, n_risk (left out: the risk set at a day is not in a mean count's
    episode table), mcc.
    """
    readings = read_at(fit, days)
    start = _start_values(fit)
    keys = ["group", "cause"] if isinstance(fit, CumulativeIncidence) else ["group"]
    if not readings:
        return pd.DataFrame(columns=[*keys, "time", "n_risk", *start])
    sizes = [r.time.size for r in readings]
    out = pd.DataFrame({"group": pd.Categorical(
        np.repeat([r.group for r in readings], sizes), categories=fit.table["group"].cat.categories
        if isinstance(fit.table["group"].dtype, pd.CategoricalDtype) else None)})
    if "cause" in keys:
        out["cause"] = np.repeat([r.cause for r in readings], sizes)
    out["time"] = np.concatenate([r.time for r in readings])
    if not isinstance(fit, MeanCumulativeCount):
        out["n_risk"] = np.concatenate([r.n_risk for r in readings])
    for col in start:
        values = np.concatenate([r.values[col] for r in readings])
        nullable = not pd.api.types.is_float_dtype(fit.table[col].dtype) or \
            isinstance(fit.table[col].dtype, pd.Float64Dtype)
        out[col] = pd.array(values, dtype="Float64") if nullable else values
    return out
