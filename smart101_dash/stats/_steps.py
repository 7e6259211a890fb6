"""Counting helpers shared by the estimators: distinct times, risk sets, step-function look-ups."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Counts:
    """Per distinct time (sorted): subjects at risk (time >= t) and how many left by each code."""

    time: FloatArray
    n_risk: IntArray
    by_status: IntArray  # shape (len(time), n_codes): column k counts status code k


def counts(time: FloatArray, status: IntArray, n_codes: int,
           weight: IntArray | None = None) -> Counts:
    """Distinct times with the risk set and the number of each status code at each time
    (`weight`: subjects per row)."""
    utime, inverse = np.unique(time, return_inverse=True)
    n_times = utime.size
    by_status = np.bincount(
        inverse * n_codes + status, weights=weight, minlength=n_times * n_codes
    ).reshape(n_times, n_codes).astype(np.int64)
    leaving = by_status.sum(axis=1)
    total = time.size if weight is None else int(weight.sum())
    # At risk at t: everyone whose time is >= t (the counting-process convention of R).
    n_risk = total - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    return Counts(time=utime, n_risk=n_risk.astype(np.int64), by_status=by_status.astype(np.int64))


def step_index(times: FloatArray, at: FloatArray) -> IntArray:
    """Index of the last of `times` (sorted) at or before each of `at`; -1 if none."""
    return np.searchsorted(times, at, side="right") - 1


def at_risk(times: FloatArray, at: FloatArray, weight: IntArray | None = None) -> IntArray:
    """Number of `times` (sorted; `weight`: subjects per time) that are >= each of `at`."""
    first = np.searchsorted(times, at, side="left")
    if weight is None:
        return (times.size - first).astype(np.int64)
    after = np.concatenate((np.cumsum(weight[::-1])[::-1], [0]))
    return after[first].astype(np.int64)


def nullable(values: FloatArray) -> pd.arrays.FloatingArray:
    """Floats for a table: NaN (an undefined value) becomes <NA>, never a number."""
    return pd.array(values, dtype="Float64")


def group_column(codes: IntArray, labels: tuple[str, ...]) -> pd.Categorical:
    """The group column of a result table: categorical, its categories the sorted labels."""
    return pd.Categorical.from_codes(codes, categories=list(labels))


def step_table(columns: dict[str, np.ndarray], groups: tuple[str, ...], order: Sequence[str],
               undefined: Sequence[str]) -> pd.DataFrame:
    """A fit's table from its columns as arrays: `group` (codes into `groups`) as the
    categorical group column, and NaN as <NA> in the `undefined` columns."""
    table = {c: columns[c] for c in order}
    table["group"] = group_column(columns["group"], groups)
    table.update({c: nullable(columns[c]) for c in undefined})
    return pd.DataFrame(table)


@functools.cache  # scipy's distribution call costs about 0.3 ms, and a page fits dozens of curves
def normal_quantile(conf_level: float) -> float:
    """z of a two-sided interval at `conf_level` (1.96 for 0.95)."""
    return float(norm.ppf(1 - (1 - conf_level) / 2))
