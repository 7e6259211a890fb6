"""A table on screen: every row shown, headers in words, blanks for missing values, one number
format per column, subject IDs linked to the patient's page.

Up to SCROLL_ROWS rows a table is drawn as a DSMB report prints it: a plain table, every row,
numbers right-aligned in their column's format, wrapped to the page's width (no column cut at
1280 pixels). Past SCROLL_ROWS it is the interactive grid, which lays out only the rows in view
(a registry's 30,000 deaths took Chromium 30 s as a plain table).

Why not the grid for every table: on a filter click the browser drew each grid again, about
300 ms a grid on this machine, against a few milliseconds for a plain table of the same rows
(docs/performance.md). Sorting goes with it; the downloads hold every row.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from smart101_dash.labels import (
    P_VALUE,
    column_formats,
    for_reading,
    headers,
    number_format,
    with_headers,
)
from smart101_dash.ui import paper

SCROLL_ROWS = 500  # past this many rows a table scrolls (the download has them all)
SUBJECT_COLUMNS = ("USUBJID", "usubjid")


@dataclass(frozen=True)
class OnScreen:
    """How a table is drawn: a plain table (`html`), or the grid's frame and column settings."""

    html: str | None = None
    shown: pd.DataFrame | None = None
    config: dict[str, Any] = field(default_factory=dict)


def draw_table(data: pd.DataFrame, names: dict[str, str], key: str, links: bool,
               whole: bool = False) -> None:
    """A table with every row shown (a plain table up to SCROLL_ROWS rows, then the grid),
    headers in words, missing values blank, one number format per column, and each subject ID
    a link to the patient's page for a viewer allowed subject-level data. `whole`: a plain
    table whatever its length (the print view)."""
    drawn = on_screen(data, names, links, whole)
    if drawn.html is not None:
        st.html(drawn.html)
        return
    shown = drawn.shown
    assert shown is not None
    # Past SCROLL_ROWS the rows come from the server as the grid scrolls (lazy): a registry's
    # 50,000 SAEs were 5.5 MB sent and decoded on every click. The grid's own search and CSV
    # button go with it; the page's downloads hold every row.
    st.dataframe(shown, hide_index=True, key=key, height=table_height(shown),
                 column_config=drawn.config, lazy=len(shown) > SCROLL_ROWS)
    if len(shown) > SCROLL_ROWS:
        st.caption(f"{len(shown):,} rows: the table scrolls (sideways too, if it is wide); "
                   "the download holds them all.")


# How each table drawn is drawn, kept while its panel result is (weakly, by the table's
# identity): a rerun that draws a cached result again re-made it, 330 ms a click for the AE
# page's listings at 100,000 controls.
_ON_SCREEN: dict[tuple, tuple[weakref.ref, OnScreen]] = {}


def on_screen(data: pd.DataFrame, names: dict[str, str], links: bool,
              whole: bool = False) -> OnScreen:
    """How `data` is drawn (made once per table, names, links and `whole`)."""
    key = (id(data), tuple(sorted(names.items())), links, whole)
    kept = _ON_SCREEN.get(key)
    if kept is not None and kept[0]() is data:
        return kept[1]
    made = _made_on_screen(data, names, links, whole)
    _ON_SCREEN[key] = (weakref.ref(data, lambda _, key=key: _ON_SCREEN.pop(key, None)), made)
    return made


def _made_on_screen(data: pd.DataFrame, names: dict[str, str], links: bool,
                    whole: bool) -> OnScreen:
    if whole or len(data) <= SCROLL_ROWS:
        return OnScreen(html=plain_table(data, names, links))
    words = headers(list(map(str, data.columns)), names)
    shown = for_reading(data, names)
    columns = tuple(words)
    config: dict[str, Any] = {name: column_config(name, words[name], shown[name], columns)
                              for name in words}
    for subject in (c for c in SUBJECT_COLUMNS if links and c in data.columns):
        shown[subject] = [patient_link(v) if isinstance(v, str) and v else None
                          for v in data[subject]]
        config[subject] = st.column_config.LinkColumn(
            words[subject], display_text=r"subject=(.*)$", pinned=True,
            help="Opens the patient's page (in a new tab)")
    return OnScreen(shown=shown, config=config)


def plain_table(data: pd.DataFrame, names: dict[str, str], links: bool) -> str:
    """`data` as a plain HTML table: headers in words, each column's number format, subject
    IDs linked for a viewer allowed them."""
    shown = with_headers(data, names)
    columns = list(map(str, data.columns))
    subjects = {columns.index(c): patient_link for c in SUBJECT_COLUMNS
                if links and c in columns}
    return paper.table_block(shown, subjects, columns, formats=column_formats(data, shown))


def patient_link(subject: str) -> str:
    return "patient?" + urlencode({"subject": subject})


def column_config(name: str, header: str, values: pd.Series, columns: tuple[str, ...] = ()
                  ) -> Any:
    """A column's header and number format (labels.number_format) in the grid."""
    fmt = number_format(name, values, columns)
    if fmt is not None:
        return st.column_config.NumberColumn(header, format="%.4f" if fmt == P_VALUE else fmt)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return st.column_config.Column(header)
    return st.column_config.TextColumn(header)


def table_height(frame: pd.DataFrame, max_rows: int = SCROLL_ROWS) -> int:
    """Tall enough to show every row (up to `max_rows`), so nothing hides behind a
    scrollbar."""
    return 38 + 35 * min(max(len(frame), 1), max_rows)
