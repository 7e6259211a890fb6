"""Survival panel on the tiny export, numbers worked out by hand.

Day 0 is 2024-01-10 for all; cut-off 2025-06-30 (day 537). T-A2 relapses on day 150 and dies
on day 200; C-2 dies on day 90 without relapse; everyone else is alive at the cut-off.
CD4 (cells/uL) at days 30/60/100: T-A1 40/80/150, T-B1 60/70/300, C-1 10/30/45, C-3 20/55/90;
T-A2 and C-2 have none.
"""

from __future__ import annotations

import pytest
from export_factory import write_export
from figures import risk_rows
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import survival
from smart101_dash.panels.curves import LANDMARK_COLUMNS


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> object:
    from smart101_dash.store import Database

    db = Database()
    export = write_export(tmp_path_factory.mktemp("survival") / "export")
    return survival.build(db, db.load(export), Filters(), SETTINGS, viewer=ANALYST)


def landmark(result: object, endpoint: str, group: str, day: int) -> dict:
    table = result.item("landmarks").data
    rows = table[(table["endpoint"] == endpoint) & (table["group"] == group)
                 & (table["day"] == day)]
    assert len(rows) == 1, (endpoint, group, day)
    return rows.iloc[0].to_dict()


def test_landmark_table_has_exactly_the_agreed_columns(result: object) -> None:
    table = result.item("landmarks").data
    assert list(table.columns) == LANDMARK_COLUMNS
    # No engraftment or graft-failure dates in this export: their codes are absent.
    assert set(table["endpoint"]) == {"OS", "DFS", "NRM", "RELAPSE", "AGVHD24", "AGVHD34",
                                      "CGVHD", "CGVHDMS", "GRFS", "CD4IR"}


def test_overall_survival(result: object) -> None:
    os_100 = landmark(result, "OS", "CONTROL", 100)  # C-2 died on day 90: 2 of 3 alive
    assert os_100["estimate"] == pytest.approx(2 / 3)
    assert (os_100["n_risk"], os_100["n_events"]) == (2, 1)
    treated = landmark(result, "OS", "SMART101", 365)  # T-A2 died on day 200
    assert treated["estimate"] == pytest.approx(2 / 3)
    assert 0 < treated["lower"] < treated["estimate"] < treated["upper"] < 1
    beyond = landmark(result, "OS", "SMART101", 730)  # nobody followed that far
    assert beyond["n_risk"] == 0 and beyond["estimate"] != beyond["estimate"]  # NaN: empty


def test_relapse_and_nrm_compete(result: object) -> None:
    assert landmark(result, "RELAPSE", "SMART101", 365)["estimate"] == pytest.approx(1 / 3)
    assert landmark(result, "NRM", "SMART101", 365)["estimate"] == pytest.approx(0)
    assert landmark(result, "NRM", "CONTROL", 100)["estimate"] == pytest.approx(1 / 3)
    assert landmark(result, "RELAPSE", "CONTROL", 365)["estimate"] == pytest.approx(0)
    assert landmark(result, "DFS", "SMART101", 365)["estimate"] == pytest.approx(2 / 3)


def test_cd4_reconstitution_by_day_100(result: object) -> None:
    # Two consecutive counts above 50: T-A1 (day 60), T-B1 (day 30), C-3 (day 60).
    assert landmark(result, "CD4IR", "SMART101", 100)["estimate"] == pytest.approx(2 / 3)
    assert landmark(result, "CD4IR", "CONTROL", 100)["estimate"] == pytest.approx(1 / 3)
    assert landmark(result, "CD4IR", "SMART101", 100)["n_events"] == 2


def test_acute_gvhd(result: object) -> None:
    # T-A1 grade II on day 35; C-1 grade III on day 28.
    assert landmark(result, "AGVHD24", "SMART101", 100)["estimate"] == pytest.approx(1 / 3)
    assert landmark(result, "AGVHD34", "SMART101", 100)["estimate"] == pytest.approx(0)
    assert landmark(result, "AGVHD34", "CONTROL", 100)["estimate"] == pytest.approx(1 / 3)
    assert landmark(result, "CGVHDMS", "CONTROL", 365)["estimate"] == pytest.approx(1 / 3)


def test_curves_tests_and_follow_up(result: object) -> None:
    tests = result.item("survival_tests").data.set_index("endpoint")
    assert tests.loc["OS", "test"] == "log-rank" and 0 < tests.loc["OS", "p_value"] < 1
    assert tests.loc["NRM", "test"] == "Gray"
    follow = result.item("follow_up").data.set_index("group")
    assert follow.loc["SMART101", "median"] == 537  # alive ones censored at the cut-off
    figure = result.item("overall_survival").figure
    assert risk_rows(figure) == {("x2", "SMART101"): ["3", "3", "3", "2", "0", "0"],
                                 ("x2", "CONTROL"): ["3", "2", "2", "2", "0", "0"]}
    assert [m.level.value for m in result.messages] == ["warning", "warning", "info"]
    # The tiny export has no CGVHDIST: GRFS says which proxy it used.
    assert "moderate or severe chronic GvHD" in result.messages[2].text


def test_a_landmark_past_every_recovery_leaves_the_endpoint_out_of_the_table() -> None:
    """Group A with AML in the demo, from day 28: every one of them has recovered neutrophils
    by then, so NEUTR has no one left; the table goes on without it (it raised before)."""
    from pathlib import Path

    from smart101_dash.panels.registry import panel
    from smart101_dash.runner import build_panel
    from smart101_dash.store import Database

    demo = Path(__file__).resolve().parents[2] / "data" / "demo"
    db = Database()
    result = build_panel(panel("survival"), db, db.load(demo),
                         Filters(arm="GROUP A", diagnoses=("AML",)), SETTINGS, ANALYST,
                         {"landmark": True, "landmark_day": 28})
    landmarks = result.item("landmarks").data
    assert "NEUTR" not in set(landmarks["endpoint"])
    assert {"OS", "RELAPSE"} <= set(landmarks["endpoint"])
    said = " ".join(m.text for m in result.messages)
    assert "neutrophil" in said.lower()
