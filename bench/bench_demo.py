"""Time the demo generator as a user runs it: `python -m smart101_dash demo OUT --controls N`.

Run: .venv/bin/python bench/bench_demo.py [--controls 100000] [--runs 3]
Prints each run's wall time and peak memory (the child process's maximum resident set), their
median, and the machine's load (target of the speed issue: under a minute at 100,000 controls).
Each run writes into a temporary folder, removed afterwards; docs/performance.md records the
figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def one_run(controls: int) -> tuple[float, float]:
    """Wall seconds and peak GiB of one generation, in a process of its own."""
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as folder:
        command = [sys.executable, "-m", "smart101_dash", "demo", str(Path(folder) / "export"),
                   "--controls", str(controls)]
        start = time.perf_counter()
        with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL) as process:
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"the demo command failed (exit {process.returncode})")
    return seconds, usage.ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--controls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"demo OUT --controls {args.controls:,}: {args.runs} runs, {os.cpu_count()} cores, "
          f"load average before {load}", flush=True)
    runs = []
    for i in range(args.runs):
        runs.append(one_run(args.controls))
        print(f"  run {i + 1}: {runs[-1][0]:.1f} s, peak {runs[-1][1]:.2f} GiB", flush=True)
    print(f"median {statistics.median(s for s, _ in runs):.1f} s "
          f"(target 60 s); peak memory at most {max(m for _, m in runs):.2f} GiB")


if __name__ == "__main__":
    main()
