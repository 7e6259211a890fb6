"""The DSMB report from the demo: the HTML opened in Chromium with the network blocked (every
section, every table row, every figure drawn, no request leaving the file), the PDF's text
page by page, and the open session without comparisons or the confidential header."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ARTIFACTS, CHROMIUM_FLAGS, ROOT, pdf_pages_text

from smart101_dash.access import AccessDenied, load_roles
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.report import ARM_PANELS, CONFIDENTIAL, write_report
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

DEMO = ROOT / "data" / "demo"
DSMB = load_roles().viewer("report test", "dsmb")


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> object:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    return write_report(DEMO, tmp_path_factory.mktemp("report"), DSMB, "closed")


def expected_rows() -> list[int]:
    """Every table of every panel, as the pages build them for the dsmb role, in order; then
    the outcome pages with each arm chosen."""
    db = Database()
    cut = db.load(DEMO)
    rows = [len(item.data) for panel in PANELS
            for item in build_panel(panel, db, cut, Filters(), SETTINGS, DSMB).items]
    for arm in ("GROUP A", "GROUP B"):
        rows += [len(item.data) for panel in PANELS if panel.key in ARM_PANELS
                 for item in build_panel(panel, db, cut, Filters(arm=arm), SETTINGS,
                                         DSMB).items]
    return rows


def test_html_offline_whole_tables_and_figures(closed: object, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    assert len(closed.sections) == len(PANELS) + 2 * len(ARM_PANELS)
    assert closed.sections[0] == "Safety summary"
    assert closed.sections[-1].endswith("Group B (pediatric) and the controls of its age group")
    leaving, errors = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        tab = browser.new_page(viewport={"width": 1000, "height": 1400})

        def block(route: object) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                leaving.append(route.request.url)
                route.abort()

        tab.route("**/*", block)
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(closed.html.as_uri())
        tab.wait_for_load_state("load")
        rows = [int(r) for r in tab.eval_on_selector_all(
            "table.data", "tables => tables.map(t => t.dataset.rows)")]
        drawn = [int(n) for n in tab.eval_on_selector_all(
            "table.data", "tables => tables.map(t => t.tBodies[0].rows.length)")]
        figures = tab.locator(".figure").count()
        svgs = tab.locator(".figure .main-svg").count()
        toc = tab.locator("nav.toc li").all_inner_texts()
        tab.screenshot(path=str(ARTIFACTS / "report-closed.png"))
        browser.close()
    assert leaving == [] and errors == []
    assert rows == expected_rows() == drawn  # every table, every row, in page order
    assert figures >= 10 and svgs >= figures  # each figure drawn (a chart may have two svgs)
    assert toc == list(closed.sections)


def test_pdf_pages_header_and_sections(closed: object) -> None:
    pages = pdf_pages_text(closed.pdf)
    total = len(pages)
    assert total >= 20
    for number, text in enumerate(pages, start=1):
        assert CONFIDENTIAL in text, number
        assert f"Page {number} of {total}" in text, number
    everything = "\n".join(pages)
    for i, title in enumerate(closed.sections, start=1):
        assert f"{i}. {title}" in everything
    assert "Export fingerprint" in pages[0] and "Settings" in pages[0]
    (ARTIFACTS / "report-closed-pages.txt").write_text(f"{total} pages\n")


def test_open_session_has_no_comparison(tmp_path: Path) -> None:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    sponsor = load_roles().viewer("report test", "sponsor")
    written = write_report(DEMO, tmp_path, sponsor, "open")
    assert written.sections == ("Safety summary", "Stopping rules")
    text = written.html.read_text()
    for label in ("Group A (adults)", "Group B (pediatric)", "<th>Control</th>", "USUBJID"):
        assert label not in text
    assert "All patients" in text
    pages = pdf_pages_text(written.pdf)
    assert not any(CONFIDENTIAL in p for p in pages)
    with pytest.raises(AccessDenied):
        write_report(DEMO, tmp_path / "x", sponsor, "closed", pdf=False)


def test_cli_and_export_text_escaped(tmp_path: Path) -> None:
    from export_factory import adsl_rows, to_table, valid_tables, write_export

    rows = adsl_rows()
    rows[1]["DTHCAUS"] = "<script>alert('x')</script>"
    export = write_export(tmp_path / "export", {**valid_tables(), "adsl": to_table("adsl", rows)})
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "report", str(export),
                          str(tmp_path / "out"), "--session", "closed", "--no-pdf"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    text = (tmp_path / "out" / "report-closed.html").read_text()
    assert "alert(&#x27;x&#x27;)" in text and "<script>alert" not in text
    refused = subprocess.run([sys.executable, "-m", "smart101_dash", "report", str(export),
                              str(export / "r"), "--session", "open", "--no-pdf"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 1 and "refusing to write into the export" in refused.stderr
