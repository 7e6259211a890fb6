"""A patient's whole story, built through the runner: the tiny export worked out by hand, the
demo export against its raw datasets, and who may see it.

Tiny export (tests/export_factory.py): day 0 2024-01-10, cut-off day 537. SMART101: T-A1
(Group A, infused day 7; CD4 40/80/150 on days 30/60/100, so CD4+IR on day 60; aGvHD grade I
day 21, grade II day 35; CMV day 25; pyrexia grade 2 day 9), T-A2 (Group A, infused day 7,
relapse day 150, death day 200), T-B1 (Group B, infused day 6; CD4 60/70/300: CD4+IR day 30).
Control C-2: E. coli day 12, Aspergillus day 80, aspergillosis grade 5 day 80, death day 90.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from export_factory import write_export
from hostile_export import SUBJECT_IDS, write_hostile_export
from viewers import ANALYST, DSMB, SPONSOR

from smart101_dash.access import AccessDenied, Viewer
from smart101_dash.config import SETTINGS
from smart101_dash.cuts import newest_cut
from smart101_dash.filters import Filters
from smart101_dash.panels import patient
from smart101_dash.panels.base import PanelResult
from smart101_dash.panels.registry import panel
from smart101_dash.runner import build_panel
from smart101_dash.safe_text import escape_plotly
from smart101_dash.store import Database

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def build(setup: tuple[Database, object], filters: Filters | None = None,
          viewer: Viewer = ANALYST, **options: object) -> PanelResult:
    db, cut = setup
    return build_panel(panel("patient"), db, cut, filters or Filters(), SETTINGS, viewer,
                       options)


def texts(result: PanelResult) -> str:
    return " ".join(m.text for m in result.messages)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, object]:
    db = Database()
    return db, db.load(write_export(tmp_path_factory.mktemp("patient") / "export"))


@pytest.fixture(scope="module")
def demo() -> tuple[Database, object]:
    db = Database()
    return db, db.load(DEMO)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """The demo's newest cut as the files hold it."""
    folder = newest_cut(DEMO)
    return {name: pd.read_parquet(folder / (name if name == "adlb" else f"{name}.parquet"))
            for name in ("adsl", "adlb", "adgvhd", "adinf", "adae")}


def test_swimmer_rows_worked_out_by_hand(tiny: tuple) -> None:
    result = build(tiny)
    assert [i.key for i in result.items] == ["swimmer_plot"]
    assert patient.CHOOSE in texts(result)
    table = result.item("swimmer_plot").data.set_index("usubjid")
    assert list(table.index) == ["T-A1", "T-B1", "T-A2"]  # longest follow-up first
    assert {k: None if pd.isna(v) else v for k, v in table.loc["T-A1"].items()} == {
        "arm": "GROUP A", "follow_up_days": 537, "infusion_day": 7,
        "cd4_reconstitution_day": 60, "acute_gvhd_2_4_day": 35, "chronic_gvhd_day": None,
        "first_infection_day": 25, "relapse_day": None, "death_day": None}
    assert (table.loc["T-A2", "relapse_day"], table.loc["T-A2", "death_day"],
            table.loc["T-A2", "follow_up_days"]) == (150, 200, 200)
    assert table.loc["T-B1", "cd4_reconstitution_day"] == 30
    assert result.n_per_group == {"SMART101": 3}
    children = build(tiny, Filters(arm="GROUP B")).item("swimmer_plot").data
    assert children["usubjid"].tolist() == ["T-B1"]


def test_swimmer_figure_has_a_bar_per_patient_and_a_marker_per_event(tiny: tuple) -> None:
    figure = build(tiny).item("swimmer_plot").figure
    bars = [t for t in figure.data if t.type == "bar"]
    assert sorted(y for t in bars for y in t.y) == ["T-A1", "T-A2", "T-B1"]
    markers = {t.name: dict(zip(t.y, t.x, strict=True)) for t in figure.data
               if t.type == "scatter"}
    assert markers["Death"] == {"T-A2": 200}
    assert markers["CD4+ immune reconstitution"] == {"T-A1": 60, "T-B1": 30}
    assert markers["Alive at last follow-up"] == {"T-A1": 537, "T-B1": 537}
    assert "Chronic GvHD" not in markers  # no treated patient has it
    assert figure.layout.yaxis.categoryarray == ("T-A1", "T-B1", "T-A2")
    assert "Data cut-off 2025-06-30" in figure.layout.annotations[-1].text


