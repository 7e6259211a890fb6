"""Browser tests: a real Streamlit server on loopback, driven by Playwright in Debian's Chromium.

Screenshots go to test-artifacts/ (look at them). Without /usr/bin/chromium these tests are
skipped locally and fail in CI (CI installs it: .ci/run).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


def pdf_pages_text(path: Path) -> list[str]:
    """Each page's text: poppler's pdftotext where installed (.ci/run installs it; 1.5 s for
    the 172-page report), else pypdf (pure Python, 25-45 s for the same report)."""
    if shutil.which("pdftotext"):
        run = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                             capture_output=True, text=True, timeout=300)
        return run.stdout.split("\f")[:-1]  # a form feed ends each page
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium at /usr/bin/chromium (.ci/run installs it)")
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, what: str, stop: object) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    stop()  # type: ignore[operator]
    raise RuntimeError(f"{what} did not start within 60 s; see test-artifacts/")


class Server:
    """The app on a free loopback port; `args` and `env` add to its command and environment."""

    def __init__(self, export: Path, args: tuple[str, ...] = (),
                 env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.export = export
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "SMART101_DATA_DIR": str(export), **(env or {})}
        self.log = (ARTIFACTS / f"streamlit-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.port", str(self.port), "--server.address", "127.0.0.1", *args],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(f"{self.url}/_stcore/health", "streamlit", self.stop)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A copy of the committed demo export (a folder of two cuts), which a test may change."""
    target = tmp_path / "export"
    shutil.copytree(ROOT / "data" / "demo", target)
    return target


@pytest.fixture
def server(export: Path) -> Iterator[Server]:
    ARTIFACTS.mkdir(exist_ok=True)
    running = Server(export)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def shared_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo export for a module whose tests only read it."""
    target = tmp_path_factory.mktemp("shared") / "export"
    shutil.copytree(ROOT / "data" / "demo", target)
    return target


def read_only_demo() -> tuple[object, object]:
    """`export, server = read_only_demo()` in a module whose tests only read the demo: its
    tests share one copy and one server (a server start costs about 6 s a test)."""

    @pytest.fixture(scope="module")
    def export(shared_export: Path) -> Path:
        return shared_export

    @pytest.fixture(scope="module")
    def server(shared_server: Server) -> Server:
        return shared_server

    return export, server


@pytest.fixture(scope="module")
def shared_server(shared_export: Path) -> Iterator[Server]:
    """One server for a module whose tests only read the export (each test still opens its
    own browser, so its own session): a server start costs about 6 s a test."""
    ARTIFACTS.mkdir(exist_ok=True)
    running = Server(shared_export)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:
    """One Chromium for a module (a launch costs 1-2 s a test); each test opens a context of
    its own, so a session, cookies and downloads of its own."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, server: Server) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 2600},
                                  accept_downloads=True)
    tab = context.new_page()
    tab.goto(server.url)
    wait_idle(tab)
    yield tab
    context.close()


# Counts the changes of the app's script state from a page's first wait on: a rerun shows as
# changes since the last wait, however quickly it ran (a fixed pause could miss a rerun that
# had not begun yet, or wait on one long done).
WATCH_RUNS = """() => {
  if (window.__smart101_changes !== undefined) return true;
  window.__smart101_changes = 0;
  window.__smart101_seen = 0;
  new MutationObserver((records) => { window.__smart101_changes += records.length; }).observe(
    document.body, {subtree: true, attributes: true,
                    attributeFilter: ["data-test-script-state"]});
  return false;
}"""


def wait_idle(tab: object) -> None:
    """Wait until Streamlit has finished running the script and the page has settled."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if tab.evaluate(WATCH_RUNS):
        try:  # the rerun the last action began (none within 0.5 s: the action ran no script)
            tab.wait_for_function("() => window.__smart101_changes > window.__smart101_seen",
                                  timeout=500)
        except PlaywrightTimeout:
            pass
    else:
        tab.wait_for_timeout(300)  # a page just loaded: let its first run begin
    tab.wait_for_selector(IDLE, timeout=60_000)
    charts = tab.locator("[data-testid=stPlotlyChart]")
    for i in range(charts.count()):  # Plotly draws after the script has finished
        charts.nth(i).locator(".main-svg").first.wait_for(state="visible", timeout=30_000)
    settle_frames(tab)
    tab.evaluate("() => { window.__smart101_seen = window.__smart101_changes; }")


def settle_frames(tab: object) -> None:
    """Let the page paint what the finished run sent: two animation frames, then 100 ms."""
    tab.evaluate("() => new Promise((done) => requestAnimationFrame(() => "
                 "requestAnimationFrame(() => setTimeout(done, 100))))")


def section_tabs(tab: object) -> list[str]:
    """The titles of the page's sections (its tabs), none on a page without sections."""
    return tab.locator("[data-testid=stMain] [role=tab]").all_inner_texts()


def open_section(tab: object, title: str) -> None:
    """Click a section's tab (a rerun: only the open section is drawn)."""
    tab.get_by_role("tab", name=title, exact=True).click()
    # The tab shows at once, empty, and the rerun fills it: wait for its content (under load
    # the rerun can start after wait_idle's first pause, which would see the previous run).
    tab.wait_for_function("""(title) => {
      const open = [...document.querySelectorAll("[data-testid=stMain] [role=tab]")].find(
        (t) => t.innerText.trim() === title && t.getAttribute("aria-selected") === "true");
      const panel = open && document.getElementById(open.getAttribute("aria-controls"));
      return panel && panel.querySelector("[data-testid=stElementContainer]");
    }""", arg=title, timeout=60_000)
    wait_idle(tab)


def each_section(tab: object) -> Iterator[str]:
    """Open each section of the page in turn, yielding its title; a page without sections is
    one pass, yielding ""."""
    titles = section_tabs(tab)
    for title in titles:
        open_section(tab, title)
        yield title
    if not titles:
        yield ""
