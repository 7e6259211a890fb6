"""Adverse events on the tiny export, every number worked out by hand.

Safety population: T-A1, T-A2, T-B1 (SMART101) and C-1, C-2, C-3 (CONTROL), all SAFFL = Y.
Events: T-A1 pyrexia grade 2 (day 9); T-A2 sepsis grade 4, serious (day 30);
C-2 aspergillosis grade 5, serious, fatal (day 80). Deaths: C-2 day 90, T-A2 day 200.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from export_factory import day, set_rows, valid_tables, write_export
from viewers import ANALYST, SPONSOR

from smart101_dash.access import AccessDenied
from smart101_dash.analysis import analysis_tables
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import adverse_events
from smart101_dash.store import Database, DatasetUnavailable


@pytest.fixture
def db() -> Database:
    return Database()


def build(db: Database, export: Path, **kwargs: object) -> object:
    return adverse_events.build(db, db.load(export), kwargs.pop("filters", Filters()), SETTINGS,
                                viewer=kwargs.pop("viewer", ANALYST), **kwargs)


def test_patient_summary(db: Database, tmp_path: Path) -> None:
    result = build(db, write_export(tmp_path))
    summary = result.item("ae_summary").data.set_index("patients with")
    assert summary.loc["Any adverse event"].tolist() == ["2 (67%)", "1 (33%)"]
    assert summary.loc["Grade 3 or worse"].tolist() == ["1 (33%)", "1 (33%)"]
    assert summary.loc["Grade 5 (fatal)"].tolist() == ["0 (0%)", "1 (33%)"]
    assert summary.loc["SMART101-related"].tolist() == ["0 (0%)", "not applicable"]
    assert result.n_per_group == {"SMART101": 3, "CONTROL": 3}


def test_worst_grade_counts_each_patient_once(db: Database, tmp_path: Path) -> None:
    rows = valid_tables()
    # A second, milder event for T-A2 must not change T-A2's worst grade (4).
    rows["adae"] = set_rows("adae", extra=[{
        "USUBJID": "T-A2", "AESEQ": 2, "AETERM": "nausea", "AEDECOD": "Nausea",
        "AEBODSYS": "Gastrointestinal disorders", "ATOXGR": 1, "AESER": "N", "AEREL": "Y",
        "ASTDT": day(12), "AENDT": day(13), "TRTEMFL": "Y"}])
    result = build(db, write_export(tmp_path, rows))
    worst = result.item("ae_worst_grade").data
    treated = worst[worst["group"] == "SMART101"].set_index("worst_grade")["patients"].to_dict()
    assert treated == {0: 1, 1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    summary = result.item("ae_summary").data.set_index("patients with")
    assert summary.loc["SMART101-related", "SMART101"] == "1 (33%)"
    by_term = result.item("ae_by_term").data.set_index(["system_organ_class", "preferred_term"])
    assert by_term.loc[("Gastrointestinal disorders", "Nausea"), "SMART101_any_n"] == 1
    assert by_term.loc[("Gastrointestinal disorders", "Nausea"), "SMART101_grade3plus_n"] == 0


def test_window_and_cutoff(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    early = build(db, export, window_days=20)  # only T-A1's day-9 pyrexia
    assert early.item("ae_summary").data.iloc[0].tolist() == ["Any adverse event", "1 (33%)",
                                                              "0 (0%)"]
    assert early.item("sae_listing").data.empty


def test_listings(db: Database, tmp_path: Path) -> None:
    result = build(db, write_export(tmp_path))
    sae = result.item("sae_listing").data
    assert sae[["usubjid", "pt", "grade", "start_day"]].values.tolist() == [
        ["T-A2", "Sepsis", 4, 30], ["C-2", "Bronchopulmonary aspergillosis", 5, 80]]
    deaths = result.item("death_listing").data
    assert deaths[["usubjid", "death_day", "cause", "category",
                   "relapsed_before_death"]].values.tolist() == [
        ["C-2", 90, "Infection", "Infection", False], ["T-A2", 200, "Relapse", "Relapse", True]]
    causes = result.item("causes_of_death").data.set_index("cause")
    assert causes.loc["Relapse", "Group A (adults): after day 100"] == 1
    assert causes.loc["Infection", "Control: day 0-100"] == 1
    assert causes.loc["All deaths", "Group B (pediatric): total"] == 0


def test_listings_only_for_subject_level_viewers(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    aggregate = build(db, export, viewer=SPONSOR)
    assert [i.key for i in aggregate.items] == ["ae_summary", "ae_worst_grade", "ae_by_term",
                                                "causes_of_death"]
    pd.testing.assert_frame_equal(aggregate.item("ae_summary").data,
                                  build(db, export).item("ae_summary").data)
    # Called directly, the listing reads themselves are refused by the data layer.
    with pytest.raises(AccessDenied, match="subject-level read"):
        cut = db.load(export)
        adverse_events.listings(db, cut, Filters(), SPONSOR,
                                {**Filters().params(), "window_days": 100}, "day 0 to day 100",
                                analysis_tables(db, cut, SETTINGS.endpoints).schema)


def test_filters_apply(db: Database, tmp_path: Path) -> None:
    result = build(db, write_export(tmp_path), filters=Filters(arm="GROUP B"))
    assert result.n_per_group == {"SMART101": 1, "CONTROL": 1}
    assert result.item("ae_summary").data.iloc[0].tolist() == ["Any adverse event", "0 (0%)",
                                                               "0 (0%)"]
    assert any("No adverse event" in m.text for m in result.messages)


def test_without_adae_the_panel_says_why(db: Database, tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["adae"]
    with pytest.raises(DatasetUnavailable, match="adae is not in this export"):
        build(db, write_export(tmp_path, tables))
