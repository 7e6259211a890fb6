"""Properties every estimate must have, on random small data sets with many ties (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from stats_helpers import floats

from smart101_dash.stats import cumulative_incidence, gray_test, kaplan_meier, log_rank_test

FAST = settings(max_examples=100, deadline=None)


@st.composite
def competing_data(draw, max_n: int = 40, n_groups: int = 2):
    n = draw(st.integers(1, max_n))
    time = draw(st.lists(st.integers(0, 25), min_size=n, max_size=n))
    status = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from("ABC"[:n_groups]), min_size=n, max_size=n))
    return np.array(time, float), np.array(status), np.array(group)


@FAST
@given(competing_data())
def test_km_in_unit_interval_and_never_rises(data):
    time, status, group = data
    fit = kaplan_meier(time, status > 0, group)
    for _, block in fit.table.groupby("group"):
        s = block["surv"].to_numpy()
        assert np.all((s >= 0) & (s <= 1))
        assert np.all(np.diff(s) <= 1e-12)
        lo, hi = floats(block["lower"]), floats(block["upper"])
        ok = ~np.isnan(lo)
        assert np.all((lo[ok] >= 0) & (lo[ok] <= s[ok] + 1e-12) & (hi[ok] <= 1))


@FAST
@given(competing_data())
def test_cif_rises_and_causes_plus_survival_sum_to_one(data):
    time, status, group = data
    cif = cumulative_incidence(time, status, group, causes=[1, 2]).table
    km = kaplan_meier(time, status > 0, group).table
    for g, block in km.groupby("group"):
        total = block["surv"].to_numpy().copy()
        for k in (1, 2):
            est = cif[(cif["group"] == g) & (cif["cause"] == k)]["est"].to_numpy()
            assert np.all((est >= 0) & (est <= 1 + 1e-12))
            assert np.all(np.diff(est) >= -1e-12)
            total += est
        np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert np.all(cif["var"] >= -1e-12)


@FAST
@given(competing_data())
def test_without_competing_events_cif_is_one_minus_km(data):
    time, status, group = data
    status = np.where(status == 2, 0, status)
    cif = cumulative_incidence(time, status, group, causes=[1]).table
    km = kaplan_meier(time, status, group).table
    np.testing.assert_allclose(cif["est"].to_numpy(), 1 - km["surv"].to_numpy(), atol=1e-12)


@FAST
@given(competing_data(n_groups=3), st.permutations(["X", "Y", "Z"]))
def test_relabelling_groups_changes_nothing(data, names):
    time, status, group = data
    relabel = np.array([dict(zip("ABC", names, strict=True))[g] for g in group])
    km1 = kaplan_meier(time, status > 0, group).table
    km2 = kaplan_meier(time, status > 0, relabel).table
    for old, new in zip("ABC", names, strict=True):
        a = km1[km1["group"] == old]["surv"].to_numpy()
        b = km2[km2["group"] == new]["surv"].to_numpy()
        np.testing.assert_array_equal(a, b)
    lr1, lr2 = log_rank_test(time, status > 0, group), log_rank_test(time, status > 0, relabel)
    assert (lr1.chisq is None) == (lr2.chisq is None)
    if lr1.chisq is not None and lr1.chisq < 1e6:
        np.testing.assert_allclose(lr1.chisq, lr2.chisq, rtol=1e-7, atol=1e-9)
    g1 = floats(gray_test(time, status, group, causes=[1, 2]).table["stat"])
    g2 = floats(gray_test(time, status, relabel, causes=[1, 2]).table["stat"])
    finite = np.isfinite(g1) & np.isfinite(g2) & (np.abs(g1) < 1e6)
    np.testing.assert_allclose(g1[finite], g2[finite], rtol=1e-6, atol=1e-8)
