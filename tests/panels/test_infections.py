"""Infections panel on the tiny export, every number worked out by hand.

Day 0 is 2024-01-10 for all; cut-off 2025-06-30 is day 537, before day 730, so the cut-off ends
follow-up for those alive. Deaths: C-2 day 90, T-A2 day 200.
Episodes: T-A1 viral CMV reactivation day 25 grade 2; C-2 bacterial (E. coli) day 12 grade 3
and fungal (Aspergillus) day 80 grade 3.
Patient-days at risk: SMART101 537 (T-A1) + 200 (T-A2) + 537 (T-B1) = 1274;
CONTROL 537 (C-1) + 90 (C-2) + 537 (C-3) = 1164.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from export_factory import day, set_rows, valid_tables, write_export
from scipy.stats import chi2
from selection_reads import infection_records
from viewers import ANALYST

from smart101_dash.config import SETTINGS
from smart101_dash.endpoints import infection_episodes
from smart101_dash.filters import Filters
from smart101_dash.panels import infections
from smart101_dash.panels.base import Level, PanelResult
from smart101_dash.panels.datasets import subjects
from smart101_dash.store import Database, DatasetUnavailable

PATIENT_DAYS = {"SMART101": 1274, "CONTROL": 1164}


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("infections") / "export")


@pytest.fixture(scope="module")
def result(export: Path) -> PanelResult:
    db = Database()
    return infections.build(db, db.load(export), Filters(), SETTINGS, viewer=ANALYST)


def build(tmp_path: Path, tables: dict | None = None, **options: object) -> PanelResult:
    db = Database()
    filters = options.pop("filters", Filters())
    return infections.build(db, db.load(write_export(tmp_path / "export", tables)), filters,
                            SETTINGS, viewer=ANALYST, **options)


def exact_poisson(events: int, exposure: float) -> tuple[float, float]:
    """Garwood's limits per 100 units, written with chi-square quantiles (not gamma)."""
    lower = chi2.ppf(0.025, 2 * events) / 2 if events else 0.0
    upper = chi2.ppf(0.975, 2 * (events + 1)) / 2
    return 100 * lower / exposure, 100 * upper / exposure


def test_keys_are_unique_and_prefixed(result: PanelResult) -> None:
    keys = [item.key for item in result.items]
    assert keys == ["inf_episodes_by_grade", "inf_patients", "inf_density",
                    "inf_first_infection_cif", "inf_first_infection_landmarks", "inf_mcc",
                    "inf_viral_reactivations"]
    assert len(set(keys)) == len(keys)
    assert result.n_per_group == {"SMART101": 3, "CONTROL": 3}


def test_every_figure_carries_the_footer(result: PanelResult) -> None:
    figures = [item.figure for item in result.items if item.figure is not None]
    assert len(figures) == 2  # first-infection curves and the mean cumulative count
    for figure in figures:
        assert any(a.text == result.footer for a in figure.layout.annotations)


def test_episodes_by_category_and_grade(result: PanelResult) -> None:
    table = result.item("inf_episodes_by_grade").data.set_index(["category", "grade"])
    assert list(table.columns) == ["SMART101_episodes", "CONTROL_episodes"]
    assert table.loc[("VIRAL", "2")].tolist() == [1, 0]
    assert table.loc[("BACTERIAL", "3")].tolist() == [0, 1]
    assert table.loc[("FUNGAL", "3")].tolist() == [0, 1]
    assert table.loc[("OTHER", "any")].tolist() == [0, 0]
    assert table.loc[("ALL", "3")].tolist() == [0, 2]
    assert table.loc[("ALL", "any")].tolist() == [1, 2]
    # Totals per category are the sums of their grades.
    for category in ("BACTERIAL", "VIRAL", "FUNGAL", "OTHER", "ALL"):
        grades = table.loc[[(category, g) for g in ("1", "2", "3")]].sum()
        assert grades.tolist() == table.loc[(category, "any")].tolist()


