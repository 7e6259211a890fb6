"""The data layer: fingerprints, one schema of views per cut, cached queries, fresh cursors."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from export_factory import adsl_rows, to_table, write_export
from viewers import ANALYST

from smart101_dash.filters import Filters
from smart101_dash.panels.common import COHORT_COUNTS_SQL, cohort_counts
from smart101_dash.store import (
    KEPT_CUTS,
    Database,
    DatasetUnavailable,
    Query,
    export_fingerprint,
)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export")


@pytest.fixture
def db() -> Database:
    database = Database()
    yield database
    database.close()


def replace_adsl(export: Path, extra_subjects: int) -> None:
    """Write a new adsl beside the old one and rename it into place (how exports arrive)."""
    rows = adsl_rows()
    for i in range(extra_subjects):
        rows.append({**rows[3], "USUBJID": f"C-X{i}", "SUBJID": f"C-X{i}"})
    pq.write_table(to_table("adsl", rows), export / ".adsl.tmp")
    os.replace(export / ".adsl.tmp", export / "adsl.parquet")


def test_fingerprint_follows_names_sizes_and_mtimes(export: Path) -> None:
    first = export_fingerprint(export)
    assert first == export_fingerprint(export)
    replace_adsl(export, 1)
    second = export_fingerprint(export)
    assert second != first
    os.utime(export / "adinf.parquet", ns=(1, 1))
    assert export_fingerprint(export) != second
    (export / "adinf.parquet").rename(export / "adinf_old.parquet")
    assert export_fingerprint(export) not in (first, second)


def test_load_is_cached_per_cut_and_a_new_cut_gets_new_views(export: Path, db: Database) -> None:
    cut = db.load(export)
    assert db.load(export) is cut
    assert cut.cutoff is not None and cut.cutoff.isoformat() == "2025-06-30"
    assert cut.study_id == "SMART101-01"
    assert cohort_counts(db, cut, Filters()) == {"SMART101": 3, "CONTROL": 3}
    replace_adsl(export, 2)
    new = db.load(export)
    assert new.fingerprint != cut.fingerprint
    assert cohort_counts(db, new, Filters()) == {"SMART101": 3, "CONTROL": 5}


def test_only_the_newest_cuts_are_kept(export: Path, db: Database) -> None:
    cuts = [db.load(export)]
    for extra in range(1, KEPT_CUTS + 1):
        replace_adsl(export, extra)
        cuts.append(db.load(export))
    with pytest.raises(Exception, match="cut_"):  # the oldest cut's schema was dropped
        db.query(cuts[0], Query("SELECT count(*) AS n FROM adsl WHERE USUBJID <> $x", {"x": "?"}))
    assert db.query(cuts[-1], Query("SELECT count(*) AS n FROM adsl")).loc[0, "n"] == (
        6 + KEPT_CUTS)


def test_query_results_are_cached_and_copied(export: Path, db: Database) -> None:
    cut = db.load(export)
    query = Query(COHORT_COUNTS_SQL, Filters().params())
    first = db.query(cut, query)
    first.loc[0, "n"] = 999  # a caller changing its frame must not change the cache
    again = db.query(cut, query)
    assert list(again["n"]) == [3, 3]
    # The cache is keyed by parameters too.
    adults = db.query(cut, Query(COHORT_COUNTS_SQL, Filters(age_groups=("ADULT",)).params()))
    assert list(adults["n"]) == [2, 2]


def test_values_are_bound_not_spliced(export: Path, db: Database) -> None:
    cut = db.load(export)
    hostile = "x') OR 1=1 --"
    frame = db.query(cut, Query(COHORT_COUNTS_SQL, Filters(diagnoses=(hostile,)).params()))
    assert frame.empty


def test_read_only_allows_contract_columns(export: Path, db: Database) -> None:
    cut = db.load(export)
    assert len(db.read(cut, "adae", ("USUBJID", "ATOXGR"), ANALYST)) == 3
    with pytest.raises(ValueError, match="not a column of the export contract"):
        db.read(cut, "adae", ("USUBJID", "1; DROP TABLE adsl"), ANALYST)


def test_unusable_dataset_raises_a_plain_message(export: Path, db: Database) -> None:
    (export / "adgvhd.parquet").write_bytes(b"not parquet")
    cut = db.load(export)
    with pytest.raises(DatasetUnavailable, match="Dataset adgvhd failed validation"):
        db.read(cut, "adgvhd", ("USUBJID",), ANALYST)
    (export / "adgvhd.parquet").unlink()
    cut = db.load(export)
    with pytest.raises(DatasetUnavailable, match="Dataset adgvhd is not in this export"):
        cut.require("adgvhd")


def test_concurrent_queries_each_get_a_cursor(export: Path, db: Database) -> None:
    cut = db.load(export)
    filters = [Filters(), Filters(age_groups=("ADULT",)), Filters(age_groups=("PEDIATRIC",)),
               Filters(cohorts=("CONTROL",)), Filters(arm="GROUP B")]
    expected = [{"SMART101": 3, "CONTROL": 3}, {"SMART101": 2, "CONTROL": 2},
                {"SMART101": 1, "CONTROL": 1}, {"CONTROL": 3}, {"SMART101": 1, "CONTROL": 1}]

    def run(i: int) -> dict[str, int]:
        # Distinct SQL text per call defeats the cache, so every call really queries.
        query = Query(COHORT_COUNTS_SQL + f" -- call {i}", filters[i % 5].params())
        frame = db.query(cut, query)
        return {str(r.cohort): int(r.n) for r in frame.itertuples()}

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(200)))
    assert results == [expected[i % 5] for i in range(200)]


def test_loading_and_querying_write_nothing_to_the_export(export: Path, db: Database) -> None:
    before = sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in export.rglob("*"))
    cut = db.load(export)
    cohort_counts(db, cut, Filters())
    db.read(cut, "adlb", ("USUBJID", "AVAL"), ANALYST)
    after = sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in export.rglob("*"))
    assert after == before


def test_absent_optional_columns_read_as_null(tmp_path: Path, db: Database) -> None:
    from export_factory import valid_tables

    tables = valid_tables()
    tables["adae"] = tables["adae"].drop(["AEOUT"])
    cut = db.load(write_export(tmp_path / "no-aeout", tables))
    assert cut.report.ok
    frame = db.read(cut, "adae", ("USUBJID", "AEOUT"), ANALYST)
    assert frame["AEOUT"].isna().all() and len(frame) == 3


def test_a_subject_level_read_needs_the_permission(export: Path, db: Database) -> None:
    """Called directly, the data layer itself refuses rows about single subjects."""
    from viewers import DSMB, SPONSOR

    from smart101_dash.access import AccessDenied

    cut = db.load(export)
    listing = Query("SELECT USUBJID FROM adsl", subject_level=True)
    for viewer in (None, SPONSOR):
        with pytest.raises(AccessDenied, match="subject-level read is not allowed"):
            db.query(cut, listing, viewer)
        with pytest.raises(AccessDenied):
            db.read(cut, "adsl", ("USUBJID",), viewer)
    assert len(db.query(cut, listing, DSMB)) == 6
