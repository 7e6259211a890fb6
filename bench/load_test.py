"""Load test: several people using one dashboard server at once, each with their own filters.

Usage: python bench/load_test.py [--sessions 10] [--seconds 60] [--export PATH]
                                 [--out docs/load-test.md] [--seed 101] [--verbose]

Starts one Streamlit server on a temporary copy of the export (default: the committed demo,
data/demo) and drives N browser sessions (one Chromium, one browser context each, so each is its
own Streamlit session) against it for S seconds, counted once every session has its first page.
Each session, at random (seeded), switches page, picks an Arm, adds or removes a Diagnosis, or
clears its filters (opens its page's URL without a query: a new session), and waits until the
page is idle with every element and chart drawn.

What it measures, and why: a dashboard shared by a DSMB and the study team is used by several
people at once, and Streamlit runs every session's script in one process. So it records

- the latency of each action, from the click until the server's message that the rerun has
  finished arrives ("server"), and until the page is then idle with every element and chart
  drawn ("drawn", which counts a 300 ms pause left for the browser);
- violations: an exception or error on the page, a failed action, or filters that are not the
  session's own: what the session last chose must be what its URL says, what its Arm radio and
  Diagnosis tags show, what the banner's "filters:" says and what the footers under tables
  say (one session seeing another's filters, or an empty Diagnosis box on a filtered page, is
  caught here). The Audit page draws no filters and is not checked; footers are not checked on
  a page that says the sidebar's filters do not apply to it (Stopping rules). A mismatch is looked at again after a second: only one that
  stays is a violation (the others count as "transient"); after one, the session takes what
  its widgets show as its own, so a loss is counted once;
- the server's errors (log lines with "Traceback" or "Error"), its memory (RSS of the streamlit
  process and its children, sampled every second) and the CPU time of the server and of the
  browsers (on a small machine, Chromium's share shows how much of the latency is the client's).

Prints a Markdown section and writes it to --out. Exit code 1 on any violation or server
traceback. The server's log is kept in test-artifacts/load-test-streamlit.log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from google.protobuf.message import DecodeError
from playwright.async_api import Browser, Locator, Page, async_playwright
from playwright.async_api import Error as PlaywrightError
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu"]
VIEWPORT = {"width": 1400, "height": 1800}
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
NAV = "[data-testid=stSidebarNavLink]"
SKELETON = "[data-testid=stSkeleton]"
CHART = "[data-testid=stPlotlyChart]"
ARM_RADIO = "[data-testid=stSidebar] [data-testid=stRadio]"
DIAGNOSIS = "[data-testid=stSidebar] [data-testid=stMultiSelect]"
MORE_FILTERS = "[data-testid=stSidebar] [data-testid=stExpander] summary"
IN_FORCE = "[data-testid=stSidebar] [data-testid=stCaptionContainer]:has-text('In force:')"
# The Arm radio's labels and the arm each means (smart101_dash/ui/page.py, ARM_CHOICES).
ARMS: dict[str, str | None] = {"Both arms": None, "Group A (adults)": "GROUP A",
                               "Group B (pediatric)": "GROUP B"}
ARM_CONTROLS = {"GROUP A": "adult", "GROUP B": "pediatric"}
NOT_VALUES = ("Select all", "No results")  # a multiselect's list items that are not values
ERROR_TEXTS = ("this app has encountered an error", "internal error")
NO_SIDEBAR_FILTERS = {"audit"}  # pages that draw no filter sidebar, banner or view URL
# Filter parameters the sessions never set (smart101_dash/views.py): any of them is "other".
OTHER_PARAMETERS = ("cohort", "age", "disstat", "donor", "from", "to", "cut")
RERUN_TIMEOUT_S = 120
ACTION_TIMEOUT_S = 240  # an action, its wait and its checks
ACTIONS = (("page", 0.4), ("arm", 0.25), ("diagnosis", 0.25), ("clear", 0.1))


@dataclass(frozen=True)
class View:
    """Filters as the session chose them or as one place on the page shows them."""

    arm: str | None = None
    diagnoses: frozenset[str] = frozenset()
    other: tuple[str, ...] = ()  # any filter the sessions never set

    def __str__(self) -> str:
        parts = []
        if self.arm:
            parts.append(f"arm {self.arm}")
        if self.diagnoses:
            parts.append("diagnosis " + "/".join(sorted(self.diagnoses)))
        parts.extend(self.other)
        return "; ".join(parts) or "none"


@dataclass
class Action:
    session: int
    kind: str  # "page" (a page switch) or "filter" (arm, diagnosis, clear)
    detail: str
    ms: float  # from the click until the page is idle with its charts drawn
    server_ms: float  # from the click until the server's script_finished arrived


@dataclass
class Results:
    actions: list[Action] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    transient: list[str] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    first_page_ms: list[float] = field(default_factory=list)
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # server, browsers, wall (seconds)
    verbose: bool = False  # each action on stderr


# -- the server ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The app on a free loopback port, on `export`; its log in test-artifacts/."""

    def __init__(self, export: Path, audit: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / "load-test-streamlit.log"
        self.log = self.log_path.open("w")
        env = {**os.environ, "SMART101_DATA_DIR": str(export), "SMART101_AUDIT_DIR": str(audit)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"streamlit did not start within {seconds:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def errors(self) -> list[str]:
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if "Traceback" in line or "Error" in line]


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants, from /proc."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue  # the process ended meanwhile
        found.append(current)
    return found


def tree_rss_mib(pid: int) -> float:
    """The resident memory of a process and all its descendants, in MiB."""
    total_kib = 0
    for each in process_tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total_kib += int(match.group(1)) if match else 0
    return total_kib / 1024


def tree_cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) used so far by a process and its living descendants."""
    ticks = 0
    for each in process_tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: the stat file's 14th, 15th
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_split(server_pid: int) -> tuple[float, float]:
    """CPU seconds so far: the server's, and this script's with Playwright and Chromium."""
    server = tree_cpu_seconds(server_pid)
    return server, tree_cpu_seconds(os.getpid()) - server


async def sample_memory(pid: int, into: list[float]) -> None:
    while True:
        into.append(tree_rss_mib(pid))
        await asyncio.sleep(1)


# -- what a page shows --------------------------------------------------------------------------

async def wait_idle(tab: Page) -> None:
    """Until Streamlit has finished the script, every element is drawn (a widget's code loads
    the first time a page shows one; a skeleton stands in meanwhile) and so is every chart."""
    await tab.wait_for_timeout(300)  # let the browser take in the rerun's last messages
    await tab.wait_for_selector(IDLE, timeout=60_000)
    await tab.wait_for_function(f"() => !document.querySelector('{SKELETON}')", timeout=30_000)
    charts = tab.locator(CHART)
    for i in range(await charts.count()):  # Plotly draws after the script has finished
        await charts.nth(i).locator(".main-svg").first.wait_for(state="visible", timeout=30_000)


def script_finished(payload: str | bytes) -> bool:
    """Whether a message from the server ends a rerun (not one cut short by the next rerun)."""
    if not isinstance(payload, bytes) or len(payload) > 2048:  # the message is a few bytes
        return False
    message = ForwardMsg()
    try:
        message.ParseFromString(payload)
    except DecodeError:
        return False
    return message.WhichOneof("type") == "script_finished" and \
        message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN


def page_key(url: str) -> str:
    return urlsplit(url).path.strip("/") or "(first page)"


def view_of_url(url: str) -> View:
    query = parse_qs(urlsplit(url).query)
    other = tuple(f"{k}={'|'.join(query[k])}" for k in OTHER_PARAMETERS if k in query)
    return View((query.get("arm") or [None])[-1], frozenset(query.get("diag", [])), other)


def view_of_banner(text: str) -> View:
    """The filters the banner's words state (smart101_dash/filters.py, Filters.describe)."""
    arm, diagnoses, other = None, frozenset[str](), []
    for part in text.split("; "):
        if match := re.fullmatch(r"arm (GROUP [AB]) vs (\w+) controls", part):
            arm = match.group(1)
            if ARM_CONTROLS[arm] != match.group(2):
                other.append(part)
        elif part.startswith("diagnosis "):
            diagnoses = frozenset(part.removeprefix("diagnosis ").split("/"))
        elif part != "no filters (all subjects)":
            other.append(part)
    return View(arm, diagnoses, tuple(other))


