"""The safety stopping rules of the protocol (monitoring.py), evaluated on the cut.

Each rule watches infused SMART101 patients (all, or one arm) for an endpoint by a day; the
table gives its events over evaluable patients, the posterior probability or the boundary,
and its status; the chart, the events as evaluable patients accrue against the boundary.
The filters of the sidebar do not apply: a rule is defined on its own population.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from smart101_dash.access import Viewer
from smart101_dash.analysis import AnalysisTables, analysis_tables
from smart101_dash.charts import stopping_rules_figure, with_footer
from smart101_dash.config import Settings
from smart101_dash.filters import Filters
from smart101_dash.monitoring import (
    ENDPOINTS,
    POPULATIONS,
    Bayesian,
    Monitoring,
    MonitoringFileError,
    Rule,
    RuleResult,
    evaluate,
    load_monitoring,
    not_evaluable,
)
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.spec import ItemSpec, Kind, Panel
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Stopping rules"
# The status first after the rule: it is what a reader looks for, and it stays in view on a
# narrow screen.
RULE_COLUMNS = ["rule", "status", "events", "evaluable", "posterior_probability",
                "events_that_cross_now", "endpoint", "population", "boundary"]

# Who the rule watches: infused SMART101 patients, of one arm if it names one.
_POPULATION = """\
SELECT USUBJID, HSCTDT FROM adsl
WHERE COHORT = 'SMART101' AND TRTSDT IS NOT NULL AND HSCTDT IS NOT NULL
  AND ($arm IS NULL OR ARM = $arm)"""

INFUSED_SQL = """\
SELECT ARM AS arm, count(*) AS n FROM adsl
WHERE COHORT = 'SMART101' AND TRTSDT IS NOT NULL AND HSCTDT IS NOT NULL
GROUP BY ARM ORDER BY ARM"""

# An analysis endpoint by the rule's day: the event (status 1) by the day; known on the day of
# the event or of a competing event (status 2) by the day, or on the day itself when followed
# that far.
ENDPOINT_OUTCOMES_SQL = f"""\
WITH watched AS ({_POPULATION})
SELECT w.USUBJID, t.status = 1 AND t.time <= $day AS event,
       CASE WHEN t.status IN (1, 2) AND t.time <= $day THEN w.HSCTDT + CAST(t.time AS INTEGER)
            WHEN t.time >= $day THEN w.HSCTDT + CAST($day AS INTEGER) END AS evaluable_on
FROM watched w
JOIN adtte t ON t.USUBJID = w.USUBJID AND t.PARAMCD = $endpoint"""

# A SMART101-related grade 4-5 adverse event starting by the day; death before it is known.
RELATED_AE_OUTCOMES_SQL = f"""\
WITH watched AS ({_POPULATION}),
severe AS (
    SELECT USUBJID, min(start_day) AS first_day FROM adverse_events
    WHERE AEREL = 'Y' AND ATOXGR >= 4 AND start_day <= $day GROUP BY USUBJID)
SELECT w.USUBJID, s.first_day IS NOT NULL AS event,
       CASE WHEN s.first_day IS NOT NULL THEN w.HSCTDT + CAST(s.first_day AS INTEGER)
            WHEN os.time >= $day THEN w.HSCTDT + CAST($day AS INTEGER)
            WHEN os.status = 1 THEN w.HSCTDT + CAST(os.time AS INTEGER) END AS evaluable_on
