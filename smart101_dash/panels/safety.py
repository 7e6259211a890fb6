"""Safety summary: the first page a DSMB member opens.

Is anyone being harmed, what is new, has a stopping rule been crossed: exposure (enrolled,
transplanted, infused, follow-up), deaths by cause and period, patients with SAEs, with
SMART101-related grade 3+ AEs, with grade III-IV acute GvHD by day 100 and with grade 3
infections, the stopping rules' status and the changes since the last cut, each with its
numbers by cohort and arm and a link to the page with the detail.

`pooled=True` (the open session of the report) gives every count over all patients of the
filters, with no column per cohort or arm: no comparison.
"""

from __future__ import annotations

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.analysis import analysis_tables
from smart101_dash.changes import change_tables, subject_changes_sql
from smart101_dash.config import Settings
from smart101_dash.cuts import earlier_cut
from smart101_dash.endpoints.deaths import PERIODS as DEATH_PERIODS
from smart101_dash.filters import Filters, with_population
from smart101_dash.monitoring import MonitoringFileError, load_monitoring
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.common import causes_of_death_table
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Widget
from smart101_dash.panels.stopping_rules import evaluate_rules
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Safety summary"
GROUPS = (("SMART101", "GROUP A"), ("SMART101", "GROUP B"), ("CONTROL", "CONTROL"))

# Patients per cohort and arm meeting each safety criterion; `n` the denominator (the
# transplanted patients; for exposure, every enrolled patient).
EXPOSURE_SQL = with_population("""\
SELECT COHORT AS cohort, ARM AS arm, count(*) AS enrolled, count(HSCTDT) AS transplanted,
       count(TRTSDT) AS infused,
       median(date_diff('day', HSCTDT, least(coalesce(DTHDT, LSTALVDT), DCUTDT)))
           FILTER (WHERE HSCTDT IS NOT NULL) AS median_follow_up_days
FROM population
GROUP BY ALL""")

# Adverse events and infections from the day of the transplant to the cut-off; aGvHD by
# day 100 (the worst overall grade per patient, analysis table adgvhd_grade).
EVENTS_SQL = with_population("""\
SELECT p.COHORT AS cohort, p.ARM AS arm, 'Patients with an SAE' AS criterion,
       count(DISTINCT e.subject) AS patients
FROM adverse_events e JOIN population p USING (subject) WHERE e.AESER = 'Y' GROUP BY ALL
UNION ALL
SELECT p.COHORT, p.ARM, 'Patients with a SMART101-related grade 3+ AE', count(DISTINCT e.subject)
FROM adverse_events e JOIN population p USING (subject)
WHERE e.AEREL = 'Y' AND e.ATOXGR >= 3 GROUP BY ALL
UNION ALL
SELECT p.COHORT, p.ARM, 'Patients with grade III-IV aGvHD by day 100', count(*)
FROM adgvhd_grade g JOIN population p USING (subject) WHERE g.max_grade >= 3 GROUP BY ALL
UNION ALL
SELECT p.COHORT, p.ARM, 'Patients with a grade 3 infection', count(DISTINCT e.subject)
FROM infection_episodes e JOIN population p USING (subject) WHERE e.INFSEV = 3 GROUP BY ALL""")
CRITERIA = ("Patients with an SAE", "Patients with a SMART101-related grade 3+ AE",
            "Patients with grade III-IV aGvHD by day 100", "Patients with a grade 3 infection")


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, pooled: bool = False) -> PanelResult:
    """Every item is aggregate: counts per cohort and arm (or pooled), never subjects."""
    study = settings.study
    columns = (["All patients"] if pooled else
               [study.arm_label(a) if c == "SMART101" else "Control" for c, a in GROUPS])

    def spread(found: dict[tuple[str, str], int]) -> list[int]:
        if pooled:
            return [sum(found.values())]
        return [found.get(g, 0) for g in GROUPS]

    q_exposure = Query(EXPOSURE_SQL, filters.params())
    exposure = db.query(cut, q_exposure)
    rows = []
    for label, column in (("Enrolled", "enrolled"), ("Transplanted (day 0)", "transplanted"),
                          ("SMART101 infused", "infused")):
        found = {(r.cohort, r.arm): int(getattr(r, column)) for r in exposure.itertuples()}
        rows.append([label, *spread(found)])
    exposure_table = pd.DataFrame(rows, columns=["", *columns]).rename(columns={"": "exposure"})
    follow = {(r.cohort, r.arm): r.median_follow_up_days for r in exposure.itertuples()}
    if not pooled:  # a median is not additive: per group only
        exposure_table.loc[len(exposure_table)] = [
            "Median follow-up, days (transplanted)",
            *[None if pd.isna(follow.get(g)) else int(follow[g]) for g in GROUPS]]
    # Whole numbers, blank where a group has no one followed: not 0.000 for a group left
    # out by the arm chosen (a column holding an empty cell would otherwise be floats).
    exposure_table = exposure_table.astype({c: "Int64" for c in columns})
    n_per_group = {c: int(v) for c, v in zip(columns, exposure_table.iloc[1, 1:], strict=True)}

    tables = analysis_tables(db, cut, settings.endpoints)
    deaths, q_deaths = tables.death_causes(db, filters)
    keys = ({"All patients": tuple(f"{c}:{a}" for c, a in GROUPS)} if pooled else
            {label: (f"{c}:{a}",) for label, (c, a) in zip(columns, GROUPS, strict=True)})
    death_table = causes_of_death_table(deaths, keys,
                                        endpoints.death_cause_categories(settings.endpoints),
                                        DEATH_PERIODS)

    items = [
        PanelItem("safety_exposure", "Exposure", exposure_table, None, (q_exposure,),
                  "Follow-up from day 0 to death, last known alive or the cut-off.",
                  link="overview"),
        PanelItem("safety_deaths", "Deaths by cause and period", death_table, None,
                  (q_deaths,), "Patients who died between day 0 and the cut-off; period by "
                  "the day of death. Relapse: death after a relapse (or of the disease); "
                  "otherwise the cause given (DTHCAUS), grouped.", link="adverse_events"),
    ]
    messages: list[Message] = []
    events_table, q_events = _events(db, cut, filters, settings, spread, columns, messages)
    if events_table is not None:
        items.append(PanelItem("safety_events", "Serious and severe events", events_table,
                               None, (q_events,), "Patients from day 0: adverse events to the "
                               "cut-off, infections to day 730, acute GvHD by day 100 (worst "
                               "MAGIC grade).", link="adverse_events"))
    items += _rules(db, cut, settings, messages)
    items += _changes(db, cut, filters, spread, columns, messages)
    return PanelResult(TITLE, cut, filters, tuple(items), n_per_group=n_per_group,
                       messages=tuple(messages), definitions=(
                           "Counts are patients of the filtered population"
                           + (", all cohorts and arms pooled (open session)." if pooled
                              else ", by cohort and arm (SMART101 by arm; controls pooled)."),))


