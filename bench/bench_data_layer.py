"""Time and memory of the data layer: validating and loading a cut, and building each panel.

Usage: python bench/bench_data_layer.py [EXPORT_DIR ...]
Without arguments it benchmarks the committed demo export and a generated export with 20,000
controls (written to a temporary folder). Figures are recorded in docs/performance.md.
"""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from smart101_dash.access import load_roles
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.spec import Panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database
from smart101_dash.validate import validate_export

REPEATS = 5


def median_ms(run: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench(export: Path) -> None:
    rows = validate_export(export).row_counts
    print(f"\nexport {export.name}: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    ms = median_ms(lambda: validate_export(export))
    print(f"  validate (full contract check)        {ms:8.1f} ms")

    def cold_load() -> None:
        db = Database()
        db.load(export)
        db.close()

    print(f"  first load of a cut (validate+views)  {median_ms(cold_load):8.1f} ms")
    db = Database()
    cut = db.load(export)
    print(f"  load of a known cut (fingerprint)     {median_ms(lambda: db.load(export)):8.2f} ms")

    viewer = load_roles().viewer("benchmark", "dsmb")  # the role that builds every item

    def panel(spec: Panel, filters: Filters, cached: bool) -> Callable[[], object]:
        def run() -> object:
            if not cached:
                db.clear_results()
            return build_panel(spec, db, cut, filters, SETTINGS, viewer)
        return run

    for spec in PANELS:
        for label, filters in (("all", Filters()), ("Group A", Filters(arm="GROUP A"))):
            for cached in (False, True):
                ms = median_ms(panel(spec, filters, cached))
                state = "cached" if cached else "uncached"
                print(f"  panel {spec.key:18} {label:8} {state:9} {ms:8.1f} ms")
    db.close()


def main() -> None:
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    exports = [Path(a) for a in sys.argv[1:]]
    with tempfile.TemporaryDirectory() as tmp:
        if not exports:
            from smart101_dash.demo import write_demo_export

            big = Path(tmp) / "demo-20000-controls"
            write_demo_export(big, n_controls=20_000)
            exports = [ROOT / "data" / "demo", big]
        for export in exports:
            bench(export)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