def test_timeline_of_a_treated_patient(tiny: tuple) -> None:
    result = build(tiny, subject="T-A1")
    assert [i.key for i in result.items] == ["patient_timeline", "patient_events",
                                             "swimmer_plot"]
    events = result.item("patient_events").data
    assert list(events.columns) == ["usubjid", *patient.EVENT_COLUMNS]
    assert set(events["usubjid"]) == {"T-A1"}
    assert events[["day", "kind"]].values.tolist() == [
        [0, "transplant"], [7, "SMART101 infusion"], [9, "adverse event"], [21, "acute GvHD"],
        [25, "infection"], [30, "CD4 count"], [35, "acute GvHD"], [60, "CD4 count"],
        [60, "CD4+ immune reconstitution"], [100, "CD4 count"], [537, "last known alive"]]
    assert events.loc[events["kind"] == "CD4 count", "value"].tolist() == [40, 80, 150]
    assert events.loc[events["kind"] == "acute GvHD", "value"].tolist() == [1, 2]
    assert events.loc[6, "description"] == "acute GvHD grade II (Skin 3, Lower GI 1)"
    assert "CMV" in events.loc[4, "description"] and events.loc[4, "value"] == 2
    # The table and the chart's rows are the same rows.
    pd.testing.assert_frame_equal(events.drop(columns="usubjid"),
                                  result.item("patient_timeline").data)
    assert "patient T-A1 (Group A (adults))" in \
        result.item("patient_timeline").figure.layout.annotations[-1].text


def test_timeline_of_a_control_who_died(tiny: tuple) -> None:
    events = build(tiny, subject="C-2").item("patient_events").data
    assert events[["day", "kind"]].values.tolist() == [
        [0, "transplant"], [12, "infection"], [80, "infection"], [80, "adverse event"],
        [90, "death"]]
    assert events["value"].fillna(-1).tolist() == [-1, 3, 3, 5, -1]  # grades; none: blank
    assert events.iloc[-1]["description"] == "death: Infection"


def test_no_unknown_or_filtered_out_patient_gives_a_message(tiny: tuple) -> None:
    unknown = build(tiny, subject="NO-SUCH-ID")
    assert [i.key for i in unknown.items] == ["swimmer_plot"]
    assert "There is no patient NO-SUCH-ID in this data cut." in texts(unknown)
    outside = build(tiny, Filters(arm="GROUP B"), subject="T-A1")
    assert [i.key for i in outside.items] == ["swimmer_plot"]
    assert "T-A1 is not among the patients the filters select" in texts(outside)
    blank = build(tiny, subject="  ")
    assert patient.CHOOSE in texts(blank)
    nobody = build(tiny, Filters(cohorts=("CONTROL",)), subject="C-2")
    assert [i.key for i in nobody.items] == ["patient_timeline", "patient_events"]
    assert "No transplanted SMART101 patient matches the filters" in texts(nobody)


def test_sponsor_gets_no_item_and_no_subject_read(tiny: tuple) -> None:
    result = build(tiny, viewer=SPONSOR)
    assert not result.items
    assert "does not allow subject-level rows" in texts(result)
    assert not [s for s in ("T-A1", "T-A2", "C-2") if s in texts(result)]
    with pytest.raises(AccessDenied, match="option 'Patient'"):
        build(tiny, viewer=SPONSOR, subject="T-A1")
    db, cut = tiny
    with pytest.raises(AccessDenied, match="subject-level read"):
        patient.subject_ids(db, cut, SPONSOR, Filters())
    assert patient.subject_ids(db, cut, DSMB, Filters()) == ("T-A1", "T-A2", "T-B1", "C-1", "C-2",
                                                             "C-3")
    assert patient.subject_ids(db, cut, DSMB, Filters(arm="GROUP B")) == ("T-B1", "C-3")
    assert not panel("patient").allowed_items(SPONSOR)
    assert not panel("patient").visible_options(SPONSOR)


def test_every_item_carries_the_queries_that_made_it(tiny: tuple) -> None:
    result = build(tiny, subject="T-A1")
    assert len(result.item("swimmer_plot").queries) == 1
    timeline = result.item("patient_timeline").queries
    assert len(timeline) == 5  # the patient, CD4, GvHD, infections, adverse events
    assert all(q.subject_level and q.params["subject"] == "T-A1" for q in timeline)
    assert result.item("patient_events").queries == timeline


