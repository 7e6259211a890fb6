"""First infection (death competing) and the episodes for rates and mean cumulative counts."""

from __future__ import annotations

import pandas as pd
import pytest
from endpoint_helpers import CUTOFF_DAY, adsl, as_dict, rows_of, subject

from smart101_dash.endpoints import (
    EndpointInputError,
    definition,
    first_infection,
    infection_episodes,
    transplant_day,
)
from smart101_dash.stats import mean_cumulative_count, poisson_rate_exact

EXPORT = adsl(subject("a", last_alive=200), subject("b", death=50, last_alive=50),
              subject("c"), subject("d", last_alive=100))
INF = rows_of([
    ("a", 10, "VIRAL", "CMV"), ("a", 10, "BACTERIAL", "E. coli"), ("a", 90, "VIRAL", "EBV"),
    ("b", 60, "FUNGAL", "Aspergillus"),  # after death: ignored
    ("c", CUTOFF_DAY + 3, "VIRAL", "BK"),  # after the cut-off: ignored
    ("d", 0, "BACTERIAL", "S. aureus"), ("d", 100, "OTHER", "?"),
], ("INFCAT", "PATHOGEN"), "ASTDT")


def test_first_infection_overall_and_by_category(settings):
    assert as_dict(first_infection(EXPORT, INF, settings)) == {
        "a": (10, 1), "b": (50, 2), "c": (CUTOFF_DAY, 0), "d": (0, 1)}
    viral = as_dict(first_infection(EXPORT, INF, settings, category="VIRAL"))
    assert viral == {"a": (10, 1), "b": (50, 2), "c": (CUTOFF_DAY, 0), "d": (100, 0)}
    by30 = as_dict(first_infection(EXPORT, INF, settings, category="VIRAL", window_days=5))
    assert by30["a"] == (5, 0)
    with pytest.raises(EndpointInputError, match="category"):
        first_infection(EXPORT, INF, settings, category="PRION")


def test_episodes_and_time_at_risk(settings):
    eps = infection_episodes(EXPORT, INF, settings)
    assert eps.episodes["USUBJID"].tolist() == ["a", "a", "a", "d", "d"]
    assert eps.episodes["day"].tolist() == [10, 10, 90, 0, 100]
    assert dict(zip(eps.subjects["USUBJID"], eps.subjects["n_episodes"], strict=True)) == {
        "a": 3, "b": 0, "c": 0, "d": 2}
    assert eps.subjects.set_index("USUBJID").loc["b", "status"] == 2
    assert eps.patient_days == 200 + 50 + CUTOFF_DAY + 100
    rate = poisson_rate_exact(len(eps.episodes), eps.patient_days)
    assert rate.estimate == pytest.approx(5 / eps.patient_days * 100)
    mcc = mean_cumulative_count(eps.subjects["time"], eps.subjects["status"],
                                eps.episodes["day"])
    # Day 0: 1 of 4; day 10: 2 of 4 (S = 1); day 90: 1 of 3, S(90-) = 3/4; day 100: 1 of 3.
    assert mcc.table["mcc"].tolist() == pytest.approx(
        [0.25, 0.75, 0.75 + 0.75 / 3, 0.75 + 1.5 / 3])


def test_transplant_day_has_a_day_zero():
    got = transplant_day(pd.Series(["2024-01-09", "2024-01-10", "2024-01-11", None]),
                         pd.Series(["2024-01-10"] * 4))
    assert got.iloc[:3].tolist() == [-1, 0, 1] and pd.isna(got.iloc[3])


def test_definitions_name_the_settings(settings):
    text = definition("cd4_reconstitution", settings)
    assert "> 50 cells/uL" in text and "day 100" in text
    assert "III-IV" in definition("acute_gvhd", settings, min_grade=3, window_days=180)
    assert "viral" in definition("first_infection", settings, category="VIRAL")
    with pytest.raises(EndpointInputError):
        definition("survival", settings)
