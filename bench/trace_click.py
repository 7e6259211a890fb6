"""Where a click's time goes in the browser: a Chrome trace of Arm clicks on one page.

    python bench/trace_click.py [PAGE_TITLE] [--export DIR] [--clicks N]
    python bench/trace_click.py --frame     # the app's frame alone (bench/chrome_app.py)
    python bench/trace_click.py --trivial   # the trivial page (bench/trivial_app.py)

Prints, per click (a choice made before: the result is cached), the time to the finished page
(as `make bench` measures it), the renderer's main thread busy (JavaScript, style, layout,
paint), and its self time by trace event. With the server's script taking 25-35 ms on a
cached click, the rest of a click is the browser's work. A diagnostic, not part of `make bench`.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_pages as bp


def main_thread_events(path: Path) -> list[dict]:
    """The complete events of the thread with the most events (the renderer's main thread)."""
    events = json.loads(path.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    thread = collections.Counter((e.get("pid"), e.get("tid")) for e in events).most_common(1)[0][0]
    return sorted((e for e in events if (e.get("pid"), e.get("tid")) == thread
                   and e.get("ph") == "X" and "dur" in e), key=lambda e: (e["ts"], -e["dur"]))


def busy_and_self(events: list[dict]) -> tuple[float, collections.Counter]:
    """Total busy time (nested events counted once) and each event name's self time, in us."""
    busy, end = 0, 0
    own: collections.Counter = collections.Counter()
    stack: list[dict] = []
    for e in events:
        start, stop = e["ts"], e["ts"] + e["dur"]
        if stop > end:
            busy, end = busy + stop - max(start, end), stop
        while stack and stack[-1]["ts"] + stack[-1]["dur"] <= start:
            stack.pop()
        if stack:
            own[stack[-1]["name"]] -= e["dur"]
        own[e["name"]] += e["dur"]
        stack.append(e)
    return busy, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", nargs="?", default="Stopping rules")
    parser.add_argument("--export", type=Path, default=bp.ROOT / "data" / "demo")
    parser.add_argument("--clicks", type=int, default=6)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--frame", action="store_true")
    which.add_argument("--trivial", action="store_true")
    args = parser.parse_args()
    script = bp.ROOT / ("bench/chrome_app.py" if args.frame else
                        "bench/trivial_app.py" if args.trivial else "app.py")
    env = {"SMART101_DATA_DIR": str(args.export), "SMART101_AUDIT_DIR": str(bp.CACHE / "audit")}
    trace = Path(tempfile.mkdtemp()) / "trace.json"
    with bp.served(script, env) as (tab, url, _):
        tab.goto(url)
        bp.settle(tab)
        if script.name == "app.py":
            bp.after(tab, lambda: tab.locator("[data-testid=stSidebarNavLink]",
                                              has_text=args.page).first.click())
        bp.clicks(tab, 4)  # both arms' results cached
        tab.context.browser.start_tracing(page=tab, path=str(trace),
                                          categories=["devtools.timeline"])
        times = bp.clicks(tab, args.clicks)
        tab.context.browser.stop_tracing()
    busy, own = busy_and_self(main_thread_events(trace))
    n = args.clicks
    print(f"{script.name} {'' if script.name != 'app.py' else args.page}: a click "
          f"{statistics.median(times):.0f} ms (median of {n}); main thread busy "
          f"{busy / 1000 / n:.1f} ms a click")
    for name, micros in own.most_common(8):
        print(f"  {micros / 1000 / n:6.1f} ms  {name}")


if __name__ == "__main__":
    main()