def _events(db: Database, cut: ExportCut, filters: Filters, settings: Settings, spread: object,
            columns: list[str], messages: list[Message]
            ) -> tuple[pd.DataFrame | None, Query | None]:
    missing = [d for d in ("adae", "adgvhd", "adinf") if not cut.report.is_usable(d)]
    if missing:
        messages.append(Message(Level.WARNING, f"Serious and severe events need "
                                               f"{', '.join(missing)}, not usable in this cut "
                                               "(see Data quality)."))
        return None, None
    tables = analysis_tables(db, cut, settings.endpoints)
    query = Query(EVENTS_SQL, filters.params())
    counts = tables.query(db, query)
    rows = []
    for criterion in CRITERIA:
        block = counts[counts["criterion"] == criterion]
        found = {(r.cohort, r.arm): int(r.patients) for r in block.itertuples()}
        rows.append([criterion, *spread(found)])  # type: ignore[operator]
    return pd.DataFrame(rows, columns=["event", *columns]), query


def _rules(db: Database, cut: ExportCut, settings: Settings, messages: list[Message]
           ) -> list[PanelItem]:
    try:
        monitoring = load_monitoring()
    except MonitoringFileError as exc:
        messages.append(Message(Level.ERROR, f"The stopping rules cannot be read: {exc}"))
        return []
    results, queries = evaluate_rules(db, cut, settings, monitoring)
    table = pd.DataFrame([{"rule": r.rule.title, "status": r.status.value,
                           "events": r.summary} for r in results],
                         columns=["rule", "status", "events"])
    caption = "Each rule on its own population (infused SMART101 patients or one arm)."
    if monitoring.example:
        caption += " Example rules: not the protocol's."
    return [PanelItem("safety_rules", "Stopping rules", table, None, queries, caption,
                      link="stopping_rules")]


def _changes(db: Database, cut: ExportCut, filters: Filters, spread: object,
             columns: list[str], messages: list[Message]) -> list[PanelItem]:
    chosen = earlier_cut(cut.export_dir)
    if chosen is None:
        return []
    old = db.load(chosen.path)
    if not old.report.is_usable("adsl"):
        messages.append(Message(Level.WARNING, f"The cut of {chosen.label} has no usable "
                                               "adsl: no changes shown."))
        return []
    tables = change_tables(db, cut, old)
    query = Query(subject_changes_sql(counted=True), filters.params())
    counts = db.query(cut, query, search=(tables.schema,))
    rows = []
    for change in tables.changes:
        block = counts[counts["change"] == change]
        rows.append([change, *spread({(r.cohort, r.arm): int(r.subjects)  # type: ignore[operator]
                                      for r in block.itertuples()})])
    return [PanelItem("safety_changes", f"Since the cut of {chosen.label}",
                      pd.DataFrame(rows, columns=["change", *columns]), None, (query,),
                      "Subjects with each change; the subjects are listed on 'Since the last "
                      "cut'.", link="changes")]


PANEL = Panel(
    key="safety", title=TITLE, icon=":material/health_and_safety:", datasets=("adsl",),
    items=tuple(ItemSpec(k, Kind.TABLE) for k in (
        "safety_exposure", "safety_deaths", "safety_events", "safety_rules",
        "safety_changes")),
    options=(Option("pooled", "All patients pooled (open session)", Widget.TOGGLE,
                    lambda s: False, help="Counts over all patients, with no column per "
                                          "cohort or arm: what an open session may show."),),
    build=build)
