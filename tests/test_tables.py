"""The `tables` command writes the very frames the panels show, and never into the export."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from export_factory import valid_tables, write_export
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.curves import LANDMARK_COLUMNS
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database
from smart101_dash.tables import write_tables

ROOT = Path(__file__).resolve().parent.parent


def test_every_item_of_every_panel_is_written_as_shown(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    written = write_tables(export, tmp_path / "out", ANALYST)
    # One cut: nothing to compare it with; no recovery or graft-failure dates: no engraftment
    # page. The manifest says so.
    assert list(written.skipped) == ["changes", "engraftment"]
    assert "single cut" in written.skipped["changes"]
    assert "ANCRDT" in written.skipped["engraftment"]
    db = Database()
    cut = db.load(export)
    for panel in PANELS:
        for item in build_panel(panel, db, cut, Filters(), SETTINGS, ANALYST).items:
            on_disk = pd.read_csv(tmp_path / "out" / f"{item.key}.csv")
            expected = pd.read_csv(pd.io.common.StringIO(item.data.to_csv(index=False)))
            pd.testing.assert_frame_equal(on_disk, expected)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["data_cutoff"] == "2025-06-30"
    assert manifest["export_fingerprint"] == cut.fingerprint
    assert len(manifest["files"]) == len(written.files)


def test_a_missing_dataset_skips_its_panels_only(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["adae"]
    written = write_tables(write_export(tmp_path / "export", tables), tmp_path / "out",
                           ANALYST)
    # changes: a single cut; engraftment: no recovery or graft-failure dates in this export.
    # Adverse events: the AE tables are left out, the deaths (adsl only) are written.
    assert set(written.skipped) == {"changes", "engraftment"}
    assert (tmp_path / "out" / "baseline.csv").exists()
    assert not (tmp_path / "out" / "ae_summary.csv").exists()
    assert (tmp_path / "out" / "death_listing.csv").exists()


def test_refuses_to_write_into_the_export(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    with pytest.raises(ValueError, match="refusing to write into the export folder"):
        write_tables(export, export / "tables", ANALYST)


def test_cli(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(export),
                          str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "tables written" in run.stdout
    (export / "adsl.parquet").unlink()
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(export),
                          str(tmp_path / "out2")], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=120)
    assert run.returncode == 1
    assert "error: Dataset adsl failed validation" in run.stderr
    assert "Traceback" not in run.stderr


def test_docs_name_every_file_and_its_columns(tmp_path: Path) -> None:
    written = write_tables(ROOT / "data" / "demo", tmp_path / "out", ANALYST)
    docs = (ROOT / "docs" / "tables.md").read_text()
    for path in written.files:
        line = next((x for x in docs.splitlines() if x.startswith(f"| `{path.name}` |")), None)
        assert line, f"docs/tables.md does not describe {path.name}"
        documented = line.split("|")[3]
        for column in pd.read_csv(path, nrows=0).columns:
            # Per-cohort column families are written once as CONTROL_...
            if column.startswith("CONTROL_") and "CONTROL_..." in documented:
                continue
            assert column in documented, f"{path.name}: column {column} not in docs/tables.md"


def test_cli_arm_option(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(export),
                          str(tmp_path / "out"), "--arm", "GROUP B"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["filters"] == "arm GROUP B vs pediatric controls"
    baseline = pd.read_csv(tmp_path / "out" / "baseline.csv").set_index(
        ["characteristic", "category"])
    patients = baseline.loc[("Patients", "n"), ["SMART101 n", "CONTROL n"]]
    assert patients.astype(int).tolist() == [1, 1]  # T-B1 and C-3


def test_cli_role_sponsor_writes_no_subject_level_file(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(export),
                          str(tmp_path / "out"), "--role", "sponsor"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "not built: death_listing: subject-level" in run.stdout
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["role"] == "sponsor"
    assert {"sae_listing", "death_listing", "cd4_trajectories"} <= set(manifest["not_built"])
    ids = set(pd.read_parquet(export / "adsl.parquet")["USUBJID"])
    for path in (tmp_path / "out").glob("*.csv"):
        text = path.read_text()
        assert not [i for i in ids if i in text], path.name
    unknown = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(export),
                              str(tmp_path / "out2"), "--role", "visitor"], cwd=ROOT,
                             capture_output=True, text=True, check=False, timeout=120)
    assert unknown.returncode == 1 and "role 'visitor' is not defined" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_cli_landmark_day_and_as_treated(tmp_path: Path) -> None:
    """`--landmark-day 7 --as-treated` on the demo: the landmark table keeps its columns, gains
    GRFS, NEUTR, PLTR and GF, and holds what the survival page shows with those options."""
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables",
                          str(ROOT / "data" / "demo"), str(tmp_path / "out"), "--landmark-day",
                          "7", "--as-treated"], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=300)
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(tmp_path / "out" / "landmarks.csv")
    assert list(table.columns) == LANDMARK_COLUMNS
    assert {"GRFS", "NEUTR", "PLTR", "GF"} <= set(table["endpoint"])
    db = Database()
    shown = build_panel(find_panel("survival"), db, db.load(ROOT / "data" / "demo"), Filters(),
                        SETTINGS, ANALYST, {"landmark": True, "landmark_day": 7,
                                            "population": "infused"})
    expected = pd.read_csv(io.StringIO(shown.item("landmarks").data.to_csv(index=False)))
    pd.testing.assert_frame_equal(table, expected)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["start"].startswith("From landmark day 7")
    assert "SMART101 as infused" in manifest["start"]
    bad = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", str(ROOT / "data" /
                          "demo"), str(tmp_path / "x"), "--landmark-day", "0"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=120)
    assert bad.returncode == 2 and "1 or later" in bad.stderr


def test_cli_view_reproduces_a_shared_url(tmp_path: Path) -> None:
    """`--view` of a URL copied from the app: its filters, and its page's options for that
    page's tables; the same filters given as flags write the same files; what the cut does
    not know is a warning, not an error."""
    demo = str(ROOT / "data" / "demo")
    url = ("http://dashboard.example/survival?diag=AML&disstat=CR1&diag=XYZ&landmark=1"
           "&landmark_day=28")
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", demo,
                          str(tmp_path / "view"), "--view", url, "--subjects"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "diagnosis 'XYZ' is not in this data cut" in run.stderr
    filters = Filters(diagnoses=("AML",), disease_statuses=("CR1",))
    db = Database()
    shown = build_panel(find_panel("survival"), db, db.load(ROOT / "data" / "demo"), filters,
                        SETTINGS, ANALYST, {"landmark": True, "landmark_day": 28})
    for item in shown.items:
        expected = pd.read_csv(io.StringIO(item.data.to_csv(index=False)))
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "view" / f"{item.key}.csv"),
                                      expected)
    manifest = json.loads((tmp_path / "view" / "manifest.json").read_text())
    assert manifest["filters"] == "diagnosis AML; disease status CR1"
    assert manifest["view_page"] == "survival"
    assert manifest["view_page_start"].startswith("From landmark day 28")
    subjects = pd.read_csv(tmp_path / "view" / "subjects.csv")
    adsl = pd.read_parquet(ROOT / "data" / "demo" / "2026-10-31" / "adsl.parquet")
    chosen = adsl[(adsl["DIAG"] == "AML") & (adsl["DISSTAT"] == "CR1")]
    assert sorted(subjects["USUBJID"]) == sorted(chosen["USUBJID"])
    assert {"OS_days", "OS_status", "CD4IR_days", "acute_gvhd_max_grade_by_day100"} <= set(
        subjects.columns)
    flags = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", demo,
                            str(tmp_path / "flags"), "--diagnosis", "AML", "--disease-status",
                            "CR1"], cwd=ROOT, capture_output=True, text=True, check=False,
                           timeout=300)
    assert flags.returncode == 0, flags.stderr
    for name in ("baseline.csv", "gvhd_acute_incidence.csv", "inf_first_infection_cif.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "flags" / name),
                                      pd.read_csv(tmp_path / "view" / name))
    both = subprocess.run([sys.executable, "-m", "smart101_dash", "tables", demo,
                           str(tmp_path / "x"), "--view", url, "--arm", "GROUP A"], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert both.returncode == 2 and "--view already holds the filters" in both.stderr
