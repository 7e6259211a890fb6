"""Plotly figures from tables: one look for every page (colours, fonts, footer).

SMART101 and control keep the same colours on every page, legend and risk table (Okabe-Ito
palette, readable with colour-blindness).

Figures are written as plain dictionaries (traces and layout, as Plotly's JSON has them) and
made into a `go.Figure` once, without Plotly's per-property validation: that validation costs
10-30 ms a figure and changes nothing in what reaches the browser (tests/test_charts.py checks
that the validated figure gives the same JSON). `with_footer` is that last step.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from smart101_dash.safe_text import escape_plotly

Spec = dict[str, Any]  # {"data": [trace, ...], "layout": {...}}

COHORT_COLORS = {"SMART101": "#0072B2", "CONTROL": "#D55E00"}
ARM_COLORS = {"GROUP A": "#0072B2", "GROUP B": "#56B4E9", "ALL": "#333333"}
TARGET_COLOR = "#999999"
# Hover labels show the true day; the drawn points of the two groups sit this far apart.
GROUP_OFFSET_DAYS = {"SMART101": -4.0, "CONTROL": 4.0}
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)
# The template as Plotly writes it into a validated figure's JSON (a name alone means nothing
# to plotly.js).
TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
DAYS_AXIS = "Days after transplant (day 0)"


def with_footer(spec: Spec, footer: str) -> go.Figure:
    """The figure, with the cut-off, filters and N printed under the plot, so a screenshot
    carries its context.

    The footer holds text from the export (study, filter values): escaped, so Plotly shows it
    as characters and never as its pseudo-HTML (links, bold).
    """
    layout = {**spec["layout"], "margin": dict(l=60, r=20, t=40, b=90), "font": FONT,
              "template": TEMPLATE}
    # A fixed distance in pixels under the plot area (clear of tick labels and the axis title),
    # so the footer never collides with the axis whatever the figure's height.
    layout["annotations"] = [*layout.get("annotations", []), dict(
        text=_footer_lines(footer), xref="paper", yref="paper", x=0, y=0, yshift=-64,
        showarrow=False, xanchor="left", yanchor="top", align="left",
        font=dict(size=10, color="#555555"))]
    return go.Figure({"data": spec["data"], "layout": layout}, _validate=False)


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
                                 show_total: bool = True) -> go.Figure:
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


def _curve_traces(label: str, block: dict[str, np.ndarray]) -> list[dict]:
    """A step curve with its 95% band (two invisible edges, filled) and its censoring ticks.

    `block`: one curve's columns as arrays (group, dash, time, estimate, lower, upper and
    optionally n_censor); an undefined limit (NaN) is drawn at the estimate.
    """
    color = COHORT_COLORS.get(str(block["group"][0]), "#000000")
    dash = str(block["dash"][0]) if "dash" in block else "solid"
    x, est = block["time"], block["estimate"]
    lower = np.where(np.isnan(block["lower"]), est, block["lower"]).tolist()
    upper = np.where(np.isnan(block["upper"]), est, block["upper"]).tolist()
    edge = dict(type="scatter", x=x.tolist(), mode="lines", line=dict(width=0, shape="hv"),
                hoverinfo="skip", showlegend=False, legendgroup=label, xaxis="x", yaxis="y")
    traces = [
        {**edge, "y": upper},
        {**edge, "y": lower, "fill": "tonexty", "fillcolor": _rgba(color, 0.13)},
        dict(type="scatter", x=x.tolist(), y=est.tolist(), mode="lines", name=label,
             legendgroup=label, line=dict(color=color, width=2.5, shape="hv", dash=dash),
             customdata=[[lo, up] for lo, up in zip(lower, upper, strict=True)],
             hovertemplate=("day %{x:.0f}: %{y:.1%} (95% CI %{customdata[0]:.1%}-"
                            "%{customdata[1]:.1%})<extra>" + label + "</extra>"),
             xaxis="x", yaxis="y"),
    ]
    if "n_censor" in block:
        censored = block["n_censor"] > 0
        traces.append(dict(type="scatter", x=x[censored].tolist(), y=est[censored].tolist(),
                           mode="markers",
                           marker=dict(symbol="line-ns-open", size=9, color=color),
                           hoverinfo="skip", showlegend=False, legendgroup=label,
                           xaxis="x", yaxis="y"))
    return traces


def step_curves_figure(curves: pd.DataFrame, risk: pd.DataFrame, *, y_title: str,
                       ticks: tuple[int, ...], footer: str, rising: bool = False,
                       x_title: str = DAYS_AXIS) -> go.Figure:
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
    for label in dict.fromkeys(columns["curve"]):
        rows = columns["curve"] == label
        traces += _curve_traces(escape_plotly(label), {c: v[rows] for c, v in columns.items()})
    # One row per group, or per `row` label when several endpoints share the plot.
    labels = risk["row"].astype(str) if "row" in risk else risk["group"].astype(str)
    groups = list(dict.fromkeys(labels))
    for label in groups:
        rows = risk[labels == label]
        color = COHORT_COLORS.get(str(rows["group"].iloc[0]), "#000000")
        traces.append(dict(type="scatter", x=_values(rows["time"]), y=[label] * len(rows),
                           mode="text", text=rows["n_risk"].astype(str).tolist(),
                           showlegend=False, textfont=dict(color=color, size=12),
                           hovertemplate="%{text} at risk on day %{x}<extra>"
                                         + escape_plotly(label) + "</extra>",
                           xaxis="x2", yaxis="y2"))
    x_max = max(ticks)
    x_range = [-x_max * 0.02, x_max * 1.03]
    curves_axis = dict(anchor="x", domain=[0.3616, 1.0], title=dict(text=y_title),
                       tickformat=".0%", rangemode="tozero")
    if not rising:
        curves_axis["range"] = [0, 1.02]
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
        height=600, legend=dict(orientation="h", y=1.1, x=0), hovermode="closest")
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


def _value_axis(log_axis: bool) -> dict[str, object]:
    """A linear axis, or a log axis labelled at 1, 2 and 5 times each power of ten."""
    return {"type": "log", "dtick": "D2"} if log_axis else {"type": "linear"}


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


def counts_over_time_figure(by_visit: pd.DataFrame, trajectories: pd.DataFrame | None, *,
                            threshold: float, threshold_label: str, log_axis: bool) -> Spec:
    """Median and IQR of CD4 by protocol day and group, the threshold, optional trajectories.

    `by_visit`: group, day, to_day, n, median, q1, q3; `trajectories`: group, USUBJID, day,
    cd4_cells_per_ul.

    A trajectory is one thin, faint line per patient in the cohort colour, drawn under the
    medians (it joins all of the patient's counts, scheduled or not).
    """
    traces = []
    if trajectories is not None:
        for (group, usubjid), rows in trajectories.groupby(["group", "USUBJID"], sort=False):
            traces.append(dict(
                type="scatter", x=_values(rows["day"]), y=_values(rows["cd4_cells_per_ul"]),
                mode="lines+markers", name=escape_plotly(usubjid), legendgroup=str(group),
                showlegend=False, opacity=0.3,
                line=dict(color=COHORT_COLORS.get(str(group), "#000000"), width=1),
                marker=dict(size=3),
                hovertemplate="day %{x}: %{y:.0f}<extra>" + escape_plotly(usubjid)
                + "</extra>"))
    last = max(by_visit["to_day"].max(), 0 if trajectories is None else
               trajectories["day"].max())
    traces.append(dict(type="scatter", x=[0, float(last)], y=[threshold] * 2, mode="lines",
                       name=threshold_label, line=dict(color="#555555", dash="dash", width=1),
                       hoverinfo="skip"))
    traces += _median_iqr_traces(by_visit, legend=True)
    layout = dict(xaxis=dict(title=dict(text=DAYS_AXIS),
                             tickvals=[0, *by_visit["day"].drop_duplicates().tolist()]),
                  yaxis=dict(title=dict(text="CD4+ T cells (cells/uL)"),
                             **_value_axis(log_axis)),
                  height=500, legend=dict(orientation="h", y=1.12, x=0), hovermode="closest")
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
    ticks = [0, *subsets["day"].drop_duplicates().tolist()]
    traces, notes = [], []
    layout: dict[str, Any] = dict(height=150 + 280 * rows,
                                  legend=dict(orientation="h", y=1.12, x=0))
    for i, (param, (x_domain, y_domain)) in enumerate(
            zip(params, _grid(len(params), cols, 0.1, 0.18), strict=True)):
        n = "" if i == 0 else str(i + 1)
        traces += _median_iqr_traces(subsets[subsets["parameter"] == param], legend=i == 0,
                                     axes=(f"x{n}", f"y{n}"))
        layout[f"xaxis{n}"] = dict(anchor=f"y{n}", domain=x_domain, tickvals=ticks)
        if i // cols == rows - 1:
            layout[f"xaxis{n}"]["title"] = dict(text=DAYS_AXIS)
        layout[f"yaxis{n}"] = dict(anchor=f"x{n}", domain=y_domain, **_value_axis(log_axis))
        if i % cols == 0:
            layout[f"yaxis{n}"]["title"] = dict(text="cells/uL")
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
