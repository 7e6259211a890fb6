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
                                 name="Planned accrual (both arms)",
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
