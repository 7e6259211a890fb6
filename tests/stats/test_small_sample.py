"""Exact intervals and the rank-sum test against R's binom.test, poisson.test, wilcox.test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson
from stats_helpers import TOL

from smart101_dash.stats import (
    StatsInputError,
    clopper_pearson,
    poisson_rate_exact,
    wilcoxon_rank_sum,
)


@pytest.fixture(scope="module")
def ref(reference):
    return reference("small_sample_reference.csv").set_index("what")


def test_clopper_pearson_11_of_18(ref):
    r = ref.loc["clopper_pearson_11_of_18"]
    got = clopper_pearson(11, 18)
    assert (got.estimate, got.lower, got.upper, got.p_value) == pytest.approx(
        (r["estimate"], r["lower"], r["upper"], r["p"]), abs=TOL)


def test_poisson_23_events_in_4120_days(ref):
    r = ref.loc["poisson_exact_23_events_4120_days"]
    got = poisson_rate_exact(23, 4120, per=1, null_rate=1)
    assert (got.estimate, got.lower, got.upper, got.p_value) == pytest.approx(
        (r["estimate"], r["lower"], r["upper"], r["p"]), abs=TOL)
    per_100 = poisson_rate_exact(23, 4120)
    assert per_100.estimate == pytest.approx(100 * r["estimate"])
    assert per_100.upper == pytest.approx(100 * r["upper"])
    assert per_100.p_value is None


def test_wilcoxon_first_18_vs_first_25(ref, cr_data):
    r = ref.loc["wilcoxon_first18_vs_first25_times"]
    x = cr_data.loc[cr_data["group"] == "SMART101", "time"].iloc[:18]
    y = cr_data.loc[cr_data["group"] == "CONTROL", "time"].iloc[:25]
    got = wilcoxon_rank_sum(x, y)
    assert got.statistic == pytest.approx(r["statistic"], abs=TOL)
    assert got.p_value == pytest.approx(r["p"], abs=TOL)


@pytest.mark.parametrize(("x", "rate"), [(3, 10.0), (23, 16.0), (30, 16.0), (0, 2.0)])
def test_poisson_p_value_is_r_two_sided_rule(x, rate):
    # R: the sum of the probabilities of all counts no more likely than x.
    k = np.arange(0, 400)
    pmf = poisson.pmf(k, rate)
    expected = min(1.0, pmf[pmf <= poisson.pmf(x, rate) * (1 + 1e-7)].sum())
    got = poisson_rate_exact(x, 100.0, per=100, null_rate=rate).p_value
    assert got == pytest.approx(expected, abs=1e-9)


def test_edges_and_bad_inputs():
    assert clopper_pearson(0, 5).lower == 0.0 and clopper_pearson(5, 5).upper == 1.0
    assert poisson_rate_exact(0, 50).lower == 0.0
    with pytest.raises(StatsInputError, match="n"):
        clopper_pearson(0, 0)
    with pytest.raises(StatsInputError, match="exceed"):
        clopper_pearson(4, 3)
    with pytest.raises(StatsInputError, match="exposure"):
        poisson_rate_exact(2, 0)
    with pytest.raises(StatsInputError, match="empty"):
        wilcoxon_rank_sum([], [1, 2])
    with pytest.raises(StatsInputError, match="equal"):
        wilcoxon_rank_sum([1, 1], [1])
