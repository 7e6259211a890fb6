"""What a server account without privileges sees of an export, for the tests.

The tests run as root in CI, and root reads every file whatever its permissions. So a test
that makes a folder unreadable gives it to a stranger's account (`deny`) and asks a fresh
Python process without root's power to bypass permissions (`setpriv` drops the capabilities
DAC_OVERRIDE and DAC_READ_SEARCH): it reads what root owns, as a server reads its code, and
nothing of the stranger's. Run as an ordinary user, the same tests need no setpriv.

`python tests/unprivileged.py validate|tables|pages EXPORT [OUT]` prints, as JSON, what
`calls` returns: the tests compare it with the same call made in their own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STRANGER = 12345  # owns what a test makes unreadable: neither root nor the test's user
WITHOUT_BYPASS = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def deny(path: Path) -> None:
    """Make `path` unreadable to the server's account."""
    if os.geteuid() == 0:
        os.chown(path, STRANGER, STRANGER)
    path.chmod(0)


def run_unprivileged(call: str, *args: Path) -> Any:
    """`calls(call, *args)` in a fresh process that cannot bypass file permissions."""
    prefix = WITHOUT_BYPASS if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, sys.executable, __file__, call, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def calls(call: str, *args: str) -> Any:
    """The answers the tests compare, as plain data."""
    for path in (ROOT, ROOT / "tests", ROOT / "tests" / "app"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    if call == "validate":
        from smart101_dash.contract import CONTRACT
        from smart101_dash.validate import validate_export

        report = validate_export(args[0])
        return {"findings": [[f.dataset, f.column, f.rule, f.severity.value, f.detail]
                             for f in report.findings],
                "usable": [d.name for d in CONTRACT if report.is_usable(d.name)],
                "text": report.format_text()}
    if call == "tables":
        from viewers import ANALYST

        from smart101_dash.store import DatasetUnavailable
        from smart101_dash.tables import write_tables

        try:
            written = write_tables(Path(args[0]), Path(args[1]), ANALYST)
        except DatasetUnavailable as exc:
            return {"message": exc.describe(with_examples=False)}
        return {"skipped": written.skipped, "findings": written.findings,
                "files": sorted(p.name for p in written.files)}
    if call == "pages":
        from visit import visit_every_page

        return visit_every_page(Path(args[0]))
    raise ValueError(f"unknown call {call!r}")


if __name__ == "__main__":
    print(json.dumps(calls(sys.argv[1], *sys.argv[2:])))
