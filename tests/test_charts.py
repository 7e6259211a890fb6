"""Figures written as plain dictionaries are valid Plotly figures: validated, each gives the
same JSON as the unvalidated figure the pages send (so skipping validation changes nothing)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from viewers import DSMB

from smart101_dash import charts
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import adverse_events, gvhd
from smart101_dash.panels.registry import PANELS, panel
from smart101_dash.panels.spec import Kind
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
CASES = [(p.key, {}) for p in PANELS if any(i.kind is Kind.FIGURE for i in p.items)] + [
    ("cd4_reconstitution", {"log_axis": True, "trajectories": True}),
    ("overview", {"__filters": Filters(arm="GROUP A")}),
]


@pytest.fixture(scope="module")
def demo() -> tuple[Database, object]:
    db = Database()
    return db, db.load(DEMO)


@pytest.mark.parametrize(("key", "options"), CASES,
                         ids=[f"{k}{'-' + '-'.join(o) if o else ''}" for k, o in CASES])
def test_every_figure_is_what_validation_would_make(demo: tuple, key: str,
                                                    options: dict) -> None:
    db, cut = demo
    options = dict(options)
    filters = options.pop("__filters", Filters())
    result = build_panel(panel(key), db, cut, filters, SETTINGS, DSMB, options)
    charts_sent = [item.chart for item in result.items if item.chart is not None]
    assert charts_sent
    for chart in charts_sent:
        sent = json.loads(pio.to_json(chart, validate=False))
        # The look is in the figure, not in a template (see charts.LAYOUT_LOOK).
        assert "template" not in sent["layout"] and sent["layout"]["datarevision"] == 1
        validated = go.Figure(chart)
        validated.layout.template = None  # (validated, None drops out of the JSON)
        assert sent == json.loads(pio.to_json(validated))
        assert "Data cut-off" in sent["layout"]["annotations"][-1]["text"]
        assert sent["layout"]["plot_bgcolor"] == "#FFFFFF"
        axes = [a for k, a in sent["layout"].items() if k[1:5] == "axis"]
        assert axes and all(a["gridcolor"] == charts.GRID for a in axes)


def test_grade_colours_are_one_scale_apart_from_cohorts_and_arms() -> None:
    """A grade drawn in a cohort's blue or orange reads as that cohort: grades have their own
    colours, defined once (charts.GRADE_COLORS) for the GvHD and adverse-event charts."""
    grades = {c.lower() for c in charts.GRADE_COLORS.values()}
    groups = {c.lower() for c in (*charts.COHORT_COLORS.values(), *charts.ARM_COLORS.values())}
    assert len(grades) == len(charts.GRADE_COLORS) == 6  # CTCAE 0-5 (MAGIC uses 0-4)
    assert not grades & groups
    assert gvhd.GRADE_COLORS is charts.GRADE_COLORS
    assert adverse_events.GRADE_COLORS is charts.GRADE_COLORS

    def lightness(color: str) -> float:
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    # Darker as the grade rises (from grade 1: grade 0 is the grey of "none").
    shades = [lightness(charts.GRADE_COLORS[g]) for g in range(1, 6)]
    assert shades == sorted(shades, reverse=True)


@pytest.mark.parametrize(("low", "high", "ticks", "text"), [
    (12.5, 262.5, [20, 50, 100, 200], ["20", "50", "100", "200"]),
    (40, 2300, [50, 100, 200, 500, 1000, 2000], ["50", "100", "200", "500", "1,000", "2,000"]),
    (0.3, 5000, [0.3, 1, 3, 10, 30, 100, 300, 1000, 3000],  # 1-2-5 would be 14 labels
     ["0.3", "1", "3", "10", "30", "100", "300", "1,000", "3,000"]),
    (110, 180, [100, 200], ["100", "200"]),  # no round value within: the two either side
])
def test_log_axis_labels_round_counts_in_full(low: float, high: float, ticks: list[float],
                                              text: list[str]) -> None:
    axis = charts._value_axis(True, [0, low, (low + high) / 2, high])
    assert axis["tickvals"] == pytest.approx(ticks) and axis["ticktext"] == text
    start, end = (10 ** v for v in axis["range"])
    assert start <= low and high <= end
    assert charts._value_axis(False, [low, high]) == {"type": "linear"}


def test_group_names_replace_cohort_codes_never_the_start_of_a_subject_id() -> None:
    spec = charts.with_footer({"data": [
        dict(type="bar", y=["SMART101-01-A001", "SMART101", "CONTROL · Relapse"], x=[1, 2, 3],
             name="SMART101", hovertemplate="%{x}<extra>SMART101</extra>"),
        dict(type="scatter", x=[0], y=[1], name="SMART101-style label",
             hovertemplate="%{y}<extra>CONTROL · NRM</extra>")], "layout": {}}, "footer")
    before = json.dumps(spec)
    named = charts.with_group_names(spec, {"SMART101": "Group A (adults)",
                                           "CONTROL": "Controls, adults"})
    bar, line = named["data"]
    assert bar["y"] == ["SMART101-01-A001", "Group A (adults)", "Controls, adults · Relapse"]
    assert bar["name"] == "Group A (adults)"
    assert bar["hovertemplate"] == "%{x}<extra>Group A (adults)</extra>"
    assert line["name"] == "SMART101-style label"
    assert line["hovertemplate"] == "%{y}<extra>Controls, adults · NRM</extra>"
    assert json.dumps(spec) == before  # the figure it was given is left as it was
    assert named["layout"]["margin"]["l"] > spec["layout"]["margin"]["l"]  # longer labels
    assert named["layout"]["margin"]["pad"] == 8


# Left margins Plotly grew to in Chromium for these risk-table rows (the demo's charts, by
# the margin probe of the speed issue): the margin given must hold them, without waste.
GROWN = [("SMART101", 0, 117), ("Group A (adults)", 0, 142), ("Group B (pediatric)", 0, 156),
         ("Group B (pediatric) · graft failure", 0, 226),
         ("Group B (pediatric) · neutrophil engraftment", 0, 286),
         ("grade III-IV", 14, 131), ("moderate-severe cGvHD", 14, 204)]


@pytest.mark.parametrize(("label", "ticklen", "grown"), GROWN)
def test_the_left_margin_holds_the_risk_table_rows(label: str, ticklen: int,
                                                   grown: int) -> None:
    data = [dict(type="scatter", mode="text", x=[0], y=[label], yaxis="y2")]
    layout = dict(yaxis2=dict(title=dict(text="At risk"), ticklen=ticklen))
    assert grown <= charts.room_for_labels(data, layout)["l"] <= grown + 25


# Top margins Plotly grew to in Chromium for a legend of one row above the plot (the margin
# probe of the speed issue): (figure height, legend y, grown). The CD4 subsets chart (710 px
# high) grew to 77; the 600 and 500 px charts fit in the 66 given.
TOPS = [(710, 1.12, 77), (600, 1.1, 66), (500, 1.12, 66)]


@pytest.mark.parametrize(("height", "y", "grown"), TOPS)
def test_the_top_margin_holds_a_legend_above_the_plot(height: int, y: float, grown: int) -> None:
    data = [dict(type="scatter", name="SMART101 median (IQR)")]
    layout = dict(height=height, legend=dict(orientation="h", y=y, x=0))
    assert grown <= charts.room_for_labels(data, layout)["t"] <= grown + 5


def test_a_band_outline_holds_each_limit_from_its_time_to_the_next() -> None:
    """The 95% band is one filled outline drawn horizontal-first ("hv"): between two times,
    its edges must be the limits of the earlier time, above and below."""
    x = np.array([0.0, 10.0, 25.0, 40.0])
    block = dict(group=np.array(["SMART101"] * 4), time=x,
                 estimate=np.array([1.0, 0.9, 0.7, 0.6]),
                 lower=np.array([1.0, 0.75, np.nan, 0.4]),  # undefined: drawn at the estimate
                 upper=np.array([1.0, 0.97, 0.85, 0.78]))
    band = charts._curve_traces("SMART101", block)[0]
    assert band["fill"] == "toself" and band["line"]["shape"] == "hv"
    points = list(zip(band["x"], band["y"], strict=True))
    # "hv": from each point, a horizontal run at its height to the next point's time.
    runs = [(min(a[0], b[0]), max(a[0], b[0]), a[1]) for a, b in pairwise(points)]
    for start, end, low, high in [(0, 10, 1.0, 1.0), (10, 25, 0.75, 0.97),
                                  (25, 40, 0.7, 0.85)]:
        middle = (start + end) / 2
        heights = sorted(h for a, b, h in runs if a < middle < b)
        assert heights == [low, high], (start, end)


def test_censoring_ticks_are_one_path_at_each_censored_time() -> None:
    """A tick per time with a censored patient, on the curve, TICK_HEIGHT of the axis tall,
    all one path (a marker each was an element each for the browser)."""
    block = dict(group=np.array(["CONTROL"] * 4), time=np.array([0.0, 10.0, 25.0, 40.0]),
                 estimate=np.array([1.0, 0.9, 0.7, 0.6]), lower=np.full(4, 0.5),
                 upper=np.full(4, 1.0), n_censor=np.array([0, 2, 0, 1]))
    [ticks] = charts._curve_ticks(block, (0.0, 2.0), "CONTROL", axes=("x3", "y3"))
    assert (ticks["legendgroup"], ticks["showlegend"]) == ("CONTROL", False)  # hid with it
    half = charts.TICK_HEIGHT  # of an axis 2 tall: TICK_HEIGHT * 2 / 2
    assert (ticks["type"], ticks["xref"], ticks["yref"]) == ("path", "x3", "y3")
    assert ticks["path"] == (f"M10,{0.9 - half:.6g}V{0.9 + half:.6g}"
                             f"M40,{0.6 - half:.6g}V{0.6 + half:.6g}")
    assert charts._curve_ticks({**block, "n_censor": np.zeros(4)}, (0.0, 2.0), "CONTROL") == []
    figure = charts.step_curves_figure(
        pd.DataFrame({**block, "curve": "CONTROL"}), pd.DataFrame(
            {"group": ["CONTROL"], "time": [0], "n_risk": [5]}),
        y_title="Cumulative incidence", ticks=(0, 40), footer="", rising=True)
    assert figure["layout"]["yaxis"]["range"] == pytest.approx([-0.01, 1.04])  # upper 1.0
    [drawn] = figure["layout"]["shapes"]
    assert drawn["path"].startswith("M10,") and drawn["line"]["color"] == charts.COHORT_COLORS[
        "CONTROL"]
