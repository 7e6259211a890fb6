"""The data layer: fingerprints, one schema of views per cut, cached queries, fresh cursors."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from export_factory import adsl_rows, to_table, write_export
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.export_files import COMPLETE_MARKER
from smart101_dash.filters import Filters
from smart101_dash.panels.common import COHORT_COUNTS_SQL, cohort_counts
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.runner import build_panel
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


def test_a_value_of_the_cut_is_made_once_and_dropped_with_the_cut(export: Path,
                                                                  db: Database) -> None:
    cut = db.load(export)
    made: list[str] = []

    def make(name: str) -> object:
        return lambda: made.append(name) or len(made)

    assert db.once(cut, "rules", make("rules")) == 1
    db.clear_results()  # a query cache cleared keeps the cut's own values
    assert db.once(cut, "rules", make("again")) == 1
    assert db.once(cut, ("rules", "other file"), make("other")) == 2
    for extra in range(1, KEPT_CUTS + 1):
        replace_adsl(export, extra)
        newest = db.load(export)
    assert db.once(newest, "rules", make("newest")) == 3
    # The first cut is no longer kept: its values went with it, and are not kept again.
    assert db.once(cut, "rules", make("dropped")) == 4
    assert db.once(cut, "rules", make("dropped")) == 5


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


# Exports that change under the app: the last good cut, settling, leases.

def half_write(path: Path) -> None:
    """A dataset caught half-written: the first half of its bytes."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_half_written_dataset_keeps_the_last_good_cut(export: Path, db: Database) -> None:
    good = db.load(export)
    whole = (export / "adae.parquet").read_bytes()
    half_write(export / "adae.parquet")
    shown = db.load(export)
    assert shown.fingerprint == good.fingerprint
    assert "cannot be used" in shown.notice and "adae" in shown.notice
    assert f"export {good.fingerprint}" in shown.notice
    (export / "adae.parquet").write_bytes(whole)  # the write completes
    done = db.load(export)
    assert done.fingerprint not in (good.fingerprint, "") and done.notice == ""
    assert done.report.is_usable("adae")


def test_a_newer_cut_without_adsl_keeps_the_last_good_cut(export: Path, db: Database) -> None:
    good = db.load(export)
    (export / "adsl.parquet").unlink()
    shown = db.load(export)
    assert shown.fingerprint == good.fingerprint
    assert "adsl" in shown.notice


def test_a_broken_newest_dated_cut_falls_back_to_the_cut_before(tmp_path: Path,
                                                                 db: Database) -> None:
    write_export(tmp_path / "cuts" / "2025-01-31")
    newest = write_export(tmp_path / "cuts" / "2025-06-30")
    half_write(newest / "adsl.parquet")
    shown = db.load(tmp_path / "cuts")
    assert shown.export_dir.name == "2025-01-31"
    assert "2025-06-30" in shown.notice and "adsl" in shown.notice
    assert db.query(shown, Query("SELECT count(*) AS n FROM adsl")).loc[0, "n"] == 6


def test_without_a_good_cut_the_broken_one_is_shown(export: Path, db: Database) -> None:
    half_write(export / "adae.parquet")
    shown = db.load(export)
    assert shown.notice == "" and not shown.report.is_usable("adae")


def test_a_cut_being_written_is_loaded_once_it_settles(export: Path, db: Database) -> None:
    good = db.load(export)
    db.settle_seconds = 0.6
    replace_adsl(export, 1)  # just changed
    shown = db.load(export)
    assert shown.fingerprint == good.fingerprint and "being written" in shown.notice
    time.sleep(0.7)
    settled = db.load(export)
    assert settled.fingerprint != good.fingerprint and settled.notice == ""


def test_the_complete_marker_loads_a_cut_at_once(export: Path, db: Database) -> None:
    db.load(export)
    db.settle_seconds = 60
    replace_adsl(export, 1)
    assert "being written" in db.load(export).notice
    (export / COMPLETE_MARKER).write_text("")  # the export job's last step
    assert db.load(export).notice == ""
    replace_adsl(export, 2)  # a new write after the marker: waits again
    assert "being written" in db.load(export).notice


def test_a_first_load_waits_for_a_cut_being_written(export: Path, db: Database) -> None:
    db.settle_seconds = 0.5
    replace_adsl(export, 1)
    started = time.monotonic()
    cut = db.load(export)
    assert time.monotonic() - started >= 0.4
    assert cut.notice == "" and cut.report.ok