async def view_of_widgets(tab: Page) -> View:
    checked = tab.locator(f"{ARM_RADIO} [role=radiogroup] input:checked")
    if await checked.count() != 1:
        return View(other=(f"{await checked.count()} Arm choices checked",))
    label = await checked.first.evaluate("e => e.closest('label').innerText")
    if await diagnosis_box(tab).count():
        tags = diagnosis_box(tab).locator("span[data-tag]")
        diagnoses = frozenset(await tags.evaluate_all("ts => ts.map(t => t.innerText.trim())"))
    else:  # "More filters" closed: what is in force is listed under it
        listed = await tab.locator(IN_FORCE).all_inner_texts()
        diagnoses = view_of_banner(listed[0].removeprefix("In force: ")).diagnoses \
            if listed else frozenset()
    if label.strip() not in ARMS:
        return View(None, diagnoses, (f"Arm radio {label.strip()!r}",))
    return View(ARMS[label.strip()], diagnoses)


async def stated_views(tab: Page) -> list[tuple[str, View]]:
    """Each "filters: ..." the page states: the banner ("<study> · data cut-off ... ·
    filters: ..."), and the footers under charts and tables ("Data cut-off ... · filters: ...")
    unless the page says the sidebar's filters do not apply to it (Stopping rules)."""
    texts = await tab.locator("[data-testid=stMain] [data-testid=stMarkdown]").filter(
        has_text="filters:").all_inner_texts()
    footers_apply = not await tab.get_by_text("filters do not apply here").count()
    found = []
    for text in texts:
        place = "banner" if "· data cut-off " in text else "footer"
        if place == "banner" or footers_apply:
            found += [(place, view_of_banner(m.group(1).strip()))
                      for m in re.finditer(r"filters: (.*?)(?: · |\n|$)", text)]
    return found


