"""Plotly figures from tables: one look for every page (colours, fonts, footer).

SMART101 and control keep the same colours on every page, legend and risk table (Okabe-Ito
palette, readable with colour-blindness).

Figures are written, kept and drawn as plain dictionaries (traces and layout, as Plotly's JSON
has them): `with_footer` is their last step. Never made into a `go.Figure` on the way to the
browser: even unvalidated, building them cost 12-15 ms of a GvHD or survival build, and
validation costs 10-30 ms a figure more, for the same JSON (tests/test_charts.py checks that
the validated figure gives it). `figure_of` makes one for reading a chart in Python.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from smart101_dash.safe_text import escape_plotly

Spec = dict[str, Any]  # {"data": [trace, ...], "layout": {...}}

COHORT_COLORS = {"SMART101": "#0072B2", "CONTROL": "#D55E00"}
ARM_COLORS = {"GROUP A": "#0072B2", "GROUP B": "#56B4E9", "ALL": "#333333"}
TARGET_COLOR = "#999999"
# Severity grades (CTCAE 0-5 for adverse events, MAGIC 0-IV for acute GvHD): one scale, light to
# dark, from grey (none) through pinks to purple, so the order reads without the legend (and in
# grey). No blue or orange: a grade must never pass for a cohort or an arm.
GRADE_COLORS = {0: "#dddddd", 1: "#fcc5c0", 2: "#f768a1", 3: "#ae017e", 4: "#7a0177",
                5: "#3f004a"}
# Hover labels show the true day; the drawn points of the two groups sit this far apart.
GROUP_OFFSET_DAYS = {"SMART101": -4.0, "CONTROL": 4.0}
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)
DAYS_AXIS = "Days after transplant (day 0)"

# The look of every chart, written into each figure instead of a template: what Plotly's
# plotly_white template gave under Streamlit's light theme. A chart is mounted anew whenever
# its figure changes, and Streamlit hands it to Plotly twice: first before its container's
# width is known, then sized and themed again (a copy of the figure). Plotly redraws from
# scratch on that second pass if anything differs: a template (a new object in the copy),
# the data arrays (new objects, unless `datarevision` stays the same) or the size (so no
# `autosize=False`: the first drawing takes its container's width). Written so, the second
# pass draws nothing, which took 40% of Plotly's time a click (tests/browser checks it).
TEXT, GRID, INK = "#808495", "#e6eaf1", "#2a3f5f"
_TITLE_FONT = dict(color=TEXT, size=14)
# (No line colour: given outside a template, it would draw the axis line.)
_AXIS = dict(gridcolor=GRID, ticks="", zerolinecolor=GRID, zerolinewidth=2, automargin=True,
             tickcolor=GRID, tickfont=dict(color=TEXT, size=12))
AXIS_LOOK = {
    "x": {**_AXIS, "showgrid": False, "zeroline": False,
          "title": dict(standoff=20, font=_TITLE_FONT)},
    "y": {**_AXIS, "ticklabelposition": "outside",
          "title": dict(standoff=24, font=_TITLE_FONT)},
}
LAYOUT_LOOK = dict(
    autotypenumbers="strict", hovermode="closest", paper_bgcolor="#FFFFFF",
    plot_bgcolor="#FFFFFF", font=dict(color=TEXT, weight=400), margin=dict(pad=8),
    colorway=["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692",
              "#B6E880", "#FF97FF", "#FECB52"],
    hoverlabel=dict(align="left", bgcolor="#FFFFFF", bordercolor="#DCD8D4",
                    font=dict(color=TEXT, family='"Source Sans", sans-serif', size=12)),
    legend=dict(title=dict(font=dict(size=12, color=TEXT), side="top"), valign="top",
                bordercolor="rgba(0,0,0,0)", borderwidth=0, font=dict(size=12, color="#262730")),
)
TRACE_LOOK = {"bar": dict(marker=dict(line=dict(color="white", width=0.5)),
                          error_x=dict(color=INK), error_y=dict(color=INK))}
ANNOTATION_LOOK = dict(arrowcolor=INK, arrowhead=0, arrowwidth=1)
SHAPE_LOOK = dict(line=dict(color=INK))


def with_footer(spec: Spec, footer: str) -> Spec:
    """The figure, with the cut-off, filters and N printed under the plot, so a screenshot
    carries its context.

    The footer holds text from the export (study, filter values): escaped, so Plotly shows it
    as characters and never as its pseudo-HTML (links, bold).
    """
    layout = {**spec["layout"], "font": FONT}
    layout["margin"] = room_for_labels(spec["data"], layout)
    # A fixed distance in pixels under the plot area (clear of tick labels and the axis title),
    # so the footer never collides with the axis whatever the figure's height.
    layout["annotations"] = [*layout.get("annotations", []), dict(
        text=_footer_lines(footer), xref="paper", yref="paper", x=0, y=0, yshift=-64,
        showarrow=False, xanchor="left", yanchor="top", align="left",
        font=dict(size=10, color="#555555"))]
    return _with_look({"data": spec["data"], "layout": layout})


def _with_look(spec: Spec) -> Spec:
    """The figure in the charts' look, with no template (see LAYOUT_LOOK)."""
    data = [_under(TRACE_LOOK.get(t.get("type", "scatter"), {}), t) for t in spec["data"]]
    layout = _under(LAYOUT_LOOK, spec["layout"]) | {"datarevision": 1}
    axes = {k for k in layout if re.fullmatch(r"[xy]axis\d*", k)} | {
        f"{a}axis{t.get(a + 'axis', a)[1:]}" for t in data for a in "xy"}
    for axis in axes:
        layout[axis] = _under(AXIS_LOOK[axis[0]], layout.get(axis, {}))
        if "minor" in layout[axis]:  # (a minor grid given outside a template is drawn)
            layout[axis]["minor"] = _under(dict(gridcolor=GRID), layout[axis]["minor"])
    for key, look in (("annotations", ANNOTATION_LOOK), ("shapes", SHAPE_LOOK)):
        if key in layout:
            layout[key] = [_under(look, item) for item in layout[key]]
    return {"data": data, "layout": layout}


