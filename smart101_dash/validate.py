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

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from pathlib import Path

import duckdb

from smart101_dash.contract import ACCEPTED_TYPES, CONTRACT, DATASETS, Column, Dataset, Kind
from smart101_dash.cuts import cut_date
from smart101_dash.export_files import partition_keys, read_parquet_sql, reason, resolved, walk
from smart101_dash.grading import magic_grades
from smart101_dash.plausibility import EARLIEST, date_rules
from smart101_dash.sql import quote_identifier as q

EXAMPLES = 5  # USUBJIDs shown per finding


# Rules that say the files could not be read (rather than that the data break a rule): a
# cut with one of them is not shown while an earlier good cut is at hand (store.Database).
UNREADABLE = "unreadable or truncated Parquet"
CANNOT_READ = "cannot be read"
PART_UNREADABLE = "part cannot be read; its rows would be missing"
FOLDER_UNREADABLE = "export folder cannot be read"
NO_FOLDER = "export folder does not exist"
NOT_A_FOLDER = "export path is not a folder"
READ_FAILURES = frozenset({UNREADABLE, CANNOT_READ, PART_UNREADABLE, FOLDER_UNREADABLE, NO_FOLDER,
                           NOT_A_FOLDER})


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
    """Where a dataset lives: one Parquet file, or a folder of parts (Hive partitions allowed),
    with every part listed (read as themselves, never through a glob)."""

    name: str
    path: Path
    is_folder: bool
    parts: tuple[Path, ...]

    def moved(self, folder: Path, copy: Path) -> DatasetSource:
        """The same dataset read from `copy`, a snapshot of `folder`."""
        return DatasetSource(self.name, copy / self.path.relative_to(folder), self.is_folder,
                             tuple(copy / p.relative_to(folder) for p in self.parts))

    @property
    def partition_keys(self) -> tuple[str, ...]:
        return partition_keys(self.parts, self.path) if self.is_folder else ()

    @property
    def scan_sql(self) -> str:
        """A `read_parquet(...)` expression over the dataset's parts."""
        return read_parquet_sql(self.parts, hive=bool(self.partition_keys))


@dataclass(frozen=True)
class ValidationReport:
    export_dir: Path
    sources: dict[str, DatasetSource]
    row_counts: dict[str, int]
    findings: tuple[Finding, ...] = field(default=())
    # The data cut-off the views use: adsl's DCUTDT, or what stands in for one that cannot be
    # right (plausibility.py); None without a usable adsl.
    cutoff: date | None = None

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
    def readable(self) -> bool:
        """Every file of the export could be read (whatever the data say)."""
        return not any(f.rule in READ_FAILURES for f in self.findings)

    def summary(self, limit: int = 3) -> str:
        """The errors in one line, without subject IDs (for a banner)."""
        errors = [f.format(with_examples=False).split(None, 1)[1] for f in self.errors]
        more = f" (and {len(errors) - limit} more)" if len(errors) > limit else ""
        return ("; ".join(errors[:limit]) + more + ".") if errors else "no error."

    @property
    def ok(self) -> bool:
        """Usable as a whole: no error in any dataset."""
        return not self.errors

    def format_text(self) -> str:
        lines = [f"Export: {self.export_dir}", ""]
        unread = bool(self.findings_for("export"))
        for spec in CONTRACT:
            if unread:
                status = "NOT READ"
            elif spec.name not in self.sources:
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
    """Find each contract dataset as `<name>.parquet` or a folder `<name>/` of Parquet parts.

    Anything on the way that cannot be read (a link loop, a permission, a part that cannot
    be opened) is an error on its dataset: its rows would otherwise be silently missing.
    """
    sources: dict[str, DatasetSource] = {}
    findings: list[Finding] = []
    for spec in CONTRACT:
        file, folder = export_dir / f"{spec.name}.parquet", export_dir / spec.name
        file_kind, folder_kind = _kind(file), _kind(folder)
        problem = next((k for k in (file_kind, folder_kind) if k.startswith("!")), None)
        if problem is not None:
            which = file.name if file_kind == problem else f"{folder.name}/"
            findings.append(Finding(spec.name, None, CANNOT_READ, Severity.ERROR,
                                    detail=f"{which}: {problem[1:]}"))
        elif file_kind and folder_kind:
            findings.append(Finding(spec.name, None, "both a file and a folder of parts exist; "
                                    "keep one", Severity.ERROR,
                                    detail=f"{file.name} and {folder.name}/"))
        elif file_kind == "file":
            sources[spec.name] = DatasetSource(spec.name, file, False, (file,))
        elif folder_kind == "folder":
            found = walk(folder)
            for lost in found.unreachable:
                findings.append(Finding(spec.name, None, PART_UNREADABLE, Severity.ERROR,
                                        detail=f"{folder.name}/{lost.path}: {lost.reason}"))
            parts = tuple(folder / rel for rel, *_ in found.files)
            if not parts and not found.unreachable:
                findings.append(Finding(spec.name, None, "folder holds no .parquet part",
                                        Severity.ERROR, detail=f"{folder}"))
            elif parts:
                sources[spec.name] = DatasetSource(spec.name, folder, True, parts)
        elif spec.required:
            findings.append(Finding(spec.name, None, "required dataset is missing", Severity.ERROR,
                                    detail=f"expected {file.name} or {folder.name}/"))
        else:
            findings.append(Finding(spec.name, None, "optional dataset not in this export",
                                    Severity.INFO,
                                    detail="the panels that need it say so"))
    return sources, findings


