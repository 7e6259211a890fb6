"""Analysis tables derived once per cut equal the derivations run on each selection."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from export_factory import write_export
from selection_reads import gvhd_assessments, infection_records, lab_values

from smart101_dash import endpoints
from smart101_dash.analysis import Start, analysis_tables
from smart101_dash.config import SETTINGS
from smart101_dash.contract import INFECTION_CATEGORIES
from smart101_dash.endpoints._frame import transplant_day
from smart101_dash.filters import Filters
from smart101_dash.panels.curves import with_groups
from smart101_dash.panels.datasets import subjects
from smart101_dash.panels.start import apply_start
from smart101_dash.store import KEPT_CUTS, Database

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
EP = SETTINGS.endpoints
FILTERS = [Filters(), Filters(arm="GROUP A"), Filters(arm="GROUP B"),
           Filters(diagnoses=("AML",)), Filters(cohorts=("CONTROL",))]


def derived_on_selection(db: Database, cut: object, filters: Filters) -> dict[str, pd.DataFrame]:
    """Every endpoint derived the old way: on the selection's rows, per click."""
    adsl, _ = subjects(db, cut, filters)
    gvhd, _ = gvhd_assessments(db, cut, filters)
    labs, _ = lab_values(db, cut, filters, ("CD4",))
    adinf, _ = infection_records(db, cut, filters)
    out = {
        "OS": endpoints.overall_survival(adsl, EP),
        "DFS": endpoints.disease_free_survival(adsl, EP),
        "RELAPSE": endpoints.relapse(adsl, EP),
        "NRM": endpoints.non_relapse_mortality(adsl, EP),
        "AGVHD24": endpoints.acute_gvhd(adsl, gvhd, EP, min_grade=2, window_days=180),
        "AGVHD34": endpoints.acute_gvhd(adsl, gvhd, EP, min_grade=3, window_days=180),
        "CGVHD": endpoints.chronic_gvhd(adsl, gvhd, EP, severity="any"),
        "CGVHDMS": endpoints.chronic_gvhd(adsl, gvhd, EP, severity="moderate_severe"),
        "CD4IR": endpoints.cd4_reconstitution(adsl, labs, EP),
    }
    for category in ("ALL", *INFECTION_CATEGORIES):
        out[f"INF{category}"] = endpoints.first_infection(
            adsl, adinf, EP, category=None if category == "ALL" else category,
            window_days=EP.follow_up_days)
    systemic = cut.has_column("adgvhd", "CGVHDIST")  # type: ignore[attr-defined]
    out["GRFS"] = endpoints.gvhd_relapse_free_survival(
        adsl, gvhd, EP, chronic="systemic" if systemic else "moderate_severe")
    if cut.has_column("adsl", "ANCRDT"):  # type: ignore[attr-defined]
        out["NEUTR"] = endpoints.neutrophil_engraftment(adsl, EP)
        out["PLTR"] = endpoints.platelet_engraftment(adsl, EP)
        out["GF"] = endpoints.graft_failure(adsl, EP)
    return {code: with_groups(frame, adsl) for code, frame in out.items()}


@pytest.mark.parametrize("export", ["demo", "tiny"])
def test_every_endpoint_equals_its_derivation_on_the_selection(export: str,
                                                               tmp_path: Path) -> None:
    db = Database()
    cut = db.load(DEMO if export == "demo" else write_export(tmp_path / "tiny"))
    tables = analysis_tables(db, cut, EP)
    # The tiny export has no engraftment or graft-failure dates (nor daily ANC).
    assert len(tables.parameters) == (18 if export == "demo" else 15)
    for filters in FILTERS:
        for code, expected in derived_on_selection(db, cut, filters).items():
            shown, _ = tables.endpoint(db, filters, code)
            # The endpoint is read as subjects counted by group, day and status.
            keys = ["group", "time", "status"]
            counted = expected.groupby(keys, as_index=False).size().rename(columns={"size": "n"})
            order = dict(ascending=[False, True, True])
            pd.testing.assert_frame_equal(
                shown[[*keys, "n"]].sort_values(keys, **order).reset_index(drop=True),
                counted.sort_values(keys, **order).reset_index(drop=True),
                check_dtype=False, obj=f"{code} {filters.describe()}")
            assert shown["n"].sum() == len(expected)


