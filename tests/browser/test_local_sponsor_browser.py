"""`SMART101_LOCAL_ROLE=sponsor`: no subject ID on any page or in any download (demo export)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from conftest import ARTIFACTS, CHROMIUM_FLAGS, Server, each_section, wait_idle
from viewers import SPONSOR

from smart101_dash.cuts import newest_cut
from smart101_dash.panels.registry import PANELS
from smart101_dash.views import parse_query

# The pages a sponsor is given (the patient's story, subject-level through and through, is not).
TITLES = [panel.title for panel in PANELS if panel.allowed_items(SPONSOR)] + ["Data quality"]


@pytest.fixture
def server(export: Path) -> Iterator[Server]:
    ARTIFACTS.mkdir(exist_ok=True)
    running = Server(export, env={"SMART101_LOCAL_ROLE": "sponsor"})
    yield running
    running.stop()


def test_sponsor_sees_no_subject_id(chromium: str, server: Server, export: Path) -> None:
    from playwright.sync_api import sync_playwright

    ids = set(pd.read_parquet(newest_cut(export) / "adsl.parquet")["USUBJID"])
    downloads = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        tab = browser.new_context(viewport={"width": 1280, "height": 6000},
                                  accept_downloads=True).new_page()
        tab.goto(server.url)
        wait_idle(tab)
        assert "Local mode: not for shared use" in tab.locator("[data-testid=stMain]").inner_text()
        for title in TITLES:
            tab.locator("[data-testid=stSidebarNavLink]", has_text=title).first.click()
            wait_idle(tab)
            for section in each_section(tab):
                # Text, tables (the grid draws on a canvas: read its data through the page's
                # download files below) and every chart's SVG text and hover labels.
                shown = tab.locator("[data-testid=stApp]").inner_text()
                shown += "".join(tab.locator("[data-testid=stPlotlyChart]").all_inner_texts())
                assert not [i for i in ids if i in shown], (title, section)
                buttons = tab.get_by_role("button", name="Download CSV")
                for i in range(buttons.count()):
                    with tab.expect_download() as info:
                        buttons.nth(i).click()
                    text = Path(info.value.path()).read_text()
                    assert not [s for s in ids if s in text], (title, section, i)
                    downloads += 1
            tab.screenshot(path=str(ARTIFACTS / f"sponsor-{title.split()[0].lower()}.png"))
        # Nor is it reached by its URL, even with a subject ID in the link.
        tab.goto(f"{server.url}/patient?subject=SMART101-01-A001")
        wait_idle(tab)
        assert "Patient story" not in tab.locator("[data-testid=stSidebarNav]").inner_text()
        assert "SMART101-01-A001" not in tab.locator("[data-testid=stMain]").inner_text()
        assert parse_query(tab.url)[0] != "patient"
        browser.close()
    assert downloads >= 30
