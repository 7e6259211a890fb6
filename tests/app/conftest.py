from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st

from smart101_dash.labels import column_formats, for_reading
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.report import cell_text
from smart101_dash.ui.page import MORE_FILTER_KEYS, MORE_FILTERS_KEY

ROOT = Path(__file__).resolve().parents[2]
# Every data page, made from the panel registry (plus Data quality, which is not a panel).
PAGES = [f"pages/{panel.key}.py" for panel in PANELS] + ["pages/data_quality.py",
                                                     "pages/reports.py"]
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def plain(markdown: str) -> str:
    """The text a Markdown element shows: escapes (and autolink breakers) removed."""
    return _ESCAPE.sub(r"\1", markdown).replace("\u2060", "")


def option_key(panel: str, name: str) -> str:
    return f"{panel}__{name}"


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test gets its own database and result cache (Streamlit caches are per process)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


class _TableParser(HTMLParser):
    """The header and cell texts of the first <table> in a piece of HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
            self.names += [str(v) for k, v in attrs if tag == "th" and k == "data-column"]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _walk(node: object) -> Iterator[object]:
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from _walk(child)
    else:
        yield node


def page_tables(at: object) -> list[pd.DataFrame]:
    """Every table of the main area in order, by column name: a grid's frame (st.dataframe),
    or a wide table drawn as HTML (each header's name from its data-column; cells as printed
    text, numbers read back as numbers)."""
    found = []
    for node in _walk(at.main):
        if node.type == "dataframe":
            found.append(node.value)
        elif node.type == "html" and "smart101-print-table" in node.proto.body:
            parser = _TableParser()
            parser.feed(node.proto.body)
            _, *rows = parser.rows
            frame = pd.DataFrame(rows, columns=parser.names).apply(_numbers)
            frame.attrs["printed"] = True
            found.append(frame)
    return found


def each_section(at: object, page_key: str) -> Iterator[str]:
    """Open each section (tab) of a data page in turn, yielding its title: a page draws only
    its open section. A page without sections is one pass, yielding ""."""
    panel = find_panel(page_key)
    titles = [s.title for s in dict.fromkeys(i.section for i in panel.items if i.section)]
    shown = [t.label for t in at.tabs if t.label in titles]
    if not shown:
        yield ""
        return
    for title in shown:
        open_section(at, page_key, title)
        yield title


def open_section(at: object, page_key: str, title: str) -> None:
    """Open the section `title` of a data page (as a click on its tab)."""
    at.session_state[find_panel(page_key).section_key] = title
    at.run()


def every_section_tables(at: object, page_key: str) -> list[pd.DataFrame]:
    """Every table of a data page, section by section (`page_tables` of each)."""
    return [frame for _ in each_section(at, page_key) for frame in page_tables(at)]


def _numbers(column: pd.Series) -> pd.Series:
    """A printed column of numbers (and blanks) as numbers; text stays text."""
    values = pd.to_numeric(column.replace("", None), errors="coerce")
    return values if values.notna().sum() == (column != "").sum() else column


def as_printed(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """A panel's frame as a plain table prints it (each column's number format) and
    `page_tables` reads it back."""
    shown = for_reading(frame, names)
    formats = column_formats(frame, shown)
    text = pd.DataFrame([[cell_text(v, formats.get(i)) for i, v in enumerate(row)]
                         for row in shown.itertuples(index=False)],
                        columns=list(map(str, frame.columns)))
    return text.apply(_numbers)


def filter_widget(at: object, kind: str, key: str) -> object:
    """A sidebar filter's widget; one of "More filters" (drawn only while open) after opening
    it, as a click on it does."""
    if key in MORE_FILTER_KEYS and not at.session_state.get(MORE_FILTERS_KEY):
        at.session_state[MORE_FILTERS_KEY] = True
        at.run()
    return getattr(at.sidebar, kind)(key=key)
