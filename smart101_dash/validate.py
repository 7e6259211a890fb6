"""Check an export folder against the contract and report findings a data manager can act on.

Each finding names the dataset, the column, the rule, how many rows break it and a few USUBJIDs.
Severity decides what the app does with the dataset:
- ERROR: the dataset cannot be trusted (missing, unreadable, wrong type, a value outside its
  allowed set): it is left out and the panels that need it say why.
- WARNING: rows that the derivations leave out or that look wrong (records of subjects not in
  adsl, events before day 0 or after the cut-off): the dataset is used.
- INFO: an optional dataset that the export does not have.
Validation only reads: nothing is ever written into the export folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import duckdb

from smart101_dash.contract import ACCEPTED_TYPES, CONTRACT, DATASETS, Column, Dataset, Kind
from smart101_dash.grading import magic_grades
from smart101_dash.sql import quote_identifier as q
from smart101_dash.sql import quote_literal

EXAMPLES = 5  # USUBJIDs shown per finding


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    dataset: str
    column: str | None
    rule: str
    severity: Severity
    n_rows: int = 0
    examples: tuple[str, ...] = ()
    detail: str = ""

    def format(self, with_examples: bool = True) -> str:
        where = f"{self.dataset}.{self.column}" if self.column else self.dataset
        rows = f", {self.n_rows} row{'s' if self.n_rows != 1 else ''}" if self.n_rows else ""
        eg = f" (e.g. {', '.join(self.examples)})" if self.examples and with_examples else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.severity.upper():7} {where}: {self.rule}{rows}{eg}{detail}"


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset lives: one Parquet file, or a folder of parts (hive partitions allowed)."""

    name: str
    path: Path
    is_folder: bool

    @property
    def scan_sql(self) -> str:
        """A `read_parquet(...)` expression over the dataset's file or parts."""
        if not self.is_folder:
            return f"read_parquet({quote_literal(str(self.path))})"
        glob = quote_literal(str(self.path / "**" / "*.parquet"))
        return f"read_parquet({glob}, hive_partitioning = true, union_by_name = true)"


@dataclass(frozen=True)
class ValidationReport:
    export_dir: Path
    sources: dict[str, DatasetSource]
    row_counts: dict[str, int]
    findings: tuple[Finding, ...] = field(default=())

    def findings_for(self, dataset: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.dataset == dataset)

    def is_usable(self, dataset: str) -> bool:
        """A dataset is usable when it is present and has no error-level finding."""
        return dataset in self.sources and not any(
            f.severity is Severity.ERROR for f in self.findings_for(dataset)
        )

    @property
    def usable_datasets(self) -> tuple[str, ...]:
        return tuple(d.name for d in CONTRACT if self.is_usable(d.name))

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """Usable as a whole: no error in any dataset."""
        return not self.errors

    def format_text(self) -> str:
        lines = [f"Export: {self.export_dir}", ""]
        for spec in CONTRACT:
            if spec.name not in self.sources:
                status = "MISSING" if spec.required else "absent"
            else:
                status = "OK" if self.is_usable(spec.name) else "FAILED"
            rows = self.row_counts.get(spec.name)
            lines.append(f"  {spec.name:8} {status:8} {'' if rows is None else f'{rows} rows'}")
        lines.append("")
        if self.findings:
            lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s):")
            lines.extend("  " + f.format() for f in self.findings)
        else:
            lines.append("No findings.")
        lines.append("")
        lines.append("Usable." if self.ok else "NOT usable: fix the errors above.")
        return "\n".join(lines)


def locate_datasets(export_dir: Path) -> tuple[dict[str, DatasetSource], list[Finding]]:
    """Find each contract dataset as `<name>.parquet` or a folder `<name>/` of Parquet parts."""
    sources: dict[str, DatasetSource] = {}
    findings: list[Finding] = []
    for spec in CONTRACT:
        file, folder = export_dir / f"{spec.name}.parquet", export_dir / spec.name
        has_file, has_folder = file.is_file(), folder.is_dir()
        if has_file and has_folder:
            findings.append(Finding(spec.name, None, "both a file and a folder of parts exist; "
                                    "keep one", Severity.ERROR,
                                    detail=f"{file.name} and {folder.name}/"))
        elif has_file:
            sources[spec.name] = DatasetSource(spec.name, file, is_folder=False)
        elif has_folder:
            if not any(folder.rglob("*.parquet")):
                findings.append(Finding(spec.name, None, "folder holds no .parquet part",
                                        Severity.ERROR, detail=f"{folder}"))
            else:
                sources[spec.name] = DatasetSource(spec.name, folder, is_folder=True)
        elif spec.required:
            findings.append(Finding(spec.name, None, "required dataset is missing", Severity.ERROR,
                                    detail=f"expected {file.name} or {folder.name}/"))
        else:
            findings.append(Finding(spec.name, None, "optional dataset not in this export",
                                    Severity.INFO,
                                    detail="the panels that need it say so"))
    return sources, findings


