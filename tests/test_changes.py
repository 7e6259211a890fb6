"""Several cuts in one export folder, and what changed between two of them: the changes the
page lists equal those worked out here, in pandas, from the two demo cuts' own tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from export_factory import write_export
from viewers import DSMB, SPONSOR

from smart101_dash.config import SETTINGS
from smart101_dash.cuts import earlier_cut, find_cuts, newest_cut
from smart101_dash.demo import DEFAULT_CUTOFF, as_of, build_demo_export, write_demo_export
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database, Query

EARLIER = date(2026, 6, 30)


@pytest.fixture(scope="module")
def cuts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    write_demo_export(root / "2026-06-30", earlier=EARLIER)
    write_demo_export(root / "2026-10-31")
    (root / "notes").mkdir()  # not a date: not a cut
    return root


@pytest.fixture(scope="module")
def frames() -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    later = build_demo_export()
    return as_of(build_demo_export(), EARLIER), later


def test_find_cuts(cuts: Path, tmp_path: Path) -> None:
    assert [c.label for c in find_cuts(cuts)] == ["2026-06-30", "2026-10-31"]
    assert newest_cut(cuts) == cuts / "2026-10-31"
    assert earlier_cut(cuts / "2026-10-31").path == cuts / "2026-06-30"
    assert earlier_cut(cuts / "2026-06-30") is None
    single = tmp_path / "one"
    single.mkdir()
    assert [c.path for c in find_cuts(single)] == [single] and earlier_cut(single) is None
    # A folder of cuts loads as its newest cut: a folder holding one cut works as before.
    db = Database()
    assert db.load(cuts).cutoff == DEFAULT_CUTOFF
    assert db.load(cuts / "2026-06-30").cutoff == EARLIER


def build(cuts: Path, viewer: object = DSMB, filters: Filters | None = None,
          **options: object):
    db = Database()
    filters = filters or Filters()
    return build_panel(panel("changes"), db, db.load(cuts / "2026-10-31"), filters, SETTINGS,
                       viewer, options)  # type: ignore[arg-type]


def listed(result: object, change: str) -> set[str]:
    subjects = result.item("changes_subjects").data  # type: ignore[attr-defined]
    return set(subjects.loc[subjects["change"] == change, "USUBJID"])


def present(frame: pd.DataFrame, column: str) -> set[str]:
    return set(frame.loc[frame[column].notna(), "USUBJID"])


def test_new_subjects_and_events_equal_the_worked_out_ones(cuts: Path, frames: tuple) -> None:
    old, new = frames
    result = build(cuts)
    adsl_old, adsl_new = old["adsl"], new["adsl"]
    assert listed(result, "Newly enrolled") == set(adsl_new["USUBJID"]) - set(adsl_old["USUBJID"])
    for change, column in (("Newly transplanted", "HSCTDT"), ("Newly infused", "TRTSDT"),
                           ("New death", "DTHDT"), ("New relapse", "RLPSDT")):
        expected = present(adsl_new, column) - present(adsl_old, column)
        assert listed(result, change) == expected, change
        assert expected, f"the demo cuts should have a {change.lower()}"
    deaths = result.item("changes_subjects").data.query("change == 'New death'")
    assert deaths["detail"].isin(["Relapse", "Infection", "GvHD", "Organ toxicity"]).all()

    def keyed(frame: pd.DataFrame, mask: pd.Series, keys: list[str]) -> set[tuple]:
        return set(map(tuple, frame.loc[mask, keys].to_numpy().tolist()))

    ae_old, ae_new = old["adae"], new["adae"]
    keys = ["USUBJID", "AESEQ"]
    for change, qualifies in (("New SAE", lambda f: f["AESER"] == "Y"),
                              ("New grade 3+ AE", lambda f: f["ATOXGR"] >= 3)):
        records = keyed(ae_new, qualifies(ae_new), keys) - keyed(ae_old, qualifies(ae_old), keys)
        assert listed(result, change) == {u for u, _ in records}, change
    worst_old = old["adgvhd"].groupby("USUBJID")["AGVHDGR"].max()
    worst_new = new["adgvhd"].groupby("USUBJID")["AGVHDGR"].max()
    higher = {u for u, g in worst_new.items() if g > worst_old.get(u, 0)}
    assert listed(result, "Higher maximum aGvHD grade") == higher
    def chronic(f: pd.DataFrame) -> set[str]:
        return set(f.loc[f["CGVHDSEV"].isin(["MILD", "MODERATE", "SEVERE"]), "USUBJID"])

    assert listed(result, "New chronic GvHD") == chronic(new["adgvhd"]) - chronic(old["adgvhd"])
    def grade3(f: pd.DataFrame) -> set[tuple]:
        return keyed(f, f["INFSEV"] == 3, ["USUBJID", "INFSEQ"])

    assert listed(result, "New grade 3 infection") == {
        u for u, _ in grade3(new["adinf"]) - grade3(old["adinf"])}


def test_readjudicated_and_removed_records(cuts: Path, frames: tuple) -> None:
    old, new = frames
    records = build(cuts).item("changes_records").data
    changed = records[records["column"] != "(whole record)"]
    # The earlier cut read two AE grades one lower, one grade 3 infection as 2, one relapse
    # five days later (demo.as_of); nothing else was re-read.
    assert sorted(changed["dataset"] + ":" + changed["column"]) == [
        "adae:ATOXGR", "adae:ATOXGR", "adinf:INFSEV", "adsl:RLPSDT"]
    grades = changed[changed["column"] == "ATOXGR"]
    assert ((grades["new_value"].astype(int) - grades["old_value"].astype(int)) == 1).all()
    relapse = changed[changed["column"] == "RLPSDT"].iloc[0]
    assert (date.fromisoformat(relapse["old_value"])
            - date.fromisoformat(relapse["new_value"])).days == 5
    removed = records[records["column"] == "(whole record)"]
    merged = old["adae"].merge(new["adae"], on=["USUBJID", "AESEQ"], how="left", indicator=True)
    gone = merged[merged["_merge"] == "left_only"]
    assert removed[["dataset", "USUBJID"]].values.tolist() == [["adae", gone["USUBJID"].iloc[0]]]


def test_counts_headlines_and_roles(cuts: Path) -> None:
    full = build(cuts)
    summary = full.item("changes_summary").data.set_index("change")
    subjects = full.item("changes_subjects").data
    for change, row in summary.iterrows():
        assert row.sum() == subjects.loc[subjects["change"] == change, "USUBJID"].nunique()
    estimates = full.item("changes_estimates").data.set_index(["estimate", "group"])
    db = Database()
    survival = build_panel(panel("survival"), db, db.load(cuts / "2026-10-31"), Filters(),
                           SETTINGS, DSMB).item("landmarks").data
    os_now = survival.query("endpoint == 'OS' and group == 'SMART101' and day == 365")
    assert estimates.loc[("Overall survival at 1 year", "SMART101"), "now"] == pytest.approx(
        os_now["estimate"].iloc[0])
    assert estimates.loc[("Overall survival at 1 year", "SMART101"), "at_risk_now"] == (
        os_now["n_risk"].iloc[0])
    # A cohort left out by the filters: at risk blank, the counts still whole numbers.
    treated = build(cuts, filters=Filters(cohorts=("SMART101",))).item("changes_estimates").data
    assert treated.dtypes[["at_risk_then", "at_risk_now"]].astype(str).tolist() == ["Int64"] * 2
    assert treated.loc[treated["group"] == "CONTROL", "at_risk_now"].isna().all()
    # A sponsor gets the counts and estimates, never the subjects.
    sponsor = build(cuts, viewer=SPONSOR)
    assert [i.key for i in sponsor.items] == ["changes_summary", "changes_estimates"]
    pd.testing.assert_frame_equal(sponsor.item("changes_summary").data,
                                  full.item("changes_summary").data)


def test_filters_and_choices(cuts: Path) -> None:
    group_a = build(cuts, filters=Filters(arm="GROUP A")).item("changes_subjects").data
    assert set(group_a.loc[group_a["cohort"] == "SMART101", "arm"]) <= {"GROUP A"}
    chosen = build(cuts, previous="2026-06-30")
    assert chosen.item("changes_summary").data.equals(build(cuts).item("changes_summary").data)
    with pytest.raises(ValueError, match="Compared with"):
        build(cuts, previous="2020-01-01")


def test_the_earliest_cut_has_nothing_to_compare(cuts: Path) -> None:
    db = Database()
    earliest = db.load(cuts / "2026-06-30")
    result = build_panel(panel("changes"), db, earliest, Filters(), SETTINGS, DSMB)
    assert not result.items and "is the earliest of this export" in result.messages[0].text


def test_a_single_cut_says_there_is_nothing_to_compare(tmp_path: Path) -> None:
    db = Database()
    export = write_export(tmp_path / "export")
    result = build_panel(panel("changes"), db, db.load(export), Filters(), SETTINGS, DSMB)
    assert not result.items and "single cut" in result.messages[0].text


def test_changes_are_derived_once_per_pair_of_cuts_then_filtered(cuts: Path) -> None:
    db = Database()
    cut = db.load(cuts / "2026-10-31")

    def subjects(filters: Filters) -> pd.DataFrame:
        result = build_panel(panel("changes"), db, cut, filters, SETTINGS, DSMB)
        return result.item("changes_subjects").data

    everyone, adults = subjects(Filters()), subjects(Filters(age_groups=("ADULT",)))
    adult_ids = set(db.query(cut, Query("SELECT USUBJID FROM adsl WHERE AGEGR1 = 'ADULT'"))[
        "USUBJID"])
    expected = everyone[everyone["USUBJID"].isin(adult_ids)].reset_index(drop=True)
    assert 0 < len(expected) < len(everyone)
    pd.testing.assert_frame_equal(adults, expected)
    schemas = db.query(cut, Query("SELECT schema_name FROM information_schema.schemata"))
    assert sum(s.startswith(f"{cut.schema}_c") for s in schemas["schema_name"]) == 1