def _kind(path: Path) -> str:
    """'file', 'folder', '' (nothing there), or '!' and the reason it cannot be read."""
    try:
        os.lstat(path)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return "!" + reason(exc)
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            return "folder"
        with open(path, "rb"):
            return "file"
    except OSError as exc:
        return "!" + reason(exc)


def folder_problem(export_dir: Path) -> Finding | None:
    """Why the export folder itself cannot be read (None: it can)."""
    try:
        info = os.stat(export_dir)
        if not stat.S_ISDIR(info.st_mode):
            return Finding("export", None, NOT_A_FOLDER, Severity.ERROR,
                           detail=str(export_dir))
        with os.scandir(export_dir):
            pass
    except FileNotFoundError:
        return Finding("export", None, NO_FOLDER, Severity.ERROR,
                       detail=str(export_dir))
    except OSError as exc:
        return Finding("export", None, FOLDER_UNREADABLE, Severity.ERROR,
                       detail=f"{export_dir}: {reason(exc)}")
    return None


def validate_export(export_dir: Path | str, copy: Path | None = None) -> ValidationReport:
    """Check every dataset of the export folder against the contract (read-only). Never
    raises for what is on disk: every failure to read is a finding.

    `copy`: a snapshot of the folder's files (export_files.snapshot): the files are found
    in the folder, and read from the copy (so are the views made from the report's sources).
    """
    export_dir = resolved(export_dir)
    problem = folder_problem(export_dir)
    if problem is not None:
        return ValidationReport(export_dir, {}, {}, (problem,))
    sources, findings = locate_datasets(export_dir)
    if copy is not None:
        sources = {name: source.moved(export_dir, copy) for name, source in sources.items()}
    con = duckdb.connect()  # private in-memory database: validation never touches the app's
    try:
        row_counts: dict[str, int] = {}
        for name, source in sources.items():
            found, n_rows = _check_dataset(con, DATASETS[name], source)
            findings.extend(found)
            if n_rows is not None:
                row_counts[name] = n_rows
        cutoff = None
        if _usable("adsl", sources, findings):
            cutoff, found = guarded_cutoff(con, export_dir)
            findings.extend(found)
        findings.extend(_checks_across_datasets(con, sources, findings, cutoff))
    finally:
        con.close()
    if copy is not None:  # a message names the file in the export, not in the private copy
        findings = [replace(f, detail=f.detail.replace(str(copy), str(export_dir)))
                    for f in findings]
    return ValidationReport(export_dir, sources, row_counts, tuple(findings), cutoff)


