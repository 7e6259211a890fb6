"""Bad inputs to the estimators: a clear StatsInputError (a ValueError) naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from smart101_dash.stats import (
    StatsInputError,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    landmarks,
    log_rank_test,
    median_follow_up,
    number_at_risk,
)


@pytest.mark.parametrize(
    ("time", "status", "message"),
    [
        ([], [], "empty"),
        ([1, -2], [1, 0], "negative"),
        ([1, np.nan], [1, 0], "missing"),
        ([1, 2], [1], "status has 1"),
        ([1, 2], [1, 5], "status codes"),
        ([1, 2], [1, np.nan], "whole numbers"),
        (["a", "b"], [1, 0], "numeric"),
    ],
)
def test_kaplan_meier_rejects(time, status, message):
    with pytest.raises(StatsInputError, match=message):
        kaplan_meier(time, status)


def test_other_estimators_share_the_checks():
    with pytest.raises(StatsInputError, match="negative"):
        cumulative_incidence([-1, 2], [1, 2])
    with pytest.raises(StatsInputError, match="empty"):
        gray_test([], [], [])
    with pytest.raises(StatsInputError, match="group has missing"):
        log_rank_test([1, 2], [1, 0], ["a", None])
    with pytest.raises(StatsInputError, match="empty"):
        median_follow_up([], [])
    with pytest.raises(StatsInputError, match="grid"):
        number_at_risk([1, 2], [np.nan])
    with pytest.raises(StatsInputError, match="conf_type"):
        kaplan_meier([1], [1], conf_type="arcsin")  # type: ignore[arg-type]
    with pytest.raises(StatsInputError, match="conf_level"):
        kaplan_meier([1], [1], conf_level=95)
    with pytest.raises(StatsInputError, match="days"):
        landmarks(kaplan_meier([1], [1]), [-1])
    assert issubclass(StatsInputError, ValueError)


def test_cumulative_incidence_single_subject_and_all_censored():
    one = cumulative_incidence([4], [1])
    assert one.table["est"].tolist() == [1.0]
    assert one.table["lower"].isna().all()  # F = 1: the log-log interval is undefined
    censored = cumulative_incidence([1, 2], [0, 0])
    assert censored.causes == () and censored.table.empty


def test_empty_categories_are_not_groups():
    import pandas as pd

    group = pd.Series(pd.Categorical(["a", "a", "b"], categories=["a", "b", "unused"]))
    fit = kaplan_meier([1, 2, 3], [1, 0, 1], group)
    assert fit.groups == ("a", "b")
    assert log_rank_test([1, 2, 3], [1, 0, 1], group).df == 1
    assert gray_test([1, 2, 3], [1, 2, 1], group).table["df"].tolist() == [1, 1]
