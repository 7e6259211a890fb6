"""A hostile export in the app and in the `tables` command: every page works and shows the
text as text; no written cell can run as a spreadsheet formula. (The browser test checks the
rendered page for links, images, bold and LaTeX made from the data.)"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from conftest import PAGES, ROOT, plain
from hostile_export import FORMULAS, SUBJECT_IDS, write_hostile_export
from streamlit.testing.v1 import AppTest
from viewers import DSMB

from smart101_dash.config import DATA_DIR_ENV, SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.base import item_csv
from smart101_dash.panels.registry import PANELS
from smart101_dash.runner import build_panel
from smart101_dash.safe_text import FORMULA_PREFIXES, escape_markdown
from smart101_dash.store import Database
from smart101_dash.tables import write_tables


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hostile_export(tmp_path_factory.mktemp("hostile") / "export")


def runnable_cells(frame: pd.DataFrame) -> list[str]:
    """Text cells (and headers) a spreadsheet would run: a formula character first."""
    cells = [str(c) for c in frame.columns]
    for column in frame.columns:
        cells += [v for v in frame[column] if isinstance(v, str)]
    return [c for c in cells if c.startswith(FORMULA_PREFIXES)
            and not (c == "-" or c.lstrip("+-").replace(".", "", 1).isdigit())]


def test_every_page_works_and_every_markdown_text_is_escaped(
        hostile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(hostile))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        assert not at.error, page
        for element in (*at.markdown, *at.caption, *at.info, *at.warning):
            # Whatever the element says, its data parts reach Markdown escaped: no raw marker
            # from the export survives (the app's own "**" and "####" are its only syntax).
            text = element.value.replace("**", "").replace("#### ", "").replace("- ", "", 1)
            assert "[click](" not in text and "<b>" not in text and "$x^2$" not in text, page
    banner = next(plain(m.value) for m in at.markdown if "data cut-off" in m.value)
    assert "**bold** _em_ [click](https://evil.example/x)" in banner  # shown as it is
    assert escape_markdown("**bold**") in next(m.value for m in at.markdown
                                                if "data cut-off" in m.value)


def test_no_file_the_app_or_tables_writes_has_a_runnable_cell(hostile: Path,
                                                              tmp_path: Path) -> None:
    db = Database()
    cut = db.load(hostile)
    assert cut.report.ok, cut.report.format_text()
    checked = 0
    for panel in PANELS:
        result = build_panel(panel, db, cut, Filters(), SETTINGS, DSMB)
        for item in result.items:
            frame = pd.read_csv(io.BytesIO(item_csv(item)), dtype=str, keep_default_na=False)
            assert not runnable_cells(frame), item.key
            checked += 1
    written = write_tables(hostile, tmp_path / "out", DSMB)
    for path in written.files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert not runnable_cells(frame), path.name
    # The hostile values did reach the files, neutralised.
    sae = pd.read_csv(tmp_path / "out" / "sae_listing.csv", dtype=str)
    assert "'" + SUBJECT_IDS["T-A2"] in set(sae["usubjid"])
    assert "'" + FORMULAS[0] in set(sae["pt"])
    assert checked > 30