def _usable(name: str, sources: dict[str, DatasetSource], findings: list[Finding]) -> bool:
    return name in sources and not any(f.dataset == name and f.severity is Severity.ERROR
                                       for f in findings)


def guarded_cutoff(con: duckdb.DuckDBPyConnection, export_dir: Path
                   ) -> tuple[date | None, list[Finding]]:
    try:
        return effective_cutoff(con, export_dir)
    except (duckdb.Error, OSError) as exc:
        return None, [Finding("adsl", None, UNREADABLE, Severity.ERROR,
                              detail=_first_line(exc))]


def effective_cutoff(con: duckdb.DuckDBPyConnection, export_dir: Path,
                     today: date | None = None) -> tuple[date | None, list[Finding]]:
    """adsl's data cut-off, unless it is after today or before 1950: then the cut folder's
    date (a folder of cuts names each by it), else the latest date in adsl up to today."""
    today = today or date.today()
    row = con.execute("SELECT mode(DCUTDT) FROM adsl").fetchone()
    stated = row[0] if row else None
    if stated is None or EARLIEST <= stated <= today:
        return stated, []
    named = cut_date(export_dir.name)
    if named is not None and EARLIEST <= named <= today:
        cutoff, source = named, "the cut folder's name"
    else:
        present = {r[0] for r in con.execute("DESCRIBE adsl").fetchall()}
        dates = [c.name for c in DATASETS["adsl"].columns if c.kind is Kind.DATE
                 and c.name in present]
        latest = con.execute(
            f"SELECT max(d) FROM (SELECT unnest([{', '.join(q(c) for c in dates)}]) AS d "
            "FROM adsl) WHERE d BETWEEN $1 AND $2", [EARLIEST, today]).fetchone()
        cutoff, source = (latest[0] if latest else None), "the latest date in adsl"
    why = "after today" if stated > today else "before 1950"
    stands_in = f"{cutoff} ({source}) is used instead" if cutoff else "no date can stand in"
    n, eg = _examples(con, "adsl", "DCUTDT = $1", [stated])
    return cutoff, [Finding("adsl", "DCUTDT", f"data cut-off {why} ({stated}); not used",
                            Severity.WARNING, n, eg, detail=stands_in)]


def _checks_across_datasets(con: duckdb.DuckDBPyConnection, sources: dict[str, DatasetSource],
                            findings: list[Finding], cutoff: date | None) -> list[Finding]:
    """Rules that join a dataset with adsl, and dates that cannot be right. A dataset whose
    bytes fail to decode only now (a page corrupted past the first read) becomes unreadable,
    like any other."""
    usable = {n for n in sources if _usable(n, sources, findings)}
    found: list[Finding] = []
    checks: list[tuple[str, Callable[[], list[Finding]]]] = []
    if "adsl" in usable:
        checks.append(("adsl", lambda: _check_adsl_rules(con)))
        checks += [(name, lambda name=name: _check_against_adsl(con, DATASETS[name]))
                   for name in sorted(usable - {"adsl"})]
    if cutoff is not None:
        checks += [(name, lambda name=name: _date_findings(con, name, cutoff))
                   for name in (d.name for d in CONTRACT if d.name in usable)]
    if "adgvhd" in usable:
        checks.append(("adgvhd", lambda: _check_magic_grades(con)))
    for name, check in checks:
        found.extend(guarded(name, check))
    return found


def guarded(dataset: str, check: Callable[[], list[Finding]]) -> list[Finding]:
    """Run one check; a read that fails becomes an error finding on `dataset`."""
    try:
        return check()
    except (duckdb.Error, OSError) as exc:
        return [Finding(dataset, None, UNREADABLE, Severity.ERROR,
                        detail=_first_line(exc))]


