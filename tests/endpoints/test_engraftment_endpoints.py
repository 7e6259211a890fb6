"""Neutrophil recovery derived from daily ANC, and the classification of causes of death."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints import death_cause_categories, death_causes, neutrophil_recovery_dates
from smart101_dash.endpoints.deaths import classify_cause

D0 = date(2025, 1, 1)


def anc(**subjects: list[float | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily ANC from day 0 (None: no count that day) and the subjects' adsl."""
    rows = [(s, D0 + timedelta(days=i), v) for s, values in subjects.items()
            for i, v in enumerate(values) if v is not None]
    adsl = pd.DataFrame({"USUBJID": list(subjects), "HSCTDT": [D0] * len(subjects)})
    return pd.DataFrame(rows, columns=["USUBJID", "ADT", "AVAL"]), adsl


def test_recovery_is_the_first_of_three_counts_at_500_after_the_nadir() -> None:
    counts, adsl = anc(
        NADIR=[900, 300, 100, 600, 700, 400, 500, 500, 520],  # day 0 above: before the nadir
        SHORT=[100, 600, 700, None, None],  # only two counts at the level
        GAPS=[100, 600, None, 650, None, 700],  # three consecutive counts, on different days
        NEVER_LOW=[800, 900, 1000],  # no nadir recorded: from day 0
        LOW=[10, 20, 30])
    got = neutrophil_recovery_dates(counts, adsl)
    assert got["NADIR"] == pd.Timestamp(D0 + timedelta(days=6))
    assert pd.isna(got["SHORT"]) and pd.isna(got["LOW"])
    assert got["GAPS"] == pd.Timestamp(D0 + timedelta(days=1))
    assert got["NEVER_LOW"] == pd.Timestamp(D0)


def test_several_counts_on_one_day_count_as_their_mean_and_before_day_0_not_at_all() -> None:
    counts, adsl = anc(S=[100, 600, 600, 600])
    extra = pd.DataFrame([("S", D0 + timedelta(days=1), 200.0),  # mean of 600 and 200: 400
                          ("S", D0 - timedelta(days=3), 900.0)], columns=counts.columns)
    got = neutrophil_recovery_dates(pd.concat([counts, extra]), adsl)
    assert pd.isna(got["S"])  # days 2 and 3 only: two counts at the level


@pytest.mark.parametrize(("cause", "relapsed", "category"), [
    ("Sepsis", False, "Infection"),
    ("Pneumonia (CMV)", False, "Infection"),
    ("Acute GvHD grade IV", False, "GvHD"),
    ("graft-versus-host disease", False, "GvHD"),
    ("Primary graft failure", False, "Graft failure"),
    ("Veno-occlusive disease", False, "Organ toxicity"),
    ("Multiple organ failure", False, "Organ toxicity"),
    ("Car accident", False, "Other"),
    (None, False, "Not given"),
    ("  ", False, "Not given"),
    ("Infection", True, "Relapse"),  # after a relapse, the death is relapse-related
    ("Progressive leukemia", False, "Relapse"),  # the cause names the disease
])
def test_causes_of_death(cause: str | None, relapsed: bool, category: str) -> None:
    assert classify_cause(cause, relapsed, EndpointSettings()) == category


def test_deaths_counted_are_those_overall_survival_counts() -> None:
    adsl = pd.DataFrame({
        "USUBJID": ["EARLY", "LATE", "RELAPSED", "BEFORE_DAY_0", "AFTER_CUT"],
        "HSCTDT": [D0] * 5, "DCUTDT": [D0 + timedelta(days=500)] * 5,
        "LSTALVDT": [None] * 5,
        "DTHDT": [D0 + timedelta(days=100), D0 + timedelta(days=101),
                  D0 + timedelta(days=300), D0 - timedelta(days=5),
                  D0 + timedelta(days=600)],
        "RLPSDT": [None, None, D0 + timedelta(days=200), None, None],
        "DTHCAUS": ["Sepsis", "GvHD", "Infection", "Sepsis", "Sepsis"]})
    got = death_causes(adsl, EndpointSettings()).set_index("USUBJID")
    assert list(got.index) == ["EARLY", "LATE", "RELAPSED"]
    assert got["period"].tolist() == ["day 0-100", "after day 100", "after day 100"]
    assert got["category"].tolist() == ["Infection", "GvHD", "Relapse"]
    assert death_cause_categories(EndpointSettings()) == (
        "Relapse", "Graft failure", "GvHD", "Infection", "Organ toxicity", "Other", "Not given")