def test_patients_with_at_least_one_infection(result: PanelResult) -> None:
    table = result.item("inf_patients").data.set_index("category")
    assert table.loc["ALL", ["SMART101_patients", "CONTROL_patients"]].tolist() == [1, 1]
    assert table.loc["ALL", ["SMART101_percent", "CONTROL_percent"]].tolist() == [33.3, 33.3]
    assert table.loc["BACTERIAL", ["SMART101_patients", "CONTROL_patients"]].tolist() == [0, 1]
    assert table.loc["VIRAL", ["SMART101_patients", "CONTROL_patients"]].tolist() == [1, 0]
    assert table.loc["FUNGAL", ["SMART101_patients", "CONTROL_patients"]].tolist() == [0, 1]
    assert table.loc["OTHER", ["SMART101_patients", "CONTROL_patients"]].tolist() == [0, 0]
    # Clopper-Pearson: 0 of 3 gives 0 to 1 - 0.025^(1/3) = 70.8%.
    assert table.loc["OTHER", "SMART101_lower"] == 0.0
    assert table.loc["OTHER", "SMART101_upper"] == pytest.approx(
        100 * (1 - 0.025 ** (1 / 3)), abs=0.05)


def test_patient_days_agree_with_the_endpoint(export: Path) -> None:
    db = Database()
    cut = db.load(export)
    adsl, _ = subjects(db, cut, Filters())
    adinf, _ = infection_records(db, cut, Filters())
    followed = infection_episodes(adsl, adinf, SETTINGS.endpoints, window_days=730)
    time = followed.subjects.set_index("USUBJID")["time"]
    assert time[["T-A1", "T-A2", "T-B1"]].sum() == PATIENT_DAYS["SMART101"]
    assert time[["C-1", "C-2", "C-3"]].sum() == PATIENT_DAYS["CONTROL"]


def test_infection_density(result: PanelResult) -> None:
    table = result.item("inf_density").data
    assert list(table.columns) == ["group", "category", "episodes", "patient_days",
                                   "rate_per_100_patient_days", "lower", "upper"]
    rows = table.set_index(["group", "category"])
    for group, episodes in (("SMART101", 1), ("CONTROL", 2)):
        row = rows.loc[(group, "ALL")]
        assert row["episodes"] == episodes
        assert row["patient_days"] == PATIENT_DAYS[group]
        assert row["rate_per_100_patient_days"] == pytest.approx(
            episodes / PATIENT_DAYS[group] * 100)
        lower, upper = exact_poisson(episodes, PATIENT_DAYS[group])
        assert row["lower"] == pytest.approx(lower, rel=1e-9)
        assert row["upper"] == pytest.approx(upper, rel=1e-9)
    assert rows.loc[("CONTROL", "BACTERIAL"), "episodes"] == 1
    assert rows.loc[("SMART101", "VIRAL"), "episodes"] == 1


def test_a_category_without_episodes_has_a_defined_row(result: PanelResult) -> None:
    rows = result.item("inf_density").data.set_index(["group", "category"])
    other = rows.loc[("CONTROL", "OTHER")]
    assert other["episodes"] == 0 and other["patient_days"] == 1164
    assert other["rate_per_100_patient_days"] == 0.0 and other["lower"] == 0.0
    # Upper limit for no event: -log(0.025) per exposure.
    assert other["upper"] == pytest.approx(exact_poisson(0, 1164)[1], rel=1e-9)
    assert not rows[["rate_per_100_patient_days", "lower", "upper"]].isna().any().any()


