"""The data layer: one DuckDB database per process, views over each export cut, cached queries.

- Each cut of the export (identified by its fingerprint: file names, sizes and modification
  times) gets its own schema of views, so a query never mixes two cuts and a new export
  written by temp-file-and-rename is picked up on the next call to `Database.load`.
- Every query runs on a fresh cursor (DuckDB connections are not safe to share across
  Streamlit's threads), with every value bound as a parameter.
- Results are cached by (fingerprint, SQL, parameters); a cached frame is copied on the way out
  so callers cannot change it for each other.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from smart101_dash.access import AccessDenied, Permission, Viewer
from smart101_dash.config import settle_seconds
from smart101_dash.contract import DATASETS, Kind
from smart101_dash.cuts import cut_date, newest_cut, sibling_cuts
from smart101_dash.export_files import COMPLETE_MARKER, Walk, snapshot, walk
from smart101_dash.plausibility import view_sql
from smart101_dash.sql import quote_identifier
from smart101_dash.validate import Finding, Severity, ValidationReport, validate_export

KEPT_CUTS = 4  # cuts kept: one shown and one compared with, and older ones still drawn
CACHED_RESULTS = 512
T = TypeVar("T")
# Read into memory when the cut loads, not a view over the files: every query's population
# starts from adsl (one row a subject), and binding the view (Parquet scan and the dates'
# rules) cost 4-5 ms of each query's planning; the table binds in under 1 ms.
MATERIALIZED = frozenset({"adsl"})
# adsl's integer key (its rows numbered in USUBJID's order), carried by every analysis table:
# they join the filtered population on it, at registry scale about twice as fast as on the
# text of USUBJID. Not an export column: one of that name in the files is left out.
SUBJECT_NUMBER = "subject"
SQL_TYPES = {Kind.STRING: "VARCHAR", Kind.INTEGER: "BIGINT", Kind.NUMBER: "DOUBLE",
             Kind.DATE: "DATE"}


def _numbered(select: str, clashes: bool) -> str:
    """adsl's SELECT with its rows numbered (`SUBJECT_NUMBER`); `clashes`: the files have a
    column of that name, left out (it is not in the contract)."""
    drop = f" EXCLUDE ({SUBJECT_NUMBER})" if clashes else ""
    return (f"SELECT *{drop}, CAST(row_number() OVER (ORDER BY USUBJID) AS INTEGER) AS "
            f"{SUBJECT_NUMBER} FROM ({select})")


def export_fingerprint(export_dir: Path) -> str:
    """A short hash of the export's Parquet files (relative names, sizes, modification times)
    and of what could not be read."""
    return walk(export_dir).fingerprint()


@dataclass(frozen=True)
class Query:
    """A SQL text with its named parameters: what ran, and what "Show query" prints.

    `subject_level`: the rows are shown as they are, one per subject or record (a listing), so
    only a viewer with the subject_level permission may run it. Queries whose rows feed an
    estimate or a count, and never reach the screen themselves, are not.
    """

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    subject_level: bool = False

    def cache_key(self) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return self.sql, tuple(sorted((k, _hashable(v)) for k, v in self.params.items()))

    def format_params(self) -> str:
        return "\n".join(f"${k} = {v!r}" for k, v in sorted(self.params.items()))


class DatasetUnavailable(Exception):
    """A panel asked for a dataset that this export lacks or that failed validation."""

    def __init__(self, dataset: str, findings: tuple[Finding, ...]) -> None:
        self.dataset = dataset
        self.findings = findings
        super().__init__(self.describe(with_examples=True))

    def describe(self, with_examples: bool) -> str:
        """The reason in words; without subject IDs for a viewer who may not see them."""
        errors = [f for f in self.findings if f.severity is Severity.ERROR]
        if not errors:
            return f"Dataset {self.dataset} is not in this export."
        reason = "; ".join(f.format(with_examples) for f in errors[:3])
        return f"Dataset {self.dataset} failed validation and is left out: {reason}"


class ExportUnreadable(Exception):
    """The export's files could not be read while a query ran (changed or damaged after
    they were checked): a message for the page, not a bug."""

    def describe(self) -> str:
        return (f"The export could not be read while drawing this: {self}. Its files may have "
                "changed or been damaged since they were checked; the other pages still work.")


@dataclass(frozen=True)
class ExportCut:
    """One loaded cut of the export: where it is, its fingerprint, what validation found."""

    export_dir: Path
    fingerprint: str
    report: ValidationReport
    cutoff: date | None
    study_id: str | None
    # The columns each usable dataset has in the files (its view adds the absent optional
    # ones as NULL): a derivation that needs to know whether a column was sent asks here.
    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Why this cut is shown rather than the newer one in its folder (being written, or
    # unusable); empty when it is the newest.
    notice: str = ""
    copy: Path | None = None  # the private copy of its files that its views read

    @property
    def schema(self) -> str:
        """The DuckDB schema of its views: one per folder and fingerprint (two folders holding
        the same files are two cuts, each reading its own copy)."""
        folder = hashlib.sha256(str(self.export_dir).encode()).hexdigest()[:6]
        return f"cut_{self.fingerprint}_{folder}"

    @property
    def servable(self) -> bool:
        """Fit to show: every file could be read and adsl is usable."""
        return self.report.readable and self.report.is_usable("adsl")

    def describe(self) -> str:
        cutoff = self.cutoff.isoformat() if self.cutoff else "unknown cut-off"
        where = "" if self.export_dir.name == cutoff else f" in {self.export_dir.name}"
        return f"the cut of {cutoff}{where} (export {self.fingerprint})"

    def has_column(self, dataset: str, column: str) -> bool:
        """Whether the export sent `dataset.column` (not just its NULL stand-in)."""
        return column in self.columns.get(dataset, frozenset())

    def require(self, *datasets: str) -> None:
        """Raise DatasetUnavailable for the first of `datasets` that cannot be used."""
        for name in datasets:
            if not self.report.is_usable(name):
                raise self.unavailable(name)

    def unavailable(self, name: str) -> DatasetUnavailable:
        """Why `name` cannot be used: its findings, or the folder's when it was not read."""
        return DatasetUnavailable(name, self.report.findings_for(name)
                                  or self.report.findings_for("export"))


