"""Log-rank test for two or more groups (Mantel 1966; Peto & Peto 1972).

Taken from scikit-survival (`sksurv.compare.compare_survival`), which gives R's `survdiff`
statistic to 1e-12 on the reference data; this module only checks the input and turns the
degenerate cases (one group, no events) into a defined result instead of an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sksurv.compare import compare_survival

from smart101_dash.stats._validate import ArrayLike, survival_input


@dataclass(frozen=True)
class LogRankTest:
    """The log-rank test: chisq, df, p_value (None when undefined, with a `note` saying why).

    `table`: per group n, observed, expected (events under equal hazards).
    """

    chisq: float | None
    df: int
    p_value: float | None
    table: pd.DataFrame
    groups: tuple[str, ...]
    note: str = ""


def log_rank_test(time: ArrayLike, event: ArrayLike, group: ArrayLike) -> LogRankTest:
    """Log-rank test that the survival curves of all groups are equal.

    For each group g: O_g - E_g, with E_g = sum over event times of n_g(t) d(t) / n(t), and
    the hypergeometric covariance V; the statistic (O - E)' V^-1 (O - E) over the first
    K - 1 groups is chi-square with K - 1 df (R's `survdiff` with rho = 0).

    Fewer than two groups with subjects, or no event at all, give chisq and p_value None.
    """
    data = survival_input(time, event, group, what="log_rank_test")
    ng = len(data.groups)
    counts = pd.Series(data.group).value_counts().reindex(list(data.groups))
    empty = pd.DataFrame({"group": list(data.groups), "n": counts.to_numpy(),
                          "observed": [int(data.status[data.group == g].sum())
                                       for g in data.groups]})
    if ng < 2:
        return LogRankTest(None, 0, None, empty, data.groups,
                           "the log-rank test needs at least two groups with subjects")
    if data.status.sum() == 0:
        return LogRankTest(None, ng - 1, None, empty, data.groups,
                           "no events: the log-rank test is undefined")
    y = np.empty(data.time.size, dtype=[("event", bool), ("time", np.float64)])
    y["event"], y["time"] = data.status.astype(bool), data.time
    try:
        chisq, p, stats, _ = compare_survival(y, data.group.astype(object), return_stats=True)
    except np.linalg.LinAlgError:
        return LogRankTest(None, ng - 1, None, empty, data.groups,
                           "singular variance (too few events at risk): no test")
    table = pd.DataFrame({"group": [str(g) for g in stats.index],
                          "n": stats["counts"].to_numpy(),
                          "observed": stats["observed"].to_numpy(),
                          "expected": stats["expected"].to_numpy()})
    return LogRankTest(float(chisq), ng - 1, float(p), table, data.groups)
