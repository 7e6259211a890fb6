"""CD4+ reconstitution panel on the tiny export, numbers worked out by hand.

Day 0 is 2024-01-10 for all; cut-off 2025-06-30. C-2 dies on day 90, T-A2 on day 200.
CD4 (cells/uL) at days 30/60/100: T-A1 40/80/150, T-B1 60/70/300, C-1 10/30/45, C-3 20/55/90;
T-A2 and C-2 have none. No CD3, CD8, CD19 or NK counts.

Quartiles are numpy's linear interpolation (R's type 7): for two values a <= b, q1 = a +
(b - a) / 4, median = (a + b) / 2, q3 = a + 3 (b - a) / 4.
CD4+IR (> 50 on two consecutive counts by day 100, dated at the first): T-A1 day 60 (80, 150),
T-B1 day 30 (60, 70), C-3 day 60 (55, 90); C-1 never; T-A2 and C-2 have no count. So 2 of 3
SMART101 and 1 of 3 CONTROL, every transplanted patient in the denominator.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest
from export_factory import day, set_rows, to_table, valid_tables, write_export
from figures import risk_rows
from scipy.stats import binomtest, mannwhitneyu, norm
from viewers import ANALYST, SPONSOR

from smart101_dash.access import AccessDenied
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import cd4_reconstitution
from smart101_dash.panels.base import Level, PanelResult
from smart101_dash.store import Database, DatasetUnavailable


def build(export: Path, filters: Filters | None = None, **options: object) -> PanelResult:
    db = Database()
    return cd4_reconstitution.build(db, db.load(export), filters or Filters(), SETTINGS,
                                    viewer=ANALYST, **options)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("cd4") / "export")


@pytest.fixture(scope="module")
def result(export: Path) -> PanelResult:
    return build(export)


def lab_row(usubjid: str, on_day: int, aval: float, param: str = "CD4") -> dict:
    return dict(USUBJID=usubjid, PARAMCD=param, PARAM=f"{param} (cells/uL)", AVAL=float(aval),
                AVALU="cells/uL", ADT=day(on_day), AVISIT=None, AVISITN=None)


def row(table: pd.DataFrame, **where: object) -> dict:
    mask = True
    for column, value in where.items():
        mask = mask & (table[column] == value)
    rows = table[mask]
    assert len(rows) == 1, where
    return rows.iloc[0].to_dict()


def reconstituted(result: PanelResult) -> dict[str, int]:
    table = result.item("cd4_day100").data
    return dict(zip(table["group"], table["reconstituted"], strict=True))


def test_counts_by_protocol_day(result: PanelResult) -> None:
    table = result.item("cd4_by_visit").data
    assert list(table.columns) == ["group", "day", "from_day", "to_day", "n", "median", "q1",
                                   "q3"]
    expected = {  # (group, day): (n, median, q1, q3)
        ("SMART101", 30): (2, 50.0, 45.0, 55.0),  # 40, 60
        ("SMART101", 60): (2, 75.0, 72.5, 77.5),  # 80, 70
        ("SMART101", 100): (2, 225.0, 187.5, 262.5),  # 150, 300
        ("CONTROL", 30): (2, 15.0, 12.5, 17.5),  # 10, 20
        ("CONTROL", 60): (2, 42.5, 36.25, 48.75),  # 30, 55
        ("CONTROL", 100): (2, 67.5, 56.25, 78.75),  # 45, 90
    }
    for (group, target), (n, median, q1, q3) in expected.items():
        got = row(table, group=group, day=target)
        assert (got["n"], got["median"], got["q1"], got["q3"]) == pytest.approx(
            (n, median, q1, q3)), (group, target)
    later = table[table["day"] > 100]  # no count after day 100: rows kept, n = 0, no median
    assert len(later) == 6 and (later["n"] == 0).all() and later["median"].isna().all()
    day100 = row(table, group="CONTROL", day=100)
    assert (day100["from_day"], day100["to_day"]) == (86, 114)  # 100 ± 14
    assert list(table["group"].drop_duplicates()) == ["SMART101", "CONTROL"]


def test_day100_table(result: PanelResult) -> None:
    table = result.item("cd4_day100").data
    treated, control = row(table, group="SMART101"), row(table, group="CONTROL")
    assert (treated["patients"], treated["cd4_n"], treated["cd4_median"]) == (3, 2, 225.0)
    assert (treated["cd4_q1"], treated["cd4_q3"]) == (187.5, 262.5)
    assert (control["patients"], control["cd4_n"], control["cd4_median"]) == (3, 2, 67.5)
    assert (treated["reconstituted"], control["reconstituted"]) == (2, 1)
    assert treated["proportion"] == pytest.approx(2 / 3)
    assert control["proportion"] == pytest.approx(1 / 3)
    for got, x in ((treated, 2), (control, 1)):
        ci = binomtest(x, 3).proportion_ci(confidence_level=0.95, method="exact")
        assert (got["lower"], got["upper"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    # C-2 died on day 90 without a count; nobody was followed less than 100 days otherwise.
    assert (control["died_without_cd4ir"], control["censored_before_window"]) == (1, 0)
    assert (treated["died_without_cd4ir"], treated["censored_before_window"]) == (0, 0)


def test_day100_rank_sum_test(result: PanelResult) -> None:
    # SMART101 150, 300 against CONTROL 45, 90: ranks 3 + 4, W = 7 - 2 * 3 / 2 = 4.
    # Normal approximation with continuity correction (R: wilcox.test(exact = FALSE)):
    # mean 2, variance 2 * 2 * 5 / 12, z = (4 - 2 - 0.5) / sqrt(5 / 3), p = 0.2453.
    by_hand = 2 * norm.sf(1.5 / math.sqrt(5 / 3))
    scipy_p = mannwhitneyu([150, 300], [45, 90], method="asymptotic").pvalue
    table = result.item("cd4_day100").data
    assert table["wilcoxon_p"].tolist() == pytest.approx([by_hand, by_hand], abs=1e-12)
    assert by_hand == pytest.approx(scipy_p, abs=1e-12)
    assert by_hand == pytest.approx(0.2453, abs=1e-4)
    assert "W = 4" in result.item("cd4_day100").caption


def test_cumulative_incidence_with_death_competing(result: PanelResult) -> None:
    item = result.item("cd4_cumulative_incidence")
    table = item.data
    last = table.sort_values("time").groupby("group").tail(1).set_index("group")
    assert last.loc["SMART101", "est"] == pytest.approx(2 / 3)  # events day 30 and day 60
    assert last.loc["CONTROL", "est"] == pytest.approx(1 / 3)  # C-3 day 60; C-2 dies day 90
    assert table["time"].max() == 100  # censored at the window
    assert "Gray's test: p = " in item.caption and "CD4 > 50 cells/uL" in item.caption
    assert "By day 100: SMART101 66.7% (95% CI" in item.caption
    assert "CONTROL 33.3% (95% CI" in item.caption
    assert risk_rows(item.figure) == {("x2", "SMART101"): ["3", "3", "2", "1"],  # days 0, 30,
                                      ("x2", "CONTROL"): ["3", "3", "3", "1"]}  # 60, 100
    assert list(item.figure.layout.xaxis.tickvals) == [0, 30, 60, 100]


def test_definition_in_force(result: PanelResult) -> None:
    expected = ("CD4+ immune reconstitution: CD4 > 50 cells/uL on two consecutive measurements "
                "by day 100")
    assert result.definitions[0].startswith(expected)


def test_threshold_and_inclusiveness(export: Path) -> None:
    # >= 60: T-B1 counts from day 30 (60, 70); C-3's 55 no longer qualifies: 2 and 0.
    inclusive = build(export, threshold_cells_per_ul=60, threshold_inclusive=True)
    assert reconstituted(inclusive) == {"SMART101": 2, "CONTROL": 0}
    assert inclusive.definitions[0].startswith("CD4+ immune reconstitution: CD4 >= 60")
    times = inclusive.item("cd4_cumulative_incidence").data
    assert times.loc[(times["group"] == "SMART101") & (times["n_event"] > 0),
                     "time"].tolist() == [30, 60]
    # > 60: T-B1's 60 does not count, its event moves to day 60 (70, 300).
    strict = build(export, threshold_cells_per_ul=60, threshold_inclusive=False)
    times = strict.item("cd4_cumulative_incidence").data
    assert times.loc[(times["group"] == "SMART101") & (times["n_event"] > 0),
                     "time"].tolist() == [60]
    # 55: C-3's 55 then 90 qualifies only when the threshold itself counts.
    assert reconstituted(build(export, threshold_cells_per_ul=55,
                               threshold_inclusive=True))["CONTROL"] == 1
    assert reconstituted(build(export, threshold_cells_per_ul=55,
                               threshold_inclusive=False))["CONTROL"] == 0


def test_window(export: Path) -> None:
    # By day 60 only T-B1 has two counts above 50 (T-A1's second is on day 100).
    shorter = build(export, window_days=60)
    assert reconstituted(shorter) == {"SMART101": 1, "CONTROL": 0}
    item = shorter.item("cd4_cumulative_incidence")
    assert "by day 60" in item.title and "by day 60" in shorter.definitions[0]
    assert list(item.figure.layout.xaxis.tickvals) == [0, 30, 60]
    # The day-100 counts do not depend on the CD4+IR window.
    assert shorter.item("cd4_day100").data["cd4_median"].tolist() == [225.0, 67.5]


def test_defaults_equal_the_settings(export: Path, result: PanelResult) -> None:
    ep = SETTINGS.endpoints
    explicit = build(export, threshold_cells_per_ul=ep.cd4_threshold_cells_per_ul,
                     threshold_inclusive=ep.cd4_threshold_inclusive,
                     window_days=ep.cd4_window_days)
    for item in result.items:
        assert item.data.equals(explicit.item(item.key).data), item.key


def test_visit_windows_closest_count_and_ties(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["adlb"] = set_rows("adlb", extra=[
        lab_row("T-A2", 45, 500),  # outside 30 ± 7 and 60 ± 7: counts for no protocol day
        lab_row("T-A2", 100, 20), lab_row("T-A2", 100, 40),  # one day: their mean, 30
        lab_row("C-2", 28, 100), lab_row("C-2", 32, 200),  # 2 days either side: the earlier
        lab_row("C-2", 54, 300), lab_row("C-2", 58, 30),  # day 58 is the closer to 60
    ])
    export = write_export(tmp_path, tables)
    result = build(export)
    table = result.item("cd4_by_visit").data
    assert row(table, group="SMART101", day=30)["n"] == 2
    assert row(table, group="SMART101", day=60)["n"] == 2
    assert row(table, group="SMART101", day=100)["median"] == 150.0  # 30, 150, 300
    assert row(table, group="CONTROL", day=30)["median"] == 20.0  # 10, 20, 100
    assert row(table, group="CONTROL", day=60)["median"] == 30.0  # 30, 30, 55
    # The chart's own rows are the medians it draws; each count is in the trajectories item.
    pd.testing.assert_frame_equal(result.item("cd4_over_time").data, table)
    listing = build(export, trajectories=True).item("cd4_trajectories").data
    assert list(listing.columns) == ["USUBJID", "group", "day", "cd4_cells_per_ul",
                                     "protocol_day"]
    assert pd.isna(row(listing, USUBJID="T-A2", day=45)["protocol_day"])
    assert row(listing, USUBJID="T-A2", day=100)["cd4_cells_per_ul"] == 30.0
    c2 = listing[listing["USUBJID"] == "C-2"].set_index("day")["protocol_day"]
    assert c2.dropna().to_dict() == {28: 30, 58: 60}
    # C-2 now reconstitutes on day 28 (100, 200), before dying on day 90.
    assert reconstituted(result) == {"SMART101": 2, "CONTROL": 2}


def test_figure_log_axis_and_trajectories(export: Path, result: PanelResult) -> None:
    plain = result.item("cd4_over_time").figure
    assert plain.layout.yaxis.type == "linear"
    assert {t.name for t in plain.data} == {"CD4+IR threshold (> 50)",
                                            "SMART101 median (IQR)", "CONTROL median (IQR)"}
    with_lines = build(export, log_axis=True, trajectories=True)
    assert "cd4_over_time" not in [item.key for item in with_lines.items]
    drawn = with_lines.item("cd4_trajectories").figure
    assert drawn.layout.yaxis.type == "log"
    patients = {t.name: t for t in drawn.data if t.name in {"T-A1", "T-B1", "C-1", "C-3"}}
    assert set(patients) == {"T-A1", "T-B1", "C-1", "C-3"}
    assert list(patients["C-3"].y) == [20, 55, 90]
    assert patients["T-A1"].line.color == "#0072B2" and patients["C-1"].line.color == "#D55E00"
    assert all(t.opacity < 1 and t.line.width <= 1 for t in patients.values())
    median = next(t for t in drawn.data if t.name == "SMART101 median (IQR)")
    assert list(median.error_y.array) == [5.0, 2.5, 37.5]  # q3 - median
    assert "Data cut-off 2025-06-30" in drawn.layout.annotations[-1].text


def test_log_axis_is_labelled_in_round_counts_in_full(export: Path) -> None:
    # Plotly's own log labels read "2" and "5" for 20, 50, 200 ...: the ticks are given.
    # Drawn: the quartiles 12.5 (CONTROL q1, day 30) to 262.5 (SMART101 q3, day 100) and the
    # threshold, 50: labelled at 20, 50, 100, 200, the axis just wider than the data.
    figure = build(export, log_axis=True).item("cd4_over_time").figure
    axis = figure.layout.yaxis
    assert axis.type == "log"
    assert list(axis.tickvals) == [20, 50, 100, 200]
    assert list(axis.ticktext) == ["20", "50", "100", "200"]
    low, high = (10 ** end for end in axis.range)
    assert low <= 12.5 and 262.5 <= high < 500


def test_threshold_line_is_labelled_with_its_value(export: Path, result: PanelResult) -> None:
    def label(figure: object) -> object:
        found = [a for a in figure.layout.annotations if "cells/µL" in a.text]
        assert len(found) == 1
        return found[0]

    linear = label(result.item("cd4_over_time").figure)
    assert (linear.text, linear.y, linear.yref) == ("50 cells/µL", 50, "y")
    # On a log axis an annotation sits at the logarithm of its value.
    log = label(build(export, log_axis=True, threshold_cells_per_ul=60)
                .item("cd4_over_time").figure)
    assert log.text == "60 cells/µL" and log.y == pytest.approx(math.log10(60))


def test_trajectories_smart101_over_control_under_the_medians(export: Path) -> None:
    figure = build(export, trajectories=True).item("cd4_trajectories").figure
    names = [t.name for t in figure.data]
    control = [names.index(p) for p in ("C-1", "C-3")]
    treated = [names.index(p) for p in ("T-A1", "T-B1")]
    medians = [names.index(f"{g} median (IQR)") for g in ("SMART101", "CONTROL")]
    # Drawn in order: every control line, then every SMART101 line, then the medians.
    assert max(control) < min(treated) and max(treated) < min(medians)
    c1, ta1 = figure.data[names.index("C-1")], figure.data[names.index("T-A1")]
    assert c1.line.width < ta1.line.width and c1.opacity < ta1.opacity


def test_subset_day_labels_never_collide(tmp_path: Path) -> None:
    """A subset's plot is half the chart (about 300 pixels at 1280): the labels 0, 30, 60, 100
    ran into each other. Labelled days keep a tenth of the axis (73 days) apart; every protocol
    day keeps its grid line. On the log axis, counts in full."""
    tables = valid_tables()
    tables["adlb"] = set_rows("adlb", extra=[
        lab_row("T-A1", 30, 100, "CD3"), lab_row("C-1", 100, 8, "NK"),
        lab_row("T-A1", 365, 900, "CD3"), lab_row("C-1", 365, 1500, "NK")])
    export = write_export(tmp_path, tables)
    for log_axis in (False, True):
        figure = build(export, log_axis=log_axis).item("cd4_other_subsets_chart").figure
        for axis in (figure.layout.xaxis, figure.layout.xaxis2):
            labelled = list(axis.tickvals)
            assert labelled == [0, 100, 180, 365, 730]
            assert all(b - a >= 73 for a, b in pairwise(labelled))
            assert sorted([*labelled, *axis.minor.tickvals]) == [0, 30, 60, 100, 180, 365, 730]
    # Log: CD3 100 to 900, NK 8 to 1,500.
    assert list(figure.layout.yaxis.ticktext) == ["100", "200", "500"]
    assert list(figure.layout.yaxis2.ticktext) == ["10", "20", "50", "100", "200", "500",
                                                   "1,000"]


def test_keys_unique_and_prefixed(result: PanelResult, tmp_path: Path) -> None:
    tables = valid_tables()
    tables["adlb"] = set_rows("adlb", extra=[lab_row("T-A1", 30, 100, "CD3")])
    full = build(write_export(tmp_path, tables))
    keys = [item.key for item in full.items]
    assert keys == ["cd4_by_visit", "cd4_over_time", "cd4_day100", "cd4_cumulative_incidence",
                    "cd4_other_subsets", "cd4_other_subsets_chart"]
    assert len(set(keys)) == len(keys)


def test_messages_for_small_groups_and_absent_subsets(result: PanelResult) -> None:
    assert [m.level for m in result.messages] == [Level.WARNING, Level.WARNING, Level.INFO]
    assert "no CD3, CD8, CD19 or NK counts" in result.messages[-1].text
    assert result.n_per_group == {"SMART101": 3, "CONTROL": 3}


def test_other_subsets(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["adlb"] = set_rows("adlb", extra=[
        lab_row("T-A1", 30, 100, "CD3"), lab_row("T-B1", 31, 300, "CD3"),
        lab_row("C-1", 29, 50, "CD3"), lab_row("C-1", 100, 8, "NK")])
    result = build(write_export(tmp_path, tables))
    table = result.item("cd4_other_subsets").data
    assert list(table["parameter"].drop_duplicates()) == ["CD3", "NK"]
    assert row(table, parameter="CD3", group="SMART101", day=30)["median"] == 200.0
    assert row(table, parameter="CD3", group="CONTROL", day=30)["n"] == 1
    assert row(table, parameter="NK", group="CONTROL", day=100)["median"] == 8.0
    figure = result.item("cd4_other_subsets_chart").figure
    assert [a.text for a in figure.layout.annotations][:2] == ["CD3+ T cells", "NK cells"]
    assert not any("CD3" in m.text for m in result.messages)


def test_empty_filter_result_is_a_message(export: Path) -> None:
    result = build(export, Filters(diagnoses=("MDS",)))
    assert result.items == ()
    assert [(m.level, m.text) for m in result.messages] == [
        (Level.INFO, "No transplanted patient matches the filters.")]


def test_one_cohort_has_no_comparison(export: Path) -> None:
    result = build(export, Filters(cohorts=("SMART101",)))
    assert result.item("cd4_day100").data["wilcoxon_p"].isna().all()
    assert "one group only" in result.item("cd4_day100").caption
    assert any(m.level is Level.INFO and "No CONTROL patient is left" in m.text
               for m in result.messages)


def test_export_without_adlb_raises(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["adlb"]
    with pytest.raises(DatasetUnavailable):
        build(write_export(tmp_path, tables))


def test_export_without_cd4_counts(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["adlb"] = to_table("adlb", [lab_row("T-A1", 30, 100, "CD3")])
    result = build(write_export(tmp_path, tables))
    assert [item.key for item in result.items] == ["cd4_other_subsets",
                                                   "cd4_other_subsets_chart"]
    assert any(m.level is Level.INFO and "No CD4 count" in m.text for m in result.messages)


def test_trajectories_are_a_subject_level_read(export: Path) -> None:
    """A viewer without subject-level access cannot get the trajectories, even by calling
    the panel directly: the data layer refuses the read."""
    db = Database()
    with pytest.raises(AccessDenied, match="subject-level read"):
        cd4_reconstitution.build(db, db.load(export), Filters(), SETTINGS, viewer=SPONSOR,
                                 trajectories=True)
