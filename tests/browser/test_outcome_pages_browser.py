"""Every outcome page in headless Chromium: charts render, risk tables sit under their curves,
and each "Download CSV" gives exactly the rows of its table or chart.

The expected rows come from the panel itself, built through the runner in the test process on the
same export with the same filters and role (local mode's default, dsmb): the page must hand the
user those very rows (spreadsheet-safe, as every file is).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import (
    ARTIFACTS,
    each_section,
    open_section,
    read_only_demo,
    section_tabs,
    wait_idle,
)
from playwright.sync_api import expect
from viewers import DSMB

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.base import PanelItem, PanelResult
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.runner import build_panel
from smart101_dash.safe_text import spreadsheet_safe
from smart101_dash.store import Database

# Read only: every test of the module shares one copy of the demo and one server.
export, server = read_only_demo()


# page module -> (navigation title, charts drawn with a number-at-risk table)
PAGES = {
    "engraftment": ("Engraftment and graft failure", 2),
    "cd4_reconstitution": ("CD4+ reconstitution", 1),
    "gvhd": ("GvHD", 2),
    "infections": ("Infections", 1),
    "adverse_events": ("Adverse events", 0),
    "survival": ("Survival, relapse and NRM", 4),
}


def expected_result(export: Path, panel: str, filters: Filters) -> PanelResult:
    db = Database()
    try:
        return build_panel(find_panel(panel), db, db.load(export), filters, SETTINGS, DSMB)
    finally:
        db.close()


def read_download(page: object, index: int) -> tuple[str, pd.DataFrame]:
    """The CSV of the index-th item: its file name, and its rows read by plain pandas."""
    # A click within milliseconds of the previous download is sometimes dropped by
    # Streamlit's deferred download (about 1 in 30 here); a person never clicks that fast.
    page.wait_for_timeout(300)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").nth(index).click()
    return info.value.suggested_filename, pd.read_csv(info.value.path())


def read_workbook(page: object, index: int) -> tuple[str, dict[str, str], list[tuple]]:
    """The XLSX of the index-th item, read by openpyxl: name, context sheet, data rows."""
    page.wait_for_timeout(300)  # as in read_download
    with page.expect_download() as info:
        page.get_by_role("button", name="Download XLSX").nth(index).click()
    book = openpyxl.load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
    context = {str(k): str(v) for k, v in book["context"].values}
    return info.value.suggested_filename, context, list(book.worksheets[0].values)


def as_csv(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(spreadsheet_safe(frame).to_csv(index=False)))


def open_page(page: object, title: str) -> None:
    # Tall enough for a whole outcome page: Streamlit scrolls inside its own container, so a
    # screenshot shows only what fits in the viewport.
    page.set_viewport_size({"width": 1400, "height": 7000})
    page.locator("[data-testid=stSidebarNavLink]", has_text=title).first.click()
    # The address changes when the page's run begins: wait_idle alone could see the page
    # before still idle, under load (a run that began later than its 300 ms).
    key = next(p.key for p in PANELS if p.title == title)
    page.wait_for_url(re.compile(rf"/{key}(\?|$)"), timeout=60_000)
    wait_idle(page)


def risk_tables(page: object, result: PanelResult) -> int:
    """Each risk table is a second plot under the curves, on the same time axis; returns how
    many charts have one."""
    charts = page.locator("[data-testid=stPlotlyChart]")
    with_risk = [charts.nth(i) for i in range(charts.count())
                 if "At risk" in charts.nth(i).inner_text()]
    n_treated = result.n_per_group.get("SMART101")
    for chart in with_risk:
        curves = chart.locator(".draglayer .xy .nsewdrag").first.bounding_box()
        risk = chart.locator(".draglayer .x2y2 .nsewdrag").first.bounding_box()
        assert risk["y"] > curves["y"] + curves["height"]  # below the curves' plot area
        assert abs(risk["x"] - curves["x"]) < 1 and abs(risk["width"] - curves["width"]) < 1
        numbers = chart.locator(".subplot.x2y2 .textpoint").all_text_contents()
        assert numbers and str(n_treated) in numbers  # everyone is at risk on day 0
    return len(with_risk)


def items_by_section(panel: str, result: PanelResult) -> dict[str, list[PanelItem]]:
    spec = find_panel(panel)
    sections: dict[str, list[PanelItem]] = {}
    for item in result.items:
        sections.setdefault(spec.item(item.key).section.title, []).append(item)
    return sections


@pytest.mark.parametrize("panel", list(PAGES))
def test_outcome_page_renders_and_downloads_what_it_shows(page: object, export: Path,
                                                           panel: str) -> None:
    """Section by section (the page draws only the open one): its charts drawn, and its
    items' CSV and XLSX, in order, hold the item's rows, read back by pandas and openpyxl,
    with the context in the XLSX and, short, in the file names."""
    title, risk_charts = PAGES[panel]
    open_page(page, title)
    result = expected_result(export, panel, Filters())
    expected = items_by_section(panel, result)
    assert section_tabs(page) == list(expected)
    with_risk = 0
    for section in each_section(page):
        items = expected[section]
        main = page.locator("[data-testid=stMain]")
        assert page.locator("[data-testid=stException]").count() == 0
        assert "not built yet" not in main.inner_text()
        charts = page.locator("[data-testid=stPlotlyChart]")
        # A chart's element can mount a moment after the run has finished (the section is
        # built when opened): wait for the count, then check it.
        expect(charts).to_have_count(sum(item.figure is not None for item in items),
                                     timeout=30_000)
        for i in range(charts.count()):
            charts.nth(i).locator(".main-svg").first.wait_for(state="visible", timeout=30_000)
            assert charts.nth(i).locator(".main-svg").first.bounding_box()["height"] > 250
        with_risk += risk_tables(page, result)
        page.screenshot(path=str(ARTIFACTS / f"{panel}-{section.split()[0].lower()}.png"),
                        full_page=True)
        assert page.get_by_role("button", name="Download CSV").count() == len(items)
        assert page.get_by_role("button", name="Download XLSX").count() == len(items)
        for index, item in enumerate(items):
            name, rows = read_download(page, index)
            assert name.startswith(f"smart101_{item.key}_cut2026-10-31_")
            assert name.endswith(".csv")
            pd.testing.assert_frame_equal(rows, as_csv(item.data), obj=item.key)
            book_name, context, data = read_workbook(page, index)
            assert book_name == name[:-4] + ".xlsx"
            assert context["Data cut-off"] == "2026-10-31"
            assert context["Filters"].startswith("no ")
            assert item.title in context["Table"]
            assert len(data) == len(item.data) + 1  # the header, then every row
    assert with_risk == risk_charts


def test_arm_filter_reaches_the_gvhd_page_and_its_downloads(page: object, export: Path) -> None:
    open_page(page, "GvHD")
    page.get_by_text("Group B (pediatric)", exact=True).first.click()  # the Arm radio
    wait_idle(page)
    result = expected_result(export, "gvhd", Filters(arm="GROUP B"))
    text = page.locator("[data-testid=stMain]").inner_text()
    line = next(x for x in text.splitlines() if x.startswith("Group B (pediatric): "))
    assert f" {result.n_per_group['SMART101']} transplanted" in line
    name, rows = read_download(page, 1)  # the maximum-grade counts
    assert "_GroupB_" in name
    assert read_workbook(page, 1)[1]["Filters"] == "arm GROUP B vs pediatric controls"
    pd.testing.assert_frame_equal(rows, as_csv(result.item("gvhd_max_grade").data))
    page.screenshot(path=str(ARTIFACTS / "gvhd-group-b.png"), full_page=True)
    # Each chart drawn within the margins it was given (charts.room_for_labels): a label
    # pushing a margin makes Plotly draw the chart twice.
    drawn = []
    for _ in each_section(page):
        drawn += page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(
            gd => [gd._fullLayout._size, gd.layout.margin])""")
    assert len(drawn) == 3
    for size, given in drawn:
        assert all(size[side] <= given[side] for side in "lrtb"), (size, given)


