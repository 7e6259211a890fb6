"""Engraftment and graft failure on the tiny export with recovery dates, worked out by hand.

Day 0 is 2024-01-10 for all; cut-off day 537. Neutrophil recovery (ANCRDT), platelet recovery
(PLTRDT) and graft failure (GFDT, GFTYPE) by day:

    T-A1  ANC 12, PLT 20                      alive
    T-A2  ANC 14, secondary GF 60             relapse 150, dies 200
    T-B1  ANC 10, PLT 10                      alive
    C-1   primary GF 28, ANC 40 (after GF)    alive
    C-2   ANC 90                              dies 90 (infection)
    C-3   ANC 11, PLT 35                      alive
"""

from __future__ import annotations

from pathlib import Path

import pytest
from export_factory import adsl_rows, day, to_table, valid_tables, write_export
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import engraftment
from smart101_dash.panels.base import PanelResult
from smart101_dash.store import Database

DATES = {
    "T-A1": dict(ANCRDT=day(12), PLTRDT=day(20)),
    "T-A2": dict(ANCRDT=day(14), GFDT=day(60), GFTYPE="SECONDARY"),
    "T-B1": dict(ANCRDT=day(10), PLTRDT=day(10)),
    "C-1": dict(ANCRDT=day(40), GFDT=day(28), GFTYPE="PRIMARY"),
    "C-2": dict(ANCRDT=day(90)),
    "C-3": dict(ANCRDT=day(11), PLTRDT=day(35)),
}


def export(folder: Path) -> Path:
    tables = valid_tables()
    blank = dict(ANCRDT=None, PLTRDT=None, GFDT=None, GFTYPE=None)
    tables["adsl"] = to_table("adsl", [{**r, **blank, **DATES[r["USUBJID"]]}
                                       for r in adsl_rows()])
    return write_export(folder, tables)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, object]:
    db = Database()
    return db, db.load(export(tmp_path_factory.mktemp("engraftment") / "export"))


def build(built: tuple[Database, object], **options: object) -> PanelResult:
    db, cut = built
    return engraftment.build(db, cut, Filters(), SETTINGS, viewer=ANALYST, **options)


def estimate(result: PanelResult, item: str, endpoint: str, group: str, at: int) -> float:
    table = result.item(item).data
    row = table[(table["endpoint"] == endpoint) & (table["group"] == group)
                & (table["day"] == at)]
    assert len(row) == 1
    return float(row["estimate"].iloc[0])


def test_neutrophil_engraftment(built: tuple[Database, object]) -> None:
    result = build(built)
    # SMART101: all three recover by day 14.
    assert estimate(result, "engraftment_estimates", "NEUTR", "SMART101", 28) == 1.0
    # CONTROL: C-3 recovers on day 11 (1/3); C-1's graft fails on day 28 (competing, 1 of
    # the 2 left); C-2 recovers on the day of death, day 90 (counts: 1/3 + 1/3).
    assert estimate(result, "engraftment_estimates", "NEUTR", "CONTROL", 28) == \
        pytest.approx(1 / 3)
    # Day 100 is after CONTROL's last time, but nobody was censored: the value stands.
    assert estimate(result, "engraftment_estimates", "NEUTR", "CONTROL", 100) == \
        pytest.approx(2 / 3)
    days = result.item("engraftment_days").data.set_index(["endpoint", "group"])
    assert days.loc[("NEUTR", "SMART101")].tolist() == [3, 3, 12.0, 10, 14]
    assert days.loc[("NEUTR", "CONTROL")].tolist() == [3, 2, 50.5, 11, 90]


def test_platelet_engraftment_with_graft_failure_competing(
        built: tuple[Database, object]) -> None:
    result = build(built)
    # T-A2's secondary graft failure (day 60) comes before any platelet recovery.
    assert estimate(result, "engraftment_estimates", "PLTR", "SMART101", 100) == \
        pytest.approx(2 / 3)
    # C-1's failure (day 28) competes; C-3 recovers on day 35: 2/3 x 1/2.
    assert estimate(result, "engraftment_estimates", "PLTR", "CONTROL", 28) == 0.0
    assert estimate(result, "engraftment_estimates", "PLTR", "CONTROL", 42) == \
        pytest.approx(1 / 3)


def test_graft_failure_counts_and_incidence(built: tuple[Database, object]) -> None:
    result = build(built)
    counts = result.item("graft_failure").data.set_index("group")
    assert counts.loc["SMART101", ["n", "primary", "secondary", "any"]].tolist() == [3, 0, 1, 1]
    assert counts.loc["CONTROL", ["n", "primary", "secondary", "any"]].tolist() == [3, 1, 0, 1]
    assert estimate(result, "graft_failure_estimates", "GF", "SMART101", 100) == \
        pytest.approx(1 / 3)
    assert estimate(result, "graft_failure_estimates", "GF", "CONTROL", 28) == \
        pytest.approx(1 / 3)
    assert [m.level.value for m in result.messages] == ["warning", "warning"]  # small groups


def test_from_a_landmark_day(built: tuple[Database, object]) -> None:
    result = build(built, landmark=True, landmark_day=14)
    # Everyone of SMART101 recovered by day 14 (T-A2 on the day itself), and C-3 on day 11.
    said = " ".join(m.text for m in result.messages)
    assert "neutrophil engraftment: SMART101 3, CONTROL 1" in said
    assert "From landmark day 14" in result.definitions[-1]
    assert result.n_per_group == {"CONTROL": 2}
    # Graft failures are counted from day 0 whatever the landmark.
    counts = result.item("graft_failure").data.set_index("group")
    assert counts.loc["SMART101", "n"] == 3


def test_an_export_without_the_dates_says_what_is_missing(tmp_path: Path) -> None:
    db = Database()
    result = engraftment.build(db, db.load(write_export(tmp_path / "e")), Filters(), SETTINGS,
                               viewer=ANALYST)
    assert not result.items
    said = [m.text for m in result.messages]
    assert any("ANCRDT" in t and "ANC" in t for t in said)
    assert any("PLTRDT" in t for t in said) and any("GFDT" in t for t in said)
