"""The safety summary on the six-subject export, every number worked out by hand from
tests/export_factory.py, by cohort and arm and pooled."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from export_factory import adae_rows, set_rows, valid_tables, write_export
from viewers import DSMB, SPONSOR

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import safety
from smart101_dash.store import Database

GROUPS = ["Group A (adults)", "Group B (pediatric)", "Control"]


def build(export: Path, **options: object):
    db = Database()
    return safety.build(db, db.load(export), Filters(), SETTINGS, viewer=DSMB, **options)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export"))


def rows(result: object, key: str) -> list[list[object]]:
    return result.item(key).data.values.tolist()  # type: ignore[attr-defined]


def test_by_cohort_and_arm(export: Path) -> None:
    result = build(export)
    assert [c for c in result.item("safety_exposure").data.columns[1:]] == GROUPS
    # Group A: T-A1, T-A2; Group B: T-B1; controls C-1..3 (no infusion). Follow-up: T-A1 and
    # T-B1 to the cut-off (day 537), T-A2 died day 200; C-1 and C-3 day 537, C-2 died day 90.
    assert rows(result, "safety_exposure") == [
        ["Enrolled", 2, 1, 3], ["Transplanted (day 0)", 2, 1, 3], ["SMART101 infused", 2, 1, 0],
        ["Median follow-up, days (transplanted)", 368, 537, 537]]
    # T-A2 died after a relapse on day 200; C-2 of infection on day 90. Every cause listed.
    # Columns: per group (A, B, Control), day 0-100, after day 100, total.
    deaths = {r[1]: r[2:] for r in rows(result, "safety_deaths")}
    assert list(deaths) == ["Relapse", "Graft failure", "GvHD", "Infection", "Organ toxicity",
                            "Other", "Not given", "Non-relapse, all causes", "All deaths"]
    assert deaths["Relapse"] == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert deaths["Infection"] == [0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert deaths["Non-relapse, all causes"] == [0, 0, 0, 0, 0, 0, 1, 0, 1]
    assert deaths["All deaths"] == [0, 1, 1, 0, 0, 0, 1, 0, 1]
    assert sum(deaths["GvHD"] + deaths["Other"] + deaths["Not given"]) == 0
    # SAEs: T-A2 sepsis, C-2 aspergillosis; related grade 3+: none; aGvHD III-IV by day 100:
    # C-1 (grade 3 on day 28); grade 3 infections: C-2 (two episodes, one patient).
    assert rows(result, "safety_events") == [
        ["Patients with an SAE", 1, 0, 1], ["Patients with a SMART101-related grade 3+ AE", 0, 0, 0],
        ["Patients with grade III-IV aGvHD by day 100", 0, 0, 1],
        ["Patients with a grade 3 infection", 0, 0, 1]]
    assert result.item("safety_rules").data["rule"].tolist() == [
        "NRM by day 100", "Grade III-IV aGvHD by day 100",
        "SMART101-related grade 4-5 AE by day 30", "Graft failure by day 42"]
    assert {i.key: i.link for i in result.items} == {
        "safety_exposure": "overview", "safety_deaths": "adverse_events",
        "safety_events": "adverse_events", "safety_rules": "stopping_rules"}  # one cut: no changes


def test_an_arm_chosen_leaves_the_other_arm_at_zero_not_a_fraction(export: Path) -> None:
    db = Database()
    result = safety.build(db, db.load(export), Filters(arm="GROUP A"), SETTINGS, viewer=DSMB)
    exposure = result.item("safety_exposure").data
    # Group B is left out: its counts are whole zeros and its median blank (drawn "0.000"
    # when the empty cell made the column floats).
    assert rows(result, "safety_exposure")[:3] == [
        ["Enrolled", 2, 0, 2], ["Transplanted (day 0)", 2, 0, 2], ["SMART101 infused", 2, 0, 0]]
    assert exposure.loc[3, "Group B (pediatric)"] is pd.NA
    assert all(str(exposure[c].dtype) == "Int64" for c in GROUPS)


def test_pooled_has_no_comparison(export: Path) -> None:
    result = build(export, pooled=True)
    for item in result.items:
        assert not set(GROUPS) & set(item.data.columns), item.key
    assert rows(result, "safety_exposure") == [
        ["Enrolled", 6], ["Transplanted (day 0)", 6], ["SMART101 infused", 3]]
    deaths = {r[1]: r[2:] for r in rows(result, "safety_deaths")}
    assert deaths["Relapse"] == [0, 1, 1] and deaths["Infection"] == [1, 0, 1]
    assert deaths["All deaths"] == [1, 1, 2]


def test_a_related_severe_event_counts(tmp_path: Path) -> None:
    extra = {**adae_rows()[0], "AESEQ": 2, "ATOXGR": 3, "AEREL": "Y", "AESER": "Y"}
    export = write_export(tmp_path / "e", {**valid_tables(), "adae": set_rows("adae", [extra])})
    events = build(export).item("safety_events").data.set_index("event")
    assert events.loc["Patients with a SMART101-related grade 3+ AE"].tolist() == [1, 0, 0]
    assert events.loc["Patients with an SAE"].tolist() == [2, 0, 1]


def test_demo_changes_and_no_subject_ids() -> None:
    demo = Path(__file__).resolve().parents[2] / "data" / "demo"
    db = Database()
    result = safety.build(db, db.load(demo), Filters(), SETTINGS, viewer=SPONSOR)
    changes = result.item("safety_changes").data.set_index("change")
    assert changes.loc["New death"].sum() > 0
    for item in result.items:
        assert "USUBJID" not in item.data.columns