# Records, for each chart mounted from now on, Plotly's events: "plotly_beforeplot" starts a
# drawing from scratch (the hook is attached once Plotly has begun the chart's first drawing).
WATCH_CHARTS = """() => {
  window.chartEvents = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) gd.watched = true;  // old ones
  new MutationObserver(() => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      if (gd.watched || !gd.on) continue;
      gd.watched = true;
      const id = window.chartEvents.length + ':' + Math.random();
      for (const name of ['plotly_beforeplot', 'plotly_react'])
        gd.on(name, () => window.chartEvents.push([id, name]));
    }
  }).observe(document, {subtree: true, childList: true, attributes: true});
}"""


def test_a_filter_click_draws_each_chart_once(page: object) -> None:
    """A chart is mounted anew when its figure changes, and Streamlit hands Plotly the figure
    twice: before its container's width is known, then sized and themed again. The second
    time must redraw nothing (charts.LAYOUT_LOOK: no template, a fixed datarevision, sized
    to its container the first time); it was a second drawing from scratch of every chart."""
    open_page(page, "Survival, relapse and NRM")
    open_section(page, "Relapse and NRM")  # two curves and their risk table
    page.evaluate(WATCH_CHARTS)
    page.get_by_text("Group A (adults)", exact=True).first.click()  # the Arm radio
    wait_idle(page)
    page.wait_for_timeout(1000)
    events = page.evaluate("window.chartEvents")
    assert [e for e in events if e[1] == "plotly_beforeplot"] == []
    # (The section's chart, or more if a loaded machine let a second run mount it again.)
    charts = {chart for chart, _ in events}
    assert len(charts) >= 1 and all([c, "plotly_react"] in events for c in charts)