def test_derived_once_per_cut_and_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from smart101_dash import analysis

    calls: list[str] = []
    real = analysis._derive

    def counting(*args: object) -> object:
        calls.append(str(args[-1]))
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "_derive", counting)
    db = Database()
    cut = db.load(write_export(tmp_path / "export"))
    with ThreadPoolExecutor(max_workers=6) as pool:
        handles = list(pool.map(lambda _: analysis_tables(db, cut, EP), range(12)))
    assert len(calls) == 1 and all(h is handles[0] for h in handles)
    other = replace(EP, cd4_threshold_cells_per_ul=100.0)
    assert analysis_tables(db, cut, other).schema != handles[0].schema
    assert len(calls) == 2
    # A cut that is no longer kept takes its analysis schemas with it.
    for n in range(KEPT_CUTS + 1):
        db.load(write_export(tmp_path / f"later{n}"))
    schemas = {r[0] for r in db._con.execute(
        "SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert handles[0].schema not in schemas


def test_a_missing_dataset_leaves_its_endpoints_out(tmp_path: Path) -> None:
    from export_factory import valid_tables

    tables = valid_tables()
    del tables["adgvhd"]
    db = Database()
    derived = analysis_tables(db, db.load(write_export(tmp_path / "e", tables)), EP)
    assert "AGVHD24" not in derived.parameters and "OS" in derived.parameters
    assert not derived.grades


@pytest.mark.parametrize("filters", FILTERS, ids=[f.describe() for f in FILTERS])
def test_infection_follow_up_and_episodes_equal_the_selection(filters: Filters) -> None:
    db = Database()
    cut = db.load(DEMO)
    counts, _ = analysis_tables(db, cut, EP).infections(db, filters)
    adsl, _ = subjects(db, cut, filters)
    adinf, _ = infection_records(db, cut, filters)
    expected = endpoints.infection_episodes(adsl, adinf, EP, window_days=EP.follow_up_days)
    followed = with_groups(expected.subjects, adsl)
    episodes = with_groups(expected.episodes, adsl)
    assert counts.followup["n"].sum() == len(followed) > 0 and len(episodes) > 0

    def same(shown: pd.DataFrame, reference: pd.DataFrame, keys: list[str]) -> None:
        pd.testing.assert_frame_equal(
            shown.sort_values(keys).reset_index(drop=True)[reference.columns],
            reference.sort_values(keys).reset_index(drop=True), check_dtype=False)

    def counted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return frame.groupby(keys, as_index=False).size().rename(columns={"size": "n"})

    same(counts.followup, counted(followed, ["group", "time", "status"]),
         ["group", "time", "status"])
    per_group = counts.followup.groupby("group")["episodes"].sum()
    assert per_group.to_dict() == \
        episodes.groupby("group").size().reindex(per_group.index, fill_value=0).to_dict()
    assert counts.any_episode
    same(counts.episode_days, counted(episodes, ["group", "day"]), ["group", "day"])

    def totals(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        return frame.groupby(["group", *keys], as_index=False).agg(
            episodes=("USUBJID", "size"), patients=("USUBJID", "nunique"))

    shown = counts.episodes
    for keys, mask in ((["INFCAT", "INFSEV"], ~shown["all_categories"] & ~shown["any_grade"]),
                       (["INFCAT"], ~shown["all_categories"] & shown["any_grade"]),
                       (["INFSEV"], shown["all_categories"] & ~shown["any_grade"]),
                       ([], shown["all_categories"] & shown["any_grade"])):
        names = {"INFCAT": "category", "INFSEV": "grade"}
        same(shown[mask], totals(episodes, keys).rename(columns=names),
             ["group", *(names[k] for k in keys)])
    react = episodes[episodes["VIRREACT"] == "Y"]
    shown = counts.reactivations
    same(shown[~shown["any_pathogen"]], totals(react, ["PATHOGEN"]).rename(
        columns={"PATHOGEN": "pathogen"}), ["group", "pathogen"])
    same(shown[shown["any_pathogen"]], totals(react, []), ["group"])


def daily_counts(adsl: pd.DataFrame, labs: pd.DataFrame) -> pd.DataFrame:
    """USUBJID, PARAMCD, day, AVAL: one value per patient, subset and transplant day.

    docs/endpoints.md in pandas, on a selection's rows: what analysis.LAB_DAILY_SQL must give.

    Day 0 = HSCTDT. Counts before day 0 or after the data cut-off are left out; several on one
    day count as their mean, as the CD4+IR derivation does.
    """
    columns = ["USUBJID", "PARAMCD", "day", "AVAL"]
    lab = labs.merge(adsl[["USUBJID", "HSCTDT", "DCUTDT"]], on="USUBJID", how="inner")
    if lab.empty:
        return pd.DataFrame(columns=columns)
    lab["day"] = transplant_day(lab["ADT"], lab["HSCTDT"])
    cut_day = transplant_day(lab["DCUTDT"], lab["HSCTDT"])
    lab["AVAL"] = pd.to_numeric(lab["AVAL"], errors="coerce")
    keep = lab["AVAL"].notna() & (lab["day"] >= 0) & (cut_day.isna() | (lab["day"] <= cut_day))
    daily = lab[keep].groupby(["USUBJID", "PARAMCD", "day"], as_index=False)["AVAL"].mean()
    daily["day"] = daily["day"].astype("int64")  # whole days; NaN days were left out above
    return daily[columns].sort_values(["PARAMCD", "USUBJID", "day"]).reset_index(drop=True)


def protocol_day_counts(daily: pd.DataFrame, windows: dict[int, int]) -> pd.DataFrame:
    """Per patient, subset and protocol day: the count closest to the day within its window
    (pandas, on a selection's rows: what analysis.LAB_VISITS_SQL must give).

    `windows` maps each protocol day to its half-width in days. At equal distance the earlier
    count wins: a fixed rule, so the choice never depends on row order. Columns: USUBJID,
    PARAMCD, protocol_day, day, AVAL.
    """
    columns = ["USUBJID", "PARAMCD", "protocol_day", "day", "AVAL"]
    picked = []
    for target, half_width in windows.items():
        near = daily[(daily["day"] - target).abs() <= half_width].copy()
        near["protocol_day"] = target
        near["distance"] = (near["day"] - target).abs()
        near = near.sort_values(["USUBJID", "PARAMCD", "distance", "day"])
        picked.append(near.drop_duplicates(["USUBJID", "PARAMCD"], keep="first"))
    picked = [p for p in picked if not p.empty]
    if not picked:
        return pd.DataFrame(columns=columns)
    return pd.concat(picked, ignore_index=True)[columns]


@pytest.mark.parametrize("filters", FILTERS, ids=[f.describe() for f in FILTERS])
def test_lab_visits_and_a_chosen_cd4_definition_equal_the_selection(filters: Filters) -> None:
    db = Database()
    cut = db.load(DEMO)
    tables = analysis_tables(db, cut, EP)
    adsl, _ = subjects(db, cut, filters)
    labs, _ = lab_values(db, cut, filters, endpoints.LYMPHOCYTE_ORDER)
    windows = dict(zip(EP.lab_visit_days, EP.lab_visit_window_days, strict=True))
    expected = protocol_day_counts(daily_counts(adsl, labs), windows)
    shown, _ = tables.lab_visits(db, filters)
    keys = ["USUBJID", "PARAMCD", "protocol_day"]
    columns = [*keys, "day", "AVAL"]
    pd.testing.assert_frame_equal(
        shown[columns].sort_values(keys).reset_index(drop=True),
        expected[columns].sort_values(keys).reset_index(drop=True), check_dtype=False)
    # CD4+IR under another definition, derived again from the cut's daily counts, equals the
    # derivation from the raw lab rows.
    chosen = replace(EP, cd4_threshold_cells_per_ul=120.0, cd4_threshold_inclusive=True,
                     cd4_window_days=60)
    days, _ = tables.cd4_daily(db, filters)
    pd.testing.assert_frame_equal(endpoints.cd4_reconstitution(adsl, days, chosen),
                                  endpoints.cd4_reconstitution(adsl, labs, chosen))


def test_visit_quartiles_in_sql_equal_numpy() -> None:
    """DuckDB's quantile_cont is numpy's default (R's type 7) to the last digits."""
    db = Database()
    cut = db.load(DEMO)
    tables = analysis_tables(db, cut, EP)
    for filters in FILTERS:
        summary, _ = tables.visit_quartiles(db, filters, endpoints.LYMPHOCYTE_ORDER)
        values, _ = tables.lab_visits(db, filters)
        assert set(summary["PARAMCD"]) == set(values["PARAMCD"]) and len(summary) > 0
        cd4, _ = tables.visit_quartiles(db, filters, ("CD4",))
        pd.testing.assert_frame_equal(
            cd4, summary[summary["PARAMCD"] == "CD4"].reset_index(drop=True))
        for row in summary.itertuples(index=False):
            sample = values.loc[(values["group"] == row.group)
                                & (values["PARAMCD"] == row.PARAMCD)
                                & (values["protocol_day"] == row.protocol_day), "AVAL"]
            assert row.n == len(sample)
            expected = np.quantile(sample.to_numpy(dtype=float), [0.25, 0.5, 0.75])
            np.testing.assert_allclose([row.q1, row.median, row.q3], expected, rtol=1e-12)


@pytest.mark.parametrize("start", [Start(7), Start(30), Start(None, as_treated=True),
                                   Start(100, as_treated=True)],
                         ids=["day 7", "day 30", "as treated", "day 100 as treated"])
@pytest.mark.parametrize("filters", FILTERS[:2], ids=[f.describe() for f in FILTERS[:2]])
def test_the_start_in_sql_equals_the_rule_on_each_subject(start: Start,
                                                          filters: Filters) -> None:
    """ADTTE_SQL's landmark and as-treated rule equals `apply_start` on the derivation's own
    rows (the rule the R reference test checks), endpoint by endpoint, with the counts left
    out."""
    db = Database()
    cut = db.load(DEMO)
    tables = analysis_tables(db, cut, EP)
    adsl, _ = subjects(db, cut, filters)
    read = tables.endpoints(db, filters, tuple(sorted(tables.parameters)), start)
    for code, rows in derived_on_selection(db, cut, filters).items():
        kept, left_out = apply_start(rows, adsl, start)
        keys = ["group", "time", "status"]
        counted = kept.groupby(keys, as_index=False)["n"].sum()
        pd.testing.assert_frame_equal(
            read[code][[*keys, "n"]].sort_values(keys).reset_index(drop=True),
            counted.sort_values(keys).reset_index(drop=True), check_dtype=False, obj=code)
        assert read.left_out[code] == left_out, code
    if start == Start(None, as_treated=True) and filters.arm is None:
        # The demo's one SMART101 patient transplanted but never infused is left out.
        assert read["OS"].groupby("group")["n"].sum()["SMART101"] == 34


def test_neutrophil_recovery_from_daily_anc_when_the_export_has_no_ancrdt(
        tmp_path: Path) -> None:
    """The demo without ANCRDT: NEUTR derived from its daily ANC equals NEUTR from ANCRDT,
    and the analysis tables say that it was derived."""
    db = Database()
    with_date = analysis_tables(db, db.load(DEMO), EP)
    newest = DEMO / "2026-10-31"
    tables = {name: pq.read_table(newest / f"{name}.parquet")
              for name in ("adsl", "adgvhd", "adinf", "adae")}
    labs = pq.read_table(newest / "adlb")  # hive parts: PARAMCD comes back as a dictionary
    tables["adlb"] = labs.set_column(labs.schema.get_field_index("PARAMCD"), "PARAMCD",
                                     labs["PARAMCD"].cast(pa.string()))
    tables["adsl"] = tables["adsl"].drop_columns(["ANCRDT"])
    cut = db.load(write_export(tmp_path / "no-ancrdt", tables))
    derived = analysis_tables(db, cut, EP)
    assert "NEUTR" in derived.parameters and "daily ANC" in (derived.note("NEUTR") or "")
    assert with_date.note("NEUTR") is None
    for filters in FILTERS:
        ours = derived.endpoints(db, filters, ("NEUTR",))["NEUTR"]
        theirs = with_date.endpoints(db, filters, ("NEUTR",))["NEUTR"]
        pd.testing.assert_frame_equal(ours, theirs, obj=filters.describe())
