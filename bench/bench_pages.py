"""What a user waits for: each page's server time and, in headless Chromium, the time from a
filter click until the page has finished drawing, against a trivial Streamlit page.

Usage: python bench/bench_pages.py [--controls N ...] [--runs R] [--no-browser] [--write FILE]
Exports: the committed demo and generated exports with N controls (default 10,000), written
once to .bench-cache/ and reused. Prints a Markdown report; with --write, also puts it in FILE
between the lines `<!-- bench_pages:start -->` and `<!-- bench_pages:end -->` (`make bench`
writes docs/performance.md).

Server time: `runner.build_panel` for the page's panel as the dsmb role, with the query cache
cleared: "first view" with no filter (the cut's own values, `Database.once`, cleared too: the
stopping rules' results), "filter change" over five filters in turn (those kept, as in the
app: no filter changes them). A page with
sections builds only its open section: these two are of the section it opens on; "slowest
section" is the slowest of the others on a filter change, and "whole panel" (every item, as the
print view, the reports and `tables` build it) is what the floor's ratio compares.
The machine's speed is stated by a fixed pure-Python loop (`calibration_s`), so that runs on
different machines can be compared.
Browser time: from the click on an Arm choice until the page has finished rendering, on the
page's own clock: the click event to the page's last change (a MutationObserver on the whole
document, charts' SVG included), once the script is idle, every chart is drawn and nothing has
changed for QUIET_MS; medians of R clicks. A page with sections (tabs) draws only the open
one: it is measured on the section it opens on, and on each other section (the slowest is
reported). The trivial page (bench/trivial_app.py: a radio and one chart) is the framework's own
floor; bench/chrome_app.py puts the same chart in a copy of the app's frame (sidebar, title,
banner), the floor of any page of the app.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from floor import FLOORS, connect, differences

from smart101_dash.access import load_roles
from smart101_dash.analysis import analysis_tables
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as panel_of
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

CACHE = ROOT / ".bench-cache"
CHROMIUM = "/usr/bin/chromium"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
FILTERS = [Filters(arm="GROUP A"), Filters(arm="GROUP B"), Filters(diagnoses=("AML",)),
           Filters(diagnoses=("ALL",)), Filters(age_groups=("ADULT",))]
ARMS = ["Group A (adults)", "Group B (pediatric)"]


def median_ms(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def export_with(controls: int) -> Path:
    path = CACHE / f"demo-{controls}-controls"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "smart101_dash", "demo", str(path), "--controls",
                        str(controls)], cwd=ROOT, check=True)
    return path


def calibration_s() -> float:
    """Seconds for 20 million additions in a Python loop (median of 3): the machine's speed."""
    def loop() -> None:
        total = 0
        for i in range(20_000_000):
            total += i
    return median_ms(loop, 3) / 1000


ServerTimes = tuple[float, float, str, float, float, float | None]


def server_times(export: Path, runs: int) -> dict[str, ServerTimes]:
    """Per page: first view and filter change of the section it opens on, the slowest other
    section (its key and time) and the whole panel on a filter change, and the floor."""
    viewer = load_roles().viewer("benchmark", "dsmb")
    db = Database()
    cut = db.load(export)
    con = connect(export)  # the floor's own database: Parquet views only
    shown = build_panel(panel_of("survival"), db, cut, Filters(), SETTINGS, viewer)
    compared, differ = differences(con, Filters(), shown.item("landmarks").data)
    print(f"floor check: {compared} landmark estimates compared, {differ} differ")
    out = {}
    for panel in PANELS:
        def build(filters: Filters, section: str | None, panel: object = panel,
                  first: bool = False) -> None:
            db.clear_results(once=first)  # a filter change keeps what no filter changes
            build_panel(panel, db, cut, filters, SETTINGS, viewer,  # type: ignore[arg-type]
                        section=section)

        def change(section: str | None) -> float:
            turn = itertools.cycle(FILTERS)
            return median_ms(lambda: build(next(turn), section), runs)

        sections = [s.key for s in panel.sections(viewer)]
        opens = sections[0] if sections else None
        others = {key: change(key) for key in sections[1:]}
        slowest = max(others, key=others.__getitem__) if others else ""
        floor_turn = itertools.cycle(FILTERS)
        direct = FLOORS.get(panel.key)  # the DSMB review's pages have no floor of their own
        changed = change(opens)
        out[panel.key] = (median_ms(lambda opens=opens: build(Filters(), opens, first=True),
                                    runs),
                          changed, slowest, others.get(slowest, 0.0),
                          change(None) if sections else changed,
                          None if direct is None else
                          median_ms(lambda t=floor_turn, d=direct: d(con, next(t)), runs))
    db.close()
    con.close()
    return out


