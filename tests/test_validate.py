"""Every validation rule, each on an export that the test breaks in exactly one way."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_factory import CUTOFF, D0, ROWS, day, to_table, valid_tables, write_export

from smart101_dash.validate import Severity, ValidationReport, validate_export

ROOT = Path(__file__).resolve().parent.parent


def edit(name: str, change: Callable[[list[dict]], list[dict] | None]) -> dict[str, pa.Table]:
    """The valid export with dataset `name`'s rows changed by `change`."""
    tables = valid_tables()
    rows = ROWS[name]()
    changed = change(rows)
    tables[name] = to_table(name, rows if changed is None else changed)
    return tables


def set_value(usubjid: str, column: str, value: object) -> Callable[[list[dict]], None]:
    def change(rows: list[dict]) -> None:
        for row in rows:
            if row["USUBJID"] == usubjid:
                row[column] = value
    return change


def set_values(usubjid: str, **values: object) -> Callable[[list[dict]], None]:
    def change(rows: list[dict]) -> None:
        for row in rows:
            row.update({k: (v if row["USUBJID"] == usubjid else row.get(k))
                        for k, v in values.items()})
    return change


def only(report: ValidationReport, severity: Severity) -> list[tuple[str, str | None, str]]:
    return [(f.dataset, f.column, f.rule) for f in report.findings if f.severity is severity]


def test_valid_export_has_no_findings(tmp_path: Path) -> None:
    report = validate_export(write_export(tmp_path))
    assert report.findings == ()
    assert report.ok
    assert report.usable_datasets == ("adsl", "adlb", "adgvhd", "adinf", "adae")
    assert report.row_counts == {"adsl": 6, "adlb": 12, "adgvhd": 4, "adinf": 3, "adae": 3}


