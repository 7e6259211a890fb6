"""Each way an export breaks (broken_exports.py) is a finding in `validate` and `tables`, never
a traceback, and the datasets it does not hit stay usable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from broken_exports import CASES, Case
from unprivileged import calls, run_unprivileged

from smart101_dash.contract import CONTRACT
from smart101_dash.panels.registry import PANELS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of its own, whatever the test makes unreadable in it (pytest restores the
    permissions when it removes it)."""
    return tmp_path


def answer(case: Case, call: str, *args: Path) -> Any:
    """What `call` gives (unprivileged.calls): in a process that cannot bypass permissions
    for the cases that need one, else here."""
    return run_unprivileged(call, *args) if case.unprivileged else \
        calls(call, *map(str, args))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_names_the_dataset_column_and_rule(case: Case, folder: Path) -> None:
    report = answer(case, "validate", case.build(folder))
    found = [f for f in report["findings"] if f[3] != "info"]
    for dataset, column, rule, severity in case.expected:
        hits = [f for f in found if (f[0], f[1], f[3]) == (dataset, column, severity.value)
                and rule in f[2]]
        assert len(hits) == 1, report["text"]
    assert len(found) == len(case.expected), report["text"]
    if "detail" in case.extra:
        assert any(str(case.extra["detail"]) in f[4] for f in found), report["text"]
    assert report["usable"] == [d.name for d in CONTRACT if d.name not in case.left_out]
    assert "Traceback" not in report["text"]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tables_writes_every_panel_it_can_and_lists_the_findings(case: Case,
                                                                   folder: Path) -> None:
    export, out = case.build(folder), folder / "out"
    written = answer(case, "tables", export, out)
    left_out = set(case.left_out)
    if "adsl" in left_out:  # nothing can be built without adsl: the message says why
        assert written["message"].startswith("Dataset adsl failed validation"), written
        assert case.expected[0][2] in written["message"]
        return
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["findings"]) == len(written["findings"]) == len(case.expected)
    for panel in PANELS:
        needs = left_out & set(panel.datasets)
        if needs:
            assert min(needs) in written["skipped"][panel.key], panel.key
    assert "overview" not in written["skipped"]
    assert "baseline.csv" in written["files"]


@pytest.mark.parametrize("name", ["export folder a link loop", "dataset a link to itself",
                                  "corrupt bytes mid-file", "cut-off 9999-12-31"])
def test_the_commands_print_findings_not_tracebacks(name: str, folder: Path) -> None:
    case = next(c for c in CASES if c.name == name)
    export = case.build(folder)
    for command in (["validate", str(export)], ["tables", str(export), str(folder / "out")]):
        done = subprocess.run([sys.executable, "-m", "smart101_dash", *command], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert "Traceback" not in done.stderr + done.stdout, done.stderr
        words = case.expected[0][2]
        assert words in done.stdout + done.stderr, (command, done.stdout, done.stderr)