async def page_errors(tab: Page) -> list[str]:
    errors = [f"exception shown: {text[:300]!r}" for text in
              await tab.locator("[data-testid=stException]").all_inner_texts()]
    body = (await tab.locator("body").inner_text()).lower()
    errors += [f"text {text!r} on the page" for text in ERROR_TEXTS if text in body]
    return errors


def diagnosis_box(tab: Page) -> Locator:
    return tab.locator(DIAGNOSIS).filter(has_text="Diagnosis").first


async def open_more_filters(tab: Page) -> None:
    """Open "More filters" (the Diagnosis box is drawn only while it is open)."""
    if not await diagnosis_box(tab).count():
        await tab.locator(MORE_FILTERS).filter(has_text="More filters").first.click()
        await wait_idle(tab)
        await diagnosis_box(tab).wait_for(state="visible", timeout=30_000)


# -- one session --------------------------------------------------------------------------------

class Session:
    """One browser context: its own Streamlit session, its own filters, its own random moves."""

    def __init__(self, index: int, tab: Page, base: str, seed: int, results: Results) -> None:
        self.index, self.base, self.results = index, base, results
        self.random = random.Random(seed + index)
        self.chosen = View()
        self.runs_finished: list[float] = []  # when each rerun's script_finished arrived
        self.failures = 0
        self.broken = False  # a tab that could not be reopened: the session stops
        self.watch(tab)

    def watch(self, tab: Page) -> None:
        self.tab = tab
        tab.on("websocket", lambda ws: ws.on("framereceived", self.on_frame))
        tab.on("crash", lambda _: self.results.violations.append(
            f"session {self.index}: the browser's page crashed on {page_key(tab.url)}"))

    def on_frame(self, payload: str | bytes) -> None:
        if script_finished(payload):
            self.runs_finished.append(time.perf_counter())

    async def open(self) -> None:
        """The app's first page, timed (every session at once: the server's busiest moment)."""
        start, runs = time.perf_counter(), len(self.runs_finished)
        await self.tab.goto(self.base)
        await self.settle(runs, start)
        self.results.first_page_ms.append((time.perf_counter() - start) * 1000)

    async def settle(self, runs: int, start: float) -> float:
        """Until the rerun after `runs` reruns has finished in the server, then the page is idle
        with its charts drawn. Returns the time of the server's script_finished, in ms."""
        while len(self.runs_finished) <= runs:
            if time.perf_counter() - start > RERUN_TIMEOUT_S:
                raise TimeoutError(f"no rerun finished within {RERUN_TIMEOUT_S} s")
            await asyncio.sleep(0.02)
        await wait_idle(self.tab)
        return (self.runs_finished[runs] - start) * 1000

    async def run(self, deadline: float) -> None:
        moves: dict[str, Callable[[], Awaitable[str]]] = {
            "page": self.switch_page, "arm": self.change_arm,
            "diagnosis": self.change_diagnosis, "clear": self.clear_filters}
        while time.monotonic() < deadline and not self.broken:
            allowed = [(a, w) for a, w in ACTIONS if a in ("page", "clear")
                       or page_key(self.tab.url) not in NO_SIDEBAR_FILTERS]
            name = self.random.choices([a for a, _ in allowed], [w for _, w in allowed])[0]
            await self.act(name, moves[name])

    async def act(self, name: str, move: Callable[[], Awaitable[str]]) -> None:
        where, detail = page_key(self.tab.url), name
        start, runs = time.perf_counter(), len(self.runs_finished)
        try:
            async with asyncio.timeout(ACTION_TIMEOUT_S):  # a hung page call too
                detail = await move()
                server_ms = await self.settle(runs, start)
                ms = (time.perf_counter() - start) * 1000
                kind = "page" if name == "page" else "filter"
                self.results.actions.append(Action(self.index, kind, detail, ms, server_ms))
                if self.results.verbose:
                    sys.stderr.write(f"session {self.index} on {where}: {detail}: "
                                     f"{server_ms:.0f} ms server, {ms:.0f} ms drawn\n")
                await self.check(f"{detail} (from page {where}, "
                                 f"now on {page_key(self.tab.url)})")
        except (PlaywrightError, TimeoutError) as exc:
            await self.failed(f"{detail} on page {where}", exc)

    async def failed(self, doing: str, exc: BaseException) -> None:
        """A failed action: a violation, a screenshot, and a new tab (a new session)."""
        self.failures += 1
        shot = ARTIFACTS / f"load-test-failure-{self.index}-{self.failures}.png"
        first_line = (str(exc) or type(exc).__name__).splitlines()[0]
        self.results.violations.append(
            f"session {self.index}: {doing} failed: {first_line} (see {shot.name})")
        if self.results.verbose:
            sys.stderr.write(f"{self.results.violations[-1]}\n")
        old = self.tab
        try:
            async with asyncio.timeout(60):
                await old.screenshot(path=str(shot), full_page=True)
        except (PlaywrightError, TimeoutError):
            pass
        self.chosen = View()
        try:
            async with asyncio.timeout(120):
                self.watch(await old.context.new_page())
                await old.close()
                start, runs = time.perf_counter(), len(self.runs_finished)
                await self.tab.goto(self.base)
                await self.settle(runs, start)
        except (PlaywrightError, TimeoutError) as again:
            self.results.violations.append(f"session {self.index}: could not reopen, stopped: "
                                           f"{again}")
            self.broken = True

    async def switch_page(self) -> str:
        links = self.tab.locator(NAV)
        hrefs = await links.evaluate_all("ls => ls.map(l => l.href)")
        here = urlsplit(self.tab.url).path
        others = [i for i, href in enumerate(hrefs) if urlsplit(href).path != here]
        index = self.random.choice(others)
        title = (await links.nth(index).inner_text()).split("\n")[-1]
        await links.nth(index).click()
        return f"switch to page {title!r}"

    async def change_arm(self) -> str:
        current = await view_of_widgets(self.tab)
        label = self.random.choice([k for k, v in ARMS.items() if v != current.arm])
        await self.tab.locator(ARM_RADIO).filter(has_text="Both arms").first.get_by_text(
            label, exact=True).click()
        self.chosen = View(ARMS[label], self.chosen.diagnoses)
        return f"Arm {label!r}"

    async def change_diagnosis(self) -> str:
        await open_more_filters(self.tab)
        box = diagnosis_box(self.tab)
        selected = await box.locator("span[data-tag]").evaluate_all(
            "ts => ts.map(t => t.innerText.trim())")
        if selected and self.random.random() < 0.4:
            return await self.remove_diagnosis(box, self.random.choice(sorted(selected)))
        await box.locator("input").click()
        options = self.tab.get_by_role("option")
        await options.first.wait_for(state="visible", timeout=10_000)
        listed = await options.evaluate_all(
            "os => os.map(o => [o.innerText.trim(), o.getAttribute('aria-disabled')])")
        offered = [text for text, disabled in listed if text and disabled != "true"
                   and text not in (*NOT_VALUES, *selected)]
        if not offered:
            await self.tab.keyboard.press("Escape")
            return await self.remove_diagnosis(box, self.random.choice(sorted(selected)))
        value = self.random.choice(offered)
        await self.tab.get_by_role("option", name=value, exact=True).click()
        await self.tab.keyboard.press("Escape")
        self.chosen = View(self.chosen.arm, self.chosen.diagnoses | {value})
        return f"Diagnosis: add {value}"

    async def remove_diagnosis(self, box: Locator, value: str) -> str:
        await box.locator(f'button[aria-label="Remove {value}"]').click()
        self.chosen = View(self.chosen.arm, self.chosen.diagnoses - {value})
        return f"Diagnosis: remove {value}"

    async def clear_filters(self) -> str:
        parts = urlsplit(self.tab.url)
        await self.tab.goto(f"{parts.scheme}://{parts.netloc}{parts.path}")
        self.chosen = View()
        return "clear the filters (the page's URL without a query)"

    async def check(self, after: str) -> None:
        """Errors on the page, and the session's filters everywhere they show; a mismatch is
        looked at again after a second, a violation only if it stays."""
        problems = await self.problems()
        if not problems:
            return
        await self.tab.wait_for_timeout(1000)
        await wait_idle(self.tab)
        lasting = await self.problems()
        for problem in problems:
            if problem not in lasting:
                self.results.transient.append(f"session {self.index} after {after}: {problem}")
                if self.results.verbose:
                    sys.stderr.write(f"transient: {self.results.transient[-1]}\n")
        for problem in lasting:
            self.results.violations.append(f"session {self.index} after {after}: {problem}")
        if any(problem.startswith("saw filters") for problem in lasting):
            self.chosen = await view_of_widgets(self.tab)  # a loss is counted once

    async def problems(self) -> list[str]:
        problems = await page_errors(self.tab)
        if page_key(self.tab.url) in NO_SIDEBAR_FILTERS:
            return problems
        chosen = self.chosen
        seen = [("URL", view_of_url(self.tab.url)), ("widgets", await view_of_widgets(self.tab))]
        stated = await stated_views(self.tab)
        if not any(place == "banner" for place, _ in stated):
            problems.append("no banner with 'filters:' on the page")
        seen += stated
        places: dict[View, list[str]] = {}
        for place, view in seen:
            if view != chosen:
                places.setdefault(view, []).append(place)
        for view, where in places.items():
            problems.append(f"saw filters [{view}] in its {', '.join(dict.fromkeys(where))} "
                            f"while it chose [{chosen}]")
        return problems