def validate_export(export_dir: Path | str) -> ValidationReport:
    """Check every dataset of the export folder against the contract (read-only)."""
    export_dir = Path(export_dir).expanduser().resolve()
    if not export_dir.is_dir():
        finding = Finding("export", None, "export folder does not exist", Severity.ERROR,
                          detail=str(export_dir))
        return ValidationReport(export_dir, {}, {}, (finding,))
    sources, findings = locate_datasets(export_dir)
    con = duckdb.connect()  # private in-memory database: validation never touches the app's
    try:
        row_counts: dict[str, int] = {}
        for name, source in sources.items():
            spec = DATASETS[name]
            found, n_rows = _check_dataset(con, spec, source)
            findings.extend(found)
            if n_rows is not None:
                row_counts[name] = n_rows
        usable = {n for n in sources if not any(
            f.dataset == n and f.severity is Severity.ERROR for f in findings)}
        if "adsl" in usable:
            findings.extend(_check_adsl_rules(con))
            for name in sorted(usable - {"adsl"}):
                findings.extend(_check_against_adsl(con, DATASETS[name]))
        if "adgvhd" in usable:
            findings.extend(_check_magic_grades(con))
    finally:
        con.close()
    return ValidationReport(export_dir, sources, row_counts, tuple(findings))


def _examples(con: duckdb.DuckDBPyConnection, relation: str, condition: str,
              params: Iterable[object] = ()) -> tuple[int, tuple[str, ...]]:
    """Rows of `relation` meeting `condition`: their number and a few USUBJIDs."""
    row = con.execute(
        f"SELECT count(*), list_sort(list_distinct(list(USUBJID)))[1:{EXAMPLES}] "
        f"FROM {relation} WHERE {condition}", list(params)).fetchone()
    assert row is not None
    return int(row[0]), tuple(str(u) for u in (row[1] or []))


def _check_dataset(con: duckdb.DuckDBPyConnection, spec: Dataset,
                   source: DatasetSource) -> tuple[list[Finding], int | None]:
    """Readability, emptiness, columns and types, then per-column value rules."""
    name = spec.name
    try:
        con.execute(f"CREATE OR REPLACE VIEW {q(name)} AS SELECT * FROM {source.scan_sql}")
        types = {r[0]: str(r[1]) for r in con.execute(f"DESCRIBE {q(name)}").fetchall()}
        # A full scan of every column finds truncated or corrupt pages that a footer read misses.
        aggregates = ", ".join(f"count({q(c)})" for c in types)
        counted = con.execute(f"SELECT count(*), {aggregates} FROM {q(name)}").fetchone()
    except duckdb.Error as exc:
        con.execute(f"DROP VIEW IF EXISTS {q(name)}")
        return [Finding(name, None, "unreadable or truncated Parquet", Severity.ERROR,
                        detail=_first_line(exc))], None
    assert counted is not None
    n_rows = int(counted[0])
    if n_rows == 0:
        return [Finding(name, None, "dataset is empty", Severity.ERROR)], 0
    findings: list[Finding] = []
    for col in spec.columns:
        if col.name not in types:
            if col.required:
                findings.append(Finding(name, col.name, "required column is missing",
                                        Severity.ERROR))
            continue
        actual = types[col.name].split("(")[0]
        if actual not in ACCEPTED_TYPES[col.kind]:
            findings.append(Finding(name, col.name, f"wrong type: expected {col.kind.value}",
                                    Severity.ERROR, detail=f"found {types[col.name]}"))
            continue
        if "USUBJID" in types:
            findings.extend(_check_values(con, name, col))
    if "USUBJID" in types and name == "adsl":
        n, eg = _examples(con, "adsl", "USUBJID IN (SELECT USUBJID FROM adsl GROUP BY USUBJID "
                          "HAVING count(*) > 1)")
        if n:
            findings.append(Finding(name, "USUBJID", "duplicate USUBJID (adsl has one row per "
                                    "subject)", Severity.ERROR, n, eg))
    return findings, n_rows