def figure_of(spec: Spec) -> go.Figure:
    """The chart as a Plotly figure object, unvalidated (to read it in Python: pages and
    reports draw the dictionaries)."""
    figure = go.Figure(spec, _validate=False)
    figure.layout.template = None  # go.Figure puts Plotly's default template in
    return figure


class AsDrawn(go.Figure):
    """A chart's dictionaries handed to `st.plotly_chart` as they are. Given a dictionary,
    Streamlit validates it through go.Figure (50-80 ms a page); given a Plotly figure, it
    only asks for its dictionary (tests/app/test_server_settings.py checks what is sent)."""

    def __init__(self, spec: Spec) -> None:  # no object tree: `to_dict` is all Streamlit reads
        self._spec = spec

    def to_dict(self) -> Spec:
        return self._spec


def _under(look: dict, given: dict) -> dict:
    """`given` with `look`'s values where it has none (nested dictionaries merged)."""
    merged = dict(look)
    for key, value in given.items():
        below = merged.get(key)
        merged[key] = (_under(below, value) if isinstance(below, dict) and isinstance(value, dict)
                       else value)
    return merged


# Margins wide enough for the labels Plotly would otherwise make room for by widening a
# margin and drawing the figure again: about 100 ms of the browser's time a page (on a
# survival page, half of what Plotly spent). A label's width is estimated from its characters
# (em of the 13-pixel font, fitted to the margins Plotly grew to on every chart of the demo);
# a label wider than estimated still gets its room from Plotly, at the cost of that redraw.
_EM = 13  # pixels
_NARROW, _WIDE = set("fijlrtIJL ·,.-()'"), set("mwMW")
NUMBERS_MARGIN = 84  # a y axis of numbers and its title (the widest of the demo's: 82)


def _em(text: str) -> float:
    plain = re.sub(r"<[^>]*>", "", text)
    return sum(0.28 if c in _NARROW else 0.8 if c in _WIDE else 0.62 if c.isupper() else
               0.52 if c.isdigit() else 0.5 for c in plain)