FROM watched w
JOIN adtte os ON os.USUBJID = w.USUBJID AND os.PARAMCD = 'OS'
LEFT JOIN severe s ON s.USUBJID = w.USUBJID"""


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer) -> PanelResult:
    """Every item is aggregate: counts of events and evaluable patients per rule."""
    try:
        monitoring = load_monitoring()
    except MonitoringFileError as exc:
        return PanelResult(TITLE, cut, filters, messages=(Message(
            Level.ERROR, f"The stopping rules cannot be read: {exc}"),))
    results, queries = evaluate_rules(db, cut, settings, monitoring)
    table = rules_table(results)
    infused = db.query(cut, Query(INFUSED_SQL))
    n_per_group = {f"{r.arm} infused": int(r.n) for r in infused.itertuples()}
    # The rules ignore the sidebar: the footer says so rather than print its filters.
    base = PanelResult(TITLE, cut, Filters(), n_per_group=n_per_group)
    figure = with_footer(stopping_rules_figure(
        [(r.rule.title, r.status.value, r.accrual) for r in results
         if r.status.value != "not evaluable"]), base.footer)
    messages = [Message(Level.WARNING, f"Example rules ({monitoring.path.name}): not the "
                                       "protocol's. " + monitoring.note)] \
        if monitoring.example else []
    crossed = [r.rule.title for r in results if r.status.value == "crossed"]
    if crossed:
        messages.append(Message(Level.ERROR, "Crossed: " + "; ".join(crossed) + "."))
    if any(f for f in (filters.arm, filters.diagnoses, filters.age_groups)):
        messages.append(Message(Level.INFO, "The sidebar's filters do not apply here: each "
                                            "rule is defined on its own population."))
    items = (
        PanelItem("stopping_rules", "Stopping rules and their status", table, None, queries,
                  "Evaluable: the outcome by the rule's day is known (the event, a competing "
                  "event such as death, or follow-up to that day). Approaching: one more event "
                  "in one more evaluable patient would cross the rule."),
        PanelItem("stopping_rules_chart", "Events as evaluable patients accrue",
                  accrual_table(results),
                  figure if any(r.evaluable for r in results) else None, queries,
                  "Observed events (solid) against the fewest events that would cross each "
                  "rule at that number of evaluable patients (dashed)."),
    )
    return PanelResult(TITLE, cut, Filters(), items, messages=tuple(messages),
                       n_per_group=n_per_group, definitions=(
        f"Rules from {monitoring.path}" + (" (an example)." if monitoring.example else "."),
        *(f"{r.title}: {ENDPOINTS[r.endpoint]} by day {r.day}, {POPULATIONS[r.population]}; "
          f"{r.boundary.describe()}." for r in monitoring.rules)))


def evaluate_rules(db: Database, cut: ExportCut, settings: Settings, monitoring: Monitoring
                   ) -> tuple[tuple[RuleResult, ...], tuple[Query, ...]]:
    """Each rule's result on the cut, and the queries that read its outcomes. Each rule has
    its own population and no filter applies, so the results are made once per cut, rules
    and endpoint definitions (the safety summary reads them on every filter change)."""
    cut.require("adsl")
    tables = analysis_tables(db, cut, settings.endpoints)

    def compute() -> tuple[tuple[RuleResult, ...], tuple[Query, ...]]:
        results, queries = [], []
        for rule in monitoring.rules:
            reason = _unavailable(rule, cut, tables, settings)
            if reason:
                results.append(not_evaluable(rule, reason))
                continue
            query = outcome_query(rule)
            results.append(evaluate(rule, tables.query(db, query)))
            queries.append(query)
        return tuple(results), tuple(queries)

    return db.once(cut, ("stopping_rules", tables.schema, monitoring), compute)


def outcome_query(rule: Rule) -> Query:
    sql = RELATED_AE_OUTCOMES_SQL if rule.endpoint == "RELATED_AE45" else ENDPOINT_OUTCOMES_SQL
    params = {"arm": None if rule.population == "SMART101" else rule.population,
              "day": rule.day}
    if rule.endpoint != "RELATED_AE45":
        params["endpoint"] = rule.endpoint
    return Query(sql, params)


def _unavailable(rule: Rule, cut: ExportCut, tables: AnalysisTables, settings: Settings
                 ) -> str:
    """Why the cut cannot evaluate `rule` ("" when it can)."""
    if rule.endpoint == "GF" and "GF" not in tables.parameters:
        return "not evaluable: the export has no graft failure date (GFDT)"
    if rule.endpoint == "RELATED_AE45":
        return "" if cut.report.is_usable("adae") else "not evaluable: adae is not usable"
    if rule.endpoint not in tables.parameters:
        return f"not evaluable: {rule.endpoint} could not be derived (see Data quality)"
    if rule.endpoint.startswith("AGVHD") and rule.day > max(settings.endpoints.agvhd_windows_days):
        return (f"not evaluable: acute GvHD is derived to day "
                f"{max(settings.endpoints.agvhd_windows_days)}")
    return ""


def accrual_table(results: Sequence[RuleResult]) -> pd.DataFrame:
    """What the chart draws: per rule, the events among the first n evaluable patients and
    the fewest events that would cross the rule at n."""
    frames = [r.accrual.assign(rule=r.rule.title) for r in results if len(r.accrual)]
    if not frames:
        return pd.DataFrame(columns=["rule", "evaluable", "events", "events_that_cross"])
    table = pd.concat(frames, ignore_index=True).rename(columns={"boundary": "events_that_cross"})
    table["events_that_cross"] = table["events_that_cross"].astype("Int64")
    return table[["rule", "evaluable", "events", "events_that_cross"]]


def rules_table(results: Sequence[RuleResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        rows.append({
            "rule": r.rule.title, "endpoint": f"{ENDPOINTS[r.rule.endpoint]} by day {r.rule.day}",
            "population": POPULATIONS[r.rule.population],
            "boundary": r.rule.boundary.describe(),
            "events": r.events if r.status.value != "not evaluable" else None,
            "evaluable": r.evaluable if r.status.value != "not evaluable" else None,
            "posterior_probability": (round(r.posterior, 4) if r.posterior is not None
                                      else None),
            "events_that_cross_now": (r.boundary_now if not isinstance(r.rule.boundary, Bayesian)
                                      or r.evaluable else None),
            "status": r.status.value if r.status.value != "not evaluable" else r.reason})
    table = pd.DataFrame(rows, columns=RULE_COLUMNS)
    for column in ("events", "evaluable", "events_that_cross_now"):
        table[column] = table[column].astype("Int64")  # whole numbers, empty when not known
    return table


PANEL = Panel(
    key="stopping_rules", title=TITLE, icon=":material/report:", datasets=("adsl",),
    items=(ItemSpec("stopping_rules", Kind.TABLE), ItemSpec("stopping_rules_chart",
                                                           Kind.FIGURE)),
    build=build)
