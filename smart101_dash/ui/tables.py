"""A table on screen: every row shown, headers in words, blanks for missing values, one number
format per column, subject IDs linked to the patient's page; a table too wide for the grid at
1280 pixels drawn whole as a wrapped table (the one paper and the report use), up to
SCROLL_ROWS rows."""

from __future__ import annotations

import weakref
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from smart101_dash.labels import for_reading, headers, with_headers
from smart101_dash.ui import paper

SCROLL_ROWS = 500  # past this many rows a table scrolls (the download has them all)


def draw_table(data: pd.DataFrame, names: dict[str, str], key: str, links: bool) -> None:
    """A table with every row shown (no inner scrollbar up to SCROLL_ROWS), headers in words,
    missing values blank, one number format per column, and each subject ID a link to the
    patient's page for a viewer allowed subject-level data."""
    wrapped, shown, config = on_screen(data, names, links)
    if wrapped:
        # Too wide for the grid at 1280 pixels: a plain table that wraps, every row shown.
        # Not past SCROLL_ROWS: the browser lays out every row of a plain table (a registry's
        # 30,000 deaths took it 30 s), while the grid draws only the rows in view.
        subjects = [c for c in ("USUBJID", "usubjid") if links and c in data.columns]
        paper.print_table(with_headers(data, names),
                          {list(data.columns).index(c): patient_link for c in subjects},
                          list(map(str, data.columns)))
        return
    # Past SCROLL_ROWS the rows come from the server as the grid scrolls (lazy): a registry's
    # 50,000 SAEs were 5.5 MB sent and decoded on every click. The grid's own search and CSV
    # button go with it; the page's downloads hold every row.
    st.dataframe(shown, hide_index=True, key=key, height=table_height(shown),
                 column_config=config, lazy=len(shown) > SCROLL_ROWS)
    if len(shown) > SCROLL_ROWS:
        st.caption(f"{len(shown):,} rows: the table scrolls (sideways too, if it is wide); "
                   "the download holds them all.")


# The grid's frame and column settings of each table drawn, kept while its panel result is
# (weakly, by the table's identity): a rerun that draws a cached result again re-made them,
# 330 ms a click for the AE page's listings at 100,000 controls.
_ON_SCREEN: dict[tuple, tuple[weakref.ref, tuple[bool, pd.DataFrame, dict[str, Any]]]] = {}


def on_screen(data: pd.DataFrame, names: dict[str, str], links: bool
              ) -> tuple[bool, pd.DataFrame, dict[str, Any]]:
    """Whether `data` is drawn as a wrapped table; else the frame and column settings the
    grid shows."""
    key = (id(data), tuple(sorted(names.items())), links)
    kept = _ON_SCREEN.get(key)
    if kept is not None and kept[0]() is data:
        return kept[1]
    made = _made_on_screen(data, names, links)
    _ON_SCREEN[key] = (weakref.ref(data, lambda _, key=key: _ON_SCREEN.pop(key, None)), made)
    return made


def _made_on_screen(data: pd.DataFrame, names: dict[str, str], links: bool
                    ) -> tuple[bool, pd.DataFrame, dict[str, Any]]:
    words = headers(list(map(str, data.columns)), names)
    if natural_width(data, words) > SCREEN_WIDTH and len(data) <= SCROLL_ROWS:
        return True, pd.DataFrame(), {}  # drawn from `data` itself (kept here, never let go)
    shown = for_reading(data, names)
    config: dict[str, Any] = {name: column_config(name, words[name], shown[name])
                              for name in words}
    for subject in (c for c in ("USUBJID", "usubjid") if links and c in data.columns):
        shown[subject] = [patient_link(v) if isinstance(v, str) and v else None
                          for v in data[subject]]
        config[subject] = st.column_config.LinkColumn(
            words[subject], display_text=r"subject=(.*)$", pinned=True,
            help="Opens the patient's page (in a new tab)")
    return False, shown, config


SCREEN_WIDTH = 820  # pixels: the main column at a 1280-pixel window with the sidebar open


def patient_link(subject: str) -> str:
    return "patient?" + urlencode({"subject": subject})


def natural_width(data: pd.DataFrame, words: dict[str, str]) -> int:
    """About how wide the grid must be to show every header and value whole (pixels)."""
    total = 0
    for name, header in words.items():
        longest = data[name].astype(str).str.len().fillna(0).max() if len(data) else 0
        total += 16 + 7 * min(max(len(header), int(longest)), 60)
    return total


def column_config(name: str, header: str, values: pd.Series) -> Any:
    """A column's width and number format: p-values to 4 places, estimates to 3, percents
    to 1, counts as whole numbers."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return st.column_config.Column(header)
    if pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_integer_dtype(values):
            fmt = "%d"
        elif name.endswith(("p_value", "_p")) or name == "p_value":
            fmt = "%.4f"
        elif "pct" in name or "percent" in name or name.endswith("%"):
            fmt = "%.1f"
        elif name in ("day", "time") or name.endswith(("_day", "_days")):
            fmt = "%.0f"
        else:
            fmt = "%.3f"
        return st.column_config.NumberColumn(header, format=fmt)
    return st.column_config.TextColumn(header)


def table_height(frame: pd.DataFrame, max_rows: int = SCROLL_ROWS) -> int:
    """Tall enough to show every row (up to `max_rows`), so nothing hides behind a
    scrollbar."""
    return 38 + 35 * min(max(len(frame), 1), max_rows)