def room_for_labels(data: list[dict], layout: dict) -> dict[str, int]:
    """The margins: on the left, the widest label of a y axis of categories (risk-table rows,
    bars by group) with its tick length and title; on top, the legend's rows above the plot;
    on the right, a legend beside it."""
    axes = {k: v for k, v in layout.items() if k.startswith("yaxis") and isinstance(v, dict)}
    left = NUMBERS_MARGIN
    for trace in data:
        axis = axes.get("yaxis" + trace.get("yaxis", "y")[1:], {})
        labels = [v for v in trace.get("y") or () if isinstance(v, str)]
        if labels and axis.get("showticklabels") is not False:
            titled = 25 if axis.get("title", {}).get("text") else 0
            widest = max(_em(v) for v in labels)
            left = max(left, round(38 + titled + axis.get("ticklen", 0) + _EM * widest))
    legend = layout.get("legend", {})
    top, bottom = 40, 90
    if legend.get("orientation") == "h" and legend.get("y", 1) > 1:
        entries = [t["name"] for t in data if t.get("name") and t.get("showlegend") is not False]
        rows = int(1 + sum(40 + _EM * _em(str(n)) for n in entries) // 900)
        # The legend sits (y - 1) plot heights above the plot: a tall figure needs more room
        # (fitted to where Plotly put the legend of the CD4 subsets, 710 px high, y = 1.12).
        y, height = legend["y"], layout.get("height", 450)
        top = max(44 + 22 * rows,
                  math.ceil(((y - 1) * (height - bottom) + 12 + 22 * (rows - 1)) / y))
    right = 20
    if legend.get("orientation") != "h" and layout.get("showlegend") is not False:
        names = [_em(str(t["name"])) for t in data
                 if t.get("name") and t.get("showlegend") is not False]
        right = max(right, round(70 + _EM * max(names))) if names else right
    return dict(l=left, r=right, t=top, b=bottom)


FOOTER_LINE = 120  # characters: a longer footer (a landmark, many filters) runs past the plot


def _footer_lines(footer: str) -> str:
    """The footer escaped, broken between its " · " parts into lines that fit the figure
    (an annotation does not wrap by itself: it ran off the right edge at 1280 pixels)."""
    lines: list[str] = []
    for part in footer.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= FOOTER_LINE:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return "<br>".join(escape_plotly(line) for line in lines)


def _values(series: pd.Series | list | np.ndarray) -> list:
    """A column as the plain list Plotly's JSON holds (numbers as floats where they are)."""
    return series.tolist() if hasattr(series, "tolist") else list(series)


def _dates(values: list) -> list[str]:
    return [pd.Timestamp(v).isoformat() for v in values]


def cumulative_enrollment_figure(enrollment: pd.DataFrame, targets: dict[str, int],
                                 planned: pd.DataFrame, cutoff: date | None,
                                 labels: dict[str, str], footer: str,
                                 show_total: bool = True) -> Spec:
    """Step lines of cumulative enrollment per arm (and overall), against targets and the plan.

    `enrollment` has columns enrollment_date, arm, cumulative_in_arm, cumulative_total;
    `planned` has date and planned_total.
    """
    end = pd.Timestamp(cutoff) if cutoff else None
    traces: list[dict] = []

    def step(x: list, y: list, name: str, color: str) -> dict:
        if end is not None and y:
            x, y = [*x, end], [*y, y[-1]]
        return dict(type="scatter", x=_dates(x), y=y, mode="lines", name=name,
                    line=dict(color=color, width=2.5, shape="hv"))

    for arm, rows in enrollment.groupby("arm", sort=True):
        traces.append(step(list(rows["enrollment_date"]), _values(rows["cumulative_in_arm"]),
                           labels.get(arm, arm), ARM_COLORS.get(arm, "#000000")))
    if show_total and not enrollment.empty:
        traces.append(step(list(enrollment["enrollment_date"]),
                           _values(enrollment["cumulative_total"]), "Both arms",
                           ARM_COLORS["ALL"]))
    if not planned.empty:
        traces.append(dict(type="scatter", x=_dates(list(planned["date"])),
                           y=_values(planned["planned_total"]), mode="lines",
                           name="Planned accrual",
                           line=dict(color=TARGET_COLOR, dash="dot", width=2)))
    shapes, notes = [], []
    if end is not None:
        shapes.append(dict(type="line", x0=end.isoformat(), x1=end.isoformat(), xref="x",
                           y0=0, y1=1, yref="y domain",
                           line=dict(color="#555555", dash="dot", width=1)))
        notes.append(dict(x=end.isoformat(), y=1, yref="paper", text="data cut-off",
                          showarrow=False, xanchor="left", yanchor="bottom",
                          font=dict(size=11, color="#555555")))
    for name, target in targets.items():
        shapes.append(dict(type="line", x0=0, x1=1, xref="x domain", y0=target, y1=target,
                           yref="y", line=dict(color=TARGET_COLOR, dash="dash", width=1)))
        notes.append(dict(x=0, xref="x domain", y=target, yref="y",
                          text=escape_plotly(f"{name}: {target}"), showarrow=False,
                          xanchor="left", yanchor="bottom", font=dict(color="#777777")))
    layout = dict(xaxis=dict(title=dict(text="Enrollment date")),
                  yaxis=dict(title=dict(text="Patients enrolled (cumulative)"),
                             rangemode="tozero"),
                  legend=dict(orientation="h", y=1.08, x=0), height=460, shapes=shapes,
                  annotations=notes)
    return with_footer({"data": traces, "layout": layout}, footer)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _curve_traces(label: str, block: dict[str, np.ndarray],
                  axes: tuple[str, str] = ("x", "y")) -> list[dict]:
    """A step curve with its 95% band (its censoring ticks: `_curve_ticks`).

    `block`: one curve's columns as arrays (group, dash, time, estimate, lower, upper);
    an undefined limit (NaN) is drawn at the estimate.
    The band is one filled outline, a trace fewer than two filled edges (Plotly's time grows
    with the traces): the upper steps, then the lower ones back. Drawn horizontal-first like
    the upper ones, the lower steps go back one value behind (x_n, x_n, x_n-1 ... x_0 at
    l_n, l_n-1 ... l_0, l_0), so every value still holds from its time to the next.
    """
    color = COHORT_COLORS.get(str(block["group"][0]), "#000000")
    dash = str(block["dash"][0]) if "dash" in block else "solid"
    x, est = block["time"], block["estimate"]
    lower = np.where(np.isnan(block["lower"]), est, block["lower"])
    upper = np.where(np.isnan(block["upper"]), est, block["upper"])
    traces = [
        dict(type="scatter", x=np.r_[x, x[-1], x[::-1]].tolist(),
             y=np.r_[upper, lower[::-1], lower[0]].tolist(), mode="lines",
             line=dict(width=0, shape="hv"), fill="toself", fillcolor=_rgba(color, 0.13),
             hoverinfo="skip", showlegend=False, legendgroup=label,
             xaxis=axes[0], yaxis=axes[1]),
        dict(type="scatter", x=x.tolist(), y=est.tolist(), mode="lines", name=label,
             legendgroup=label, line=dict(color=color, width=2.5, shape="hv", dash=dash),
             customdata=np.column_stack([lower, upper]).tolist(),
             hovertemplate=("day %{x:.0f}: %{y:.1%} (95% CI %{customdata[0]:.1%}-"
                            "%{customdata[1]:.1%})<extra>" + label + "</extra>"),
             xaxis=axes[0], yaxis=axes[1]),
    ]
    return traces


TICK_HEIGHT = 0.045  # a censoring tick, as a share of the y axis: about 12 pixels, as before


def _curve_ticks(block: dict[str, np.ndarray], y_range: tuple[float, float], legendgroup: str,
                 axes: tuple[str, str] = ("x", "y")) -> list[dict]:
    """The curve's censoring ticks (none without n_censor, or with no one censored): vertical
    ticks on the curve as one path (a layout shape), in the curve's legend group, so hiding
    the curve from the legend hides them too. Plotly draws each marker as an element of its
    own, and a line broken by gaps slower still: a curve of 100,000 controls has 738 ticks,
    which took the browser about 90 ms a chart more than none."""
    if "n_censor" not in block or not (censored := block["n_censor"] > 0).any():
        return []
    half = TICK_HEIGHT * (y_range[1] - y_range[0]) / 2
    path = "".join(f"M{a:.10g},{b - half:.6g}V{b + half:.6g}" for a, b in
                   zip(block["time"][censored], block["estimate"][censored], strict=True))
    color = COHORT_COLORS.get(str(block["group"][0]), "#000000")
    return [dict(type="path", path=path, xref=axes[0], yref=axes[1], layer="above",
                 line=dict(color=color, width=1.2), legendgroup=legendgroup,
                 showlegend=False)]


def _y_range(columns: dict[str, np.ndarray], rising: bool) -> tuple[float, float]:
    """The curves' y axis: 0-102% for a survival curve; for a rising one (a cumulative
    incidence), up to its highest limit, given (so the ticks' height is known)."""
    if not rising:
        return 0.0, 1.02
    top = float(np.nanmax([*columns["upper"], *columns["estimate"], 0.01]))
    return -0.01 * top, 1.04 * top


def _risk_table(risk: pd.DataFrame, rows: list[str], colors: str | list[str],
                hovers: list[str], axes: tuple[str, str]) -> dict:
    """The numbers at risk as one trace of text: `risk`'s n_risk at its times, on the
    category axis at `rows` (one label per cell), in `colors`, each cell's hover naming
    `hovers` (one trace, not one a row: Plotly's time grows with the traces)."""
    return dict(type="scatter", x=_values(risk["time"]), y=rows, mode="text",
                text=risk["n_risk"].astype(str).tolist(), showlegend=False,
                textfont=dict(color=colors, size=12),
                hovertemplate=[f"%{{text}} at risk on day %{{x}}<extra>{escape_plotly(h)}</extra>"
                               for h in hovers],
                xaxis=axes[0], yaxis=axes[1])


def step_curves_figure(curves: pd.DataFrame, risk: pd.DataFrame, *, y_title: str,
                       ticks: tuple[int, ...], footer: str, rising: bool = False,
                       x_title: str = DAYS_AXIS) -> Spec:
    """Kaplan-Meier or cumulative-incidence step curves with 95% bands and a risk table.

    `curves`: curve (legend label), group (SMART101/CONTROL: the colour), dash, time, estimate,
    lower, upper, n_censor; each curve starts at day 0. `risk`: group, time, n_risk at `ticks`
    (and `row`, the row's label, when it is not the group).
    The number-at-risk table sits under the time axis, one row per group, as in a journal figure:
    a second plot area on the same (matched) time axis.
    """
    traces: list[dict] = []
    columns = {c: curves[c].to_numpy(dtype=float, na_value=np.nan) for c in
               ("time", "estimate", "lower", "upper", "n_censor") if c in curves}
    columns |= {c: curves[c].to_numpy().astype(str) for c in ("group", "dash", "curve")
                if c in curves}
    y_range = _y_range(columns, rising)
    shapes: list[dict] = []
    for label in dict.fromkeys(columns["curve"]):
        block = {c: v[columns["curve"] == label] for c, v in columns.items()}
        traces += _curve_traces(escape_plotly(label), block)
        shapes += _curve_ticks(block, y_range, legendgroup=escape_plotly(label))
    # One row per group, or per `row` label when several endpoints share the plot.
    labels = (risk["row"] if "row" in risk else risk["group"]).astype(str).tolist()
    groups = list(dict.fromkeys(labels))
    colors = [COHORT_COLORS.get(g, "#000000") for g in risk["group"].astype(str)]
    traces.append(_risk_table(risk, labels, colors, labels, axes=("x2", "y2")))
    x_max = max(ticks)
    x_range = [-x_max * 0.02, x_max * 1.03]
    curves_axis = dict(anchor="x", domain=[0.3616, 1.0], title=dict(text=y_title),
                       tickformat=".0%", range=list(y_range))
    layout = dict(
        xaxis=dict(anchor="y", domain=[0.0, 1.0], matches="x2", showticklabels=True,
                   range=x_range, tickvals=list(ticks), title=dict(text=x_title)),
        xaxis2=dict(anchor="y2", domain=[0.0, 1.0], range=x_range, tickvals=list(ticks),
                    showticklabels=False, showgrid=False, zeroline=False),
        yaxis=curves_axis,
        # Half a row of room above and below, so the top and bottom rows are not clipped.
        yaxis2=dict(anchor="x2", domain=[0.0, 0.2016], categoryorder="array",
                    categoryarray=groups[::-1], showgrid=False, range=[-0.6, len(groups) - 0.4],
                    title=dict(text="At risk")),
        height=600, legend=dict(orientation="h", y=1.1, x=0), hovermode="closest",
        shapes=shapes)
    return with_footer({"data": traces, "layout": layout}, footer)


def step_curves_by_group_figure(curves: pd.DataFrame, risk: pd.DataFrame, *, y_title: str,
                                ticks: tuple[int, ...], footer: str,
                                x_title: str = DAYS_AXIS) -> Spec:
    """Several endpoints' cumulative incidences, one plot per group side by side (as in
    `step_curves_figure`: 95% bands, censoring ticks, a risk table under each plot).

    In one chart, four bands of two colours over each other turned grey-brown and hid the
    curves; here a plot holds one group's curves, in its colour with a dash per endpoint, so
    only bands of one colour overlap. The plots share their y axis, so heights compare across
    them. `curves` as for `step_curves_figure`, with `endpoint` (the endpoint's label, the
    legend's); `risk`: group, time, n_risk and `row`, the endpoint's label (the same rows in
    every plot, labelled once, on the left).
    """
    columns = {c: curves[c].to_numpy(dtype=float, na_value=np.nan) for c in
               ("time", "estimate", "lower", "upper", "n_censor") if c in curves}
    columns |= {c: curves[c].to_numpy().astype(str) for c in ("group", "dash", "curve",
                                                            "endpoint") if c in curves}
    groups = list(dict.fromkeys(columns["group"]))
    rows = list(dict.fromkeys(risk["row"].astype(str)))
    # One scale for every plot, given (Plotly's `matches` lost the autorange of such plots).
    y_range = _y_range(columns, rising=True)
    x_max = max(ticks)
    x_range = [-x_max * 0.02, x_max * 1.03]
    traces: list[dict] = []
    notes: list[dict] = []
    tick_shapes: list[dict] = []
    layout: dict[str, Any] = dict(height=600, legend=dict(orientation="h", y=1.12, x=0),
                                  hovermode="closest", shapes=tick_shapes)
    for i, (group, (x_domain, _)) in enumerate(
            zip(groups, _grid(len(groups), len(groups), 0.05, 0.0), strict=True)):
        plot, table = ("", "2") if i == 0 else (str(2 * i + 1), str(2 * i + 2))
        mine = columns["group"] == group
        for label in dict.fromkeys(columns["curve"][mine]):
            chosen = mine & (columns["curve"] == label)
            block = {c: v[chosen] for c, v in columns.items()}
            endpoint = escape_plotly(block["endpoint"][0])
            # The legend names the endpoints (a dash each), once for all plots; a click on
            # one hides that endpoint in every plot. The hover still names the curve.
            tick_shapes.extend(_curve_ticks(block, y_range, legendgroup=endpoint,
                                            axes=(f"x{plot}", f"y{plot}")))
            for trace in _curve_traces(escape_plotly(label), block,
                                       axes=(f"x{plot}", f"y{plot}")):
                trace["legendgroup"] = endpoint
                if "name" in trace:
                    trace |= dict(name=endpoint, showlegend=i == 0)
                traces.append(trace)
        color = COHORT_COLORS.get(group, "#000000")
        at_risk = risk[risk["group"].astype(str) == group]
        labels = at_risk["row"].astype(str).tolist()
        traces.append(_risk_table(at_risk, labels, color, [f"{group} · {r}" for r in labels],
                                  axes=(f"x{table}", f"y{table}")) | {"cliponaxis": False})
        layout[f"xaxis{plot}"] = dict(anchor=f"y{plot}", domain=x_domain, range=x_range,
                                      tickvals=list(ticks), title=dict(text=x_title))
        layout[f"xaxis{table}"] = dict(anchor=f"y{table}", domain=x_domain, range=x_range,
                                       matches=f"x{plot}", tickvals=list(ticks),
                                       showticklabels=False, showgrid=False, zeroline=False)
        layout[f"yaxis{plot}"] = dict(anchor=f"x{plot}", domain=[0.3616, 1.0],
                                      tickformat=".0%", range=list(y_range))
        # Half a row of room above and below, so the top and bottom rows are not clipped.
        # Invisible ticks keep the rows' labels clear of the numbers on day 0.
        layout[f"yaxis{table}"] = dict(anchor=f"x{table}", domain=[0.0, 0.2016],
                                       categoryorder="array", categoryarray=rows[::-1],
                                       range=[-0.6, len(rows) - 0.4], showgrid=False,
                                       zeroline=False, ticks="outside", ticklen=14,
                                       tickcolor="rgba(0,0,0,0)")
        if i == 0:
            layout["yaxis"]["title"] = dict(text=y_title)
            layout["yaxis2"]["title"] = dict(text="At risk")
        else:  # the scale and the rows are read on the left
            layout[f"yaxis{plot}"]["showticklabels"] = False
            layout[f"yaxis{table}"]["showticklabels"] = False
        notes.append(dict(text=f"<span style='color:{color}'>●</span> {escape_plotly(group)}",
                          showarrow=False, x=sum(x_domain) / 2, xanchor="center",
                          xref="paper", y=1.0, yanchor="bottom", yref="paper",
                          font=dict(size=15)))
    layout["annotations"] = notes
    return with_footer({"data": traces, "layout": layout}, footer)


def grade_distribution_figure(distribution: pd.DataFrame, *, grade_labels: dict[int, str],
                              grade_colors: dict[int, str], x_title: str) -> Spec:
    """Stacked horizontal bars, one per group: % of patients by their worst grade.

    `distribution`: group, grade, patients, percent (one row per group and grade).
    """
    traces = []
    for grade, label in grade_labels.items():
        rows = distribution[distribution["grade"] == grade]
        traces.append(dict(
            type="bar", y=rows["group"].astype(str).tolist(), x=_values(rows["percent"]),
            orientation="h", name=label, marker=dict(color=grade_colors[grade]),
            text=[f"{n}" if n else "" for n in rows["patients"]], textposition="inside",
            hovertemplate="%{y}: %{x:.1f}% (n=%{text})<extra>" + label + "</extra>"))
    # Each group's label carries its cohort colour, as in every other chart.
    groups = list(dict.fromkeys(distribution["group"].astype(str)))
    layout = dict(barmode="stack", height=320, xaxis=dict(title=dict(text=x_title)),
                  legend=dict(orientation="h", y=1.15, x=0),
                  yaxis=dict(autorange="reversed", tickvals=groups, ticktext=[
                      f"<span style='color:{COHORT_COLORS.get(g, '#333333')}'>●</span> "
                      f"{escape_plotly(g)}" for g in groups]))
    return {"data": traces, "layout": layout}


# Labels of a log axis: 1, 2 and 5 times each power of ten, or fewer when the range is wide.
LOG_MANTISSAS = ((1, 2, 5), (1, 3), (1,))


def _value_axis(log_axis: bool, values: list[float], max_ticks: int = 12) -> dict[str, Any]:
    """A linear axis, or a log axis labelled at round counts in full ("20", "500", "1,000").

    Plotly's own log labels give the minor ticks a bare digit ("2", "5" for 20, 50, 200 ...),
    which reads as a count; so the axis spans `values` (zeros and negatives are not drawn on a
    log axis) and is labelled at the round values within, at most `max_ticks` of them.
    """
    if not log_axis:
        return {"type": "linear"}
    positive = [float(v) for v in values if v is not None and math.isfinite(v) and v > 0]
    if not positive:
        return {"type": "log"}
    low, high = math.log10(min(positive)), math.log10(max(positive))
    pad = max(0.04 * (high - low), 0.04)  # room for the markers at either end
    low, high = low - pad, high + pad
    for mantissas in LOG_MANTISSAS:
        ticks = _log_ticks(low, high, mantissas)
        if len(ticks) <= max_ticks:
            break
    # Never fewer than two labels: the axis then stretches to the round values either side.
    low, high = min(low, math.log10(ticks[0])), max(high, math.log10(ticks[-1]))
    return {"type": "log", "tickmode": "array", "tickvals": ticks,
            "ticktext": [f"{t:,g}" for t in ticks], "range": [low, high]}


def _log_ticks(low: float, high: float, mantissas: tuple[int, ...]) -> list[float]:
    """The round values (mantissa x power of ten) between 10^low and 10^high; when there are
    fewer than two, the nearest either side of that span."""
    decades = range(math.floor(low) - 1, math.ceil(high) + 2)
    # Written then read as decimals, so 2e-1 is 0.2 and not 0.20000000000000004.
    values = [float(f"{m}e{d}") for d in decades for m in mantissas]
    inside = [v for v in values if 10 ** low <= v <= 10 ** high]
    if len(inside) >= 2:
        return inside
    return [max(v for v in values if v <= 10 ** low), *inside,
            min(v for v in values if v >= 10 ** high)]


def _spaced_days(days: list[float], min_gap: float) -> list[float]:
    """The days to label on a time axis, in order: each at least `min_gap` after the one before
    (the last day kept in place of the one before it when they are too close), so labels never
    run into each other in a narrow plot."""
    kept: list[float] = []
    for d in sorted(days):
        if not kept or d - kept[-1] >= min_gap:
            kept.append(d)
    last = max(days)
    if kept[-1] != last:
        kept[-1] = last
    return kept


def _median_iqr_traces(summary: pd.DataFrame, *, legend: bool, axes: tuple[str, str] = ("x", "y"),
                       label: str = "median (IQR)") -> list[dict]:
    """One trace per group: medians joined by a line, error bars from q1 to q3."""
    traces = []
    for group, color in COHORT_COLORS.items():
        rows = summary[(summary["group"] == group) & (summary["n"] > 0)]
        if rows.empty:
            continue
        median, q1, q3 = (rows[c].astype(float) for c in ("median", "q1", "q3"))
        traces.append(dict(
            type="scatter", x=(rows["day"] + GROUP_OFFSET_DAYS.get(group, 0.0)).tolist(),
            y=median.tolist(), mode="lines+markers", name=f"{group} {label}",
            legendgroup=group, showlegend=legend, line=dict(color=color, width=2.5),
            marker=dict(size=8), error_y=dict(type="data", symmetric=False,
                                              array=(q3 - median).tolist(),
                                              arrayminus=(median - q1).tolist(),
                                              thickness=1.5, width=5),
            customdata=np.column_stack([rows["day"], rows["n"], q1, q3]).tolist(),
            hovertemplate=("day %{customdata[0]}: median %{y:.0f} (IQR %{customdata[2]:.0f}-"
                           "%{customdata[3]:.0f}), n=%{customdata[1]}<extra>" + group
                           + "</extra>"),
            xaxis=axes[0], yaxis=axes[1]))
    return traces


# Patients' lines, drawn in this order: the control cohort (about four times as many patients)
# first, thinner and fainter, then SMART101's on top; the medians above both.
TRAJECTORY_LINES = {"CONTROL": dict(width=0.6, opacity=0.25),
                    "SMART101": dict(width=1.0, opacity=0.5)}


def _trajectory_traces(trajectories: pd.DataFrame) -> list[dict]:
    """One line per patient in the cohort colour, cohorts in `TRAJECTORY_LINES` order."""
    order = {g: i for i, g in enumerate(TRAJECTORY_LINES)}
    traces = []
    for (group, usubjid), rows in sorted(
            trajectories.groupby(["group", "USUBJID"], sort=False),
            key=lambda item: order.get(str(item[0][0]), -1)):
        style = TRAJECTORY_LINES.get(str(group), TRAJECTORY_LINES["CONTROL"])
        traces.append(dict(
            type="scatter", x=_values(rows["day"]), y=_values(rows["cd4_cells_per_ul"]),
            mode="lines+markers", name=escape_plotly(usubjid), legendgroup=str(group),
            showlegend=False, opacity=style["opacity"],
            line=dict(color=COHORT_COLORS.get(str(group), "#000000"), width=style["width"]),
            marker=dict(size=2 * style["width"] + 1),
            hovertemplate="day %{x}: %{y:.0f}<extra>" + escape_plotly(usubjid) + "</extra>"))
    return traces


def counts_over_time_figure(by_visit: pd.DataFrame, trajectories: pd.DataFrame | None, *,
                            threshold: float, threshold_label: str, log_axis: bool) -> Spec:
    """Median and IQR of CD4 by protocol day and group, the threshold, optional trajectories.

    `by_visit`: group, day, to_day, n, median, q1, q3; `trajectories`: group, USUBJID, day,
    cd4_cells_per_ul.

    A trajectory is one thin, faint line per patient in the cohort colour, drawn under the
    medians (it joins all of the patient's counts, scheduled or not). The threshold is a dashed
    line labelled with its value at the right.
    """
    traces = [] if trajectories is None else _trajectory_traces(trajectories)
    last = max(by_visit["to_day"].max(), 0 if trajectories is None else
               trajectories["day"].max())
    traces.append(dict(type="scatter", x=[0, float(last)], y=[threshold] * 2, mode="lines",
                       name=threshold_label, line=dict(color="#555555", dash="dash", width=1),
                       hoverinfo="skip"))
    traces += _median_iqr_traces(by_visit, legend=True)
    drawn = [threshold, *by_visit["q1"].dropna(), *by_visit["q3"].dropna()]
    if trajectories is not None:
        drawn += trajectories["cd4_cells_per_ul"].dropna().tolist()
    notes = []
    if threshold > 0 or not log_axis:
        # On a log axis an annotation's y is the logarithm of the value.
        notes.append(dict(text=f"{threshold:g} cells/µL", x=1, xref="x domain", xanchor="right",
                          y=math.log10(threshold) if log_axis else threshold, yref="y",
                          yanchor="bottom", showarrow=False, bgcolor="rgba(255,255,255,0.85)",
                          font=dict(size=12, color="#555555")))
    layout = dict(xaxis=dict(title=dict(text=DAYS_AXIS),
                             tickvals=[0, *by_visit["day"].drop_duplicates().tolist()]),
                  yaxis=dict(title=dict(text="CD4+ T cells (cells/µL)"),
                             **_value_axis(log_axis, drawn)),
                  height=500, legend=dict(orientation="h", y=1.12, x=0), hovermode="closest",
                  annotations=notes)
    return {"data": traces, "layout": layout}


def _grid(n: int, cols: int, h_space: float, v_space: float
          ) -> list[tuple[list[float], list[float]]]:
    """(x domain, y domain) of each of `n` plot areas, row by row from the top (as Plotly's
    make_subplots lays them out)."""
    rows = math.ceil(n / cols)
    width = (1 - (cols - 1) * h_space) / cols
    height = (1 - (rows - 1) * v_space) / rows
    cells = []
    for i in range(n):
        row, col = divmod(i, cols)
        x0, top = col * (width + h_space), 1 - row * (height + v_space)
        # Rounded: float error must not push a domain out of [0, 1].
        cells.append(([round(x0, 9), round(x0 + width, 9)],
                      [max(round(top - height, 9), 0.0), round(top, 9)]))
    return cells


def subsets_figure(subsets: pd.DataFrame, titles: dict[str, str], *, log_axis: bool) -> Spec:
    """Small multiples: one panel per subset (`parameter`), median and IQR by day and group."""
    params = list(dict.fromkeys(subsets["parameter"]))
    cols = min(len(params), 2)
    rows = math.ceil(len(params) / cols)
    days = [0, *subsets["day"].drop_duplicates().tolist()]
    # A plot is half the chart's width (about 300 pixels at 1280): the early protocol days
    # (30, 60, 100) would write over each other, so labels keep a tenth of the axis between
    # them; every protocol day keeps its grid line.
    ticks = _spaced_days(days, 0.1 * max(days)) if cols > 1 else days
    grid = dict(tickvals=[d for d in days if d not in ticks], showgrid=True)
    traces, notes = [], []
    layout: dict[str, Any] = dict(height=150 + 280 * rows,
                                  legend=dict(orientation="h", y=1.12, x=0))
    for i, (param, (x_domain, y_domain)) in enumerate(
            zip(params, _grid(len(params), cols, 0.1, 0.18), strict=True)):
        n = "" if i == 0 else str(i + 1)
        mine = subsets[subsets["parameter"] == param]
        traces += _median_iqr_traces(mine, legend=i == 0, axes=(f"x{n}", f"y{n}"))
        layout[f"xaxis{n}"] = dict(anchor=f"y{n}", domain=x_domain, tickvals=ticks, minor=grid)
        if i // cols == rows - 1:
            layout[f"xaxis{n}"]["title"] = dict(text=DAYS_AXIS)
        layout[f"yaxis{n}"] = dict(anchor=f"x{n}", domain=y_domain, **_value_axis(
            log_axis, [*mine["q1"].dropna(), *mine["q3"].dropna()], max_ticks=7))
        if i % cols == 0:
            layout[f"yaxis{n}"]["title"] = dict(text="cells/µL")
        notes.append(dict(text=escape_plotly(titles.get(param, param)), showarrow=False,
                          x=sum(x_domain) / 2, xanchor="center", xref="paper",
                          y=y_domain[1], yanchor="bottom", yref="paper", font=dict(size=16)))
    layout["annotations"] = notes
    return {"data": traces, "layout": layout}


def mean_cumulative_count_figure(table: pd.DataFrame, max_time: dict[str, float],
                                 groups: tuple[str, ...], ticks: tuple[int, ...]) -> Spec:
    """Step lines of the mean cumulative count per group, from day 0 to the last follow-up.

    `table`: group, time, mcc (stats.mean_cumulative_count); `max_time`: each group's last
    follow-up day, where its line ends.

    Not `charts.step_curves_figure`: that one draws proportions (a % axis) with bands, and the
    count has neither.
    """
    table = table.assign(group=table["group"].astype(str))
    window = max(ticks)
    traces = []
    for g in groups:
        rows = table[table["group"] == g]
        mcc = [0.0, *rows["mcc"].astype(float).tolist()]
        x = [0.0, *rows["time"].astype(float).tolist(), float(max_time[g])]
        y = [*mcc, mcc[-1]]  # the count holds until the group's last follow-up
        traces.append(dict(
            type="scatter", x=x, y=y, mode="lines", name=g,
            line=dict(color=COHORT_COLORS.get(g, "#000000"), width=2.5, shape="hv"),
            hovertemplate="day %{x:.0f}: %{y:.2f} episodes per patient<extra>" + g +
                          "</extra>"))
    layout = dict(xaxis=dict(range=[-window * 0.02, window * 1.03], tickvals=list(ticks),
                             title=dict(text=DAYS_AXIS)),
                  yaxis=dict(title=dict(text="Mean cumulative count (episodes per patient)"),
                             rangemode="tozero"),
                  height=460, legend=dict(orientation="h", y=1.1, x=0))
    return {"data": traces, "layout": layout}


STATUS_COLORS = {"within": "#1a7f37", "approaching": "#b35c00", "crossed": "#c62828",
                 "not evaluable": "#777777"}


def stopping_rules_figure(accruals: list[tuple[str, str, pd.DataFrame]]) -> Spec:
    """Small multiples, one per rule: the events observed as evaluable patients accrue (a step
    line) against the fewest events that would cross the rule at each count (dashed).

    `accruals`: (title, status, frame of evaluable, events, boundary) per rule.
    """
    cols = min(len(accruals), 2)
    rows = math.ceil(len(accruals) / cols)
    traces, notes = [], []
    # No legend: the caption under the chart says which line is which (a legend would sit on
    # the titles of the top row).
    layout: dict[str, Any] = dict(height=120 + 300 * rows, showlegend=False)
    for i, ((title, status, accrual), (x_domain, y_domain)) in enumerate(
            zip(accruals, _grid(len(accruals), cols, 0.1, 0.2), strict=True)):
        n = "" if i == 0 else str(i + 1)
        axes = dict(xaxis=f"x{n}", yaxis=f"y{n}")
        x = [0, *accrual["evaluable"].tolist()]
        traces.append(dict(type="scatter", x=x, y=[0, *accrual["events"].tolist()],
                           mode="lines", line=dict(shape="hv", color="#0072B2", width=2.5),
                           name="Events observed", legendgroup="observed", showlegend=i == 0,
                           hovertemplate="%{y} events among %{x} evaluable<extra></extra>",
                           **axes))
        bound = accrual.dropna(subset=["boundary"])
        traces.append(dict(type="scatter", x=bound["evaluable"].tolist(),
                           y=bound["boundary"].astype(float).tolist(), mode="lines",
                           line=dict(shape="hv", color="#c62828", dash="dash", width=2),
                           name="Events that would cross the rule", legendgroup="boundary",
                           showlegend=i == 0,
                           hovertemplate="crossed at %{y} events among %{x}<extra></extra>",
                           **axes))
        layout[f"xaxis{n}"] = dict(anchor=f"y{n}", domain=x_domain, rangemode="tozero",
                                   title=dict(text="Evaluable patients"))
        layout[f"yaxis{n}"] = dict(anchor=f"x{n}", domain=y_domain, rangemode="tozero",
                                   title=dict(text="Events"))
        notes.append(dict(text=escape_plotly(f"{title}: {status}"), showarrow=False,
                          x=sum(x_domain) / 2, xanchor="center", xref="paper",
                          y=y_domain[1], yanchor="bottom", yref="paper",
                          font=dict(size=14, color=STATUS_COLORS.get(status, "#000000"))))
    layout["annotations"] = notes
    return {"data": traces, "layout": layout}


def with_group_names(spec: Spec, names: dict[str, str]) -> Spec:
    """The figure with each cohort code that begins a legend entry, risk-table row, hover
    label or annotation replaced by what the filters compare ("Group A (adults)",
    "Controls, adults"): every figure says what is compared, drawn once for all panels.
    Without an arm the codes are the names: the figure is returned as it is (no cost).
    `spec` is left as it was: what changes is copied."""
    if all(code == name for code, name in names.items()):
        return spec

    def named(text: object) -> object:
        # The code alone or before a space ("SMART101 · Relapse"): never the start of another
        # word, such as a subject ID ("SMART101-01-A001" on the swimmer plot).
        if not isinstance(text, str):
            return text
        for code, name in names.items():
            if text == code or text.startswith(code + " "):
                return name + text[len(code):]
            for end in (" ", "<"):
                text = text.replace(f"<extra>{code}{end}", f"<extra>{name}{end}")
        return text

    def each_named(values: object) -> object:
        return [named(v) for v in values] if isinstance(values, list | tuple) else named(values)

    # Category values too (risk-table rows, a bar per group); a list holds one a point.
    data = [trace | {key: each_named(trace[key]) for key in
                     ("name", "legendgroup", "hovertemplate", "x", "y") if key in trace}
            for trace in spec["data"]]
    layout = dict(spec["layout"])
    if "annotations" in layout:
        layout["annotations"] = [note | {"text": named(note.get("text"))}
                                 for note in layout["annotations"]]
    for key, axis in layout.items():  # the categories' order and labels, named the same
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict):
            layout[key] = axis | {field: each_named(axis[field]) for field in
                                  ("ticktext", "categoryarray", "tickvals") if field in axis}
    # The names are longer (the look's padding kept).
    layout["margin"] = layout["margin"] | room_for_labels(data, layout)
    return {"data": data, "layout": layout}
