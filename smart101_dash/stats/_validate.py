"""One input checker for every estimator: arrays in, clear errors out.

Every public estimator calls `survival_input` (or `counts_input`) at its top, so a bad input
(negative or missing times, an unknown status code, arrays of different lengths, nothing at all)
raises `StatsInputError`, a `ValueError` whose message names the problem. Degenerate but valid
inputs (all censored, one subject, one group) are not errors: each estimator documents the
defined result it returns for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike
SINGLE_GROUP = "All"


class StatsInputError(ValueError):
    """An estimator was given input it cannot use; the message says what is wrong."""


@dataclass(frozen=True)
class SurvivalInput:
    """Checked survival data: float times, integer status codes, groups as codes and labels."""

    time: npt.NDArray[np.float64]
    status: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int64]  # index into `groups` of each subject's group
    groups: tuple[str, ...]  # sorted labels (as strings) of the groups that have subjects
    weight: npt.NDArray[np.int64]  # how many subjects each row stands for (1 without weights)

    @property
    def group(self) -> npt.NDArray[np.str_]:
        """Each subject's group label."""
        return np.asarray(self.groups)[self.codes]


def group_codes(group: ArrayLike, size: int, what: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes 0..k-1 of each subject's group and the k sorted labels (hash-based, no big sort)."""
    raw = group if isinstance(group, pd.Series) else _as_1d(group, "group")
    if len(raw) != size:
        raise StatsInputError(f"{what}: time has {size} values but group has {len(raw)}")
    codes, uniques = pd.factorize(raw)
    if np.any(codes < 0):
        raise StatsInputError(f"{what}: group has missing values")
    labels = np.asarray([str(u) for u in uniques])
    sorted_labels, remap = np.unique(labels, return_inverse=True)
    return remap[codes].astype(np.int64), tuple(sorted_labels.tolist())


def _as_1d(values: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values)
    if arr.ndim != 1:
        raise StatsInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def survival_input(
    time: ArrayLike,
    status: ArrayLike,
    group: ArrayLike | None = None,
    *,
    allowed_status: Sequence[int] = (0, 1),
    weights: ArrayLike | None = None,
    what: str = "estimator",
) -> SurvivalInput:
    """Check (time, status[, group][, weights]) and return them as clean numpy arrays.

    `time` must be finite and >= 0 (days from day 0); `status` integer codes from
    `allowed_status` (booleans count as 0/1); `group` any labels without missing values;
    `weights` whole numbers >= 1, each row standing for that many subjects with the same
    time, status and group (case weights: an estimate from counted rows equals the one from
    the subjects themselves). An empty input raises: there is nothing to estimate.
    """
    t = _as_1d(time, "time")
    s = _as_1d(status, "status")
    if t.size == 0:
        raise StatsInputError(f"{what}: no subjects (empty input)")
    if s.size != t.size:
        raise StatsInputError(f"{what}: time has {t.size} values but status has {s.size}")
    try:
        t = t.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(f"{what}: time must be numeric ({exc})") from None
    if not np.all(np.isfinite(t)):
        raise StatsInputError(f"{what}: time has {int(np.sum(~np.isfinite(t)))} missing or "
                              "infinite values")
    if np.any(t < 0):
        raise StatsInputError(f"{what}: time has {int(np.sum(t < 0))} negative values "
                              f"(smallest {t.min():g}); times count days from day 0")
    if s.dtype == bool:
        s = s.astype(np.int64)
    if s.dtype.kind not in "iu":  # floats (from pandas) or objects: must hold whole numbers
        try:
            s_float = s.astype(np.float64)
        except (TypeError, ValueError):
            raise StatsInputError(f"{what}: status must be integer codes") from None
        if not np.all(np.isfinite(s_float)) or np.any(s_float != np.round(s_float)):
            raise StatsInputError(f"{what}: status must be whole numbers without missing "
                                  "values")
        s = s_float
    s = s.astype(np.int64, copy=False)
    lo, hi = int(s.min()), int(s.max())
    codes_seen = np.flatnonzero(np.bincount(s - lo)) + lo if hi - lo < 1000 else np.unique(s)
    bad = sorted(set(codes_seen.tolist()) - set(allowed_status))
    if bad:
        raise StatsInputError(f"{what}: status codes {bad} not in {tuple(allowed_status)}")
    if group is None:
        codes, groups = np.zeros(t.size, dtype=np.int64), (SINGLE_GROUP,)
    else:
        codes, groups = group_codes(group, t.size, what)
    return SurvivalInput(time=t, status=s, codes=codes, groups=groups,
                         weight=_weights_input(weights, t.size, what))


def _weights_input(weights: ArrayLike | None, size: int, what: str) -> npt.NDArray[np.int64]:
    if weights is None:
        return np.ones(size, dtype=np.int64)
    w = _as_1d(weights, "weights")
    if w.size != size:
        raise StatsInputError(f"{what}: time has {size} values but weights has {w.size}")
    try:
        w_float = w.astype(np.float64)
    except (TypeError, ValueError):
        raise StatsInputError(f"{what}: weights must be whole numbers") from None
    if not np.all(np.isfinite(w_float)) or np.any(w_float < 1) or np.any(
            w_float != np.round(w_float)):
        raise StatsInputError(f"{what}: weights must be whole numbers >= 1 (subjects per row)")
    return w_float.astype(np.int64)


def conf_level_input(conf_level: float) -> float:
    """Check a confidence level strictly between 0 and 1."""
    if not 0.0 < float(conf_level) < 1.0:
        raise StatsInputError(f"conf_level must be between 0 and 1, got {conf_level}")
    return float(conf_level)


def count_input(value: float, name: str, *, integer: bool = True, positive: bool = False) -> float:
    """Check a count (or an exposure): finite, >= 0 (> 0 if `positive`), whole if `integer`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (positive and v == 0):
        raise StatsInputError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    if integer and v != round(v):
        raise StatsInputError(f"{name} must be a whole number, got {value!r}")
    return v


def sample_input(values: ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """Check a sample of numbers for a rank test: non-empty, no missing values."""
    arr = _as_1d(values, name)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise StatsInputError(f"{name} must be numeric") from None
    if arr.size == 0:
        raise StatsInputError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise StatsInputError(f"{name} has missing or infinite values")
    return arr
