"""Counted rows give the subjects' answers: every estimator with `weights` (subjects per row
of identical time, status and group) equals the same estimator on the subjects themselves.

The dashboard reads an endpoint as such counts (one row per group, day and status), so that a
registry of 100,000 controls costs no more rows than the days of follow-up; these tests are
what lets it do so without changing a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from smart101_dash.stats import (
    StatsInputError,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    log_rank_test,
    mean_cumulative_count,
    median_follow_up,
    number_at_risk,
)


@pytest.fixture(scope="module")
def subjects() -> pd.DataFrame:
    """Many ties: integer days in a short range, three outcomes, two groups of unequal size."""
    rng = np.random.default_rng(20261127)
    n = 800
    return pd.DataFrame({
        "time": rng.integers(0, 40, n).astype(float),
        "status": rng.choice([0, 1, 2], n, p=[0.5, 0.3, 0.2]),
        "group": rng.choice(["SMART101", "CONTROL"], n, p=[0.3, 0.7]),
    })


def counted(subjects: pd.DataFrame) -> pd.DataFrame:
    return subjects.groupby(["group", "time", "status"], as_index=False).size().rename(
        columns={"size": "n"}).sample(frac=1.0, random_state=1)  # row order must not matter


def test_kaplan_meier_and_log_rank(subjects: pd.DataFrame) -> None:
    rows = counted(subjects)
    assert len(rows) < len(subjects) / 2  # the test really aggregates
    expected = kaplan_meier(subjects["time"], subjects["status"] == 1, subjects["group"])
    got = kaplan_meier(rows["time"], rows["status"] == 1, rows["group"], weights=rows["n"])
    pd.testing.assert_frame_equal(got.table, expected.table, rtol=1e-12)
    pd.testing.assert_frame_equal(got.medians, expected.medians, rtol=1e-12)
    test = log_rank_test(subjects["time"], subjects["status"] == 1, subjects["group"])
    weighted = log_rank_test(rows["time"], rows["status"] == 1, rows["group"], weights=rows["n"])
    assert weighted.chisq == pytest.approx(test.chisq, rel=1e-12)
    pd.testing.assert_frame_equal(weighted.table, test.table)


def test_cumulative_incidence_and_gray(subjects: pd.DataFrame) -> None:
    rows = counted(subjects)
    expected = cumulative_incidence(subjects["time"], subjects["status"], subjects["group"])
    got = cumulative_incidence(rows["time"], rows["status"], rows["group"], weights=rows["n"])
    pd.testing.assert_frame_equal(got.table, expected.table, rtol=1e-12)
    test = gray_test(subjects["time"], subjects["status"], subjects["group"])
    weighted = gray_test(rows["time"], rows["status"], rows["group"], weights=rows["n"])
    pd.testing.assert_frame_equal(weighted.table, test.table, rtol=1e-10)


def test_follow_up_and_risk_table(subjects: pd.DataFrame) -> None:
    rows = counted(subjects)
    event = subjects["status"] == 1
    pd.testing.assert_frame_equal(
        median_follow_up(rows["time"], rows["status"] == 1, rows["group"], weights=rows["n"]),
        median_follow_up(subjects["time"], event, subjects["group"]))
    grid = [0, 10, 30, 59, 80]
    pd.testing.assert_frame_equal(
        number_at_risk(rows["time"], grid, rows["group"], weights=rows["n"]),
        number_at_risk(subjects["time"], grid, subjects["group"]))


@pytest.mark.parametrize("weights", [[1, 0], [1, 1.5], [1, -2], [1, np.nan]])
def test_weights_must_count_subjects(weights: list[float]) -> None:
    with pytest.raises(StatsInputError, match="weights must be whole numbers"):
        kaplan_meier([1, 2], [1, 0], weights=weights)


def test_mean_cumulative_count(subjects: pd.DataFrame) -> None:
    rng = np.random.default_rng(7)
    # Episodes on days within each subject's follow-up, several on some days.
    people = subjects.assign(status=subjects["status"].clip(upper=1))
    picked = people.sample(300, replace=True, random_state=3)
    episodes = pd.DataFrame({"day": np.floor(picked["time"].to_numpy() * rng.random(300)),
                             "group": picked["group"].to_numpy()})
    expected = mean_cumulative_count(people["time"], people["status"], episodes["day"],
                                     people["group"], episodes["group"])
    rows = counted(people)
    days = episodes.groupby(["group", "day"], as_index=False).size()
    got = mean_cumulative_count(rows["time"], rows["status"], days["day"], rows["group"],
                                days["group"], weights=rows["n"], episode_weights=days["size"])
    pd.testing.assert_frame_equal(got.table, expected.table, rtol=1e-12)
    assert got.max_time == expected.max_time
