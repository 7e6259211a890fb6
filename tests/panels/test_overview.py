"""The Overview panel on the tiny export, where every number is worked out by hand."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from export_factory import write_export
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import overview
from smart101_dash.panels.base import item_csv, item_file_name, item_xlsx
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
    assert list(result.item("baseline").data.columns) == ["characteristic", "category",
                                                          "CONTROL n", "CONTROL %"]
    assert list(result.item("baseline_age").data["group"]) == ["CONTROL"]


def test_planned_accrual_is_linear_to_target() -> None:
    plan = overview.planned_accrual(date(2023, 1, 1), date(2024, 1, 1), 36, date(2024, 6, 30))
    assert plan["planned_total"].iloc[0] == 0
    assert plan.set_index("date").loc[pd.Timestamp("2024-01-01"), "planned_total"] == 36
    assert plan["planned_total"].iloc[-1] == 36  # flat after the planned end
    assert plan["planned_total"].is_monotonic_increasing


def test_baseline_counts_and_percentages_are_numbers(setup: tuple) -> None:
    """SMART101: T-A1 (M, AML, DL1), T-A2 (F, ALL, DL2), T-B1 (F, ALL, DL1); CONTROL: C-1 (M,
    AML), C-2 (F, AML), C-3 (M, ALL)."""
    db, cut = setup
    baseline = overview.build(db, cut, Filters(), SETTINGS, viewer=ANALYST).item("baseline").data
    assert list(baseline.columns) == ["characteristic", "category", "SMART101 n", "SMART101 %",
                                      "CONTROL n", "CONTROL %"]
    for group in ("SMART101", "CONTROL"):
        assert pd.api.types.is_integer_dtype(baseline[f"{group} n"])
        assert pd.api.types.is_float_dtype(baseline[f"{group} %"])
    table = baseline.set_index(["characteristic", "category"])

    def row(characteristic: str, category: str) -> list[object]:
        return [None if pd.isna(v) else v for v in table.loc[(characteristic, category)]]

    assert row("Patients", "n") == [3, 100.0, 3, 100.0]
    assert row("Sex", "Female") == [2, 66.7, 1, 33.3]
    assert row("Diagnosis", "AML") == [1, 33.3, 2, 66.7]
    assert row("Dose level", "DL1") == [2, 66.7, None, None]  # controls: not applicable
    assert "Age, years" not in table.index.get_level_values("characteristic")


def test_baseline_age_is_numbers(setup: tuple) -> None:
    db, cut = setup
    age = overview.build(db, cut, Filters(), SETTINGS, viewer=ANALYST).item("baseline_age").data
    assert age.to_dict("records") == [
        {"group": "SMART101", "n": 3, "age_median_years": 45.0, "age_min_years": 9.0,
         "age_max_years": 61.0},
        {"group": "CONTROL", "n": 3, "age_median_years": 38.0, "age_min_years": 12.0,
         "age_max_years": 52.0}]


def test_percent_is_blank_without_a_denominator() -> None:
    counts = pd.DataFrame(columns=["cohort", "characteristic", "value", "n"])
    ages = pd.DataFrame([{"cohort": "SMART101", "n": 0, "age_median": None, "age_min": None,
                          "age_max": None}])
    table = overview.baseline_characteristics(ages, counts)
    assert table["SMART101 n"].tolist() == [0]
    assert table["SMART101 %"].isna().all()


def test_csv_holds_exactly_the_rows_shown_and_xlsx_the_context(setup: tuple) -> None:
    db, cut = setup
    filters = Filters(diagnoses=("ALL",))
    result = overview.build(db, cut, filters, SETTINGS, viewer=ANALYST)
    item = result.item("baseline")
    raw = item_csv(item)
    assert raw.startswith(b"\xef\xbb\xbfcharacteristic,")  # BOM, then the header
    read = pd.read_csv(io.BytesIO(raw))
    shown = pd.read_csv(io.StringIO(item.data.to_csv(index=False)))
    pd.testing.assert_frame_equal(read, shown)
    assert read["CONTROL n"].isna().any()  # dose level: blank for controls, not "nan"
    assert item_file_name(result, item).startswith(
        f"smart101_baseline_cut2025-06-30_{cut.fingerprint}_ALL_")
    book = openpyxl.load_workbook(io.BytesIO(item_xlsx(result, item)))
    context = dict(book["context"].values)
    assert context["Data cut-off"] == "2025-06-30" and context["Filters"] == "diagnosis ALL"
    assert context["N"] == "SMART101 n=2, CONTROL n=1"
    assert context["Table"].startswith("Overview") and context["Table"].endswith("by cohort")


@pytest.mark.parametrize("filters", [
    Filters(), Filters(arm="GROUP A"), Filters(cohorts=("CONTROL",)),
    Filters(diagnoses=("no such diagnosis",))], ids=["all", "group A", "controls", "nobody"])
def test_n_per_cohort_is_the_banner_count(setup: tuple, filters: Filters) -> None:
    # The panel's N comes from its age table's n (one query fewer): the same count as the
    # population's per cohort, SMART101 first, and no entry for a cohort nobody is left in.
    from smart101_dash.panels.common import cohort_counts

    db, cut = setup
    shown = overview.build(db, cut, filters, SETTINGS, viewer=ANALYST).n_per_group
    expected = cohort_counts(db, cut, filters)
    assert shown == expected and list(shown) == list(expected)
