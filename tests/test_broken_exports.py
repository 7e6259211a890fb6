"""Each way an export breaks (broken_exports.py) is a finding in `validate` and `tables`, never
a traceback, and the datasets it does not hit stay usable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from broken_exports import CASES, Case
from unprivileged import remove, run_unprivileged, shared_folder
from viewers import ANALYST

from smart101_dash.contract import CONTRACT
from smart101_dash.panels.registry import PANELS
from smart101_dash.store import DatasetUnavailable
from smart101_dash.tables import TablesWritten, write_tables
from smart101_dash.validate import Severity, ValidationReport, validate_export

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder the unprivileged child can reach too."""
    shared = shared_folder()
    yield shared
    remove(shared)


def validated(case: Case, export: Path) -> ValidationReport:
    return run_unprivileged(validate_export, export) if case.unprivileged else \
        validate_export(export)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_validate_names_the_dataset_column_and_rule(case: Case, folder: Path) -> None:
    report = validated(case, case.build(folder))
    found = [f for f in report.findings if f.severity is not Severity.INFO]
    for dataset, column, rule, severity in case.expected:
        hits = [f for f in found if (f.dataset, f.column, f.severity) == (dataset, column, severity)
                and rule in f.rule]
        assert len(hits) == 1, report.format_text()
    assert len(found) == len(case.expected), report.format_text()
    if "detail" in case.extra:
        assert any(str(case.extra["detail"]) in f.detail for f in found), report.format_text()
    for spec in CONTRACT:
        assert report.is_usable(spec.name) is (spec.name not in case.left_out), spec.name
    assert "Traceback" not in report.format_text()


def tables_of(export: Path, out: Path) -> TablesWritten | str:
    """What `tables` wrote, or the message it gives when nothing can be built."""
    try:
        return write_tables(export, out, ANALYST)
    except DatasetUnavailable as exc:
        return exc.describe(with_examples=False)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tables_writes_every_panel_it_can_and_lists_the_findings(case: Case,
                                                                   folder: Path) -> None:
    export = case.build(folder)
    out = folder / "out"
    out.mkdir()
    out.chmod(0o777)
    left_out = set(case.left_out)
    written = run_unprivileged(tables_of, export, out) if case.unprivileged else \
        tables_of(export, out)
    if "adsl" in left_out:  # nothing can be built without adsl: the message says why
        assert isinstance(written, str)
        assert written.startswith("Dataset adsl failed validation"), written
        assert case.expected[0][2] in written
        return
    assert isinstance(written, TablesWritten)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["findings"]) == len(case.expected)
    for panel in PANELS:
        needs = left_out & set(panel.datasets)
        if needs:
            assert panel.key in written.skipped, panel.key
            assert min(needs) in written.skipped[panel.key]
    assert "overview" not in written.skipped
    assert (out / "baseline.csv").exists()


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