# -- the run ------------------------------------------------------------------------------------

async def drive(base: str, server_pid: int, args: argparse.Namespace,
                results: Results) -> None:
    async with async_playwright() as p:
        browser: Browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            tabs = [await (await browser.new_context(viewport=VIEWPORT)).new_page()
                    for _ in range(args.sessions)]
            users = [Session(i, tab, base, args.seed, results) for i, tab in enumerate(tabs)]
            await asyncio.gather(*(user.open() for user in users))
            before, start = cpu_split(server_pid), time.monotonic()
            deadline = start + args.seconds  # the clock starts once all have a page
            await asyncio.gather(*(user.run(deadline) for user in users))
            after = cpu_split(server_pid)
            results.cpu = (after[0] - before[0], after[1] - before[1], time.monotonic() - start)
        finally:
            await browser.close()


async def run_all(server: Server, args: argparse.Namespace, results: Results) -> None:
    sampler = asyncio.create_task(sample_memory(server.process.pid, results.rss_mib))
    try:
        await drive(server.url, server.process.pid, args, results)
    finally:
        sampler.cancel()
    results.rss_mib.append(tree_rss_mib(server.process.pid))


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def latency_row(name: str, values: list[float]) -> str:
    if not values:
        return f"| {name} | 0 | | | | | |"
    cells = [f"{percentile(values, q):.0f}" for q in (0.5, 0.9, 0.95, 0.99)]
    return f"| {name} | {len(values)} | {' | '.join(cells)} | {max(values):.0f} |"