# (case id, tables, dataset, column, words of the rule, severity, offending rows, examples)
CASES = [
    ("missing required dataset", lambda: {k: v for k, v in valid_tables().items() if k != "adsl"},
     "adsl", None, "required dataset is missing", Severity.ERROR, 0, ()),
    ("missing optional dataset", lambda: {k: v for k, v in valid_tables().items() if k != "adinf"},
     "adinf", None, "optional dataset not in this export", Severity.INFO, 0, ()),
    ("missing column", lambda: {**valid_tables(), "adlb": valid_tables()["adlb"].drop(["AVAL"])},
     "adlb", "AVAL", "required column is missing", Severity.ERROR, 0, ()),
    ("wrong type", lambda: {**valid_tables(), "adae": valid_tables()["adae"].set_column(
        5, "ATOXGR", pa.array(["2", "4", "5"]))},
     "adae", "ATOXGR", "wrong type: expected integer", Severity.ERROR, 0, ()),
    ("date stored as text", lambda: {**valid_tables(), "adinf": valid_tables()["adinf"].set_column(
        2, "ASTDT", pa.array(["2024-02-04", "2024-01-22", "2024-03-30"]))},
     "adinf", "ASTDT", "wrong type: expected date", Severity.ERROR, 0, ()),
    ("empty dataset", lambda: {**valid_tables(), "adgvhd": valid_tables()["adgvhd"].slice(0, 0)},
     "adgvhd", None, "dataset is empty", Severity.ERROR, 0, ()),
    ("duplicate USUBJID", lambda: edit("adsl", lambda r: r + [dict(r[0])]),
     "adsl", "USUBJID", "duplicate USUBJID", Severity.ERROR, 2, ("T-A1",)),
    ("null where required", lambda: edit("adlb", set_value("C-1", "ADT", None)),
     "adlb", "ADT", "missing value where one is required", Severity.ERROR, 3, ("C-1",)),
    ("grade out of range", lambda: edit("adae", set_value("T-A2", "ATOXGR", 7)),
     "adae", "ATOXGR", "value outside the range 1 to 5", Severity.ERROR, 1, ("T-A2",)),
    ("negative count", lambda: edit("adlb", set_value("T-B1", "AVAL", -5.0)),
     "adlb", "AVAL", "value outside the range 0 to any", Severity.ERROR, 3, ("T-B1",)),
    ("cohort not allowed", lambda: edit("adsl", set_value("C-3", "COHORT", "PLACEBO")),
     "adsl", "COHORT", "value outside the allowed set", Severity.ERROR, 1, ("C-3",)),
    ("GvHD stage out of range", lambda: edit("adgvhd", set_value("C-1", "UGISTG", 2)),
     "adgvhd", "UGISTG", "value outside the range 0 to 1", Severity.ERROR, 2, ("C-1",)),
    ("chronic severity not allowed", lambda: edit("adgvhd", set_value("C-1", "CGVHDSEV", "BAD")),
     "adgvhd", "CGVHDSEV", "value outside the allowed set", Severity.ERROR, 2, ("C-1",)),
    ("infection grade out of range", lambda: edit("adinf", set_value("C-2", "INFSEV", 4)),
     "adinf", "INFSEV", "value outside the range 1 to 3", Severity.ERROR, 2, ("C-2",)),
    ("two cut-off dates", lambda: edit("adsl", set_value("C-1", "DCUTDT", CUTOFF + timedelta(1))),
     "adsl", "DCUTDT", "one data cut-off date", Severity.ERROR, 1, ("C-1",)),
    ("arm of a control", lambda: edit("adsl", set_value("C-1", "ARM", "GROUP A")),
     "adsl", "ARM", "ARM must be GROUP A or GROUP B for SMART101", Severity.ERROR, 1, ("C-1",)),
    ("orphan record", lambda: edit("adinf", set_value("C-2", "USUBJID", "NOBODY")),
     "adinf", "USUBJID", "subject not in adsl", Severity.WARNING, 2, ("NOBODY",)),
    ("event before day 0", lambda: edit("adae", set_value("T-A1", "ASTDT", day(-3))),
     "adae", "ASTDT", "dated before the transplant", Severity.WARNING, 1, ("T-A1",)),
    ("event after cut-off", lambda: edit("adinf", set_value("T-A1", "ASTDT", CUTOFF + timedelta(5))),
     "adinf", "ASTDT", "dated after the data cut-off", Severity.WARNING, 1, ("T-A1",)),
    ("death after cut-off", lambda: edit("adsl", set_value("C-2", "DTHDT", CUTOFF + timedelta(1))),
     "adsl", "DTHDT", "dated after the data cut-off", Severity.WARNING, 1, ("C-2",)),
    ("relapse before day 0", lambda: edit("adsl", set_value("T-A2", "RLPSDT", D0 - timedelta(1))),
     "adsl", "RLPSDT", "dated before the transplant", Severity.WARNING, 1, ("T-A2",)),
    ("death flag without date", lambda: edit("adsl", set_value("C-1", "DTHFL", "Y")),
     "adsl", "DTHFL", "DTHFL is Y exactly when DTHDT is given", Severity.WARNING, 1, ("C-1",)),
    ("infusion outside window", lambda: edit("adsl", set_value("T-A1", "TRTSDT", day(14))),
     "adsl", "TRTSDT", "outside the protocol window", Severity.WARNING, 1, ("T-A1",)),
    ("age group disagrees with age", lambda: edit("adsl", set_value("C-3", "AGE", 30)),
     "adsl", "AGEGR1", "AGEGR1 must be ADULT when AGE >= 18", Severity.WARNING, 1, ("C-3",)),
    ("graft failure without its type",
     lambda: edit("adsl", set_values("C-1", GFDT=day(28), GFTYPE=None)),
     "adsl", "GFTYPE", "GFTYPE is given exactly when GFDT is", Severity.WARNING, 1, ("C-1",)),
    ("primary graft failure after a recovery",
     lambda: edit("adsl", set_values("C-1", ANCRDT=day(12), GFDT=day(28), GFTYPE="PRIMARY")),
     "adsl", "GFTYPE", "primary graft failure after a neutrophil recovery", Severity.WARNING, 1,
     ("C-1",)),
    ("secondary graft failure without a recovery",
     lambda: edit("adsl", set_values("C-1", ANCRDT=None, GFDT=day(28), GFTYPE="SECONDARY")),
     "adsl", "GFTYPE", "secondary graft failure without a neutrophil recovery", Severity.WARNING,
     1, ("C-1",)),
    ("graft failure type not allowed",
     lambda: edit("adsl", set_values("C-1", ANCRDT=day(12), GFDT=day(28), GFTYPE="LATE")),
     "adsl", "GFTYPE", "value outside the allowed set", Severity.WARNING, 1, ("C-1",)),
    ("recovery after the cut-off",
     lambda: edit("adsl", set_values("T-A1", ANCRDT=CUTOFF + timedelta(3))),
     "adsl", "ANCRDT", "dated after the data cut-off", Severity.WARNING, 1, ("T-A1",)),
    ("systemic treatment flag not Y",
     lambda: edit("adgvhd", set_values("C-1", CGVHDIST="N")),
     "adgvhd", "CGVHDIST", "value outside the allowed set", Severity.WARNING, 2, ("C-1",)),
    ("MAGIC grade disagrees", lambda: edit("adgvhd", set_value("T-A1", "AGVHDGR", 3)),
     "adgvhd", "AGVHDGR", "disagrees with the MAGIC grade", Severity.WARNING, 2, ("T-A1",)),
]