def cut_load_ms(export: Path) -> float:
    """A new cut: the contract check, its views and its analysis tables (derived once)."""
    def load() -> None:
        db = Database()
        analysis_tables(db, db.load(export), SETTINGS.endpoints)
        db.close()
    return median_ms(load, 3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(script: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{script} did not start")


def settle(tab: object) -> None:
    tab.wait_for_selector(IDLE, timeout=120_000)
    charts = tab.locator("[data-testid=stPlotlyChart]")
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(state="visible", timeout=60_000)


# Kept in the page from its first load: when the last click happened and when the page last
# changed (any node or attribute, a chart's SVG included), on the page's own clock.
WATCH_PAGE = """(() => {
  const m = window.__smart101_bench = {click: 0, changed: 0};
  addEventListener("click", () => { m.click = performance.now(); m.changed = 0; }, true);
  new MutationObserver(() => { m.changed = performance.now(); }).observe(
    document, {subtree: true, childList: true, attributes: true, characterData: true});
})();"""
# The page is finished when the script is idle, every chart has its SVG, and nothing has
# changed for QUIET_MS: a rerun's elements arrive and are drawn within far less.
QUIET_MS = 400
FINISHED = """(quiet) => {
  const m = window.__smart101_bench;
  const idle = document.querySelector("[data-testid=stApp][data-test-script-state=notRunning]");
  const charts = document.querySelectorAll("[data-testid=stPlotlyChart]");
  const drawn = [...charts].every((c) => c.querySelector(".main-svg"));
  const now = performance.now();
  return idle && drawn && m.changed > m.click && now - m.changed >= quiet
    ? m.changed - m.click : null;
}"""


def click_ms(tab: object, runs: int) -> tuple[float, float]:
    """Time from an Arm click until the page has finished rendering: the mean of the first
    click on each arm (a new filter: the panel is built) and the median of the later ones (a
    choice made before: the panel's result is cached, the rerun still draws the whole page)."""
    times = clicks(tab, max(runs, 3))
    return statistics.mean(times[:2]), statistics.median(times[2:])


def clicks(tab: object, n: int) -> list[float]:
    """The times of `n` clicks alternating between the two arms."""
    return [after(tab, lambda i=i: arm_radio(tab).locator("label").filter(
        has_text=ARMS[i % 2]).first.click()) for i in range(n)]


def after(tab: object, action: Callable[[], object]) -> float:
    """Do `action` (a click); return the ms, on the page's clock, from the click event to the
    page's last change once the page has finished rendering: the script idle, every chart
    drawn, then nothing changing for QUIET_MS."""
    action()
    start = time.perf_counter()
    while (finished := tab.evaluate(FINISHED, QUIET_MS)) is None:
        if time.perf_counter() - start > 120:
            raise RuntimeError("the page did not finish rendering within 120 s of the click")
        tab.wait_for_timeout(25)
    return float(finished)


def arm_radio(tab: object) -> object:
    """The Arm radio (the sidebar's, or the trivial page's only one)."""
    return tab.locator("[data-testid=stRadio]", has_text=ARMS[0]).first


def server_rss_mib(process: subprocess.Popen) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def served(script: Path, env: dict[str, str]
           ) -> Iterator[tuple[object, str, subprocess.Popen]]:
    """A Streamlit server on `script` and a Chromium tab (tall: Plotly draws a chart only once
    it is scrolled into view) that keeps the times of clicks and of the page's changes."""
    from playwright.sync_api import sync_playwright

    process, url = start(script, env)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu"])
            tab = browser.new_page(viewport={"width": 1400, "height": 8000})
            tab.add_init_script(WATCH_PAGE)
            yield tab, url, process
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def browser_times(export: Path, runs: int
                  ) -> tuple[dict[str, tuple[float, float, str, float]], float, float]:
    """Per page, the Arm-click times on the section it opens on (new filter, repeated
    choice) and, on a page with sections, the slowest other section (its title and the
    median of repeated choices); the first page's time; the server's peak memory."""
    times: dict[str, tuple[float, float, str, float]] = {}
    env = {"SMART101_DATA_DIR": str(export), "SMART101_AUDIT_DIR": str(CACHE / "audit")}
    with served(ROOT / "app.py", env) as (tab, url, process):
        start_time = time.perf_counter()
        tab.goto(url)
        settle(tab)
        first_page_ms = (time.perf_counter() - start_time) * 1000
        for panel in PANELS:
            after(tab, lambda title=panel.title: tab.locator(
                "[data-testid=stSidebarNavLink]", has_text=title).first.click())
            new, again = click_ms(tab, runs)
            slowest = ("", float("nan"))
            for title in tab.locator("[data-testid=stMain] [role=tab]").all_inner_texts()[1:]:
                after(tab, lambda title=title: tab.get_by_role(
                    "tab", name=title, exact=True).click())
                # Both arms' results are cached by now: the browser's drawing of the section.
                ms = statistics.median(clicks(tab, runs))
                if not ms <= slowest[1]:
                    slowest = (title, ms)
            times[panel.key] = (new, again, *slowest)
            after(tab, lambda: arm_radio(tab).locator("label").filter(
                has_text="Both arms").first.click())
        rss = server_rss_mib(process)
    return times, first_page_ms, rss


def trivial_ms(runs: int, env: dict[str, str] | None = None,
               script: str = "trivial_app.py") -> float:
    """The trivial page's click: every click is the same work there. Two clicks first, as the
    app's pages get (the page link and "Both arms"): a page's first clicks cost the browser
    more. It is served with the app's .streamlit/config.toml; `env` may override it;
    `script`: chrome_app.py for the app's frame around the same chart."""
    with served(ROOT / "bench" / script, env or {}) as (tab, url, _):
        tab.goto(url)
        settle(tab)
        clicks(tab, 2)  # ends on the second arm: the next click changes the choice
        return statistics.median(clicks(tab, runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--controls", type=int, nargs="*", default=[10_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--write", type=Path, default=None)
    args = parser.parse_args()
    report: list[str] = []

    def say(line: str = "") -> None:
        """Print a line of the report and keep it for --write."""
        report.append(line)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    CACHE.mkdir(exist_ok=True)
    exports = {"demo": ROOT / "data" / "demo"}
    exports.update({f"{n:,} controls": export_with(n) for n in args.controls})
    load1, load5, load15 = os.getloadavg()
    say(f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    say(f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; load average before the run {load1:.2f} "
          f"{load5:.2f} {load15:.2f}; medians of {args.runs} runs; speed: a Python loop of "
          f"20 million additions in {calibration_s():.2f} s.\n")
    trivial = None if args.no_browser else trivial_ms(args.runs)
    if trivial is not None:
        # The ratios are to the trivial page served as the app is (no garbage collection after
        # each run, .streamlit/config.toml); Streamlit's default collects after every run.
        collected = trivial_ms(args.runs, {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "true"})
        frame = trivial_ms(args.runs, script="chrome_app.py")
        say(f"Trivial Streamlit page (one radio, one chart): a click takes {trivial:.0f} ms in "
            f"the browser served with the app's settings (the ratios below are to this), "
            f"{collected:.0f} ms with Streamlit's default of a garbage collection after every "
            f"run. The same chart in a copy of the app's frame (bench/chrome_app.py: the "
            f"sidebar's 14 pages and its widgets in view, the title and banner, no panel): {frame:.0f} "
            f"ms, {frame / trivial:.1f} times the trivial page.\n")
    for name, export in exports.items():
        server = server_times(export, args.runs)
        say(f"### {name}\n\nLoading a new cut (checks, views, analysis tables): {cut_load_ms(export):.0f} ms")
        header = ("| page | server, first view | server, filter change | slowest other "
                  "section, filter change | whole panel, filter change | floor | ratio of the "
                  "whole panel to the floor |")
        rule = "|---|---|---|---|---|---|---|"
        browser: dict[str, tuple[float, float, str, float]] = {}
        if not args.no_browser:
            browser, first_page, rss = browser_times(export, args.runs)
            say(f"First page in the browser after start: {first_page:.0f} ms; server peak "
                  f"memory after every page: {rss:.0f} MiB")
            header += (" browser, new filter | ratio to the trivial page | browser, a choice "
                       "made before | ratio to the trivial page | slowest other section, a "
                       "choice made before | ratio |")
            rule += "---|---|---|---|---|---|"
        say(f"\n{header}\n{rule}")
        for key, (first, change, slow_key, slow, whole, direct) in server.items():
            floor = ("- | - |" if direct is None else
                     f"{direct:.0f} ms | {whole / direct:.1f} |")
            other = f"{slow_key}: {slow:.0f} ms" if slow_key else "-"
            row = f"| {key} | {first:.0f} ms | {change:.0f} ms | {other} | {whole:.0f} ms | {floor}"
            if browser:
                new, again, section, other = browser[key]
                row += (f" {new:.0f} ms | {new / trivial:.1f} | {again:.0f} ms | "
                        f"{again / trivial:.1f} |")
                row += (f" {section}: {other:.0f} ms | {other / trivial:.1f} |" if section
                        else " - | - |")
            say(row)
        say()
    if args.write:
        write_report(args.write, "\n".join(report))


def write_report(path: Path, report: str) -> None:
    start, end = "<!-- bench_pages:start -->", "<!-- bench_pages:end -->"
    text = path.read_text()
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    path.write_text(f"{before}{start}\n{report}\n{end}{after}")


if __name__ == "__main__":
    main()
