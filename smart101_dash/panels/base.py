"""The shape every panel returns: one value the page draws and the `tables` command writes.

Because the page and the CSV both come from the same `PanelItem.data`, the numbers on screen and
in a download cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pandas as pd
import plotly.graph_objects as go

from smart101_dash.filters import Filters
from smart101_dash.safe_text import spreadsheet_cell, spreadsheet_safe
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
    figure: go.Figure | None = None
    queries: tuple[Query, ...] = ()
    caption: str = ""
    link: str | None = None  # the key of the page with the detail, if another page has it


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

    def item(self, key: str) -> PanelItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)

    @property
    def footer(self) -> str:
        """Cut-off, filters and N per group: printed under every chart and atop every CSV."""
        cutoff = self.cut.cutoff.isoformat() if self.cut.cutoff else "unknown"
        groups = ", ".join(f"{g} n={n}" for g, n in self.n_per_group.items()) or "no subjects"
        start = f" · {self.start}" if self.start else ""
        return (f"Data cut-off {cutoff} · export {self.cut.fingerprint} · "
                f"filters: {self.filters.describe()}{start} · {groups}")


def no_patients(title: str, cut: ExportCut, filters: Filters) -> PanelResult:
    """An empty filter result: a plain message instead of empty tables and axes."""
    return PanelResult(title, cut, filters, messages=(Message(
        Level.INFO, "No transplanted patient matches the filters."),))


def csv_bytes(result: PanelResult, item: PanelItem) -> bytes:
    """The CSV of exactly the rows an item shows, headed by '#' lines stating its context.

    Every cell passes `spreadsheet_safe`: text from the export cannot run as a formula.
    """
    header = [
        f"# Smart-101 outcomes dashboard: {result.title} - {item.title}",
        f"# {result.footer}",
    ]
    header = [str(spreadsheet_cell(line)) for line in header]
    body = spreadsheet_safe(item.data).to_csv(index=False)
    return ("\n".join(header) + "\n" + body).encode("utf-8")


def csv_file_name(result: PanelResult, item: PanelItem) -> str:
    cutoff = result.cut.cutoff.isoformat() if result.cut.cutoff else "nocutoff"
    return f"smart101_{item.key}_cut{cutoff}_{result.cut.fingerprint}.csv"
