"""Reading a drawn figure back in tests."""

from __future__ import annotations

import plotly.graph_objects as go


def risk_rows(figure: go.Figure) -> dict[tuple[str, str], list[str]]:
    """The number-at-risk tables under a figure's plots: (plot's x axis, row) -> the numbers
    from left to right (a table is one text trace, its rows on a category axis)."""
    rows: dict[tuple[str, str], list[str]] = {}
    for trace in figure.data:
        if trace.mode == "text":
            cells = sorted(zip(trace.y, trace.x, trace.text, strict=True),
                           key=lambda cell: (str(cell[0]), cell[1]))
            for row, _, n in cells:
                rows.setdefault((trace.xaxis, row), []).append(n)
    return rows
