"""Plotly figures from tables: one look for every page (colours, fonts, footer).

SMART101 and control keep the same colours on every page, legend and risk table (Okabe-Ito
palette, readable with colour-blindness).
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from smart101_dash.safe_text import escape_plotly

COHORT_COLORS = {"SMART101": "#0072B2", "CONTROL": "#D55E00"}
ARM_COLORS = {"GROUP A": "#0072B2", "GROUP B": "#56B4E9", "ALL": "#333333"}
TARGET_COLOR = "#999999"
# Hover labels show the true day; the drawn points of the two groups sit this far apart.
GROUP_OFFSET_DAYS = {"SMART101": -4.0, "CONTROL": 4.0}
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)


def with_footer(fig: go.Figure, footer: str) -> go.Figure:
    """Print the cut-off, filters and N under the plot, so a screenshot carries its context.

    The footer holds text from the export (study, filter values): escaped, so Plotly shows it
    as characters and never as its pseudo-HTML (links, bold).
    """
    # A fixed distance in pixels under the plot area (clear of tick labels and the axis title),
    # so the footer never collides with the axis whatever the figure's height.
    fig.add_annotation(text=escape_plotly(footer), xref="paper", yref="paper", x=0, y=0, yshift=-64,
                       showarrow=False, xanchor="left", yanchor="top",
                       font=dict(size=10, color="#555555"))
    fig.update_layout(margin=dict(l=60, r=20, t=40, b=90), font=FONT, template="plotly_white")
    return fig


def cumulative_enrollment_figure(enrollment: pd.DataFrame, targets: dict[str, int],
                                 planned: pd.DataFrame, cutoff: date | None,
                                 labels: dict[str, str], footer: str,
                                 show_total: bool = True) -> go.Figure:
    """Step lines of cumulative enrollment per arm (and overall), against targets and the plan.

    `enrollment` has columns enrollment_date, arm, cumulative_in_arm, cumulative_total;
    `planned` has date and planned_total.
    """
    fig = go.Figure()
    end = pd.Timestamp(cutoff) if cutoff else None
    for arm, rows in enrollment.groupby("arm", sort=True):
        x, y = list(rows["enrollment_date"]), list(rows["cumulative_in_arm"])
        if end is not None:
            x, y = x + [end], y + [y[-1]]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name=labels.get(arm, arm),
                                 line=dict(color=ARM_COLORS.get(arm, "#000000"), width=2.5)))
    if show_total and not enrollment.empty:
        x, y = list(enrollment["enrollment_date"]), list(enrollment["cumulative_total"])
        if end is not None:
            x, y = x + [end], y + [y[-1]]
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", line_shape="hv", name="Both arms",
                                 line=dict(color=ARM_COLORS["ALL"], width=2.5)))
    if not planned.empty:
        fig.add_trace(go.Scatter(x=planned["date"], y=planned["planned_total"], mode="lines",
                                 name="Planned accrual",
                                 line=dict(color=TARGET_COLOR, dash="dot", width=2)))
    if end is not None:
        fig.add_vline(x=end, line=dict(color="#555555", dash="dot", width=1))
        fig.add_annotation(x=end, y=1, yref="paper", text="data cut-off", showarrow=False,
                           xanchor="left", yanchor="bottom", font=dict(size=11, color="#555555"))
    for name, target in targets.items():
        fig.add_hline(y=target, line=dict(color=TARGET_COLOR, dash="dash", width=1),
                      annotation_text=f"{name}: {target}", annotation_position="top left")
    fig.update_layout(xaxis_title="Enrollment date", yaxis_title="Patients enrolled (cumulative)",
                      legend=dict(orientation="h", y=1.08, x=0), height=460)
    fig.update_yaxes(rangemode="tozero")
    return with_footer(fig, footer)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def step_curves_figure(curves: pd.DataFrame, risk: pd.DataFrame, *, y_title: str,
                       ticks: tuple[int, ...], footer: str, rising: bool = False,
                       x_title: str = "Days after transplant (day 0)") -> go.Figure:
    """Kaplan-Meier or cumulative-incidence step curves with 95% bands and a risk table.

    `curves`: curve (legend label), group (SMART101/CONTROL: the colour), dash, time, estimate,
    lower, upper, n_censor; each curve starts at day 0. `risk`: group, time, n_risk at `ticks`
    (and `row`, the row's label, when it is not the group).
    The number-at-risk table sits under the time axis, one row per group, as in a journal figure.
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.76, 0.24],
                        vertical_spacing=0.16)
    for label, block in curves.groupby("curve", sort=False):
        color = COHORT_COLORS.get(str(block["group"].iloc[0]), "#000000")
        dash = str(block["dash"].iloc[0]) if "dash" in block else "solid"
        x = block["time"].astype(float).tolist()
        est = block["estimate"].astype(float)
        lower = block["lower"].astype("Float64").fillna(est).astype(float)
        upper = block["upper"].astype("Float64").fillna(est).astype(float)
        fig.add_trace(go.Scatter(x=x, y=upper, mode="lines", line=dict(width=0, shape="hv"),
                                 hoverinfo="skip", showlegend=False, legendgroup=str(label)),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=lower, mode="lines", line=dict(width=0, shape="hv"),
                                 fill="tonexty", fillcolor=_rgba(color, 0.13), hoverinfo="skip",
                                 showlegend=False, legendgroup=str(label)), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=x, y=est, mode="lines", name=str(label), legendgroup=str(label),
            line=dict(color=color, width=2.5, shape="hv", dash=dash),
            customdata=list(zip(lower, upper, strict=True)),
            hovertemplate=("day %{x:.0f}: %{y:.1%} (95% CI %{customdata[0]:.1%}-"
                           "%{customdata[1]:.1%})<extra>" + str(label) + "</extra>")),
            row=1, col=1)
        if "n_censor" in block:
            censored = block[block["n_censor"] > 0]
            fig.add_trace(go.Scatter(x=censored["time"], y=censored["estimate"], mode="markers",
                                     marker=dict(symbol="line-ns-open", size=9, color=color),
                                     hoverinfo="skip", showlegend=False,
                                     legendgroup=str(label)), row=1, col=1)
    # One row per group, or per `row` label when several endpoints share the plot.
    labels = risk["row"].astype(str) if "row" in risk else risk["group"].astype(str)
    groups = list(dict.fromkeys(labels))
    for label in groups:
        rows = risk[labels == label]
        color = COHORT_COLORS.get(str(rows["group"].iloc[0]), "#000000")
        fig.add_trace(go.Scatter(x=rows["time"], y=[label] * len(rows), mode="text",
                                 text=rows["n_risk"].astype(str), showlegend=False,
                                 textfont=dict(color=color, size=12),
                                 hovertemplate="%{text} at risk on day %{x}<extra>"
                                               + label + "</extra>"),
                      row=2, col=1)
    x_max = max(ticks)
    fig.update_xaxes(range=[-x_max * 0.02, x_max * 1.03], tickvals=list(ticks), row=1, col=1,
                     showticklabels=True, title_text=x_title)
    fig.update_xaxes(range=[-x_max * 0.02, x_max * 1.03], tickvals=list(ticks), row=2, col=1,
                     showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(title_text=y_title, tickformat=".0%", range=[0, 1.02] if not rising
                     else None, rangemode="tozero", row=1, col=1)
    # Half a row of room above and below, so the top and bottom rows are not clipped.
    fig.update_yaxes(categoryorder="array", categoryarray=groups[::-1], showgrid=False,
                     range=[-0.6, len(groups) - 0.4], title_text="At risk", row=2, col=1)
    fig.update_layout(height=600, legend=dict(orientation="h", y=1.1, x=0),
                      hovermode="closest")
    return with_footer(fig, footer)


def grade_distribution_figure(distribution: pd.DataFrame, *, grade_labels: dict[int, str],
                              grade_colors: dict[int, str], x_title: str) -> go.Figure:
    """Stacked horizontal bars, one per group: % of patients by their worst grade.

    `distribution`: group, grade, patients, percent (one row per group and grade).
    """
    fig = go.Figure()
    for grade, label in grade_labels.items():
        rows = distribution[distribution["grade"] == grade]
        fig.add_trace(go.Bar(
            y=rows["group"], x=rows["percent"], orientation="h", name=label,
            marker=dict(color=grade_colors[grade]),
            text=[f"{n}" if n else "" for n in rows["patients"]], textposition="inside",
            hovertemplate="%{y}: %{x:.1f}% (n=%{text})<extra>" + label + "</extra>"))
    fig.update_layout(barmode="stack", height=320, xaxis_title=x_title,
                      legend=dict(orientation="h", y=1.15, x=0),
                      yaxis=dict(autorange="reversed"))
    # Each group's label carries its cohort colour, as in every other chart.
    groups = list(dict.fromkeys(distribution["group"].astype(str)))
    fig.update_yaxes(tickvals=groups, ticktext=[
        f"<span style='color:{COHORT_COLORS.get(g, '#333333')}'>●</span> {g}" for g in groups])
    return fig


def _value_axis(log_axis: bool) -> dict[str, object]:
    """A linear axis, or a log axis labelled at 1, 2 and 5 times each power of ten."""
    return {"type": "log", "dtick": "D2"} if log_axis else {"type": "linear"}


def _median_iqr_traces(summary: pd.DataFrame, *, legend: bool, label: str = "median (IQR)"
                       ) -> list[go.Scatter]:
    """One trace per group: medians joined by a line, error bars from q1 to q3."""
    traces = []
    for group, color in COHORT_COLORS.items():
        rows = summary[(summary["group"] == group) & (summary["n"] > 0)]
        if rows.empty:
            continue
        median, q1, q3 = (rows[c].astype(float) for c in ("median", "q1", "q3"))
        traces.append(go.Scatter(
            x=rows["day"] + GROUP_OFFSET_DAYS.get(group, 0.0), y=median,
            mode="lines+markers", name=f"{group} {label}", legendgroup=group,
            showlegend=legend, line=dict(color=color, width=2.5),
            marker=dict(size=8), error_y=dict(type="data", symmetric=False,
                                              array=q3 - median, arrayminus=median - q1,
                                              thickness=1.5, width=5),
            customdata=np.column_stack([rows["day"], rows["n"], q1, q3]),
            hovertemplate=("day %{customdata[0]}: median %{y:.0f} (IQR %{customdata[2]:.0f}-"
                           "%{customdata[3]:.0f}), n=%{customdata[1]}<extra>" + group
                           + "</extra>")))
    return traces


def counts_over_time_figure(by_visit: pd.DataFrame, trajectories: pd.DataFrame | None, *,
                            threshold: float, threshold_label: str,
                            log_axis: bool) -> go.Figure:
    """Median and IQR of CD4 by protocol day and group, the threshold, optional trajectories.

    `by_visit`: group, day, to_day, n, median, q1, q3; `trajectories`: group, USUBJID, day,
    cd4_cells_per_ul.

    A trajectory is one thin, faint line per patient in the cohort colour, drawn under the
    medians (it joins all of the patient's counts, scheduled or not).
    """
    fig = go.Figure()
    if trajectories is not None:
        for (group, usubjid), rows in trajectories.groupby(["group", "USUBJID"], sort=False):
            fig.add_trace(go.Scatter(
                x=rows["day"], y=rows["cd4_cells_per_ul"], mode="lines+markers",
                name=escape_plotly(usubjid), legendgroup=str(group), showlegend=False,
                opacity=0.3,
                line=dict(color=COHORT_COLORS.get(str(group), "#000000"), width=1),
                marker=dict(size=3),
                hovertemplate="day %{x}: %{y:.0f}<extra>" + escape_plotly(usubjid)
                + "</extra>"))
    last = max(by_visit["to_day"].max(), 0 if trajectories is None else
               trajectories["day"].max())
    fig.add_trace(go.Scatter(
        x=[0, last], y=[threshold] * 2, mode="lines", name=threshold_label,
        line=dict(color="#555555", dash="dash", width=1), hoverinfo="skip"))
    for trace in _median_iqr_traces(by_visit, legend=True):
        fig.add_trace(trace)
    fig.update_xaxes(title_text="Days after transplant (day 0)",
                     tickvals=[0, *by_visit["day"].drop_duplicates()])
    fig.update_yaxes(title_text="CD4+ T cells (cells/uL)", **_value_axis(log_axis))
    fig.update_layout(height=500, legend=dict(orientation="h", y=1.12, x=0),
                      hovermode="closest")
    return fig


def subsets_figure(subsets: pd.DataFrame, titles: dict[str, str], *,
                   log_axis: bool) -> go.Figure:
    """Small multiples: one panel per subset (`parameter`), median and IQR by day and group."""
    params = list(dict.fromkeys(subsets["parameter"]))
    cols = min(len(params), 2)
    rows = math.ceil(len(params) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[titles.get(p, p) for p in params],
                        horizontal_spacing=0.1, vertical_spacing=0.18)
    for i, param in enumerate(params):
        for trace in _median_iqr_traces(subsets[subsets["parameter"] == param], legend=i == 0):
            fig.add_trace(trace, row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(tickvals=[0, *subsets["day"].drop_duplicates()])
    fig.update_xaxes(title_text="Days after transplant (day 0)", row=rows)
    fig.update_yaxes(**_value_axis(log_axis))
    fig.update_yaxes(title_text="cells/uL", col=1)
    fig.update_layout(height=150 + 280 * rows, legend=dict(orientation="h", y=1.12, x=0))
    return fig


def mean_cumulative_count_figure(table: pd.DataFrame, max_time: dict[str, float],
                                 groups: tuple[str, ...], ticks: tuple[int, ...]) -> go.Figure:
    """Step lines of the mean cumulative count per group, from day 0 to the last follow-up.

    `table`: group, time, mcc (stats.mean_cumulative_count); `max_time`: each group's last
    follow-up day, where its line ends.

    Not `charts.step_curves_figure`: that one draws proportions (a % axis) with bands, and the
    count has neither.
    """
    fig = go.Figure()
    table = table.assign(group=table["group"].astype(str))
    window = max(ticks)
    for g in groups:
        rows = table[table["group"] == g]
        mcc = [0.0, *rows["mcc"].astype(float)]
        x = [0.0, *rows["time"].astype(float), max_time[g]]
        y = [*mcc, mcc[-1]]  # the count holds until the group's last follow-up
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=g,
            line=dict(color=COHORT_COLORS.get(g, "#000000"), width=2.5, shape="hv"),
            hovertemplate="day %{x:.0f}: %{y:.2f} episodes per patient<extra>" + g +
                          "</extra>"))
    fig.update_xaxes(range=[-window * 0.02, window * 1.03], tickvals=list(ticks),
                     title_text="Days after transplant (day 0)")
    fig.update_yaxes(title_text="Mean cumulative count (episodes per patient)",
                     rangemode="tozero")
    fig.update_layout(height=460, legend=dict(orientation="h", y=1.1, x=0))
    return fig
