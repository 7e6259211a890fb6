"""The shape every panel returns: one value the page draws and the `tables` command writes.

Because the page, the CSV and the XLSX all come from the same `PanelItem.data`, the numbers on
screen and in a download cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

import pandas as pd
import plotly.graph_objects as go

from smart101_dash.charts import Spec, figure_of
from smart101_dash.files import context_rows, csv_bytes, file_stem, xlsx_bytes
from smart101_dash.filters import Filters
from smart101_dash.labels import group_names
from smart101_dash.store import ExportCut, Query


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class Message:
    level: Level
    text: str


@dataclass(frozen=True)
class PanelItem:
    """One table or chart: the rows it shows (downloadable as CSV) and every query whose rows
    produced them, in the order they ran ("Show query" prints them all)."""

    key: str  # file-name-safe identifier, also the CSV name of the `tables` command
    title: str
    data: pd.DataFrame
    chart: Spec | None = None  # the figure as Plotly's JSON has it (charts.py)
    queries: tuple[Query, ...] = ()
    caption: str = ""
    link: str | None = None  # the key of the page with the detail, if another page has it

    @cached_property
    def figure(self) -> go.Figure | None:
        """The chart as a Plotly figure object, made when asked (pages draw `chart`)."""
        return None if self.chart is None else figure_of(self.chart)


@dataclass(frozen=True)
class PanelResult:
    title: str
    cut: ExportCut
    filters: Filters
    items: tuple[PanelItem, ...] = ()
    definitions: tuple[str, ...] = ()
    n_per_group: dict[str, int] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()
    start: str = ""  # where the comparison starts, when not the transplant as enrolled
    options: tuple[tuple[str, object], ...] = ()  # the page options it was built with

    def item(self, key: str) -> PanelItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    @property
    def footer(self) -> str:
        """Cut-off, filters and N per group: printed under every chart and table."""
        cutoff = self.cut.cutoff.isoformat() if self.cut.cutoff else "unknown"
        names = group_names(self.filters)  # with an arm chosen: the arm and its controls
        groups = ", ".join(f"{names.get(g, g)} n={n}" for g, n in self.n_per_group.items()) \
            or "no subjects"
        start = f" · {self.start}" if self.start else ""
        return (f"Data cut-off {cutoff} · export {self.cut.fingerprint} · "
                f"filters: {self.filters.describe()}{start} · {groups}")


def no_patients(title: str, cut: ExportCut, filters: Filters) -> PanelResult:
    """An empty filter result: a plain message instead of empty tables and axes."""
    return PanelResult(title, cut, filters, messages=(Message(
        Level.INFO, "No transplanted patient matches the filters."),))


def item_csv(item: PanelItem) -> bytes:
    """The CSV of exactly the rows an item shows (files.csv_bytes: header first, BOM)."""
    return csv_bytes(item.data)


def item_xlsx(result: PanelResult, item: PanelItem, view: str = "") -> bytes:
    """The same rows as a workbook, with the context sheet; `view`: the page's URL query."""
    context = context_rows(
        result.cut, result.filters, f"{result.title} - {item.title}", start=result.start,
        n_per_group=result.n_per_group, definitions=result.definitions,
        notes=[m.text for m in result.messages] + ([item.caption] if item.caption else []),
        queries=item.queries, view=view, rows=len(item.data))
    return xlsx_bytes(item.data, context, group_names(result.filters), sheet=item.key)


def item_file_name(result: PanelResult, item: PanelItem, extension: str = "csv") -> str:
    """Differs whenever the filters, the start or a page option differs."""
    variant = f"{result.start}|{result.options}"
    return f"{file_stem(item.key, result.cut, result.filters, variant)}.{extension}"
