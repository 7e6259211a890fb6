"""Log-rank test for two or more groups (Mantel 1966; Peto & Peto 1972), as R's `survdiff`.

Written here with numpy (vectorised over times) rather than taken from scikit-survival:
`sksurv.compare.compare_survival` gives the same statistic (a test checks it) but loops in
Python over subjects, and it keeps groups with no expected events in the quadratic form,
where R's `survdiff` drops them; then its answer depends on which group is listed first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2

from smart101_dash.stats._validate import ArrayLike, survival_input


@dataclass(frozen=True)
class LogRankTest:
    """The log-rank test: chisq, df, p_value (None when undefined, with a `note` saying why).

    `table`: per group n, observed, expected (events expected under equal hazards).
    """

    chisq: float | None
    df: int
    p_value: float | None
    table: pd.DataFrame
    groups: tuple[str, ...]
    note: str = ""


def log_rank_test(time: ArrayLike, event: ArrayLike, group: ArrayLike, *,
                  weights: ArrayLike | None = None) -> LogRankTest:
    """Log-rank test that the survival curves of all groups are equal.

    At each event time t with d events among n at risk, group g expects n_g d / n events;
    U = O - E summed over times, with the hypergeometric covariance
    V = sum d (n - d) / (n^2 (n - 1)) (n diag(n_g) - n_g n_h'). As R's `survdiff` (rho = 0):
    groups with no expected event are left out, and U' V^-1 U over all remaining groups but
    the first is chi-square with (remaining groups - 1) df.

    Fewer than two groups with expected events (one group, no events) or a singular V give
    chisq and p_value None with a note. `weights`: subjects per row (counted rows give the
    subjects' test).
    """
    data = survival_input(time, event, group, weights=weights, what="log_rank_test")
    ng = len(data.groups)
    gi = data.codes
    utime, inverse = np.unique(data.time, return_inverse=True)
    d = np.zeros((utime.size, ng))
    np.add.at(d, (inverse, gi), (data.status * data.weight).astype(float))
    leaving = np.zeros((utime.size, ng))
    np.add.at(leaving, (inverse, gi), data.weight.astype(float))
    n = leaving.sum(axis=0)[None, :] - np.vstack((np.zeros((1, ng)),
                                                  np.cumsum(leaving, axis=0)[:-1]))
    dt, nt = d.sum(axis=1), n.sum(axis=1)
    observed = d.sum(axis=0)
    expected = (n * (dt / nt)[:, None]).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(nt > 1, dt * (nt - dt) / (nt**2 * (nt - 1)), 0.0)
    var = (np.einsum("t,tg,gh->gh", w * nt, n, np.eye(ng))
           - np.einsum("t,tg,th->gh", w, n, n))
    table = pd.DataFrame({"group": list(data.groups), "n": leaving.sum(axis=0).astype(int),
                          "observed": observed.astype(int), "expected": expected})
    used = np.flatnonzero(expected > 0)
    if ng < 2:
        return LogRankTest(None, 0, None, table, data.groups,
                           "the log-rank test needs at least two groups with subjects")
    if used.size < 2:
        return LogRankTest(None, ng - 1, None, table, data.groups,
                           "no events in two groups: the log-rank test is undefined")
    keep = used[1:]
    u = (observed - expected)[keep]
    v = var[np.ix_(keep, keep)]
    if np.linalg.matrix_rank(v) < keep.size:
        return LogRankTest(None, int(keep.size), None, table, data.groups,
                           "singular variance (too few subjects at risk): no test")
    chisq = float(u @ np.linalg.solve(v, u))
    return LogRankTest(chisq, int(keep.size), float(chi2.sf(chisq, keep.size)), table,
                       data.groups)
