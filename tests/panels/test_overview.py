"""The Overview panel on the tiny export, where every number is worked out by hand."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from export_factory import write_export
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import overview
from smart101_dash.panels.base import csv_bytes, csv_file_name
from smart101_dash.store import Database


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Database, object]:
    db = Database()
    return db, db.load(write_export(tmp_path / "export"))


def test_cumulative_enrollment_counts_per_arm_and_overall(setup: tuple) -> None:
    db, cut = setup
    result = overview.build(db, cut, Filters(), SETTINGS, viewer=ANALYST)
    frame = result.item("enrollment").data
    # T-A1 and T-B1 enrolled 2023-12-21, T-A2 2023-12-31; no subject ID in the aggregate.
    assert list(frame["arm"]) == ["GROUP A", "GROUP B", "GROUP A"]
    assert "usubjid" not in frame.columns
    assert list(frame["cumulative_in_arm"]) == [1, 1, 2]
    assert list(frame["cumulative_total"]) == [1, 2, 3]
    assert len(result.item("enrollment").figure.data) == 4  # two arms, both arms, plan


def test_arm_filter_keeps_that_arm_only(setup: tuple) -> None:
    db, cut = setup
    result = overview.build(db, cut, Filters(arm="GROUP B"), SETTINGS, viewer=ANALYST)
    assert list(result.item("enrollment").data["arm"]) == ["GROUP B"]  # T-B1
    status = result.item("enrollment_status").data
    assert list(status.columns) == ["status", "Group B (pediatric)"]
    assert result.n_per_group == {"SMART101": 1, "CONTROL": 1}
    names = [t.name for t in result.item("enrollment").figure.data]
    assert names == ["Group B (pediatric)", "Planned accrual"]


def test_enrollment_status(setup: tuple) -> None:
    db, cut = setup
    status = overview.build(db, cut, Filters(), SETTINGS,
                            viewer=ANALYST).item("enrollment_status").data
    table = status.set_index("status")["Total"].to_dict()
    assert table == {"Enrolled": 3, "Transplanted (day 0)": 3, "SMART101 infused": 3,
                     "On study": 2, "Completed follow-up": 0, "Died": 1, "Withdrawn (alive)": 0}


def test_controls_only_says_enrollment_is_about_the_trial(setup: tuple) -> None:
    db, cut = setup
    result = overview.build(db, cut, Filters(cohorts=("CONTROL",)), SETTINGS, viewer=ANALYST)
    assert any("SMART101 cohort" in m.text for m in result.messages)
    assert result.item("enrollment").data.empty
    assert list(result.item("baseline").data.columns) == ["characteristic", "category", "CONTROL"]


def test_planned_accrual_is_linear_to_target() -> None:
    plan = overview.planned_accrual(date(2023, 1, 1), date(2024, 1, 1), 36, date(2024, 6, 30))
    assert plan["planned_total"].iloc[0] == 0
    assert plan.set_index("date").loc[pd.Timestamp("2024-01-01"), "planned_total"] == 36
    assert plan["planned_total"].iloc[-1] == 36  # flat after the planned end
    assert plan["planned_total"].is_monotonic_increasing


def test_csv_holds_exactly_the_rows_shown_with_context(setup: tuple) -> None:
    db, cut = setup
    filters = Filters(diagnoses=("ALL",))
    result = overview.build(db, cut, filters, SETTINGS, viewer=ANALYST)
    item = result.item("baseline")
    text = csv_bytes(result, item).decode()
    lines = text.splitlines()
    assert lines[0].startswith("# Smart-101 outcomes dashboard: Overview")
    assert "Data cut-off 2025-06-30" in lines[1] and "diagnosis ALL" in lines[1]
    assert "SMART101 n=2, CONTROL n=1" in lines[1]
    read = pd.read_csv(io.StringIO(text), comment="#", dtype=str)
    pd.testing.assert_frame_equal(read, item.data.astype(str), check_dtype=False)
    assert csv_file_name(result, item) == f"smart101_baseline_cut2025-06-30_{cut.fingerprint}.csv"