def _check_values(con: duckdb.DuckDBPyConnection, dataset: str, col: Column) -> list[Finding]:
    findings: list[Finding] = []
    c = q(col.name)
    if not col.nullable:
        n, eg = _examples(con, q(dataset), f"{c} IS NULL")
        if n:
            findings.append(Finding(dataset, col.name, "missing value where one is required",
                                    Severity.ERROR, n, eg))
    if col.allowed is not None:
        n, eg = _examples(con, q(dataset), f"{c} IS NOT NULL AND NOT list_contains($1, {c})",
                          [list(col.allowed)])
        if n:
            allowed = ", ".join(str(a) for a in col.allowed)
            # An optional column's bad value does not take its dataset down: it is not used
            # (a graft failure of no known type, a CGVHDIST that is not Y).
            severity, use = ((Severity.ERROR, "") if col.required else
                             (Severity.WARNING, "; such values are not used"))
            findings.append(Finding(dataset, col.name, f"value outside the allowed set ({allowed})"
                                    f"{use}", severity, n, eg))
    if col.kind in (Kind.INTEGER, Kind.NUMBER) and (col.minimum is not None
                                                     or col.maximum is not None):
        lo = col.minimum if col.minimum is not None else float("-inf")
        hi = col.maximum if col.maximum is not None else float("inf")
        n, eg = _examples(con, q(dataset), f"{c} IS NOT NULL AND ({c} < $1 OR {c} > $2 OR isnan({c}))",
                          [lo, hi])
        if n:
            rule = f"value outside the range {_fmt(col.minimum)} to {_fmt(col.maximum)}"
            findings.append(Finding(dataset, col.name, rule, Severity.ERROR, n, eg))
    return findings


# adsl rules that involve more than one column: (column, condition, rule, severity)
ADSL_RULES: tuple[tuple[str, str, str, Severity], ...] = (
    ("DCUTDT", "DCUTDT IS DISTINCT FROM (SELECT mode(DCUTDT) FROM adsl)",
     "one data cut-off date for the whole export", Severity.ERROR),
    ("ARM", "(COHORT = 'SMART101') <> (ARM IN ('GROUP A', 'GROUP B'))",
     "ARM must be GROUP A or GROUP B for SMART101 and CONTROL for controls", Severity.ERROR),
    ("AGEGR1", "(AGEGR1 = 'ADULT') <> (AGE >= 18)",
     "AGEGR1 must be ADULT when AGE >= 18 and PEDIATRIC otherwise", Severity.WARNING),
    ("ARM", ("(ARM = 'GROUP A' AND AGEGR1 <> 'ADULT') OR (ARM = 'GROUP B' AND AGEGR1 <> "
             "'PEDIATRIC')"), "Group A enrolls adults and Group B children", Severity.WARNING),
    ("DTHFL", "(DTHFL IS NOT DISTINCT FROM 'Y') <> (DTHDT IS NOT NULL)",
     "DTHFL is Y exactly when DTHDT is given", Severity.WARNING),
    ("TRTSDT", "COHORT = 'CONTROL' AND TRTSDT IS NOT NULL",
     "controls do not receive SMART101 (TRTSDT must be null)", Severity.WARNING),
    ("TRTSDT", "TRTSDT IS NOT NULL AND HSCTDT IS NULL",
     "SMART101 infusion without a transplant date", Severity.WARNING),
    ("TRTSDT", ("TRTSDT IS NOT NULL AND HSCTDT IS NOT NULL AND "
                "date_diff('day', HSCTDT, TRTSDT) NOT BETWEEN 4 AND 10"),
     "SMART101 outside the protocol window (day 4 to 10)", Severity.WARNING),
    ("HSCTDT", "HSCTDT < ENRLDT", "transplant before enrollment", Severity.WARNING),
    ("ENRLDT", "ENRLDT > DCUTDT", "enrolled after the data cut-off", Severity.WARNING),
    ("HSCTDT", "HSCTDT > DCUTDT", "transplant after the data cut-off", Severity.WARNING),
    ("LSTALVDT", "DTHDT IS NOT NULL AND LSTALVDT > DTHDT",
     "last known alive after the date of death", Severity.WARNING),
)