def total_ram_gib() -> float:
    match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return int(match.group(1)) / 1024**2 if match else float("nan")


def shown_path(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def heading(args: argparse.Namespace, started: datetime,
            loads: tuple[tuple[float, ...], tuple[float, ...]]) -> list[str]:
    start, end = ("/".join(f"{x:.2f}" for x in avg) for avg in loads)
    command = (f"python bench/load_test.py --sessions {args.sessions} "
               f"--seconds {args.seconds:g}")
    return ["## Load test", "",
            (f"Run {started:%Y-%m-%d %H:%M} UTC: `{command}` on {shown_path(args.export)}. "
             f"Machine: {os.cpu_count()} cores, {total_ram_gib():.1f} GiB RAM, load average "
             f"(1/5/15 min) {start} at the start, {end} at the end."), ""]


def latencies(args: argparse.Namespace, results: Results) -> list[str]:
    per_session = [sum(a.session == i for a in results.actions) for i in range(args.sessions)]
    rows = []
    for kinds, name in ((("page", "filter"), "all actions"), (("page",), "page switch"),
                        (("filter",), "filter change")):
        chosen = [a for a in results.actions if a.kind in kinds]
        rows += [latency_row(f"{name}: drawn", [a.ms for a in chosen]),
                 latency_row(f"{name}: server", [a.server_ms for a in chosen])]
    return [(f"{args.sessions} browser sessions on one server for {args.seconds:g} s: "
             f"{len(results.actions)} actions ({', '.join(map(str, per_session))} per "
             "session)."), "",
            ("Latency in ms, from the click (or the URL opened) until *server*: the server's "
             "message that the rerun has finished arrived; *drawn*: then, after a 300 ms pause "
             "for the browser, the page is idle with every chart drawn (the pause is counted)."),
            "", "| action | n | p50 | p90 | p95 | p99 | max |", "|---|---|---|---|---|---|---|",
            *rows, latency_row("first page, all sessions at once, before the clock starts: "
                               "drawn", results.first_page_ms), "",
            cpu_line(results.cpu), ""]


def cpu_line(cpu: tuple[float, float, float]) -> str:
    server, browsers, wall = cpu
    cores = os.cpu_count() or 1
    return (f"CPU used while the sessions ran ({wall:.0f} s of wall time, {cores} cores: "
            f"{cores * wall:.0f} core-seconds): the server {server:.0f} s "
            f"({100 * server / max(wall, 1e-9):.0f}% of one core); Chromium, Playwright and "
            f"this script {browsers:.0f} s; other processes on the machine the rest.")


def findings(results: Results, errors: list[str]) -> list[str]:
    rss = results.rss_mib or [float("nan")]
    return [(f"Violations: {len(results.violations)} (an error on a page, filters that are not "
             "the session's own, a failed action); transient mismatches, gone a second "
             f"later: {len(results.transient)}."),
            *[f"- {v}" for v in results.violations[:20]], "",
            *([f"Transient, for example: {results.transient[0]}", ""] if results.transient
              else []),
            f"Server log lines with Traceback or Error: {len(errors)}.",
            *[f"- `{line.strip()[:200]}`" for line in errors[:20]], "",
            (f"Server memory (streamlit and its children, RSS): peak {max(rss):.0f} MiB, "
             f"final {rss[-1]:.0f} MiB."), ""]


def report(args: argparse.Namespace, results: Results, started: datetime,
           loads: tuple[tuple[float, ...], tuple[float, ...]], errors: list[str]) -> str:
    lines = [*heading(args, started, loads), *latencies(args, results),
             *findings(results, errors)]
    return "\n".join(lines)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--export", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "load-test.md")
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--verbose", action="store_true", help="each action on stderr")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    started, load_start = datetime.now(UTC), os.getloadavg()
    results = Results(verbose=args.verbose)
    with tempfile.TemporaryDirectory(prefix="smart101-load-") as temp:
        export = Path(temp) / "export"
        shutil.copytree(args.export, export)
        server = Server(export, Path(temp) / "audit")
        try:
            server.wait_healthy()
            asyncio.run(run_all(server, args, results))
        finally:
            server.stop()
    errors = server.errors()
    text = report(args, results, started, (load_start, os.getloadavg()), errors)
    sys.stdout.write(text)
    args.out.write_text(text)
    return 1 if results.violations or any("Traceback" in line for line in errors) else 0


if __name__ == "__main__":
    sys.exit(main())