def test_a_page_url_opened_first_gets_the_app_navigation(browser: object, server: object) -> None:
    """A new session at /gvhd: Streamlit runs pages/gvhd.py itself before app.py has declared
    st.navigation; the page must hand over to app.py (its navigation, titles, wide layout),
    not show the legacy list of files in pages/."""
    tab = browser.new_page(viewport={"width": 1400, "height": 1600})
    tab.goto(f"{server.url}/gvhd")
    wait_idle(tab)
    links = tab.locator("[data-testid=stSidebarNavLink]").all_inner_texts()
    assert any(text.strip().endswith("GvHD") for text in links), links
    assert not any(text.strip() in ("app", "gvhd", "overview") for text in links), links
    assert "Graft-versus-host disease" in tab.locator("[data-testid=stMain]").inner_text()
    assert tab.locator("[data-testid=stException]").count() == 0
    tab.screenshot(path=str(ARTIFACTS / "gvhd-direct-url.png"))
    tab.context.close()


@pytest.mark.parametrize("width", [1280, 1400])
def test_a_landmark_day_in_the_browser(page: object, export: Path, width: int) -> None:
    """From landmark day 7 on the survival page: the page says the start in force and whom it
    left out (the demo's two controls who died in the first week, the SMART101 patient
    withdrawn on day 3), and the curves are those of the panel built from day 7."""
    open_page(page, "Survival, relapse and NRM")
    page.set_viewport_size({"width": width, "height": 2400})
    page.get_by_text("From a landmark day", exact=True).click()
    wait_idle(page)
    main = page.locator("[data-testid=stMain]").inner_text()
    assert "Comparison: From landmark day 7" in main
    assert "overall survival" in main and "SMART101 1, CONTROL 2" in main
    assert page.locator("[data-testid=stException]").count() == 0
    _name, rows = read_download(page, 0)  # the overall survival curve's rows
    assert read_workbook(page, 0)[1]["Start"].lower().startswith("from landmark day 7")
    db = Database()
    try:
        result = build_panel(find_panel("survival"), db, db.load(export), Filters(), SETTINGS,
                             DSMB, {"landmark": True, "landmark_day": 7})
    finally:
        db.close()
    pd.testing.assert_frame_equal(rows, as_csv(result.item("overall_survival").data))
    assert result.n_per_group == {"SMART101": 34, "CONTROL": 148}
    page.screenshot(path=str(ARTIFACTS / f"survival-landmark-{width}.png"))
    open_page(page, "Engraftment and graft failure")
    page.set_viewport_size({"width": width, "height": 2400})
    page.screenshot(path=str(ARTIFACTS / f"engraftment-{width}.png"))
