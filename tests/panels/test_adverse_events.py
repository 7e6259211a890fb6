"""Adverse events on the tiny export, every number worked out by hand.

Safety population: T-A1, T-A2, T-B1 (SMART101, infused on day 7, 7 and 6) and C-1, C-2, C-3
(CONTROL), all SAFFL = Y. Events, all TRTEMFL = Y: T-A1 pyrexia grade 2 (day 9); T-A2 sepsis
grade 4, serious (day 30); C-2 aspergillosis grade 5, serious, fatal (day 80).
Deaths: C-2 day 90, T-A2 day 200.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from export_factory import adae_rows, adsl_rows, day, set_rows, to_table, valid_tables, write_export
from viewers import ANALYST, DSMB, SPONSOR

from smart101_dash.access import AccessDenied
from smart101_dash.analysis import analysis_tables
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import adverse_events
from smart101_dash.panels.registry import panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database


@pytest.fixture
def db() -> Database:
    return Database()


def build(db: Database, export: Path, **kwargs: object) -> object:
    return adverse_events.build(db, db.load(export), kwargs.pop("filters", Filters()), SETTINGS,
                                viewer=kwargs.pop("viewer", ANALYST), **kwargs)


def ae(usubjid: str, seq: int, term: str, start_day: int, grade: int,
       trtemfl: str | None) -> dict:
    """A non-serious gastrointestinal event of `usubjid` starting on `start_day`."""
    return {"USUBJID": usubjid, "AESEQ": seq, "AETERM": term.lower(), "AEDECOD": term,
            "AEBODSYS": "Gastrointestinal disorders", "ATOXGR": grade, "AESER": "N",
            "AEREL": None if usubjid.startswith("C-") else "N", "ASTDT": day(start_day),
            "AENDT": day(start_day + 2), "TRTEMFL": trtemfl}


def summary_of(result: object) -> pd.DataFrame:
    return result.item("ae_summary").data.set_index("patients with")


def counts(summary: pd.DataFrame, row: str) -> list[object]:
    """A summary row as [SMART101 n, SMART101 %, CONTROL n, CONTROL %], NA as None."""
    return [None if pd.isna(v) else v for v in summary.loc[row].tolist()]


def test_patient_summary(db: Database, tmp_path: Path) -> None:
    result = build(db, write_export(tmp_path))
    summary = summary_of(result)
    assert list(summary.columns) == ["SMART101 n", "SMART101 %", "CONTROL n", "CONTROL %"]
    assert counts(summary, "Any adverse event") == [2, 66.7, 1, 33.3]
    assert counts(summary, "Grade 3 or worse") == [1, 33.3, 1, 33.3]
    assert counts(summary, "Grade 5 (fatal)") == [0, 0.0, 1, 33.3]
    # Controls receive no SMART101: not applicable, left blank (not 0).
    assert counts(summary, "SMART101-related") == [0, 0.0, None, None]
    assert result.n_per_group == {"SMART101": 3, "CONTROL": 3}


def test_summary_columns_are_numbers(db: Database, tmp_path: Path) -> None:
    summary = summary_of(build(db, write_export(tmp_path)))
    for group in ("SMART101", "CONTROL"):
        assert pd.api.types.is_integer_dtype(summary[f"{group} n"])
        assert pd.api.types.is_float_dtype(summary[f"{group} %"])


def test_window_starts_at_the_transplant_by_default(db: Database, tmp_path: Path) -> None:
    rows = valid_tables()
    # T-A1: stomatitis grade 3 on day 3, before the infusion (day 7), not treatment-emergent;
    # C-1: nausea grade 1 on day 2, flag null (controls have no infusion).
    rows["adae"] = set_rows("adae", extra=[ae("T-A1", 2, "Stomatitis", 3, 3, None),
                                           ae("C-1", 1, "Nausea", 2, 1, None)])
    export = write_export(tmp_path, rows)

    result = build(db, export)
    summary = summary_of(result)
    assert counts(summary, "Any adverse event") == [2, 66.7, 2, 66.7]
    assert counts(summary, "Grade 3 or worse") == [2, 66.7, 1, 33.3]  # T-A1's day-3 event
    assert any("before the SMART101 infusion" in d and "TRTEMFL is not used" in d
               for d in result.definitions)
    assert "AE window day 0 to day 100, both cohorts from the transplant" in result.footer
    assert any("1 SMART101 event (1 patient) started between the transplant and the "
               "infusion" in m.text for m in result.messages)

    emergent = build(db, export, ae_start="infusion")
    summary = summary_of(emergent)
    assert counts(summary, "Any adverse event") == [2, 66.7, 2, 66.7]  # T-A1 day 9, T-A2
    assert counts(summary, "Grade 3 or worse") == [1, 33.3, 1, 33.3]  # T-A2 only
    worst = emergent.item("ae_worst_grade").data
    treated = worst[worst["group"] == "SMART101"].set_index("worst_grade")["patients"].to_dict()
    assert treated == {0: 1, 1: 0, 2: 1, 3: 0, 4: 1, 5: 0}
    by_term = emergent.item("ae_by_term").data
    assert "Stomatitis" not in set(by_term["preferred_term"])
    assert any("TRTEMFL = Y" in d and "Controls" in d for d in emergent.definitions)
    assert "SMART101 treatment-emergent (TRTEMFL = Y)" in emergent.footer
    assert not any("between the transplant and the infusion" in m.text
                   for m in emergent.messages)
    with pytest.raises(ValueError, match="ae_start"):
        build(db, export, ae_start="enrolment")


def test_treatment_emergent_follows_the_flag(db: Database, tmp_path: Path) -> None:
    rows = valid_tables()
    # T-B1 (infused day 6): a day-4 event flagged treatment-emergent (in ADaM, a pre-existing
    # event that worsened after the infusion) counts, and the page says it starts before.
    # T-A1: a day-20 event the sponsor did not flag does not count.
    rows["adae"] = set_rows("adae", extra=[ae("T-B1", 1, "Diarrhoea", 4, 1, "Y"),
                                           ae("T-A1", 2, "Vomiting", 20, 3, None)])
    result = build(db, write_export(tmp_path, rows), ae_start="infusion")
    summary = summary_of(result)
    assert counts(summary, "Any adverse event") == [3, 100.0, 1, 33.3]
    assert counts(summary, "Grade 3 or worse") == [1, 33.3, 1, 33.3]
    assert any("1 SMART101 event (1 patient) flagged treatment-emergent (TRTEMFL = Y) "
               "starts before the infusion" in m.text for m in result.messages)


def test_safety_population_is_stated(db: Database, tmp_path: Path) -> None:
    result = build(db, write_export(tmp_path / "valid"))
    population = "Safety population (SAFFL = Y): SMART101 patients infused, n=3; controls " \
                 "transplanted, n=3."
    assert population in result.item("ae_summary").caption
    assert population in result.definitions
    # T-B1 transplanted but never infused (SAFFL null): out of the safety population, with
    # its events; SMART101 n=2 in the denominators.
    rows = valid_tables()
    adsl = adsl_rows()
    for row in adsl:
        if row["USUBJID"] == "T-B1":
            row.update(TRTSDT=None, DOSELVL=None, SAFFL=None)
    rows["adsl"] = to_table("adsl", adsl)
    rows["adae"] = set_rows("adae", extra=[ae("T-B1", 1, "Nausea", 2, 1, None)])
    result = build(db, write_export(tmp_path / "not_infused", rows))
    assert result.n_per_group == {"SMART101": 2, "CONTROL": 3}
    assert counts(summary_of(result), "Any adverse event") == [2, 100.0, 1, 33.3]
    assert "SMART101 patients infused, n=2" in result.item("ae_summary").caption
    # A SMART101 patient flagged SAFFL = Y without an infusion date is counted, and said.
    for row in adsl:
        if row["USUBJID"] == "T-B1":
            row.update(SAFFL="Y")
    rows["adsl"] = to_table("adsl", adsl)
    result = build(db, write_export(tmp_path / "flag_only", rows))
    assert ("SMART101 n=3 (2 infused, 1 without an infusion date)"
            in result.item("ae_summary").caption)


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
    summary = summary_of(result)
    assert counts(summary, "SMART101-related")[:2] == [1, 33.3]
    by_term = result.item("ae_by_term").data.set_index(["system_organ_class", "preferred_term"])
    assert by_term.loc[("Gastrointestinal disorders", "Nausea"), "SMART101_any_n"] == 1
    assert by_term.loc[("Gastrointestinal disorders", "Nausea"), "SMART101_grade3plus_n"] == 0


def test_window_and_cutoff(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    early = build(db, export, window_days=20)  # only T-A1's day-9 pyrexia
    assert counts(summary_of(early), "Any adverse event") == [1, 33.3, 0, 0.0]
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


def test_causes_of_death_under_an_arm_show_that_arm_and_its_controls(db: Database,
                                                                      tmp_path: Path) -> None:
    causes = build(db, write_export(tmp_path), filters=Filters(arm="GROUP A")).item(
        "causes_of_death").data.set_index("cause")
    assert list(causes.columns) == ["death", *(f"{group}: {period}" for group in (
        "Group A (adults)", "Controls, adults") for period in (
        "day 0-100", "after day 100", "total"))]
    assert causes.loc["All deaths"].tolist()[1:] == [0, 1, 1, 1, 0, 1]  # T-A2; C-2


def test_listings_only_for_subject_level_viewers(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path)
    aggregate = build(db, export, viewer=SPONSOR)
    assert [i.key for i in aggregate.items] == ["ae_summary", "ae_worst_grade", "ae_by_term",
                                                "causes_of_death"]
    pd.testing.assert_frame_equal(aggregate.item("ae_summary").data,
                                  build(db, export).item("ae_summary").data)
    # Called directly, the listing reads themselves are refused by the data layer.
    cut = db.load(export)
    tables = analysis_tables(db, cut, SETTINGS.endpoints)
    with pytest.raises(AccessDenied, match="subject-level read"):
        adverse_events.death_listing(db, cut, Filters(), SPONSOR, tables.schema)
    with pytest.raises(AccessDenied, match="subject-level read"):
        adverse_events.sae_listing(db, cut, SPONSOR, adverse_events.window_params(
            Filters(), 100, "transplant"), "day 0 to day 100", tables.schema)


def test_filters_apply(db: Database, tmp_path: Path) -> None:
    result = build(db, write_export(tmp_path), filters=Filters(arm="GROUP B"))
    assert result.n_per_group == {"SMART101": 1, "CONTROL": 1}
    assert counts(summary_of(result), "Any adverse event") == [0, 0.0, 0, 0.0]
    assert any("No adverse event" in m.text for m in result.messages)


DEATHS = [["C-2", 90, "Infection", "Infection", False],
          ["T-A2", 200, "Relapse", "Relapse", True]]


def test_deaths_without_a_usable_adae(db: Database, tmp_path: Path) -> None:
    """Deaths need only adsl: an adae that fails validation leaves out the AE tables only."""
    tables = valid_tables()
    adae = adae_rows()
    for row in adae:
        if row["USUBJID"] == "T-A2":
            row["ATOXGR"] = 7  # outside CTCAE 1-5: adae fails validation
    tables["adae"] = to_table("adae", adae)
    export = write_export(tmp_path, tables)
    cut = db.load(export)
    assert not cut.report.is_usable("adae")

    result = build_panel(panel("adverse_events"), db, cut, Filters(), SETTINGS, DSMB)
    assert [i.key for i in result.items] == ["causes_of_death", "death_listing"]
    deaths = result.item("death_listing").data
    assert deaths[["usubjid", "death_day", "cause", "category",
                   "relapsed_before_death"]].values.tolist() == DEATHS
    causes = result.item("causes_of_death").data.set_index("cause")
    assert causes.loc["Relapse", "Group A (adults): after day 100"] == 1
    assert causes.loc["Infection", "Control: day 0-100"] == 1
    [message] = [m.text for m in result.messages if "adae" in m.text]
    assert message.startswith("Adverse-event tables not shown: Dataset adae failed "
                              "validation")
    assert message.endswith("Deaths and causes of death need only adsl and are shown.")
    assert "value outside the range 1 to 5" in message
    # Without subject-level permission the reason names no subject, and the listing is absent.
    aggregate = build_panel(panel("adverse_events"), db, cut, Filters(), SETTINGS, SPONSOR)
    assert [i.key for i in aggregate.items] == ["causes_of_death"]
    assert not any("T-A2" in m.text for m in aggregate.messages)


def test_without_adae_the_panel_says_why(db: Database, tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["adae"]
    result = build(db, write_export(tmp_path, tables))
    assert [i.key for i in result.items] == ["causes_of_death", "death_listing"]
    assert any("not shown: Dataset adae is not in this export" in m.text
               for m in result.messages)