def test_first_infection_cumulative_incidence(result: PanelResult) -> None:
    item = result.item("inf_first_infection_cif")
    assert item.figure is not None and "Gray's test: p = " in item.caption
    assert set(item.data["category"]) == {"ALL"}
    landmarks = result.item("inf_first_infection_landmarks").data
    assert set(landmarks["endpoint"]) == {"ALL", "BACTERIAL", "VIRAL", "FUNGAL", "OTHER"}
    assert set(landmarks["day"]) == {100, 365, 730}
    at = landmarks.set_index(["endpoint", "group", "day"])
    # T-A1 on day 25, C-2 on day 12: 1 of 3 in each group by day 100.
    assert at.loc[("ALL", "SMART101", 100), "estimate"] == pytest.approx(1 / 3)
    assert at.loc[("ALL", "CONTROL", 100), "estimate"] == pytest.approx(1 / 3)
    assert at.loc[("ALL", "CONTROL", 100), "n_events"] == 1
    assert at.loc[("VIRAL", "SMART101", 100), "estimate"] == pytest.approx(1 / 3)
    assert at.loc[("VIRAL", "CONTROL", 100), "estimate"] == pytest.approx(0)
    # C-2's fungal infection (day 80) is its first fungal one, though not its first infection.
    assert at.loc[("FUNGAL", "CONTROL", 100), "estimate"] == pytest.approx(1 / 3)
    low, high = at.loc[("ALL", "SMART101", 100), ["lower", "upper"]]
    assert 0 < low < 1 / 3 < high < 1
    # Nobody is followed to day 730 (cut-off on day 537): no estimate there.
    assert at.loc[("ALL", "SMART101", 730), "n_risk"] == 0
    assert at[["estimate"]].loc[("ALL", "SMART101", 730)].isna().all()


def test_category_option_chooses_the_curve(tmp_path: Path) -> None:
    viral = build(tmp_path, category="VIRAL")
    item = viral.item("inf_first_infection_cif")
    assert set(item.data["category"]) == {"VIRAL"}
    treated = item.data[item.data["group"] == "SMART101"]
    assert treated["est"].iloc[0] == pytest.approx(1 / 3) and treated["time"].iloc[0] == 25
    assert any("First viral infection" in d for d in viral.definitions)
    # OTHER: no such infection, so no curve and a message instead of an empty axis.
    other = build(tmp_path, category="OTHER")
    assert other.item("inf_first_infection_cif").figure is None
    assert any("No other infection" in m.text for m in other.messages)
    with pytest.raises(ValueError, match="category"):
        build(tmp_path, category="PARASITIC")


def test_page_default_is_the_build_default() -> None:
    default = inspect.signature(infections.build).parameters["category"].default
    assert default == infections.CATEGORIES[0] == "ALL"


def test_mean_cumulative_count(result: PanelResult) -> None:
    item = result.item("inf_mcc")
    assert "no interval is shown" in item.caption.lower()
    table = item.data
    assert list(table.columns) == ["group", "time", "n_risk", "n_episodes", "mcc"]
    rows = [tuple(r) for r in table[["group", "time", "mcc"]].itertuples(index=False)]
    # SMART101: 1 episode of 3 at risk; CONTROL: day 12 and day 80, C-2 alive until day 90.
    assert rows == [("SMART101", 25, pytest.approx(1 / 3)), ("CONTROL", 12, pytest.approx(1 / 3)),
                    ("CONTROL", 80, pytest.approx(2 / 3))]
    lines = {t.name: t for t in item.figure.data}
    assert list(lines["CONTROL"].x) == [0, 12, 80, 537] and lines["CONTROL"].y[-1] == 2 / 3


def test_mean_cumulative_count_weights_by_survival(tmp_path: Path) -> None:
    # A T-B1 episode on day 300, after T-A2's death on day 200: 2 at risk, survival 2/3, so the
    # step is 2/3 * 1/2 = 1/3 (Ghosh & Lin), not 1/2.
    tables = valid_tables()
    tables["adinf"] = set_rows("adinf", extra=[dict(
        USUBJID="T-B1", INFSEQ=1, ASTDT=day(300), INFCAT="OTHER", PATHOGEN="Unknown",
        INFSITE="Skin", INFSEV=1, VIRREACT=None)])
    result = build(tmp_path, tables)
    treated = result.item("inf_mcc").data.query("group == 'SMART101'")
    assert treated["mcc"].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert treated["n_risk"].tolist() == [3, 2]
    grades = result.item("inf_episodes_by_grade").data.set_index(["category", "grade"])
    assert grades.loc[("OTHER", "1"), "SMART101_episodes"] == 1


