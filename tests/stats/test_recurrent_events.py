"""Mean cumulative count with death as a terminal event (Ghosh & Lin 2000)."""

from __future__ import annotations

import numpy as np
import pytest

from smart101_dash.stats import StatsInputError, landmarks, mean_cumulative_count


def test_worked_example_with_a_death():
    # Subjects followed to 4 (died), 6, 10; episodes at 1, 1 (two subjects), 5, 8.
    # Y(1) = 3, S = 1 -> 2/3; at 5: Y = 2, S(5-) = 2/3 (death at 4: 1 - 1/3) -> + 2/3 * 1/2;
    # at 8: Y = 1, S(8-) = 2/3 -> + 2/3.
    fit = mean_cumulative_count([4, 6, 10], [2, 0, 0], [1, 1, 5, 8])
    t = fit.table
    assert t["time"].tolist() == [1, 5, 8]
    assert t["n_risk"].tolist() == [3, 2, 1]
    np.testing.assert_allclose(t["mcc"], [2 / 3, 2 / 3 + 1 / 3, 2 / 3 + 1 / 3 + 2 / 3])


def test_without_deaths_it_is_episodes_over_risk_set():
    fit = mean_cumulative_count([3, 3, 3], [0, 0, 0], [1, 2, 2, 3])
    np.testing.assert_allclose(fit.table["mcc"], [1 / 3, 1.0, 4 / 3])


def test_by_group_and_landmarks():
    fit = mean_cumulative_count([5, 5, 9], [0, 0, 1], [1, 2, 4], group=["a", "a", "b"],
                                episode_group=["a", "a", "b"])
    got = landmarks(fit, [0, 3, 9])
    a = got[got["group"] == "a"]
    assert a["time"].tolist() == [0, 3]  # day 9 is after group a's last follow-up
    np.testing.assert_allclose(a["mcc"], [0.0, 1.0])
    assert got[got["group"] == "b"]["mcc"].tolist() == [0.0, 0.0, 1.0]


def test_no_episodes_and_bad_inputs():
    assert mean_cumulative_count([5, 6], [0, 1], []).table.empty
    with pytest.raises(StatsInputError, match="after"):
        mean_cumulative_count([5], [0], [7])
    with pytest.raises(StatsInputError, match="episode_group"):
        mean_cumulative_count([5], [0], [1], group=["a"])
