"""Log-rank test against R's survdiff."""

from __future__ import annotations

import numpy as np
import pytest
from stats_helpers import TOL

from smart101_dash.stats import log_rank_test


def test_log_rank_matches_survdiff(cr_data, reference):
    ref = reference("logrank_reference.csv").iloc[0]
    got = log_rank_test(cr_data["time"], cr_data["cause"] > 0, cr_data["group"])
    assert got.chisq == pytest.approx(ref["chisq"], abs=TOL)
    assert got.p_value == pytest.approx(ref["p"], abs=TOL)
    assert got.df == 1
    assert got.table["observed"].sum() == (cr_data["cause"] > 0).sum()


def test_agrees_with_scikit_survival(cr_data):
    from sksurv.compare import compare_survival

    y = np.array(list(zip(cr_data["cause"] > 0, cr_data["time"].astype(float), strict=True)),
                 dtype=[("event", bool), ("time", float)])
    groups = (cr_data["id"].str[-1].astype(int) % 3).to_numpy()
    chisq, p = compare_survival(y, groups)
    got = log_rank_test(cr_data["time"], cr_data["cause"] > 0, groups)
    assert got.chisq == pytest.approx(chisq, rel=1e-10)
    assert got.p_value == pytest.approx(p, rel=1e-8)


def test_group_without_expected_events_is_left_out_as_in_survdiff():
    # Group c is censored before the first event: R drops it and reports 1 df.
    got = log_rank_test([1, 2, 3, 4, 0.5], [1, 1, 1, 0, 0], ["a", "b", "a", "b", "c"])
    assert got.df == 1 and got.chisq is not None


def test_three_groups_have_two_df(cr_data):
    groups = cr_data["id"].str[-1].astype(int) % 3
    got = log_rank_test(cr_data["time"], cr_data["cause"] > 0, groups)
    assert got.df == 2 and 0 <= got.p_value <= 1


def test_undefined_cases_give_none_with_a_note():
    one = log_rank_test([1, 2], [1, 1], ["a", "a"])
    assert one.chisq is None and one.p_value is None and "two groups" in one.note
    censored = log_rank_test([1, 2], [0, 0], ["a", "b"])
    assert censored.chisq is None and "no events" in censored.note
    assert censored.table["n"].tolist() == [1, 1]