def test_a_leased_cut_keeps_its_views_however_many_cuts_arrive(export: Path,
                                                              db: Database) -> None:
    count = Query("SELECT count(*) AS n FROM adsl")
    with db.lease():
        leased = db.load(export)
        with ThreadPoolExecutor(1) as other_session:  # another page loads newer cuts
            for extra in range(1, KEPT_CUTS + 3):
                replace_adsl(export, extra)
                other_session.submit(db.load, export).result()
        # Its own files were replaced: the cut still reads the ones it was made of.
        assert db.query(leased, count, cache=False).loc[0, "n"] == 6
    replace_adsl(export, 9)
    db.load(export)  # released: the next cut past the limit pushes it out
    with pytest.raises(Exception, match="cut_"):
        db.query(leased, count, cache=False)


def test_every_cut_a_page_loads_keeps_its_views_until_it_ends(export: Path,
                                                               db: Database) -> None:
    with db.lease():
        cuts = [db.load(export)]
        for extra in range(1, KEPT_CUTS + 2):
            replace_adsl(export, extra)
            cuts.append(db.load(export))
        counts = [db.query(c, Query("SELECT count(*) AS n FROM adsl"), cache=False).loc[0, "n"]
                  for c in cuts]
    assert counts == [6 + extra for extra in range(KEPT_CUTS + 2)]


def test_many_cuts_published_while_pages_are_drawn(export: Path, db: Database) -> None:
    """An export job publishing a cut every 30 ms while three sessions draw pages: no page
    fails, and each draws one cut throughout."""
    stop = threading.Event()

    def publish() -> int:
        published = 0
        while not stop.is_set():
            published += 1
            replace_adsl(export, published % 7)
            time.sleep(0.03)
        return published

    def session() -> int:
        drawn = 0
        while not stop.is_set():
            with db.lease():
                cut = db.load(export)
                for panel in ("overview", "survival"):
                    result = build_panel(find_panel(panel), db, cut, Filters(), SETTINGS,
                                         ANALYST)
                    assert result.items
                drawn += 1
        return drawn

    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(publish)] + [pool.submit(session) for _ in range(3)]
        time.sleep(4)
        stop.set()
        published, *drawn = [job.result() for job in jobs]
    assert published > 20 and all(n > 0 for n in drawn)


def test_adsl_numbers_its_subjects_whatever_the_files_hold(tmp_path: Path) -> None:
    # The analysis tables join the population on adsl's number (`subject`), not on USUBJID:
    # the same numbers must come out when adsl's rows come in another order and when the
    # files have a column of that name of their own (it is not in the contract).
    import pyarrow as pa
    from export_factory import valid_tables
    from viewers import DSMB

    from smart101_dash.analysis import analysis_tables
    from smart101_dash.panels.registry import PANELS
    from smart101_dash.store import SUBJECT_NUMBER

    plain = write_export(tmp_path / "plain")
    tables = valid_tables()
    adsl = tables["adsl"]
    adsl = adsl.take(pa.array(range(adsl.num_rows - 1, -1, -1)))
    tables["adsl"] = adsl.append_column(SUBJECT_NUMBER, pa.array(["x"] * adsl.num_rows))
    odd = write_export(tmp_path / "odd", tables)
    db = Database()
    cuts = [db.load(plain), db.load(odd)]
    assert all(cut.report.ok for cut in cuts)
    for cut in cuts:
        numbered = db.query(cut, Query(f"SELECT USUBJID, {SUBJECT_NUMBER} FROM adsl "
                                       f"ORDER BY {SUBJECT_NUMBER}"))
        assert numbered[SUBJECT_NUMBER].tolist() == list(range(1, len(numbered) + 1))
        assert numbered["USUBJID"].tolist() == sorted(numbered["USUBJID"])
        tables = analysis_tables(db, cut, SETTINGS.endpoints)
        listing, _ = tables.subjects(db, Filters(), DSMB)
        assert SUBJECT_NUMBER not in listing.columns and len(listing) == len(numbered)
    for spec in PANELS:
        shown = [build_panel(spec, db, cut, Filters(), SETTINGS, DSMB) for cut in cuts]
        assert [i.key for i in shown[0].items] == [i.key for i in shown[1].items], spec.key
        for a, b in zip(shown[0].items, shown[1].items, strict=True):
            assert SUBJECT_NUMBER not in a.data.columns, (spec.key, a.key)
            pd.testing.assert_frame_equal(a.data, b.data, obj=f"{spec.key}: {a.key}")
