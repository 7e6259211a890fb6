"""Kaplan-Meier against R's survfit (survival 3.5): every event row, all three interval types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stats_helpers import TOL, assert_no_nan_numbers, floats

from smart101_dash.stats import kaplan_meier, landmarks, median_follow_up, number_at_risk


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_every_event_row_matches_survfit(cr_data, reference, conf_type):
    ref = reference("km_reference.csv")
    ref = ref[ref["conf_type"] == conf_type].sort_values(["group", "time"]).reset_index(
        drop=True)
    fit = kaplan_meier(cr_data["time"], cr_data["cause"] > 0, cr_data["group"],
                       conf_type=conf_type)
    rows = fit.table[fit.table["n_event"] > 0].reset_index(drop=True)
    assert len(rows) == len(ref)
    assert (rows["group"] == ref["group"]).all()
    for col in ("time", "n_risk", "n_event"):
        np.testing.assert_array_equal(rows[col].to_numpy(), ref[col].to_numpy())
    for col in ("surv", "std_err", "lower", "upper"):
        np.testing.assert_allclose(floats(rows[col]), ref[col].to_numpy(), rtol=0, atol=TOL,
                                   err_msg=col)


def test_landmarks_match_summary_times(cr_data, reference):
    ref = reference("km_landmarks_reference.csv").sort_values(["group", "time"])
    fit = kaplan_meier(cr_data["time"], cr_data["cause"] > 0, cr_data["group"])
    got = landmarks(fit, [100, 365, 730]).sort_values(["group", "time"])
    np.testing.assert_array_equal(got["n_risk"].to_numpy(), ref["n_risk"].to_numpy())
    for col in ("surv", "lower", "upper"):
        np.testing.assert_allclose(floats(got[col]), ref[col].to_numpy(), rtol=0, atol=TOL)


def test_landmarks_before_first_time_and_after_last_follow_up():
    fit = kaplan_meier([5, 10, 20], [1, 0, 1], conf_type="plain")
    got = landmarks(fit, [0, 10, 25])
    # Day 25 is after the last follow-up (day 20): left out rather than extrapolated.
    assert got["time"].tolist() == [0.0, 10.0]
    assert got.loc[0, "surv"] == 1.0 and got.loc[0, "lower"] == 1.0
    assert got.loc[1, "surv"] == pytest.approx(2 / 3) and got.loc[1, "n_risk"] == 2


def test_worked_example_with_ties():
    # Times 1,1,2,3(censored),4: S(1) = 3/5, S(2) = 3/5 * 2/3, S(4) = 0.
    fit = kaplan_meier([1, 1, 2, 3, 4], [1, 1, 1, 0, 1], conf_type="log")
    t = fit.table
    assert t["time"].tolist() == [1, 2, 3, 4]
    assert t["n_risk"].tolist() == [5, 3, 2, 1]
    np.testing.assert_allclose(t["surv"], [0.6, 0.4, 0.4, 0.0])
    greenwood = 2 / (5 * 3)
    assert floats(t["std_err"])[0] == pytest.approx(0.6 * np.sqrt(greenwood))
    # Where S is 0 the standard error and the log interval are undefined: <NA>, not NaN.
    assert t["std_err"].isna().iloc[-1] and t["lower"].isna().iloc[-1]
    assert_no_nan_numbers(t)


def test_median_follows_r_rules():
    # S drops to exactly 0.5 at t=2 and stays until t=4: R reports the midpoint, 3.
    fit = kaplan_meier([1, 2, 4, 5], [1, 1, 1, 1])
    assert floats(fit.medians["median"])[0] == pytest.approx(3.0)
    fit = kaplan_meier([1, 2, 3, 4, 5], [1, 1, 1, 0, 0])
    assert floats(fit.medians["median"])[0] == 3.0
    not_reached = kaplan_meier([1, 2, 3, 4], [1, 0, 0, 0]).medians
    assert not_reached["median"].isna().all() and not_reached["upper"].isna().all()


def test_median_interval_is_where_the_bands_cross_half(cr_data):
    fit = kaplan_meier(cr_data["time"], cr_data["cause"] > 0, cr_data["group"])
    for _, m in fit.medians.iterrows():
        block = fit.table[(fit.table["group"] == m["group"]) & (fit.table["n_event"] > 0)]
        t = block["time"].to_numpy()
        assert m["median"] == t[np.argmax(block["surv"].to_numpy() <= 0.5)]
        assert m["lower"] == t[np.argmax(floats(block["lower"]) <= 0.5)]
        assert m["upper"] == t[np.argmax(floats(block["upper"]) <= 0.5)]
        assert m["lower"] <= m["median"] <= m["upper"]


def test_reverse_km_median_follow_up():
    # Alive (censored) at 10, 20, 30; deaths at 5 and 15 censor the follow-up curve.
    got = median_follow_up([5, 10, 15, 20, 30], [1, 0, 1, 0, 0])
    # Reverse KM: events at 10 (n=4), 20 (n=2), 30 (n=1): 3/4, 3/8 -> median 20.
    assert floats(got["median"])[0] == 20.0
    assert list(got.columns) == ["group", "n", "median", "lower", "upper"]


def test_number_at_risk_on_a_grid():
    got = number_at_risk([1, 5, 5, 9, 12], [0, 5, 6, 12, 13], group=["a", "a", "b", "b", "b"])
    assert got[got["group"] == "a"]["n_risk"].tolist() == [2, 1, 0, 0, 0]
    assert got[got["group"] == "b"]["n_risk"].tolist() == [3, 3, 2, 1, 0]


def test_all_censored_and_single_subject():
    fit = kaplan_meier([3, 4], [0, 0])
    assert (fit.table["surv"] == 1).all() and fit.medians["median"].isna().all()
    one = kaplan_meier([7], [1])
    assert one.table["surv"].tolist() == [0.0]
    assert_no_nan_numbers(one.table)
    assert isinstance(one.table, pd.DataFrame)