def _examples(con: duckdb.DuckDBPyConnection, relation: str, condition: str,
              params: Iterable[object] = ()) -> tuple[int, tuple[str, ...]]:
    """Rows of `relation` meeting `condition`: their number and a few USUBJIDs.

    An aggregate FILTER, never a WHERE: DuckDB may skip a row group on its statistics for a
    WHERE, and those do not know NaN (`WHERE isnan(x)` finds nothing).
    """
    row = con.execute(
        f"SELECT count(*) FILTER (WHERE {condition}), list_sort(list_distinct("
        f"list(USUBJID) FILTER (WHERE {condition})))[1:{EXAMPLES}] FROM {relation}",
        list(params)).fetchone()
    assert row is not None
    return int(row[0]), tuple(str(u) for u in (row[1] or []))


def _check_dataset(con: duckdb.DuckDBPyConnection, spec: Dataset,
                   source: DatasetSource) -> tuple[list[Finding], int | None]:
    """Readability, emptiness, columns and types, then per-column value rules. A read that
    fails at any step leaves the dataset out with an error, never a traceback."""
    try:
        con.execute(f"CREATE OR REPLACE VIEW {q(spec.name)} AS SELECT * FROM {source.scan_sql}")
        types = {r[0]: str(r[1]) for r in con.execute(f"DESCRIBE {q(spec.name)}").fetchall()}
        # Every value of every column is decoded (a hash of each): a count alone reads only
        # the definition levels and misses a corrupt page of values.
        decoded = ", ".join(f"max(hash({q(c)}))" for c in types)
        counted = con.execute(f"SELECT count(*), {decoded} FROM {q(spec.name)}").fetchone()
        assert counted is not None
        n_rows = int(counted[0])
        if n_rows == 0:
            return [Finding(spec.name, None, "dataset is empty", Severity.ERROR)], 0
        return _check_columns(con, spec, types) + _check_partitions(con, spec, source), n_rows
    except (duckdb.Error, OSError) as exc:
        con.execute(f"DROP VIEW IF EXISTS {q(spec.name)}")
        return [Finding(spec.name, None, UNREADABLE, Severity.ERROR,
                        detail=_first_line(exc))], None


def _check_columns(con: duckdb.DuckDBPyConnection, spec: Dataset,
                   types: dict[str, str]) -> list[Finding]:
    name = spec.name
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
            findings.extend(_check_values(con, name, col, floating=actual in FLOATING))
    if "USUBJID" in types and name == "adsl":
        n, eg = _examples(con, "adsl", "USUBJID IN (SELECT USUBJID FROM adsl GROUP BY USUBJID "
                          "HAVING count(*) > 1)")
        if n:
            findings.append(Finding(name, "USUBJID", "duplicate USUBJID (adsl has one row per "
                                    "subject)", Severity.ERROR, n, eg))
    return findings


def _check_partitions(con: duckdb.DuckDBPyConnection, spec: Dataset,
                      source: DatasetSource) -> list[Finding]:
    """A Hive partition folder (`PARAMCD=CD4/`) must agree with the same column inside its
    files: DuckDB would let the folder name win without a word."""
    findings: list[Finding] = []
    keys = source.partition_keys
    if not keys:
        return findings
    inside = read_parquet_sql(source.parts, hive=False, filename=True)
    present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {inside}").fetchall()}
    for key in (k for k in keys if k in present):
        folder = "regexp_extract(filename, '/' || $1 || '=([^/]*)/', 1)"
        n, eg = _examples(con, f"(SELECT * FROM {inside})",
                          f"{q(key)} IS NOT NULL AND CAST({q(key)} AS VARCHAR) <> {folder}",
                          [key])
        if n:
            findings.append(Finding(spec.name, key, f"the partition folder ({key}=...) "
                                    "contradicts the column inside its file", Severity.ERROR,
                                    n, eg))
    return findings