@pytest.mark.parametrize("filters", [Filters(), Filters(arm="GROUP B"),
                                     Filters(diagnoses=("AML",))],
                         ids=["all", "group-b", "aml"])
def test_swimmer_has_a_row_per_treated_patient_of_the_demo(demo: tuple, raw: dict,
                                                           filters: Filters) -> None:
    adsl = raw["adsl"]
    treated = adsl[(adsl["COHORT"] == "SMART101") & adsl["HSCTDT"].notna()]
    if filters.arm:
        treated = treated[treated["ARM"] == filters.arm]
    if filters.diagnoses:
        treated = treated[treated["DIAG"].isin(filters.diagnoses)]
    table = build(demo, filters).item("swimmer_plot").data
    assert sorted(table["usubjid"]) == sorted(treated["USUBJID"])
    follow_up = table["follow_up_days"].to_numpy()
    assert (follow_up[:-1] >= follow_up[1:]).all()


def test_a_demo_timeline_matches_the_raw_datasets(demo: tuple, raw: dict) -> None:
    adsl = raw["adsl"]
    died = adsl[(adsl["COHORT"] == "SMART101") & adsl["DTHDT"].notna()].iloc[0]
    subject = died["USUBJID"]
    result = build(demo, subject=subject)
    events = result.item("patient_events").data

    def rows(name: str) -> pd.DataFrame:
        return raw[name][raw[name]["USUBJID"] == subject]

    def days(dates: pd.Series) -> list[int]:
        return sorted((pd.to_datetime(dates) - pd.Timestamp(died["HSCTDT"])).dt.days.tolist())

    def kind(name: str) -> pd.DataFrame:
        return events[events["kind"] == name]

    cd4 = rows("adlb")[rows("adlb")["PARAMCD"] == "CD4"]
    assert len(kind("CD4 count")) == len(cd4) > 0
    assert sorted(kind("CD4 count")["value"]) == pytest.approx(sorted(cd4["AVAL"]))
    assert kind("CD4 count")["day"].tolist() == days(cd4["ADT"])
    assert kind("infection")["day"].tolist() == days(rows("adinf")["ASTDT"])
    assert kind("adverse event")["day"].tolist() == days(rows("adae")["ASTDT"])
    assert sorted(kind("adverse event")["value"]) == sorted(rows("adae")["ATOXGR"])
    graded = rows("adgvhd")["AGVHDGR"].notna() | rows("adgvhd")["SKINSTG"].notna()
    assert len(kind("acute GvHD")) == int(graded.sum())
    death_day = (pd.Timestamp(died["DTHDT"]) - pd.Timestamp(died["HSCTDT"])).days
    assert kind("death")["day"].tolist() == [death_day]
    assert events["day"].is_monotonic_increasing
    swimmer = result.item("swimmer_plot").data.set_index("usubjid").loc[subject]
    assert swimmer["death_day"] == swimmer["follow_up_days"] == death_day


def test_figures_are_valid_plotly(demo: tuple, raw: dict) -> None:
    subject = raw["adsl"].loc[raw["adsl"]["COHORT"] == "CONTROL", "USUBJID"].iloc[0]
    result = build(demo, subject=subject)
    for item in result.items:
        if item.figure is None:
            continue
        sent = json.loads(pio.to_json(item.chart, validate=False))
        assert "template" not in sent["layout"]  # the look is in the figure
        validated = go.Figure(item.chart)
        validated.layout.template = None
        assert sent == json.loads(pio.to_json(validated)), item.key


def test_subject_ids_from_the_export_are_escaped_on_the_axis(tmp_path: Path) -> None:
    db = Database()
    cut = db.load(write_hostile_export(tmp_path / "export"))
    result = build((db, cut), viewer=DSMB, subject=SUBJECT_IDS["T-A2"])
    axis = result.item("swimmer_plot").figure.layout.yaxis.categoryarray
    assert escape_plotly(SUBJECT_IDS["T-A2"]) in axis
    assert not [label for label in axis if "<a " in label]
    assert result.item("patient_events").data["kind"].iloc[-1] == "death"
