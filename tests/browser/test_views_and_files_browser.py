"""Shareable views, files that open anywhere, tables that show everything, a patient's story:
in headless Chromium at 1280 pixels, as an analyst would use them.

- A view chosen by clicks lives in the URL; the URL opened in a new browser (a colleague) shows
  the same widgets and the same numbers, and `tables --view` of it writes the page's files.
- Every download reads back with plain pandas.read_csv and with openpyxl.
- Every table shows all its rows, and no column is cut at 1280 pixels.
- A subject ID in a listing opens that patient's page.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import (
    ARTIFACTS,
    ROOT,
    each_section,
    open_section,
    read_only_demo,
    wait_idle,
)

from smart101_dash.cuts import newest_cut

# Read only: every test of the module shares one copy of the demo and one server.
export, server = read_only_demo()


def main_text(tab: object) -> str:
    return tab.locator("[data-testid=stMain]").inner_text()


def download(tab: object, name: str, index: int = 0) -> tuple[str, bytes]:
    tab.wait_for_timeout(300)  # see test_outcome_pages_browser.read_download
    with tab.expect_download() as info:
        tab.get_by_role("button", name=name).nth(index).click()
    return info.value.suggested_filename, Path(info.value.path()).read_bytes()


# Each table's (scroll width, visible width): a grid's scroller (the grid draws after the
# script, sizing its columns) or a printed table's box.
TABLE_WIDTHS = """() => [
  ...[...document.querySelectorAll('[data-testid=stDataFrame]')].map((g) => {
    const s = g.querySelector('.dvn-scroller');
    return s ? [s.scrollWidth, s.clientWidth] : null;
  }),
  ...[...document.querySelectorAll('.smart101-print-table')].map(
    (d) => [d.scrollWidth, d.clientWidth])]"""


def settled_table_widths(tab: object, steady_ms: int = 250, timeout_ms: int = 10_000
                         ) -> list[tuple[int, int]]:
    """Each table's (scroll width, visible width) once every grid is drawn and no width has
    changed for `steady_ms`: a wider scroll than box is a cut column."""
    waited, last = 0, None
    while waited < timeout_ms:
        widths = tab.evaluate(TABLE_WIDTHS)
        if None not in widths and widths == last:
            return [tuple(w) for w in widths]
        last = widths
        tab.wait_for_timeout(steady_ms)
        waited += steady_ms
    raise AssertionError(f"the tables' widths did not settle within {timeout_ms} ms: {last}")


def test_a_view_by_clicks_is_shared_by_its_url(browser: object, server: object, export: Path,
                                               tmp_path: Path) -> None:
    mine = browser.new_context(viewport={"width": 1280, "height": 5000},
                               accept_downloads=True).new_page()
    mine.goto(server.url)
    wait_idle(mine)
    mine.locator("[data-testid=stSidebarNavLink]", has_text="Survival").first.click()
    wait_idle(mine)
    mine.get_by_text("Group A (adults)", exact=True).first.click()
    wait_idle(mine)
    mine.get_by_text("From a landmark day", exact=True).click()
    wait_idle(mine)
    url = mine.url
    assert "/survival?" in url and "arm=GROUP+A" in url and "landmark=1" in url
    shown = main_text(mine)
    assert "Comparison: From landmark day 7" in shown
    assert "Group A (adults) · overall survival" in " ".join(
        mine.locator("[data-testid=stPlotlyChart] .legendtext").all_text_contents())
    # The risk table's rows are named too, and still hold their numbers.
    first = mine.locator("[data-testid=stPlotlyChart]").first
    assert "Controls, adults" in first.locator(".y2tick").all_text_contents()
    assert first.locator(".subplot.x2y2 .textpoint").count() >= 8
    name, mine_csv = download(mine, "Download CSV", 0)
    mine.screenshot(path=str(ARTIFACTS / "shared-view-mine-1280.png"))

    # A colleague opens the link in their own browser.
    theirs = browser.new_context(viewport={"width": 1280, "height": 5000},
                                 accept_downloads=True).new_page()
    theirs.goto(url)
    wait_idle(theirs)
    assert theirs.url == url
    radio = theirs.locator("[data-testid=stSidebar] [role=radiogroup] input:checked")
    assert radio.first.evaluate("e => e.closest('label').innerText") == "Group A (adults)"
    assert theirs.get_by_role("switch", name="From a landmark day").is_checked()
    for line in ("Group A (adults): 18 enrolled", "Comparison: From landmark day 7",
                 "filters: arm GROUP A vs adult controls"):
        assert line in main_text(theirs)
    their_name, their_csv = download(theirs, "Download CSV", 0)
    assert (their_name, their_csv) == (name, mine_csv)
    theirs.screenshot(path=str(ARTIFACTS / "shared-view-theirs-1280.png"))
    mine.context.close()
    theirs.context.close()

    # The same URL given to the tables command writes the page's file.
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(export),
                          str(tmp_path / "out"), "--view", url, "--role", "dsmb"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "overall_survival.csv").read_bytes() == mine_csv


def test_every_download_reads_back_and_every_table_fits(page: object, export: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 9000})
    # (The outcome pages' own downloads are read back in test_outcome_pages_browser.py.)
    for title in ("Adverse events", "Overview"):
        page.locator("[data-testid=stSidebarNavLink]", has_text=title).first.click()
        wait_idle(page)
        for section in each_section(page):
            for scroll, visible in settled_table_widths(page):
                assert scroll <= visible + 1, (title, section)  # no column cut at 1280 pixels
            for index in range(page.get_by_role("button", name="Download CSV").count()):
                name, raw = download(page, "Download CSV", index)
                assert raw.startswith(b"\xef\xbb\xbf") and name.endswith(".csv")
                frame = pd.read_csv(io.BytesIO(raw))
                xlsx_name, book_bytes = download(page, "Download XLSX", index)
                assert xlsx_name == name[:-4] + ".xlsx"
                book = openpyxl.load_workbook(io.BytesIO(book_bytes))
                assert book.sheetnames[1:] == ["context", "columns"]
                rows = list(book.worksheets[0].values)
                assert len(rows) == len(frame) + 1, name
                assert dict(book["context"].values)["Export fingerprint"] in name
            shot = "-".join(w.split()[0].lower() for w in (title, section) if w)
            page.screenshot(path=str(ARTIFACTS / f"tables-1280-{shot}.png"))

    # Printed tables show every row: the SAE listing holds all of the data's.
    page.locator("[data-testid=stSidebarNavLink]", has_text="Adverse events").first.click()
    wait_idle(page)
    open_section(page, "Serious adverse events")
    printed = page.locator(".smart101-print-table table")
    counts = [int(printed.nth(i).get_attribute("data-rows")) for i in range(printed.count())]
    drawn = [printed.nth(i).locator("tbody tr").count() for i in range(printed.count())]
    assert counts == drawn and max(counts) > 30


def test_the_subjects_behind_a_view_download_whole(page: object, export: Path) -> None:
    page.locator("[data-testid=stSidebarNavLink]", has_text="GvHD").first.click()
    wait_idle(page)
    page.get_by_text("Group B (pediatric)", exact=True).first.click()
    wait_idle(page)
    page.get_by_text("Subjects behind this view").click()  # drawn once open: a rerun
    wait_idle(page)
    name, raw = download(page, "Subjects (CSV)")
    assert name.startswith("smart101_subjects_") and "_GroupB_" in name
    subjects = pd.read_csv(io.BytesIO(raw))
    adsl = pd.read_parquet(newest_cut(export) / "adsl.parquet")
    chosen = adsl[((adsl["COHORT"] == "SMART101") & (adsl["ARM"] == "GROUP B"))
                  | ((adsl["COHORT"] == "CONTROL") & (adsl["AGEGR1"] == "PEDIATRIC"))]
    assert sorted(subjects["USUBJID"]) == sorted(chosen["USUBJID"])
    assert {"OS_days", "OS_status", "AGVHD24_days", "acute_gvhd_max_grade_by_day100"} <= set(
        subjects.columns)
    _, book = download(page, "Subjects (XLSX)")
    sheet = openpyxl.load_workbook(io.BytesIO(book))["subjects"]
    assert sheet.max_row == len(subjects) + 1


def test_a_subject_id_in_a_listing_opens_the_patients_story(page: object) -> None:
    page.set_viewport_size({"width": 1280, "height": 5000})
    page.locator("[data-testid=stSidebarNavLink]", has_text="Adverse events").first.click()
    wait_idle(page)
    open_section(page, "Serious adverse events")
    link = page.locator(".smart101-print-table a[href^='patient?subject=']").first
    subject = link.inner_text()
    with page.context.expect_page() as opened:
        link.click()
    story = opened.value
    wait_idle(story)
    assert f"Timeline of patient {subject}" in main_text(story)
    charts = story.locator("[data-testid=stPlotlyChart]")
    charts.nth(1).locator(".main-svg").first.wait_for(timeout=30_000)  # drawn after the script
    assert charts.count() == 2  # the timeline and the swimmer plot
    story.screenshot(path=str(ARTIFACTS / "patient-story-1280.png"))


def test_no_page_cuts_a_column_at_1280_pixels(page: object) -> None:
    page.set_viewport_size({"width": 1280, "height": 9000})
    titles = [t.strip().splitlines()[-1] for t in
              page.locator("[data-testid=stSidebarNavLink]").all_inner_texts()]
    assert len(titles) >= 14
    for title in titles:
        page.locator("[data-testid=stSidebarNavLink]", has_text=title).first.click()
        wait_idle(page)
        for section in each_section(page):
            for scroll, visible in settled_table_widths(page):
                assert scroll <= visible + 1, (title, section)
            assert page.locator("[data-testid=stException]").count() == 0, (title, section)
