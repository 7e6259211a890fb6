from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from smart101_dash.panels.registry import PANELS

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
