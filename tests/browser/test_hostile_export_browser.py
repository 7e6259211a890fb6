"""A hostile export in Chromium: on every page, no link, image, bold, emphasis or LaTeX is made
from the data, and the browser asks nothing of any host but the app's own."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import ARTIFACTS, CHROMIUM_FLAGS, wait_idle
from hostile_export import FORMULAS, write_hostile_export

from smart101_dash.panels.registry import PANELS
from smart101_dash.safe_text import FORMULA_PREFIXES

TITLES = [panel.title for panel in PANELS] + ["Data quality"]


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_hostile_export(tmp_path / "export")


def made_from_data(tab: object) -> dict[str, int]:
    """Elements the hostile text would have made, had it been rendered as markup."""
    counts = {
        # A subject ID links to the app's own patient page (the ID URL-encoded in its query).
        "link": "a[href*='evil']:not([href^='patient?']), a[href^='javascript'], "
                "a[href^='mailto']",
        "image": "img[src*='evil']",
        "latex": ".katex, .katex-display, mjx-container",
        "bold": "strong:text-is('bold'), strong:text-is('SOC'), strong:text-is('T-A2'), "
                "b:text-is('b'), b:text-is('site')",
        "emphasis": "em:text-is('em')",
        "colour": "span:text-is('red')[style*='color']",
        "plotly bold": "tspan[style*='font-weight:bold'], tspan[style*='font-weight: bold']",
    }
    return {name: tab.locator(selector).count() for name, selector in counts.items()}


def test_no_page_renders_markup_from_the_export(chromium: str, server: object) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 5000},
                                      accept_downloads=True)
        context.on("request", lambda r: None if r.url.startswith(server.url)
                   or r.url.startswith("data:") or r.url.startswith("blob:")
                   else outside.append(r.url))
        tab = context.new_page()
        tab.goto(server.url)
        wait_idle(tab)
        for title in TITLES:
            tab.locator("[data-testid=stSidebarNavLink]", has_text=title).first.click()
            wait_idle(tab)
            main = tab.locator("[data-testid=stMain]").inner_text()
            assert "evil.example" in main or title == "Data quality", title  # the text is shown
            assert tab.locator("[data-testid=stException]").count() == 0, title
            assert made_from_data(tab) == dict.fromkeys(made_from_data(tab), 0), title
            tab.screenshot(path=str(ARTIFACTS / f"hostile-{title.split()[0].lower()}.png"))
        # The AE page's downloads: the hostile terms arrive, and none would run in Excel.
        tab.locator("[data-testid=stSidebarNavLink]", has_text="Adverse events").first.click()
        wait_idle(tab)
        buttons = tab.get_by_role("button", name="Download CSV")
        for i in range(buttons.count()):
            with tab.expect_download() as info:
                buttons.nth(i).click()
            frame = pd.read_csv(info.value.path(), dtype=str, keep_default_na=False)
            cells = [v for c in frame.columns for v in frame[c]] + list(frame.columns)
            assert not [v for v in cells if v.startswith(FORMULA_PREFIXES)
                        and v != "-" and not v.lstrip("+-").replace(".", "", 1).isdigit()]
            if "pt" in frame.columns:
                assert "'" + FORMULAS[0] in set(frame["pt"])
        browser.close()
    assert outside == []