class Database:
    """The process's DuckDB database (in memory; views only, so nothing is written anywhere)."""

    def __init__(self) -> None:
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self._cuts: OrderedDict[tuple[Path, str], ExportCut] = OrderedDict()
        self._results: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._derived: dict[str, Any] = {}  # analysis schema -> what derived() returned
        self._once: dict[tuple[str, Hashable], Any] = {}  # (fingerprint, key) -> once()'s value
        self._deriving: dict[str, threading.Lock] = {}
        self._creating: dict[tuple[Path, str], threading.Lock] = {}
        self._good: dict[Path, ExportCut] = {}  # each folder's newest cut that could be shown
        self._in_use: dict[tuple[Path, str], int] = {}  # cuts leased by running pages
        self._held = threading.local()  # the running page's leases, in its thread
        self.settle_seconds = settle_seconds()
        # Each cut is read from a copy of its files (export_files.snapshot), kept here and
        # removed with the cut, or when the process ends.
        self._copies = Path(tempfile.mkdtemp(prefix="smart101-cuts-"))
        weakref.finalize(self, shutil.rmtree, self._copies, True)

    def load(self, export_dir: Path | str) -> ExportCut:
        """The cut currently in `export_dir` (its newest, for a folder of cuts): validated and
        given views on first sight.

        A cut still being written (changed less than `settle_seconds` ago, with no complete
        marker after its last change) and a cut that cannot be read or lacks adsl are not
        shown while a good one is at hand: the last good cut of the folder (or the newest good
        earlier cut beside it) is returned, with a `notice` naming the newer one. The cut
        returned is leased to the running page (`lease`): its views stay while it runs.
        """
        folder = newest_cut(export_dir)
        seen = walk(folder)
        fallback = self._fallback(folder)
        if fallback is not None and not self._settled(seen):
            return replace(fallback, notice=(
                f"A new export is being written in {folder.name}: it will be shown when its "
                f"files have not changed for {self.settle_seconds:g} s (or when the export "
                f"job writes {COMPLETE_MARKER}). Shown meanwhile: {fallback.describe()}."))
        if fallback is None:
            seen = self._wait_until_settled(folder, seen)
        cut = self._cut(folder, seen)
        if cut.servable:
            with self._lock:
                self._good[folder] = cut
            return cut
        fallback = self._fallback(folder)
        if fallback is None:
            return cut
        return replace(fallback, notice=(
            f"A newer export in {folder.name} (export {cut.fingerprint}) cannot be used: "
            f"{cut.report.summary()} Shown instead: {fallback.describe()}."))

    def _settled(self, seen: Walk) -> bool:
        quiet = time.time_ns() - seen.last_change_ns >= self.settle_seconds * 1e9
        return quiet or seen.is_marked_complete()

    def _wait_until_settled(self, folder: Path, seen: Walk) -> Walk:
        """With nothing else to show, wait (a few seconds at most) for a cut being written."""
        deadline = time.monotonic() + self.settle_seconds
        while not self._settled(seen) and time.monotonic() < deadline:
            time.sleep(min(0.2, self.settle_seconds))
            seen = walk(folder)
        return seen

    def _fallback(self, folder: Path) -> ExportCut | None:
        """The last good cut of `folder`, else the newest good cut before it in its folder
        of cuts (loaded if need be)."""
        with self._lock:
            good = self._good.get(folder)
            if good is not None:
                self._hold(good)
                return good
        earlier = [c.path for c in sibling_cuts(folder) if c.path != folder
                   and c.cutoff is not None and (cut_date(folder.name) or date.max) > c.cutoff]
        for path in reversed(earlier):
            with self._lock:
                good = self._good.get(path)
                if good is not None:
                    self._hold(good)
            if good is None:
                candidate = self._cut(path, walk(path))
                good = candidate if candidate.servable else None
            if good is not None:
                return good
        return None

    def _cut(self, folder: Path, seen: Walk) -> ExportCut:
        """The cut of `folder` as `seen`: known, or copied, validated and given views now
        (one creation per cut at a time; queries on other cuts go on meanwhile)."""
        fingerprint = seen.fingerprint()
        key = (folder, fingerprint)
        with self._lock:
            if key in self._cuts:
                self._cuts.move_to_end(key)
                return self._hold(self._cuts[key])
            creating = self._creating.setdefault(key, threading.Lock())
        with creating:
            with self._lock:
                if key in self._cuts:
                    return self._hold(self._cuts[key])
            cut = self._create_cut(folder, seen)
            with self._lock:
                self._cuts[key] = cut
                self._creating.pop(key, None)
                self._evict(protect=key)
                return self._hold(cut)

    @contextmanager
    def lease(self) -> Iterator[None]:
        """While a page runs: the cuts it loads keep their views (and analysis tables) until
        it ends, however many newer cuts arrive meanwhile."""
        held: list[tuple[Path, str]] = []
        outer = getattr(self._held, "keys", None)
        self._held.keys = held
        try:
            yield
        finally:
            self._held.keys = outer
            with self._lock:
                for key in held:
                    self._in_use[key] -= 1
                    if not self._in_use[key]:
                        del self._in_use[key]
                self._evict()

    def _hold(self, cut: ExportCut) -> ExportCut:
        """Lease `cut` to the running page, if one runs in this thread (under the lock, so
        no other thread can drop it between its lookup and its lease)."""
        held = getattr(self._held, "keys", None)
        if held is not None:
            key = (cut.export_dir, cut.fingerprint)
            self._in_use[key] = self._in_use.get(key, 0) + 1
            held.append(key)
        return cut

    def _evict(self, protect: tuple[Path, str] | None = None) -> None:
        """Drop the least recently used cuts past KEPT_CUTS (under the lock): never one a page
        is using, nor `protect` (just made, about to be returned); a folder's last good cut
        only after the others (it is what that folder shows while a newer cut is unusable)."""
        good = {(c.export_dir, c.fingerprint) for c in self._good.values()}
        candidates = sorted((k for k in self._cuts if k not in self._in_use and k != protect),
                            key=lambda k: k in good)  # stable: least recently used first
        for key in candidates[:max(0, len(self._cuts) - KEPT_CUTS)]:
            old = self._cuts.pop(key)
            if self._good.get(old.export_dir) is old:
                del self._good[old.export_dir]
            for schema in [old.schema, *(k for k in self._derived
                                         if k.startswith(old.schema + "_"))]:
                self._con.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(schema)} CASCADE")
                self._derived.pop(schema, None)
            self._drop_results(old.fingerprint)
            for key in [k for k in self._once if k[0] == old.fingerprint]:
                del self._once[key]
            if old.copy is not None:
                shutil.rmtree(old.copy, ignore_errors=True)

    def _create_cut(self, export_dir: Path, seen: Walk) -> ExportCut:
        """Copy the cut's files, validate them, and give the usable datasets views."""
        fingerprint = seen.fingerprint()
        copy = Path(tempfile.mkdtemp(prefix=f"{fingerprint}-", dir=self._copies))
        snapshot(export_dir, seen, copy)
        report = validate_export(export_dir, copy)
        cut = ExportCut(export_dir, fingerprint, report, report.cutoff, None, copy=copy)
        columns, study_id = self._create_views(cut)
        return replace(cut, study_id=study_id, columns=columns)

    def _create_views(self, cut: ExportCut) -> tuple[dict[str, frozenset[str]], str | None]:
        """One view per usable dataset in the cut's schema (a table for those MATERIALIZED):
        the columns each has in the files, and the study's identifier."""
        report, schema = cut.report, quote_identifier(cut.schema)
        columns: dict[str, frozenset[str]] = {}
        study_id = None
        cur = self._con.cursor()
        try:
            cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for name in report.usable_datasets:
                scan = report.sources[name].scan_sql
                described = cur.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
                present = {r[0]: str(r[1]) for r in described}
                columns[name] = frozenset(present)
                # Optional columns the export lacks become typed NULLs, so panel SQL can name
                # every contract column; dates that cannot be right read as missing.
                absent = "".join(
                    f", CAST(NULL AS {SQL_TYPES[c.kind]}) AS {quote_identifier(c.name)}"
                    for c in DATASETS[name].columns if c.name not in present)
                floating = {c for c, t in present.items() if t in ("FLOAT", "DOUBLE")}
                select = view_sql(name, f"(SELECT *{absent} FROM {scan})", set(present),
                                  report.cutoff, floating)
                if name == "adsl":
                    select = _numbered(select, SUBJECT_NUMBER in present)
                kind = "TABLE" if name in MATERIALIZED else "VIEW"
                cur.execute(f"CREATE OR REPLACE {kind} {schema}.{quote_identifier(name)} AS "
                            f"{select}")
            if report.is_usable("adsl"):
                row = cur.execute(f"SELECT min(STUDYID) FROM {schema}.adsl").fetchone()
                study_id = row[0] if row is not None else None
        finally:
            cur.close()
        return columns, study_id

    def query(self, cut: ExportCut, query: Query, viewer: Viewer | None = None, *,
              search: tuple[str, ...] = (), cache: bool = True) -> pd.DataFrame:
        """Run `query` against `cut` on a fresh cursor; cached by fingerprint, schemas searched,
        SQL and params (`cache=False`: not kept, for large one-off reads).

        `search`: schemas searched after the cut's views (its analysis tables).
        A subject-level query runs only for a `viewer` with the subject_level permission: the
        check is here, where the rows are read, not in the widgets that would show them.
        """
        if query.subject_level and (viewer is None or not viewer.can(Permission.SUBJECT_LEVEL)):
            role = viewer.role if viewer else "no viewer"
            raise AccessDenied(f"a subject-level read is not allowed for {role!r}")
        key = (cut.fingerprint, search, *query.cache_key())
        with self._lock:
            cached = self._results.get(key)
            if cached is not None:
                self._results.move_to_end(key)
                return cached.copy()
        path = ",".join(_checked_schema(s) for s in (cut.schema, *search))
        cur = self._con.cursor()
        try:
            cur.execute(f"SET search_path = '{path}'")
            frame = cur.execute(query.sql, dict(query.params)).df()
        except (duckdb.IOException, duckdb.InvalidInputException, OSError) as exc:
            raise ExportUnreadable(str(exc).strip().splitlines()[0][:300]) from exc
        finally:
            cur.close()
        if not cache:
            return frame
        with self._lock:
            self._results[key] = frame
            while len(self._results) > CACHED_RESULTS:
                self._results.popitem(last=False)
        return frame.copy()

    def derived(self, cut: ExportCut, schema: str,
                build: Callable[[], tuple[Any, Mapping[str, pd.DataFrame | Query]]]) -> Any:
        """Tables derived from `cut`, made once: `build()` returns a handle and the tables to
        store in `schema`, each a frame or a Query run on the cut (its rows never reach
        Python, and keep their SQL types), stored in order (a Query may read a table stored
        before it); later calls return the handle. One build per
        schema at a time; other cuts and queries go on meanwhile."""
        _checked_schema(schema)
        with self._lock:
            if schema in self._derived:
                return self._derived[schema]
            lock = self._deriving.setdefault(schema, threading.Lock())
        with lock:
            with self._lock:
                if schema in self._derived:
                    return self._derived[schema]
            handle, tables = build()
            cur = self._con.cursor()
            try:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
                cur.execute(f"SET search_path = '{_checked_schema(cut.schema)}'")
                for name, table in tables.items():
                    target = f"{quote_identifier(schema)}.{quote_identifier(name)}"
                    if isinstance(table, Query):
                        try:
                            cur.execute(f"CREATE OR REPLACE TABLE {target} AS {table.sql}",
                                        dict(table.params))
                        except (duckdb.IOException, duckdb.InvalidInputException,
                                OSError) as exc:
                            raise ExportUnreadable(
                                str(exc).strip().splitlines()[0][:300]) from exc
                        continue
                    cur.register("derived_frame", table)
                    cur.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM "
                                "derived_frame")
                    cur.unregister("derived_frame")
            finally:
                cur.close()
            with self._lock:
                if any(c.schema == cut.schema for c in self._cuts.values()):
                    self._derived[schema] = handle
            return handle

    def once(self, cut: ExportCut, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, a value of `cut` that no filter changes (the stopping rules' results),
        made once while the cut is kept, like its analysis tables; `key` names it and what it
        depends on beyond the cut. Not cleared by `clear_results`: it is not a query's result
        but the cut's. Two threads may both compute it the first time (the same value)."""
        full = (cut.fingerprint, key)
        with self._lock:
            if full in self._once:
                return self._once[full]
        value = compute()
        with self._lock:
            if any(c.fingerprint == cut.fingerprint for c in self._cuts.values()):
                self._once[full] = value
        return value

    def read(self, cut: ExportCut, dataset: str, columns: tuple[str, ...],
             viewer: Viewer | None = None) -> pd.DataFrame:
        """Whole columns of one dataset (column names checked against the contract): rows as
        they are, so a subject-level read."""
        cut.require(dataset)
        spec = DATASETS[dataset]
        for column in columns:
            if column not in spec.column_names:
                raise ValueError(f"{dataset}.{column} is not a column of the export contract")
        cols = ", ".join(quote_identifier(c) for c in columns)
        return self.query(cut, Query(f"SELECT {cols} FROM {quote_identifier(dataset)}",
                                     subject_level=True), viewer)

    def clear_results(self, *, once: bool = False) -> None:
        """Forget every cached query result (benchmarks measure the queries themselves);
        `once`: the cuts' own values too (`once`), as a cut's first view finds them."""
        with self._lock:
            self._results.clear()
            if once:
                self._once.clear()

    def _drop_results(self, fingerprint: str) -> None:
        for key in [k for k in self._results if k[0] == fingerprint]:
            del self._results[key]

    def close(self) -> None:
        self._con.close()
        shutil.rmtree(self._copies, ignore_errors=True)


def _checked_schema(schema: str) -> str:
    # Schema names are cut_<hex fingerprint>[_a<hex settings>]; checked so the SET statement
    # can carry no surprise.
    if not schema.startswith("cut_") or not schema[4:].replace("_", "").isalnum():
        raise ValueError(f"unexpected schema name {schema!r}")
    return schema


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_hashable(v) for v in value)
    return value
