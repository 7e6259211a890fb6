"""The demo export: deterministic, valid, realistic in the ways the issue names."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smart101_dash import endpoints
from smart101_dash.demo import _round_1, _Weighted, as_of, build_demo_export, write_demo_export
from smart101_dash.grading import magic_grade, magic_grades
from smart101_dash.validate import Severity, validate_export

ROOT = Path(__file__).resolve().parent.parent


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return build_demo_export()


def test_same_seed_same_bytes_and_committed_demo_is_current(tmp_path: Path) -> None:
    write_demo_export(tmp_path / "one")
    write_demo_export(tmp_path / "two")
    assert files(tmp_path / "one") == files(tmp_path / "two")
    # data/demo's two cuts are exactly what the default seed gives: `make demo` writes them.
    assert files(tmp_path / "one") == files(ROOT / "data" / "demo" / "2026-10-31")
    write_demo_export(tmp_path / "earlier", earlier=date(2026, 6, 30))
    assert files(tmp_path / "earlier") == files(ROOT / "data" / "demo" / "2026-06-30")
    write_demo_export(tmp_path / "other", seed=7)
    assert files(tmp_path / "other") != files(tmp_path / "one")


@pytest.mark.parametrize("weights", [(0.6, 0.17, 0.16, 0.05, 0.02), (0.33, 0.60, 0.07, 0.0)])
def test_a_weighted_draw_is_numpys_choice(weights: tuple[float, ...]) -> None:
    # The demo draws its weighted values without `choice` (for speed); the values and the
    # stream after each draw must stay what `choice` gives, or the demo's bytes would change.
    ours, numpys = (np.random.Generator(np.random.PCG64(11)) for _ in range(2))
    weighted = _Weighted(tuple("abcde"[:len(weights)]), weights)
    drawn = [(weighted.draw(ours), ours.normal()) for _ in range(5000)]
    expected = [(str(numpys.choice(list("abcde"[:len(weights)]), p=weights)), numpys.normal())
                for _ in range(5000)]
    assert drawn == expected
    assert len({value for value, _ in drawn}) == sum(w > 0 for w in weights)


def test_sizes_and_arms(demo: dict[str, pd.DataFrame]) -> None:
    adsl = demo["adsl"]
    assert adsl.groupby(["COHORT", "ARM"]).size().to_dict() == {
        ("CONTROL", "CONTROL"): 150, ("SMART101", "GROUP A"): 18, ("SMART101", "GROUP B"): 18}
    treated = adsl[adsl["COHORT"] == "SMART101"]
    assert (treated.loc[treated["ARM"] == "GROUP A", "AGE"] >= 18).all()
    assert (treated.loc[treated["ARM"] == "GROUP B", "AGE"] < 18).all()
    assert treated["ENRLDT"].min().year == 2022
    assert adsl["USUBJID"].is_unique


def test_smart101_given_day_4_to_10(demo: dict[str, pd.DataFrame]) -> None:
    adsl = demo["adsl"]
    infused = adsl[adsl["TRTSDT"].notna()]
    days = [(t - h).days for t, h in zip(infused["TRTSDT"], infused["HSCTDT"], strict=True)]
    assert set(infused["COHORT"]) == {"SMART101"}
    assert min(days) >= 4 and max(days) <= 10
    assert len(infused) >= 30
    assert set(infused["DOSELVL"]) == {"DL1", "DL2", "DL3"}


def test_controls_option(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "demo", str(tmp_path / "x"),
                          "--controls", "40", "--seed", "3"], cwd=ROOT, capture_output=True,
                         text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    adsl = pd.read_parquet(tmp_path / "x" / "adsl.parquet")
    assert (adsl["COHORT"] == "CONTROL").sum() == 40


def test_no_controls_is_the_treated_patients_alone(tmp_path: Path) -> None:
    write_demo_export(tmp_path / "x", n_controls=0)
    adsl = pd.read_parquet(tmp_path / "x" / "adsl.parquet")
    assert set(adsl["COHORT"]) == {"SMART101"} and len(adsl) == 36
    report = validate_export(tmp_path / "x")
    assert [f.format() for f in report.findings if f.severity is Severity.ERROR] == []


def test_rounding_as_arrays_is_pythons_round() -> None:
    # The lab values are rounded as arrays; np.round alone differs from round() near halves.
    values = np.concatenate([np.arange(100_000) / 100 + 0.05, [0.15, 0.25, 2.675, 1e5 + 0.05],
                             np.random.default_rng(5).lognormal(5, 2, 100_000)])
    assert (np.round(values, 1) != [round(x, 1) for x in values.tolist()]).any()
    assert _round_1(values).tolist() == [round(x, 1) for x in values.tolist()]


@pytest.mark.parametrize("cut", ["2026-06-30", "2026-10-31"])
def test_passes_validation_with_no_finding(cut: str) -> None:
    report = validate_export(ROOT / "data" / "demo" / cut)
    assert [f.format() for f in report.findings if f.severity is not Severity.INFO] == []
    assert report.usable_datasets == ("adsl", "adlb", "adgvhd", "adinf", "adae")


def test_an_earlier_cutoff_is_the_same_trial_then(demo: dict[str, pd.DataFrame]) -> None:
    then = as_of(demo, date(2026, 6, 30))
    adsl = then["adsl"]
    assert set(adsl["USUBJID"]) <= set(demo["adsl"]["USUBJID"])
    assert (adsl["ENRLDT"] <= date(2026, 6, 30)).all()
    assert (adsl["DCUTDT"] == date(2026, 6, 30)).all()
    for column in ("HSCTDT", "TRTSDT", "DTHDT", "RLPSDT", "LSTALVDT", "ANCRDT", "PLTRDT",
                   "GFDT"):
        known = adsl[column].dropna()
        assert (known <= date(2026, 6, 30)).all(), column
    for name, column in (("adae", "ASTDT"), ("adinf", "ASTDT"), ("adgvhd", "ADT"),
                         ("adlb", "ADT")):
        assert (then[name][column] <= date(2026, 6, 30)).all(), name
    # Events after the cut-off are not yet known: fewer deaths then than now.
    assert adsl["DTHDT"].notna().sum() < demo["adsl"]["DTHDT"].notna().sum()


def test_engraftment_is_realistic_and_its_daily_counts_agree(
        demo: dict[str, pd.DataFrame]) -> None:
    adsl = demo["adsl"][demo["adsl"]["HSCTDT"].notna()]
    day = {c: (pd.to_datetime(adsl[c]) - pd.to_datetime(adsl["HSCTDT"])).dt.days
           for c in ("ANCRDT", "PLTRDT", "GFDT")}
    assert day["ANCRDT"].dropna().between(8, 30).all()
    assert 9 <= day["ANCRDT"].median() <= 13
    assert 0.85 < adsl["ANCRDT"].notna().mean() < 1
    assert (day["PLTRDT"].dropna() >= day["ANCRDT"].reindex(day["PLTRDT"].dropna().index)).all()
    failed = adsl[adsl["GFDT"].notna()]
    assert 0.02 < len(failed) / len(adsl) < 0.1
    assert failed.loc[failed["GFTYPE"] == "PRIMARY", "ANCRDT"].isna().all()
    assert (failed.loc[failed["GFTYPE"] == "SECONDARY", "ANCRDT"]
            < failed.loc[failed["GFTYPE"] == "SECONDARY", "GFDT"]).all()
    chronic = demo["adgvhd"][demo["adgvhd"]["CGVHDIST"] == "Y"]
    assert chronic["CGVHDSEV"].isin(["MILD", "MODERATE", "SEVERE"]).all() and len(chronic)
    # The daily ANC gives back ANCRDT by the contract's rule, for every subject.
    labs = demo["adlb"]
    derived = endpoints.neutrophil_recovery_dates(labs[labs["PARAMCD"] == "ANC"], adsl)
    given = pd.to_datetime(adsl.set_index("USUBJID")["ANCRDT"]).reindex(derived.index)
    assert ((derived == given) | (derived.isna() & given.isna())).all()


def test_cutoff_option_must_be_earlier(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "smart101_dash", "demo", str(tmp_path / "x"),
                          "--cutoff", "2027-01-01"], cwd=ROOT, capture_output=True, text=True,
                         check=False, timeout=120)
    assert run.returncode == 1 and "must be before" in run.stderr


def test_magic_grades_agree_with_stages(demo: dict[str, pd.DataFrame]) -> None:
    acute = demo["adgvhd"].dropna(subset=["AGVHDGR"])
    expected = [magic_grade(*row) for row in
                acute[["SKINSTG", "LIVERSTG", "UGISTG", "LGISTG"]].astype(int).itertuples(
                    index=False)]
    assert acute["AGVHDGR"].astype(int).tolist() == expected
    assert set(acute["AGVHDGR"].astype(int)) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize(("stages", "grade"), [
    ((0, 0, 0, 0), 0), ((1, 0, 0, 0), 1), ((2, 0, 0, 0), 1), ((3, 0, 0, 0), 2),
    ((0, 1, 0, 0), 2), ((0, 0, 1, 0), 2), ((0, 0, 0, 1), 2), ((2, 0, 1, 0), 2),
    ((0, 2, 0, 0), 3), ((0, 3, 0, 0), 3), ((0, 0, 0, 2), 3), ((3, 0, 1, 3), 3),
    ((4, 0, 0, 0), 4), ((0, 4, 0, 0), 4), ((0, 0, 0, 4), 4), ((1, 1, 1, 4), 4),
])
def test_magic_grade_hand_cases(stages: tuple[int, int, int, int], grade: int) -> None:
    assert magic_grade(*stages) == grade
    assert magic_grades(*(np.array([s]) for s in stages)).tolist() == [grade]


def test_treated_reconstitute_faster(demo: dict[str, pd.DataFrame]) -> None:
    labs = demo["adlb"].merge(demo["adsl"][["USUBJID", "COHORT"]], on="USUBJID")
    day100 = labs[(labs["PARAMCD"] == "CD4") & (labs["AVISIT"] == "DAY 100")]
    medians = day100.groupby("COHORT")["AVAL"].median()
    assert medians["SMART101"] > 1.5 * medians["CONTROL"]
    assert set(labs["PARAMCD"]) == {"CD4", "CD3", "CD8", "CD19", "NK", "ANC", "PLAT"}


def test_every_infection_category_and_grade_with_cmv(demo: dict[str, pd.DataFrame]) -> None:
    inf = demo["adinf"]
    assert set(inf["INFCAT"]) == {"BACTERIAL", "VIRAL", "FUNGAL", "OTHER"}
    assert set(inf["INFSEV"]) == {1, 2, 3}
    cmv = inf[inf["PATHOGEN"] == "CMV"]
    assert len(cmv) > 10 and (cmv["VIRREACT"] == "Y").all()


def test_events_within_day_0_and_cutoff(demo: dict[str, pd.DataFrame]) -> None:
    adsl = demo["adsl"].set_index("USUBJID")
    for name, column in (("adlb", "ADT"), ("adgvhd", "ADT"), ("adinf", "ASTDT"),
                         ("adae", "ASTDT")):
        frame = demo[name]
        day0 = frame["USUBJID"].map(adsl["HSCTDT"])
        assert (frame[column] >= day0).all(), name
        assert (frame[column] <= adsl["DCUTDT"].iloc[0]).all(), name
    died = demo["adsl"][demo["adsl"]["DTHFL"] == "Y"]
    assert (died["LSTALVDT"] == died["DTHDT"]).all()
    assert 10 <= len(died) <= 80


def test_refuses_a_folder_that_is_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="holds other files"):
        write_demo_export(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
