"""Stopping rules: posterior probabilities and boundary decisions against hand calculations,
the rules file's errors, and a rule crossed on a purpose-made export."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from export_factory import adsl_rows, day, to_table, valid_tables, write_export
from scipy.stats import beta
from viewers import DSMB

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.monitoring import (
    MONITORING_ENV,
    Bayesian,
    BoundaryTable,
    MonitoringFileError,
    Rule,
    Status,
    evaluate,
    load_monitoring,
)
from smart101_dash.panels import safety, stopping_rules
from smart101_dash.store import Database

START = date(2025, 1, 1)


def outcomes(events: list[bool], same_day: bool = False) -> pd.DataFrame:
    """Patients evaluable one a day (or all on one day), in order, with these outcomes."""
    return pd.DataFrame({
        "USUBJID": [f"S-{i}" for i in range(len(events))],
        "evaluable_on": [START if same_day else START + timedelta(days=i)
                         for i in range(len(events))],
        "event": events})


def rule(boundary: Bayesian | BoundaryTable) -> Rule:
    return Rule("r", "A rule", "NRM", 100, "SMART101", boundary)


@pytest.mark.parametrize(("a", "b", "p0", "x", "n"), [
    (0.5, 2.0, 0.2, 2, 3), (1, 1, 0.3, 4, 10), (0.2, 1.8, 0.1, 0, 12), (2, 8, 0.25, 9, 20)])
def test_posterior_is_the_beta_tail(a: float, b: float, p0: float, x: int, n: int) -> None:
    # By hand: the posterior is Beta(a + x, b + n - x); P(rate > p0) is its upper tail.
    expected = 1 - beta(a + x, b + n - x).cdf(p0)
    assert Bayesian(a, b, p0, 0.8).posterior(x, n) == pytest.approx(expected, abs=1e-12)


def test_bayesian_statuses_and_boundary() -> None:
    boundary = Bayesian(0.5, 2.0, 0.2, 0.8)
    # 1 event in 10: P(rate > 0.2 | Beta(1.5, 11)) = 0.171; with one more (2 in 11): 0.389.
    within = evaluate(rule(boundary), outcomes([True] + [False] * 9))
    assert (within.events, within.evaluable, within.status) == (1, 10, Status.WITHIN)
    assert within.posterior == pytest.approx(beta(1.5, 11).sf(0.2))
    # 3 events in 10: 0.715; one more (4 in 11) gives 0.856 > 0.8: approaching.
    near = evaluate(rule(boundary), outcomes([True] * 3 + [False] * 7))
    assert near.posterior == pytest.approx(beta(3.5, 9).sf(0.2))
    assert beta(4.5, 9).sf(0.2) > 0.8 > near.posterior
    assert near.status is Status.APPROACHING
    crossed = evaluate(rule(boundary), outcomes([True] * 5 + [False] * 5))
    assert crossed.status is Status.CROSSED and crossed.posterior > 0.8
    # The chart's boundary: the fewest events that cross at each count, by hand at n = 10.
    fewest = min(k for k in range(11) if beta(0.5 + k, 2 + 10 - k).sf(0.2) > 0.8)
    assert crossed.accrual["boundary"].iloc[-1] == fewest == crossed.boundary_now


def test_boundary_table_counts_the_first_n() -> None:
    table = BoundaryTable((3, 6), (2, 3))
    # Events as patients 1 and 3: 2 among the first 3 -> crossed.
    assert evaluate(rule(table), outcomes([True, False, True, False])).status is Status.CROSSED
    # Events as patients 4 and 5 of 5: none among the first 3, 2 among 6 so far; one more
    # event in a sixth patient makes 3 of 6: approaching.
    result = evaluate(rule(table), outcomes([False, False, False, True, True]))
    assert (result.events, result.evaluable, result.status) == (2, 5, Status.APPROACHING)
    # 1 event among 6: within; the table has no row beyond 6, so one more cannot cross.
    assert evaluate(rule(table), outcomes([True] + [False] * 5)).status is Status.WITHIN
    assert result.accrual["boundary"].tolist() == [2, 2, 2, 3, 3]


def test_ties_count_events_first() -> None:
    # Four patients evaluable the same day, two events: the first 3 hold both events.
    table = BoundaryTable((3,), (2,))
    same_day = outcomes([False, False, True, True], same_day=True)
    assert evaluate(rule(table), same_day).status is Status.CROSSED


def test_not_yet_evaluable_patients_are_left_out() -> None:
    data = outcomes([True, False, False]).assign(
        evaluable_on=[START, None, START + timedelta(days=3)])
    result = evaluate(rule(BoundaryTable((3,), (2,))), data)
    assert (result.events, result.evaluable) == (1, 2)


HEAD = '[[rules]]\nkey="x"\ntitle="X"\nday=100\n'
BAYESIAN = "[rules.bayesian]\nprior=[1,1]\nthreshold=0.2\nlevel=1.5\n"


@pytest.mark.parametrize(("text", "message"), [
    ("example = true", "needs at least one"),
    (HEAD + 'endpoint="NOPE"\n[rules.boundary]\nn=[3]\nk=[2]', "endpoint must be one of"),
    (HEAD + 'endpoint="NRM"\n[rules.boundary]\nn=[3]\nk=[4]', "each k be at most its n"),
    (HEAD + 'endpoint="NRM"\n' + BAYESIAN + "[rules.boundary]\nn=[3]\nk=[2]", "exactly one"),
    (HEAD + 'endpoint="NRM"\n' + BAYESIAN, "bayesian.level must be between 0 and 1"),
    ("[[rules]\n", "not valid TOML"),
])
def test_file_errors_name_the_rule_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "monitoring.toml"
    path.write_text(text)
    with pytest.raises(MonitoringFileError, match=message):
        load_monitoring(path)


def test_the_committed_file_is_an_example() -> None:
    monitoring = load_monitoring()
    assert monitoring.example
    assert {r.endpoint for r in monitoring.rules} >= {"NRM", "AGVHD34", "RELATED_AE45", "GF"}


NRM_RULE = """\
[[rules]]
key = "nrm100"
title = "NRM by day 100"
endpoint = "NRM"
day = 100
population = "SMART101"
[rules.bayesian]
prior = [0.5, 2.0]
threshold = 0.2
level = 0.8
"""


def early_deaths_and_nrm_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                              ) -> tuple[Path, Path]:
    """An export where two of the three infused patients die without relapse (days 40 and
    60), and a rules file in force holding NRM_RULE: the export and the rules file."""
    rows = adsl_rows()
    for row, death in zip([r for r in rows if r["USUBJID"] in ("T-A1", "T-B1")], (40, 60),
                          strict=True):
        row.update(DTHFL="Y", DTHDT=day(death), DTHCAUS="Infection", LSTALVDT=day(death),
                   EOSSTT="DISCONTINUED", DCSREAS="DEATH")
    export = write_export(tmp_path / "export", {**valid_tables(), "adsl": to_table("adsl", rows)})
    rules = tmp_path / "rules.toml"
    rules.write_text(NRM_RULE)
    monkeypatch.setenv(MONITORING_ENV, str(rules))
    return export, rules


def test_a_rule_crossed_on_a_purpose_made_export(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    export, _ = early_deaths_and_nrm_rule(tmp_path, monkeypatch)
    db = Database()
    result = stopping_rules.build(db, db.load(export), Filters(), SETTINGS, viewer=DSMB)
    table = result.item("stopping_rules").data
    # T-A2 relapsed on day 150: followed past day 100 without NRM, evaluable, no event.
    assert table[["events", "evaluable", "status"]].iloc[0].tolist() == [2, 3, "crossed"]
    assert table["posterior_probability"].iloc[0] == pytest.approx(
        round(1 - beta(2.5, 3).cdf(0.2), 4))
    assert any("Crossed: NRM by day 100" in m.text for m in result.messages)


def test_rules_are_evaluated_once_per_cut_and_rules_file(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """No filter applies to a rule: the safety summary's filter changes reuse the results;
    an edited rules file is evaluated afresh on the same cut."""
    export, rules = early_deaths_and_nrm_rule(tmp_path, monkeypatch)
    evaluated = []
    monkeypatch.setattr(stopping_rules, "evaluate",
                        lambda rule, outcomes: evaluated.append(rule.key) or evaluate(rule,
                                                                                      outcomes))
    db = Database()
    cut = db.load(export)
    for filters in (Filters(), Filters(arm="GROUP A"), Filters(diagnoses=("AML",))):
        shown = safety.build(db, cut, filters, SETTINGS, viewer=DSMB)
        assert shown.item("safety_rules").data["status"].tolist() == ["crossed"]
    assert evaluated == ["nrm100"]
    rules.write_text(NRM_RULE.replace("threshold = 0.2", "threshold = 0.9"))
    shown = stopping_rules.build(db, cut, Filters(), SETTINGS, viewer=DSMB)
    assert shown.item("stopping_rules").data["status"].tolist() == ["within"]
    assert evaluated == ["nrm100", "nrm100"]


def test_demo_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database()
    result = stopping_rules.build(db, db.load(SETTINGS_DEMO), Filters(), SETTINGS, viewer=DSMB)
    table = result.item("stopping_rules").data.set_index("rule")
    # The demo sends GFDT: one primary graft failure (day 28-35) among 33 infused patients.
    graft = table.loc["Graft failure by day 42"]
    assert (graft["events"], graft["evaluable"], graft["status"]) == (1, 33, "within")
    assert graft["posterior_probability"] == pytest.approx(
        round(1 - beta(0.2 + 1, 1.8 + 32).cdf(0.1), 4))
    assert table.loc["NRM by day 100", "status"] in {"within", "approaching", "crossed"}
    assert any("Example rules" in m.text for m in result.messages)
    assert result.item("stopping_rules_chart").figure is not None


def test_graft_failure_is_not_evaluable_without_gfdt(tmp_path: Path) -> None:
    db = Database()
    result = stopping_rules.build(db, db.load(write_export(tmp_path / "e")), Filters(), SETTINGS,
                                  viewer=DSMB)
    table = result.item("stopping_rules").data.set_index("rule")
    assert table.loc["Graft failure by day 42", "status"] == (
        "not evaluable: the export has no graft failure date (GFDT)")


def test_a_broken_rules_file_is_a_message(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[[rules]\n")
    monkeypatch.setenv(MONITORING_ENV, str(path))
    db = Database()
    result = stopping_rules.build(db, db.load(SETTINGS_DEMO), Filters(), SETTINGS, viewer=DSMB)
    assert not result.items and "not valid TOML" in result.messages[0].text


SETTINGS_DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


@pytest.mark.parametrize("prior", [(0.5, 1.0), (1.0, 3.0), (2.0, 9.0)])
@pytest.mark.parametrize("threshold, level", [(0.1, 0.8), (0.2, 0.9), (0.3, 0.95)])
def test_the_bayesian_boundary_is_the_fewest_events_whose_posterior_crosses(
        prior: tuple[float, float], threshold: float, level: float) -> None:
    a, b = prior
    rule = Bayesian(a, b, threshold, level)
    for n in range(40):
        by_definition = next((k for k in range(n + 1)
                              if beta.sf(threshold, a + k, b + n - k) > level), None)
        assert rule.smallest_crossing(n) == by_definition, n
