"""GvHD panel on the tiny export, numbers worked out by hand; and against the landmark table.

Tiny export (tests/export_factory.py): day 0 2024-01-10, cut-off day 537. Acute GvHD: T-A1 grade
I on day 21 (skin 1), grade II on day 35 (skin 3, lower GI 1); C-1 grade III on day 28 (skin 2,
liver 2, upper GI 1). Chronic: C-1 moderate on day 200. Deaths: C-2 day 90, T-A2 day 200.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from export_factory import day, set_rows, valid_tables, write_export
from figures import risk_rows
from scipy.stats import binomtest
from viewers import ANALYST

from smart101_dash.charts import GRADE_COLORS
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import gvhd, survival
from smart101_dash.panels.base import PanelResult
from smart101_dash.panels.curves import LANDMARK_COLUMNS
from smart101_dash.store import Database, DatasetUnavailable

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


def build(export: Path, filters: Filters | None = None) -> PanelResult:
    db = Database()
    return gvhd.build(db, db.load(export), filters or Filters(), SETTINGS, viewer=ANALYST)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> PanelResult:
    return build(write_export(tmp_path_factory.mktemp("gvhd") / "export"))


def row(table: pd.DataFrame, **where: object) -> dict:
    mask = pd.Series(True, index=table.index)
    for column, value in where.items():
        mask &= table[column] == value
    assert mask.sum() == 1, where
    return table[mask].iloc[0].to_dict()


def test_maximum_grade_by_day_100(result: PanelResult) -> None:
    table = result.item("gvhd_max_grade").data
    assert row(table, group="SMART101", grade="0")["patients"] == 2
    assert row(table, group="SMART101", grade="II")["patients"] == 1  # T-A1: I then II
    assert row(table, group="SMART101", grade="I")["patients"] == 0
    assert row(table, group="CONTROL", grade="III")["patients"] == 1  # C-1
    treated = row(table, group="SMART101", grade="II-IV")
    assert (treated["patients"], treated["n"], treated["percent"]) == (1, 3, 33.3)
    exact = binomtest(1, 3).proportion_ci(method="exact")
    assert treated["percent_lower"] == round(100 * exact.low, 1)
    assert treated["percent_upper"] == round(100 * exact.high, 1)
    assert row(table, group="SMART101", grade="III-IV")["patients"] == 0
    assert row(table, group="CONTROL", grade="III-IV")["patients"] == 1
    # Every patient once: the grades 0-IV add up to n.
    single = table[table["grade"].isin(["0", "I", "II", "III", "IV"])]
    assert single.groupby("group")["patients"].sum().to_dict() == {"CONTROL": 3, "SMART101": 3}


def test_chart_of_the_maximum_grade_uses_cohort_rows(result: PanelResult) -> None:
    item = result.item("gvhd_max_grade_chart")
    bars = {trace.name: list(trace.x) for trace in item.figure.data}
    assert bars["Grade II"] == pytest.approx([33.3, 0.0])  # SMART101, CONTROL
    assert bars["Grade III"] == pytest.approx([0.0, 33.3])
    # The grades' own colours (charts.GRADE_COLORS), which no cohort or arm uses.
    assert [t.marker.color for t in item.figure.data] == [GRADE_COLORS[g] for g in range(5)]
    assert any("Data cut-off 2025-06-30" in a.text for a in item.figure.layout.annotations)


def test_acute_incidence_and_estimates(result: PanelResult) -> None:
    table = result.item("gvhd_acute_estimates").data
    assert list(table.columns) == LANDMARK_COLUMNS
    assert row(table, endpoint="AGVHD24", group="SMART101", day=100)["estimate"] == \
        pytest.approx(1 / 3)
    assert row(table, endpoint="AGVHD34", group="SMART101", day=100)["estimate"] == 0
    # C-2's death on day 90 competes; C-1's grade III on day 28 is the event: 1/3 at day 100.
    control = row(table, endpoint="AGVHD34", group="CONTROL", day=180)
    assert control["estimate"] == pytest.approx(1 / 3)
    assert (control["n_risk"], control["n_events"]) == (1, 1)
    figure = result.item("gvhd_acute_incidence").figure
    # A risk table under each cohort's plot, a row per grade.
    assert sorted(risk_rows(figure)) == [("x2", "grade II-IV"), ("x2", "grade III-IV"),
                                         ("x4", "grade II-IV"), ("x4", "grade III-IV")]
    assert "Gray's test" in result.item("gvhd_acute_incidence").caption


@pytest.mark.parametrize("key", ["gvhd_acute_incidence", "gvhd_chronic_incidence"])
def test_incidence_bands_of_two_colours_never_overlap(result: PanelResult, key: str) -> None:
    """Four translucent bands (two cohorts, two grades) in one plot turned grey-brown: a plot
    per cohort, in its colour, a dash per grade; one y scale for both plots."""
    figure = result.item(key).figure
    fills: dict[str, set[str]] = {}
    for trace in figure.data:
        if trace.fill:
            fills.setdefault(trace.yaxis, set()).add(trace.fillcolor)
    assert sorted(fills) == ["y", "y3"] and all(len(c) == 1 for c in fills.values())
    lines = {(t.yaxis, t.line.color, t.line.dash) for t in figure.data if t.name}
    assert lines == {("y", "#0072B2", "solid"), ("y", "#0072B2", "dot"),
                     ("y3", "#D55E00", "solid"), ("y3", "#D55E00", "dot")}
    assert figure.layout.yaxis.range == figure.layout.yaxis3.range
    titles = [a.text for a in figure.layout.annotations[:2]]
    assert ["SMART101" in titles[0], "CONTROL" in titles[1]] == [True, True]
    # The legend names each grade once (a click hides it in both plots).
    shown = [t.name for t in figure.data if t.showlegend is not False and t.name]
    assert shown == list(gvhd.LABELS.values())[:2] if key == "gvhd_acute_incidence" else \
        shown == list(gvhd.LABELS.values())[2:]


def test_organ_involvement_at_the_worst_grade(result: PanelResult) -> None:
    table = result.item("gvhd_organ_involvement").data
    skin = row(table, group="SMART101", organ="Skin")  # day 35: skin 3, not day 21's skin 1
    assert (skin["patients_with_agvhd"], skin["involved"], skin["stage_3"]) == (1, 1, 1)
    assert skin["stage_1"] == 0
    assert row(table, group="SMART101", organ="Lower GI")["stage_1"] == 1
    assert row(table, group="SMART101", organ="Liver")["involved"] == 0
    assert row(table, group="CONTROL", organ="Liver")["stage_2"] == 1
    assert row(table, group="CONTROL", organ="Upper GI")["involved"] == 1


def test_chronic_gvhd_at_one_and_two_years(result: PanelResult) -> None:
    table = result.item("gvhd_chronic_estimates").data
    # C-2 dies on day 90 (competing), C-1 moderate cGvHD on day 200: 2/3 x 1/2 = 1/3.
    assert row(table, endpoint="CGVHDMS", group="CONTROL", day=365)["estimate"] == \
        pytest.approx(1 / 3)
    assert row(table, endpoint="CGVHD", group="SMART101", day=365)["estimate"] == 0
    beyond = row(table, endpoint="CGVHD", group="CONTROL", day=730)  # cut-off is day 537
    assert beyond["n_risk"] == 0 and pd.isna(beyond["estimate"])


def test_definitions_and_tests(result: PanelResult) -> None:
    text = " ".join(result.definitions)
    assert "grade II-IV (MAGIC) by day 180" in text and "grade III-IV" in text
    assert "Maximum acute GvHD grade" in text and "moderate or severe" in text
    tests = result.item("gvhd_tests").data.set_index("endpoint")
    assert list(tests.index) == ["AGVHD24", "AGVHD34", "CGVHD", "CGVHDMS"]
    assert 0 < tests.loc["AGVHD24", "p_value"] <= 1
    assert tests.loc["AGVHD34", "note"] == ""
    assert len({item.key for item in result.items}) == len(result.items)
    assert all(item.key.startswith("gvhd_") for item in result.items)


def test_estimates_equal_the_landmark_table_on_the_demo() -> None:
    db = Database()
    cut = db.load(DEMO)
    panel = gvhd.build(db, cut, Filters(arm="GROUP A"), SETTINGS, viewer=ANALYST)
    landmarks = survival.build(db, cut, Filters(arm="GROUP A"), SETTINGS,
                               viewer=ANALYST).item("landmarks").data
    mine = pd.concat([panel.item("gvhd_acute_estimates").data,
                      panel.item("gvhd_chronic_estimates").data], ignore_index=True)
    merged = mine.merge(landmarks, on=["endpoint", "group", "day"], suffixes=("", "_lm"))
    assert len(merged) == len(mine) == 16
    for column in ("estimate", "lower", "upper", "n_risk", "n_events"):
        pd.testing.assert_series_equal(merged[column].astype(float),
                                       merged[f"{column}_lm"].astype(float), check_names=False)


def test_grade_from_stages_when_the_overall_grade_is_missing(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["adgvhd"] = set_rows("adgvhd", [dict(
        USUBJID="T-B1", ADT=day(40), SKINSTG=0, LIVERSTG=0, UGISTG=0, LGISTG=4, AGVHDGR=None,
        CGVHDSEV=None)])
    result = build(write_export(tmp_path / "export", tables))
    table = result.item("gvhd_max_grade").data
    assert row(table, group="SMART101", grade="IV")["patients"] == 1
    organs = result.item("gvhd_organ_involvement").data
    assert row(organs, group="SMART101", organ="Lower GI")["stage_4"] == 1


def test_assessment_after_day_100_does_not_count_for_the_maximum_grade(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["adgvhd"] = set_rows("adgvhd", [dict(
        USUBJID="C-3", ADT=day(120), SKINSTG=4, LIVERSTG=0, UGISTG=0, LGISTG=0, AGVHDGR=4,
        CGVHDSEV=None)])
    result = build(write_export(tmp_path / "export", tables))
    assert row(result.item("gvhd_max_grade").data, group="CONTROL", grade="IV")["patients"] == 0
    # ... but it is grade II-IV acute GvHD by day 180.
    estimates = result.item("gvhd_acute_estimates").data
    assert row(estimates, endpoint="AGVHD24", group="CONTROL", day=180)["n_events"] == 2


def test_no_gvhd_and_empty_filters_give_messages(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    children = build(export, Filters(arm="GROUP B"))  # T-B1 and C-3: no assessment at all
    texts = " ".join(m.text for m in children.messages)
    assert "No GvHD assessment" in texts
    table = children.item("gvhd_max_grade").data
    assert row(table, group="CONTROL", grade="0")["patients"] == 1
    assert row(table, group="SMART101", grade="II-IV")["percent_upper"] == 97.5
    assert children.item("gvhd_tests").data["note"].eq("no event: no test").all()
    empty = build(export, Filters(diagnoses=("MDS",)))
    assert not empty.items and "No transplanted patient" in empty.messages[0].text


def test_missing_adgvhd_says_so(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["adgvhd"]
    with pytest.raises(DatasetUnavailable, match="adgvhd"):
        build(write_export(tmp_path / "export", tables))