@pytest.mark.parametrize(("make", "dataset", "column", "rule", "severity", "n_rows", "examples"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(tmp_path: Path, make: Callable[[], dict[str, pa.Table]], dataset: str,
              column: str | None, rule: str, severity: Severity, n_rows: int,
              examples: tuple[str, ...]) -> None:
    report = validate_export(write_export(tmp_path, make()))
    hits = [f for f in report.findings if f.dataset == dataset and f.column == column
            and rule in f.rule]
    assert len(hits) == 1, report.format_text()
    finding = hits[0]
    assert finding.severity is severity
    assert finding.n_rows == n_rows
    assert finding.examples == examples
    # Each broken export breaks exactly this rule and nothing else.
    others = [f for f in report.findings if f is not finding]
    assert others == [], report.format_text()
    assert report.is_usable(dataset) is (severity is not Severity.ERROR and
                                         dataset in report.sources)
    assert report.ok is (severity is not Severity.ERROR)


def test_truncated_parquet_is_unreadable_and_other_datasets_stay_usable(tmp_path: Path) -> None:
    write_export(tmp_path)
    path = tmp_path / "adae.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    report = validate_export(tmp_path)
    assert only(report, Severity.ERROR) == [("adae", None, "unreadable or truncated Parquet")]
    assert "adae" not in report.usable_datasets
    assert set(report.usable_datasets) == {"adsl", "adlb", "adgvhd", "adinf"}


def test_not_parquet_at_all(tmp_path: Path) -> None:
    write_export(tmp_path)
    (tmp_path / "adlb.parquet").write_text("USUBJID,AVAL\nT-A1,4\n")
    report = validate_export(tmp_path)
    assert only(report, Severity.ERROR) == [("adlb", None, "unreadable or truncated Parquet")]


def test_folder_of_hive_parts_is_read(tmp_path: Path) -> None:
    tables = valid_tables()
    adlb = tables.pop("adlb")
    write_export(tmp_path, tables)
    part = tmp_path / "adlb" / "PARAMCD=CD4"
    part.mkdir(parents=True)
    pq.write_table(adlb.drop(["PARAMCD"]), part / "part-0.parquet")
    report = validate_export(tmp_path)
    assert report.findings == ()
    assert report.row_counts["adlb"] == 12


def test_empty_folder_and_file_beside_folder(tmp_path: Path) -> None:
    write_export(tmp_path)
    (tmp_path / "adae").mkdir()  # both adae.parquet and adae/
    (tmp_path / "adinf.parquet").unlink()
    (tmp_path / "adinf").mkdir()  # a folder without parts
    report = validate_export(tmp_path)
    assert only(report, Severity.ERROR) == [
        ("adinf", None, "folder holds no .parquet part"),
        ("adae", None, "both a file and a folder of parts exist; keep one"),
    ]


def test_missing_export_folder(tmp_path: Path) -> None:
    report = validate_export(tmp_path / "nowhere")
    assert not report.ok
    assert report.errors[0].rule == "export folder does not exist"


def test_validation_writes_nothing(tmp_path: Path) -> None:
    write_export(tmp_path)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    validate_export(tmp_path)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smart101_dash", *args], check=False,
                          cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_validate_exit_codes_and_report(tmp_path: Path) -> None:
    good = write_export(tmp_path / "good")
    result = run_cli("validate", str(good))
    assert result.returncode == 0, result.stderr
    assert "Usable." in result.stdout
    bad = tmp_path / "bad"
    shutil.copytree(good, bad)
    write_export(bad, edit("adae", set_value("T-A2", "ATOXGR", 7)))
    result = run_cli("validate", str(bad))
    assert result.returncode == 1
    assert "adae.ATOXGR: value outside the range 1 to 5, 1 row (e.g. T-A2)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