# Rules on optional adsl columns, checked when the export has them: (columns, column,
# condition, rule, severity).
OPTIONAL_ADSL_RULES: tuple[tuple[tuple[str, ...], str, str, str, Severity], ...] = (
    (("GFDT", "GFTYPE"), "GFTYPE", "(GFDT IS NULL) <> (GFTYPE IS NULL)",
     "GFTYPE is given exactly when GFDT is (graft failure and its type)", Severity.WARNING),
    (("GFDT", "GFTYPE", "ANCRDT"), "GFTYPE",
     "GFTYPE = 'PRIMARY' AND ANCRDT IS NOT NULL AND ANCRDT <= GFDT",
     "primary graft failure after a neutrophil recovery (that is secondary graft failure)",
     Severity.WARNING),
    (("GFDT", "GFTYPE", "ANCRDT"), "GFTYPE",
     "GFTYPE = 'SECONDARY' AND (ANCRDT IS NULL OR ANCRDT > GFDT)",
     "secondary graft failure without a neutrophil recovery before it", Severity.WARNING),
)


def _check_adsl_rules(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    present = {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}
    findings = []
    rules = [*ADSL_RULES, *(rule[1:] for rule in OPTIONAL_ADSL_RULES
                           if set(rule[0]) <= present)]
    for column, condition, rule, severity in rules:
        n, eg = _examples(con, "adsl", f"coalesce({condition}, false)")
        if n:
            findings.append(Finding("adsl", column, rule, severity, n, eg))
    for column in DATASETS["adsl"].event_dates:
        if column in present:
            findings.extend(_date_window_findings(con, "adsl", column, "adsl"))
    return findings


def _date_window_findings(con: duckdb.DuckDBPyConnection, dataset: str, column: str,
                          relation: str) -> list[Finding]:
    """Event dates must fall between day 0 (HSCTDT) and the data cut-off (DCUTDT)."""
    c = q(column)
    findings = []
    n, eg = _examples(con, relation, f"{c} < HSCTDT")
    if n:
        findings.append(Finding(dataset, column, "dated before the transplant (day 0); left out "
                                "of post-transplant endpoints", Severity.WARNING, n, eg))
    n, eg = _examples(con, relation, f"{c} > DCUTDT")
    if n:
        findings.append(Finding(dataset, column, "dated after the data cut-off; ignored",
                                Severity.WARNING, n, eg))
    return findings


def _check_against_adsl(con: duckdb.DuckDBPyConnection, spec: Dataset) -> list[Finding]:
    """Records must belong to a subject of adsl and be dated within day 0 .. cut-off."""
    name = q(spec.name)
    findings = []
    n, eg = _examples(con, name, "USUBJID NOT IN (SELECT USUBJID FROM adsl)")
    if n:
        findings.append(Finding(spec.name, "USUBJID", "subject not in adsl; left out of every "
                                "panel", Severity.WARNING, n, eg))
    joined = (f"(SELECT d.*, s.HSCTDT AS HSCTDT, s.DCUTDT AS DCUTDT FROM {name} d "
              f"JOIN adsl s USING (USUBJID))")
    for column in spec.event_dates:
        findings.extend(_date_window_findings(con, spec.name, column, joined))
    return findings


def _check_magic_grades(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """The recorded overall grade must be the MAGIC grade of the recorded organ stages."""
    frame = con.execute(
        "SELECT USUBJID, SKINSTG, LIVERSTG, UGISTG, LGISTG, AGVHDGR FROM adgvhd "
        "WHERE AGVHDGR IS NOT NULL").df()
    if frame.empty:
        return []
    stages = frame[["SKINSTG", "LIVERSTG", "UGISTG", "LGISTG"]].fillna(0)
    expected = magic_grades(*(stages[c].to_numpy() for c in stages.columns))
    bad = frame.loc[frame["AGVHDGR"].to_numpy() != expected, "USUBJID"]
    if bad.empty:
        return []
    examples = tuple(sorted(set(bad.astype(str)))[:EXAMPLES])
    return [Finding("adgvhd", "AGVHDGR", "overall grade disagrees with the MAGIC grade of the "
                    "organ stages", Severity.WARNING, len(bad), examples)]


def _fmt(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:300]
