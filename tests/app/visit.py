"""Every page of the app in AppTest on one export: what each page raised and said in red,
and the rules Data quality lists (used in-process and by tests/unprivileged.py)."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st
from conftest import PAGES, ROOT, page_tables, plain
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV


def visit_every_page(export: Path) -> dict[str, list[list[str]]]:
    """page -> [exceptions, errors]; "findings" -> [Data quality's rules, its errors]."""
    os.environ[DATA_DIR_ENV] = str(export)
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    seen: dict[str, list[list[str]]] = {}
    for page in PAGES:
        at.switch_page(page).run()
        seen[page] = [[str(e.value) for e in at.exception], [plain(e.value) for e in at.error]]
    at.switch_page("pages/data_quality.py").run()
    tables = page_tables(at)
    rules = tables[1]["rule"].tolist() if len(tables) > 1 else []
    seen["findings"] = [rules, [plain(e.value) for e in at.error]]
    return seen
