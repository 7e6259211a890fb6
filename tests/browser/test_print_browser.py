"""Printing each page from the browser (Chromium's page.pdf, as Ctrl+P would): no sidebar or
widgets on paper, every table whole with "Print view" and within the page width, no blank
page; and the Reports page's download gives the report file."""

from __future__ import annotations

import pytest
from conftest import ARTIFACTS, pdf_pages_text, read_only_demo, wait_idle
from viewers import DSMB

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

# Read only: every test of the module shares one copy of the demo and one server.
export, server = read_only_demo()

WIDGET_TEXT = ("Filters", "More filters", "In force", "Enrollment period", "Choose options",
               "Print view", "Download CSV", "Show query", "Compared with")


@pytest.mark.parametrize("panel", PANELS, ids=[p.key for p in PANELS])
def test_printed_page(page: object, server: object, panel: object) -> None:
    page.locator("[data-testid=stSidebarNavLink]", has_text=panel.title).first.click()
    wait_idle(page)
    page.locator("[data-testid=stSidebar] label", has_text="Print view").first.click()
    wait_idle(page)
    page.emulate_media(media="print")
    # Every table whole: as many rows drawn as the panel's tables hold, none wider than the page.
    db = Database()
    result = build_panel(panel, db, db.load(server.export), Filters(), SETTINGS, DSMB)
    expected = sum(len(i.data) for i in result.items if i.figure is None)
    drawn = page.locator(".smart101-print-table tbody tr").count()
    assert drawn == expected
    too_wide = page.eval_on_selector_all(
        ".smart101-print-table table",
        "ts => ts.filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length")
    assert too_wide == 0
    # Every figure within an A4 page's 718 pixels between its margins (never cut on paper).
    widths = page.eval_on_selector_all(
        "[data-testid=stPlotlyChart] .main-svg", "svgs => svgs.map(s => s.getBBox ? "
        "s.getBoundingClientRect().width : 0)")
    assert all(w <= 718 for w in widths), widths
    path = ARTIFACTS / f"print-{panel.key}.pdf"
    page.pdf(path=str(path), format="A4", print_background=True)
    page.emulate_media(media="screen")
    pages = pdf_pages_text(path)
    assert all(p.strip() for p in pages)  # no blank page
    text = "\n".join(pages)
    for widget in WIDGET_TEXT:
        assert widget not in text, widget
    assert result.title in text


def test_report_download_from_the_reports_page(page: object) -> None:
    page.locator("[data-testid=stSidebarNavLink][href$='/reports']").first.click()
    wait_idle(page)
    with page.expect_download(timeout=180_000) as download:
        page.locator("[data-testid=stMain] button", has_text="Closed session (HTML)").first.click()
    path = ARTIFACTS / "report-from-app.html"
    download.value.save_as(path)
    text = path.read_text()
    assert "CONFIDENTIAL: DSMB closed session" in text and "Safety summary" in text