def test_viral_reactivations(result: PanelResult) -> None:
    table = result.item("inf_viral_reactivations").data
    assert list(table.columns) == ["pathogen", "SMART101_episodes", "SMART101_patients",
                                   "SMART101_percent", "CONTROL_episodes", "CONTROL_patients",
                                   "CONTROL_percent"]
    assert table.values.tolist() == [["ANY", 1, 1, 33.3, 0, 0, 0.0],
                                     ["CMV", 1, 1, 33.3, 0, 0, 0.0]]


def test_small_groups_are_flagged(result: PanelResult) -> None:
    assert [m.level for m in result.messages] == [Level.WARNING, Level.WARNING]
    assert "SMART101 has 3 patients" in result.messages[0].text


def test_empty_filter_result_gives_a_message(tmp_path: Path) -> None:
    result = build(tmp_path, filters=Filters(diagnoses=("MDS",)))
    assert result.items == ()
    assert [m.level for m in result.messages] == [Level.INFO]
    assert "No transplanted patient" in result.messages[0].text


def test_one_group_only(tmp_path: Path) -> None:
    result = build(tmp_path, filters=Filters(cohorts=("SMART101",)))
    assert result.n_per_group == {"SMART101": 3}
    assert list(result.item("inf_episodes_by_grade").data.columns) == [
        "category", "grade", "SMART101_episodes"]
    assert set(result.item("inf_density").data["group"]) == {"SMART101"}
    assert "one group only" in result.item("inf_first_infection_cif").caption
    assert any("No CONTROL patient is left by the filters (only SMART101)" in m.text
               for m in result.messages)


def test_no_infection_at_all(tmp_path: Path) -> None:
    # Group B and the pediatric controls: T-B1 and C-3, neither with an infection. (An empty
    # adinf fails validation, so a filter is the way to have none.)
    result = build(tmp_path, filters=Filters(arm="GROUP B"))
    assert result.n_per_group == {"SMART101": 1, "CONTROL": 1}
    density = result.item("inf_density").data
    assert (density["episodes"] == 0).all() and (density["rate_per_100_patient_days"] == 0).all()
    assert not density[["lower", "upper"]].isna().any().any()
    assert result.item("inf_first_infection_cif").figure is None
    assert result.item("inf_mcc").figure is None
    assert result.item("inf_viral_reactivations").data["pathogen"].tolist() == ["ANY"]
    assert any("No infection episode" in m.text for m in result.messages)


def test_without_adinf_the_panel_says_why(tmp_path: Path) -> None:
    tables = valid_tables()
    del tables["adinf"]
    with pytest.raises(DatasetUnavailable, match="adinf"):
        build(tmp_path, tables)


def test_the_first_infection_section_reads_no_episode_table(
        export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The section shows curves and landmarks: the episodes' counts, days and reactivations
    # are three queries it must not wait for (a third of its time at 100,000 controls).
    from smart101_dash import analysis

    ran: list[str] = []
    real = Database.query

    def spy(self: Database, cut: object, query: object, *args: object, **kwargs: object):
        ran.append(query.sql)  # type: ignore[attr-defined]
        return real(self, cut, query, *args, **kwargs)

    monkeypatch.setattr(Database, "query", spy)
    episode_reads = {analysis.EPISODE_DAYS_SQL, analysis.EPISODE_COUNTS_SQL,
                     analysis.REACTIVATIONS_SQL}
    db = Database()
    cut = db.load(export)
    first = frozenset(infections.FIRST_ITEMS)
    section = infections.build(db, cut, Filters(arm="GROUP B"), SETTINGS, viewer=ANALYST,
                               items=first)
    assert [i.key for i in section.items] == list(infections.FIRST_ITEMS)
    assert analysis.FOLLOWUP_SQL in ran and not episode_reads & set(ran)
    # Still told that the selection has no episode at all (Group B has none).
    assert any("No infection episode" in m.text for m in section.messages)
    infections.build(db, cut, Filters(), SETTINGS, viewer=ANALYST)
    assert episode_reads <= set(ran)