FLOATING = frozenset({"FLOAT", "DOUBLE"})


def _check_values(con: duckdb.DuckDBPyConnection, dataset: str, col: Column,
                  floating: bool = False) -> list[Finding]:
    findings: list[Finding] = []
    c = q(col.name)
    if not col.nullable:
        n, eg = _examples(con, q(dataset), f"{c} IS NULL")
        if n:
            findings.append(Finding(dataset, col.name, "missing value where one is required",
                                    Severity.ERROR, n, eg))
    if floating:
        findings.extend(_not_a_number(con, dataset, col))
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
        finite = f"isfinite({c})" if floating else "true"
        n, eg = _examples(con, q(dataset), f"{c} IS NOT NULL AND {finite} AND ({c} < $1 OR "
                          f"{c} > $2)", [lo, hi])
        if n:
            rule = f"value outside the range {_fmt(col.minimum)} to {_fmt(col.maximum)}"
            findings.append(Finding(dataset, col.name, rule, Severity.ERROR, n, eg))
    return findings


def _not_a_number(con: duckdb.DuckDBPyConnection, dataset: str, col: Column) -> list[Finding]:
    """NaN and infinities: a required value that is not a number is missing (an error); an
    optional one is not used (the cut's view reads it as missing).

    `NOT isfinite(x)`, not `isnan(x)`: DuckDB folds `isnan` to false from Parquet statistics,
    which do not count NaN.
    """
    c = q(col.name)
    n, eg = _examples(con, q(dataset), f"{c} IS NOT NULL AND NOT isfinite({c})")
    if not n:
        return []
    if col.nullable:
        return [Finding(dataset, col.name, "not a number (NaN or infinite); read as missing",
                        Severity.WARNING, n, eg)]
    return [Finding(dataset, col.name, "not a number (NaN or infinite) where a value is "
                    "required", Severity.ERROR, n, eg)]


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
    return findings


def _date_findings(con: duckdb.DuckDBPyConnection, dataset: str, cutoff: date
                   ) -> list[Finding]:
    """Dates that cannot be right (plausibility.py): one warning per column and reason,
    saying what the pages do with them."""
    present = {r[0] for r in con.execute(f"DESCRIBE {q(dataset)}").fetchall()}
    findings = []
    for rule in date_rules(dataset, present, cutoff):
        rows = con.execute(
            f"SELECT reason, count(*), list_sort(list_distinct(list(USUBJID)))[1:{EXAMPLES}] "
            f"FROM (SELECT ({rule.reason_sql}) AS reason, USUBJID FROM {q(dataset)}) "
            "GROUP BY reason HAVING reason IS NOT NULL ORDER BY reason").fetchall()
        for why, n, eg in rows:
            findings.append(Finding(dataset, rule.column, f"dated {why}; {rule.consequence(why)}",
                                    Severity.WARNING, int(n), tuple(str(u) for u in eg)))
    return findings


def _check_against_adsl(con: duckdb.DuckDBPyConnection, spec: Dataset) -> list[Finding]:
    """Records must belong to a subject of adsl; one dated before day 0 is outside every
    post-transplant window (the pages that show days before transplant still show it)."""
    name = q(spec.name)
    findings = []
    n, eg = _examples(con, name, "USUBJID NOT IN (SELECT USUBJID FROM adsl)")
    if n:
        findings.append(Finding(spec.name, "USUBJID", "subject not in adsl; left out of every "
                                "panel", Severity.WARNING, n, eg))
    joined = f"(SELECT d.*, s.HSCTDT AS HSCTDT FROM {name} d JOIN adsl s USING (USUBJID))"
    for column in spec.event_dates:
        n, eg = _examples(con, joined, f"{q(column)} < HSCTDT")
        if n:
            findings.append(Finding(spec.name, column, "dated before the transplant (day 0); "
                                    "left out of post-transplant endpoints", Severity.WARNING,
                                    n, eg))
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
