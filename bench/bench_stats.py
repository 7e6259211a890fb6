"""Time the estimators on 1,000, 10,000 and 100,000 simulated subjects.

Run: .venv/bin/python bench/bench_stats.py [--repeat 7]
Prints the median wall time of several runs per estimator and size (target: Kaplan-Meier and
cumulative incidence under 50 ms at 100,000 subjects). Times are whole days (many ties, as in
the trial) in two groups; docs/statistics.md records the figures.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from smart101_dash.stats import (
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    log_rank_test,
)

SIZES = (1_000, 10_000, 100_000)


def simulate(n: int, seed: int = 20211013, whole_days: bool = True
             ) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Exponential event and competing times, uniform censoring (cf. the R fixture's design).

    `whole_days`: times in days (many ties, as in the trial); else all times distinct (the
    worst case: one table row per subject).
    """
    rng = np.random.default_rng(seed)
    group = pd.Series(np.where(rng.random(n) < 0.4, "SMART101", "CONTROL"))  # a column
    t1 = rng.exponential(np.where(group == "SMART101", 900, 600))
    t2 = rng.exponential(np.where(group == "SMART101", 1500, 1100))
    tc = rng.uniform(60, 900, n)
    time = np.minimum(np.minimum(t1, t2), tc)
    time = np.maximum(1, np.ceil(time)) if whole_days else time
    status = np.where(tc <= np.minimum(t1, t2), 0, np.where(t1 <= t2, 1, 2))
    return time, status, group


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"{platform.processor() or platform.machine()}; median of {args.repeat} runs, ms")
    cases: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], object]] = {
        "kaplan_meier": lambda t, s, g: kaplan_meier(t, s > 0, g),
        "cumulative_incidence": lambda t, s, g: cumulative_incidence(t, s, g),
        "log_rank_test": lambda t, s, g: log_rank_test(t, s > 0, g),
        "gray_test": lambda t, s, g: gray_test(t, s, g),
    }
    for whole_days in (True, False):
        print("\ntimes in whole days (ties)" if whole_days else "\nall times distinct")
        print(f"{'estimator':<22}" + "".join(f"{n:>12,}" for n in SIZES))
        data = {n: simulate(n, whole_days=whole_days) for n in SIZES}
        for name, fn in cases.items():
            cells = [median_ms(lambda fn=fn, args_=data[n]: fn(*args_), args.repeat) for n in SIZES]
            print(f"{name:<22}" + "".join(f"{c:>12.1f}" for c in cells))


if __name__ == "__main__":
    main()
