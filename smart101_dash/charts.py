"""Plotly figures from tables: one look for every page (colours, fonts, footer).

SMART101 and control keep the same colours on every page, legend and risk table (Okabe-Ito
palette, readable with colour-blindness).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

COHORT_COLORS = {"SMART101": "#0072B2", "CONTROL": "#D55E00"}
ARM_COLORS = {"GROUP A": "#0072B2", "GROUP B": "#56B4E9", "ALL": "#333333"}
TARGET_COLOR = "#999999"
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)


def with_footer(fig: go.Figure, footer: str) -> go.Figure:
    """Print the cut-off, filters and N under the plot, so a screenshot carries its context."""
    fig.add_annotation(text=footer, xref="paper", yref="paper", x=0, y=-0.22, showarrow=False,
                       xanchor="left", yanchor="top", font=dict(size=10, color="#555555"))
    fig.update_layout(margin=dict(l=60, r=20, t=40, b=110), font=FONT, template="plotly_white")
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
    from plotly.subplots import make_subplots

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
    fig.update_yaxes(categoryorder="array", categoryarray=groups[::-1], showgrid=False,
                     title_text="At risk", row=2, col=1)
    fig.update_layout(height=600, legend=dict(orientation="h", y=1.1, x=0),
                      hovermode="closest")
    return with_footer(fig, footer)


def grade_distribution_figure(distribution: pd.DataFrame, *, grade_labels: dict[int, str],
                              grade_colors: dict[int, str], x_title: str) -> go.Figure:
    """Stacked horizontal bars, one per group: % of patients by their worst grade.

    `distribution`: group, grade, patients, percent (one row per group and grade). A dot in the
    cohort's colour before each bar keeps the cohort colours of every other chart.
    """
    fig = go.Figure()
    for grade, label in grade_labels.items():
        rows = distribution[distribution["grade"] == grade]
        fig.add_trace(go.Bar(
            y=rows["group"], x=rows["percent"], orientation="h", name=label,
            marker=dict(color=grade_colors[grade]),
            text=[f"{n}" if n else "" for n in rows["patients"]], textposition="inside",
            hovertemplate="%{y}: %{x:.1f}% (n=%{text})<extra>" + label + "</extra>"))
    fig.update_layout(barmode="stack", height=300, xaxis_title=x_title,
                      legend=dict(orientation="h", y=1.15, x=0),
                      yaxis=dict(autorange="reversed"))
    fig.update_yaxes(tickfont=dict(color="#333333"))
    for group, color in COHORT_COLORS.items():
        if group in set(distribution["group"]):
            fig.add_annotation(x=-0.01, xref="paper", y=group, text="●", showarrow=False,
                               xanchor="right", font=dict(color=color, size=16))
    return fig
