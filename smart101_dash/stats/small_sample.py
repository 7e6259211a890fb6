"""Exact and rank methods for small groups: a proportion, a rate, two samples.

From scipy: the Clopper-Pearson interval and the binomial test (`scipy.stats.binomtest`) and
the Wilcoxon rank-sum test (`scipy.stats.mannwhitneyu`) give R's `binom.test` and
`wilcox.test` numbers. The exact Poisson interval is two gamma quantiles (as R's
`poisson.test`); its two-sided p-value follows R's rule and is written here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv
from scipy.stats import binomtest, gamma, mannwhitneyu, poisson

from smart101_dash.stats._validate import (
    ArrayLike,
    StatsInputError,
    conf_level_input,
    count_input,
    sample_input,
)


@dataclass(frozen=True)
class Proportion:
    """x of n: estimate, exact interval, and the two-sided exact p-value against p0."""

    x: int
    n: int
    estimate: float
    lower: float
    upper: float
    p_value: float
    conf_level: float


@dataclass(frozen=True)
class Rate:
    """Events per `per` units of exposure (for example per 100 patient-days), exact interval."""

    events: int
    exposure: float
    per: float
    estimate: float
    lower: float
    upper: float
    conf_level: float
    p_value: float | None = None  # only when a null rate is given


@dataclass(frozen=True)
class RankSumTest:
    """Wilcoxon rank-sum: W = sum of the ranks of x minus n_x (n_x + 1) / 2 (R's W)."""

    statistic: float
    p_value: float
    n_x: int
    n_y: int


def clopper_pearson(x: int, n: int, *, conf_level: float = 0.95, p0: float = 0.5
                    ) -> Proportion:
    """Exact (Clopper & Pearson 1934) interval for a proportion x/n, as R's `binom.test`.

    lower = Beta quantile (alpha/2; x, n - x + 1), upper = Beta quantile (1 - alpha/2;
    x + 1, n - x); 0 and 1 at the edges. The p-value is the two-sided exact binomial test of
    p0 (R's rule: sum of the probabilities of outcomes no more likely than x).
    n = 0 raises StatsInputError: there is no proportion to estimate.
    """
    xi, ni = int(count_input(x, "x")), int(count_input(n, "n", positive=True))
    if xi > ni:
        raise StatsInputError(f"x ({xi}) cannot exceed n ({ni})")
    if not 0.0 < p0 < 1.0:
        raise StatsInputError(f"p0 must be between 0 and 1, got {p0}")
    conf_level = conf_level_input(conf_level)
    alpha = 1 - conf_level
    # The Beta quantiles themselves (R's qbeta): scipy's proportion_ci finds the same limits
    # by root-finding, 400 times slower, and a page reads a dozen of these per click.
    lower = 0.0 if xi == 0 else float(betaincinv(xi, ni - xi + 1, alpha / 2))
    upper = 1.0 if xi == ni else float(betaincinv(xi + 1, ni - xi, 1 - alpha / 2))
    return Proportion(xi, ni, xi / ni, lower, upper, float(binomtest(xi, ni, p0).pvalue),
                      conf_level)


def _poisson_two_sided_p(x: int, m: float) -> float:
    """R's `poisson.test` two-sided p-value for x events with expectation m."""
    if m == 0:
        return float(x == 0)
    rel_err = 1 + 1e-7
    d = poisson.pmf(x, m)
    if x == m:
        return 1.0
    if x < m:
        n_hi = int(np.ceil(2 * m - x))
        while poisson.pmf(n_hi, m) > d:
            n_hi *= 2
        i = np.arange(int(np.ceil(m)), n_hi + 1)
        y = int(np.sum(poisson.pmf(i, m) <= d * rel_err))
        return float(min(1.0, poisson.cdf(x, m) + poisson.sf(n_hi - y, m)))
    i = np.arange(0, int(np.floor(m)) + 1)
    y = int(np.sum(poisson.pmf(i, m) <= d * rel_err))
    return float(min(1.0, poisson.cdf(y - 1, m) + poisson.sf(x - 1, m)))


def poisson_rate_exact(
    events: int,
    exposure: float,
    *,
    per: float = 100.0,
    conf_level: float = 0.95,
    null_rate: float | None = None,
) -> Rate:
    """Event rate per `per` units of exposure with the exact Poisson interval (Garwood 1936).

    rate = events / exposure * per; lower = Gamma quantile (alpha/2; events) / exposure * per
    (0 when there is no event), upper = Gamma quantile (1 - alpha/2; events + 1) / exposure *
    per, as R's `poisson.test`. Infection density: episodes per 100 patient-days at risk.
    `null_rate` (per `per` units) adds R's two-sided exact p-value.
    Zero exposure raises StatsInputError: the rate is undefined.
    """
    x = int(count_input(events, "events"))
    t = count_input(exposure, "exposure", integer=False, positive=True)
    scale = count_input(per, "per", integer=False, positive=True)
    conf_level = conf_level_input(conf_level)
    alpha = 1 - conf_level
    lower = gamma.ppf(alpha / 2, x) / t if x > 0 else 0.0
    upper = gamma.ppf(1 - alpha / 2, x + 1) / t
    p = None
    if null_rate is not None:
        r0 = count_input(null_rate, "null_rate", integer=False)
        p = _poisson_two_sided_p(x, r0 / scale * t)
    return Rate(x, t, scale, x / t * scale, float(lower) * scale, float(upper) * scale,
                conf_level, p)


def wilcoxon_rank_sum(x: ArrayLike, y: ArrayLike) -> RankSumTest:
    """Wilcoxon (1945) rank-sum / Mann-Whitney test of two samples, two-sided.

    Normal approximation with the tie correction and a continuity correction, as R's
    `wilcox.test(x, y, exact = FALSE, correct = TRUE)`. Used for CD4 counts at fixed days.
    An empty sample raises StatsInputError.
    """
    a, b = sample_input(x, "x"), sample_input(y, "y")
    if np.ptp(np.concatenate((a, b))) == 0:
        raise StatsInputError("wilcoxon_rank_sum: all values are equal, there is nothing to rank")
    res = mannwhitneyu(a, b, use_continuity=True, alternative="two-sided", method="asymptotic")
    return RankSumTest(float(res.statistic), float(res.pvalue), a.size, b.size)
