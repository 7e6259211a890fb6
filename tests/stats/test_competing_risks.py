"""Aalen-Johansen with cmprsk's variance and Gray's test against cmprsk 2.2 (cuminc)."""

from __future__ import annotations

import numpy as np
import pytest
from stats_helpers import TOL, assert_no_nan_numbers, floats

from smart101_dash.stats import cumulative_incidence, gray_test, kaplan_meier, landmarks


def _value(block, t: float, left: bool) -> tuple[float, float]:
    """The step function at t (or just before t when `left`), 0 before the first time."""
    times = block["time"].to_numpy()
    i = np.searchsorted(times, t, side="left" if left else "right") - 1
    if i < 0:
        return 0.0, 0.0
    return block["est"].iloc[i], block["var"].iloc[i]


def test_every_cuminc_point_matches(cr_data, reference):
    ref = reference("cif_reference.csv")
    fit = cumulative_incidence(cr_data["time"], cr_data["cause"], cr_data["group"])
    checked = 0
    for (group, cause), rows in ref.groupby(["group", "cause"], sort=False):
        block = fit.table[(fit.table["group"] == group) & (fit.table["cause"] == cause)]
        times = rows["time"].to_numpy()
        for i, (t, est, var) in enumerate(rows[["time", "est", "var"]].itertuples(index=False)):
            # cmprsk lists each jump twice (before, after): the first is the left limit.
            left = i + 1 < len(rows) and times[i + 1] == t
            got_est, got_var = _value(block, t, left)
            assert got_est == pytest.approx(est, abs=TOL), (group, cause, t)
            assert got_var == pytest.approx(var, abs=TOL), (group, cause, t)
            checked += 1
    assert checked == len(ref)


def test_landmarks_match_timepoints(cr_data, reference):
    ref = reference("cif_landmarks_reference.csv").sort_values(["group", "cause", "time"])
    fit = cumulative_incidence(cr_data["time"], cr_data["cause"], cr_data["group"])
    got = landmarks(fit, [100, 365, 730]).sort_values(["group", "cause", "time"])
    np.testing.assert_allclose(got["est"], ref["est"], rtol=0, atol=TOL)
    np.testing.assert_allclose(got["var"], ref["var"], rtol=0, atol=TOL)


def test_gray_statistics_and_p_values(cr_data, reference):
    ref = reference("gray_reference.csv").sort_values("cause")
    got = gray_test(cr_data["time"], cr_data["cause"], cr_data["group"]).table
    np.testing.assert_allclose(floats(got["stat"]), ref["stat"], rtol=0, atol=TOL)
    np.testing.assert_allclose(floats(got["p_value"]), ref["p"], rtol=0, atol=TOL)
    assert got["df"].tolist() == ref["df"].tolist()


def test_log_log_interval_stays_inside_and_brackets(cr_data):
    fit = cumulative_incidence(cr_data["time"], cr_data["cause"], cr_data["group"])
    t = fit.table[fit.table["est"] > 0]
    lo, hi = floats(t["lower"]), floats(t["upper"])
    assert np.all((lo >= 0) & (lo <= t["est"]) & (t["est"] <= hi) & (hi <= 1))
    assert_no_nan_numbers(fit.table)


def test_worked_example_without_censoring():
    # 4 subjects: cause 1 at 1, cause 2 at 2, cause 1 at 3, censored at 4.
    fit = cumulative_incidence([1, 2, 3, 4], [1, 2, 1, 0])
    c1 = fit.table[fit.table["cause"] == 1]
    np.testing.assert_allclose(c1["est"], [0.25, 0.25, 0.5, 0.5])
    c2 = fit.table[fit.table["cause"] == 2]
    np.testing.assert_allclose(c2["est"], [0, 0.25, 0.25, 0.25])


def test_no_competing_events_is_one_minus_km():
    time, status = [2, 3, 3, 5, 8, 8, 9], [1, 1, 0, 1, 1, 0, 0]
    cif = cumulative_incidence(time, status).table
    km = kaplan_meier(time, status).table
    np.testing.assert_allclose(cif["est"], 1 - km["surv"], atol=1e-12)


def test_gray_is_undefined_with_one_group_or_no_event():
    one = gray_test([1, 2, 3], [1, 2, 0], ["a", "a", "a"])
    assert one.table["stat"].isna().all() and "two groups" in one.note
    none = gray_test([1, 2, 3, 4], [2, 0, 2, 0], ["a", "a", "b", "b"], causes=[1, 2])
    assert none.table.set_index("cause")["stat"].isna().loc[1]
    assert "singular" in none.note


def test_gray_with_strata_sums_over_strata(cr_data):
    # One stratum holding everyone gives the unstratified test.
    plain = gray_test(cr_data["time"], cr_data["cause"], cr_data["group"]).table
    strat = gray_test(cr_data["time"], cr_data["cause"], cr_data["group"],
                      strata=np.ones(len(cr_data))).table
    np.testing.assert_allclose(floats(plain["stat"]), floats(strat["stat"]))
