"""Adverse events: the primary safety outcome, cumulative adverse events through day 100.

Counts are of patients, by their worst CTCAE v5 grade, in the safety population (SAFFL = "Y":
infused SMART101 patients, transplanted controls). An event counts when it starts between day 0
(HSCTDT) and the window's last day, on or before the data cut-off.
"""

from __future__ import annotations

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Permission, Viewer
from smart101_dash.analysis import AnalysisTables, analysis_tables
from smart101_dash.charts import Spec, grade_distribution_figure, with_footer
from smart101_dash.config import Settings
from smart101_dash.endpoints.deaths import PERIODS as DEATH_PERIODS
from smart101_dash.filters import Filters, with_population
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.common import causes_of_death_table
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Widget
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Adverse events"
GROUPS = ("SMART101", "CONTROL")

SAFETY_POPULATION_SQL = with_population("""\
SELECT COHORT AS cohort, count(*) AS n
FROM population
WHERE SAFFL = 'Y' AND HSCTDT IS NOT NULL
GROUP BY COHORT""")

# The events of the window (a CTE of the counts below); the SAE listing is the same rows
# restricted to serious events.
# `adverse_events`: the analysis table of the safety population's events from day 0 to the
# cut-off (analysis.py).
_EVENTS = """\
SELECT p.COHORT AS cohort, p.ARM AS arm, e.USUBJID AS usubjid, e.AESEQ AS aeseq,
       e.AEBODSYS AS soc, e.AEDECOD AS pt, e.ATOXGR AS grade, e.AESER AS serious,
       e.AEREL AS related, e.AEOUT AS outcome, e.start_day, e.end_day
FROM adverse_events e
JOIN population p USING (USUBJID)
WHERE e.start_day <= $window_days"""
SAE_LISTING_SQL = with_population(_EVENTS + """
  AND e.AESER = 'Y'
ORDER BY p.COHORT DESC, e.USUBJID, e.start_day, e.AESEQ""")

# Patients counted in SQL (the events of 100,000 controls never reach Python): per cohort,
# patients meeting each criterion of the summary ...
SUMMARY_SQL = with_population("""\
SELECT cohort,
       count(DISTINCT usubjid) AS with_events,
       count(DISTINCT usubjid) FILTER (WHERE grade IS NOT NULL) AS any_grade,
       count(DISTINCT usubjid) FILTER (WHERE grade >= 3) AS grade3,
       count(DISTINCT usubjid) FILTER (WHERE grade >= 4) AS grade4,
       count(DISTINCT usubjid) FILTER (WHERE grade = 5) AS grade5,
       count(DISTINCT usubjid) FILTER (WHERE serious = 'Y') AS serious,
       count(DISTINCT usubjid) FILTER (WHERE related = 'Y') AS related,
       count(DISTINCT usubjid) FILTER (WHERE serious = 'Y' AND related = 'Y') AS serious_related
FROM events
GROUP BY cohort""", events=_EVENTS)

# ... patients by their worst grade (NULL: no graded event) ...
WORST_GRADE_SQL = with_population("""\
SELECT cohort, worst_grade, count(*) AS patients
FROM (SELECT cohort, usubjid, max(grade) AS worst_grade FROM events GROUP BY ALL)
GROUP BY ALL""", events=_EVENTS)

# ... and patients per system organ class (pt NULL with any_term: all its terms) and term.
BY_TERM_SQL = with_population("""\
SELECT cohort, soc, pt, grouping(pt) = 1 AS any_term,
       count(DISTINCT usubjid) AS any_n,
       count(DISTINCT usubjid) FILTER (WHERE grade >= 3) AS grade3plus_n
FROM events
WHERE soc IS NOT NULL
GROUP BY GROUPING SETS ((cohort, soc, pt), (cohort, soc))""", events=_EVENTS)

# The deaths overall survival counts (day 0 to the cut-off; analysis table `deaths`).
DEATHS_SQL = with_population("""\
SELECT p.COHORT AS cohort, p.ARM AS arm, d.USUBJID AS usubjid, d.day AS death_day,
       d.DTHCAUS AS cause, d.category, d.relapse_related AS relapsed_before_death
FROM deaths d
JOIN population p USING (USUBJID)
ORDER BY d.day, d.USUBJID""")


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, window_days: int | None = None) -> PanelResult:
    """The AE panel; the SAE and death listings only for a viewer allowed subject-level rows."""
    cut.require("adsl", "adae")
    window = settings.endpoints.ae_window_days if window_days is None else window_days
    params = {**filters.params(), "window_days": window}
    q_n = Query(SAFETY_POPULATION_SQL, filters.params())
    n_at_risk = {str(r.cohort): int(r.n) for r in db.query(cut, q_n).itertuples()}
    groups = tuple(g for g in GROUPS if n_at_risk.get(g))
    base = PanelResult(TITLE, cut, filters, n_per_group={g: n_at_risk[g] for g in groups})
    if not groups:
        return PanelResult(TITLE, cut, filters, messages=(Message(
            Level.INFO, "No patient of the safety population matches the filters."),))

    q_summary, q_worst, q_terms = (Query(sql, params) for sql in (
        SUMMARY_SQL, WORST_GRADE_SQL, BY_TERM_SQL))
    tables = analysis_tables(db, cut, settings.endpoints)
    counts = tables.query(db, q_summary)
    summary = patient_summary(counts, n_at_risk, groups)
    by_term = worst_grade_by_term(tables.query(db, q_terms), n_at_risk, groups)
    distribution = worst_grade_distribution(tables.query(db, q_worst), n_at_risk, groups)
    figure = with_footer(worst_grade_figure(distribution, window), base.footer)

    messages = []
    if not counts["with_events"].sum():
        messages.append(Message(Level.INFO, f"No adverse event through day {window} in the "
                                            "patients selected."))
    if any(n < 10 for n in base.n_per_group.values()):
        messages.append(Message(Level.WARNING, "A group has fewer than 10 patients: read the "
                                               "counts, not the percentages."))
    window_text = f"day 0 to day {window}"
    items = [
        PanelItem("ae_summary", f"Patients with adverse events, {window_text}", summary, None,
                  (q_n, q_summary), "n (%) of the safety population; a patient counts once per "
                  "row."),
        PanelItem("ae_worst_grade", f"Worst grade per patient, {window_text}", distribution,
                  figure, (q_n, q_worst), "Each patient counted once, at the worst grade of "
                  "any event."),
        PanelItem("ae_by_term", f"Worst grade by system organ class and preferred term, "
                  f"{window_text}", by_term, None, (q_n, q_terms),
                  "Patients with the term at any grade and at grade 3 or worse; click a column "
                  "heading to sort."),
        causes_of_death_item(db, tables, filters, settings),
    ]
    if viewer.can(Permission.SUBJECT_LEVEL):
        items += listings(db, cut, filters, viewer, params, window_text, tables.schema)
    return PanelResult(
        TITLE, cut, filters, tuple(items), n_per_group=base.n_per_group, messages=tuple(messages),
        definitions=(
            (f"Adverse events starting {window_text} (and on or before the cut-off), in the "
             "safety population (SAFFL = Y)."),
            "Grades: CTCAE v5 (1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death).",
            "SMART101-related: AEREL = Y (treated patients only).",
        ))


def causes_of_death_item(db: Database, tables: AnalysisTables, filters: Filters,
                         settings: Settings) -> PanelItem:
    """Deaths of the transplanted patients by cause and period, SMART101 by arm."""
    deaths, query = tables.death_causes(db, filters)
    columns = {settings.study.arm_label(arm): (f"SMART101:{arm}",)
               for arm in settings.study.arms}
    columns["Control"] = ("CONTROL:CONTROL",)
    table = causes_of_death_table(deaths, columns,
                                  endpoints.death_cause_categories(settings.endpoints),
                                  DEATH_PERIODS)
    return PanelItem("causes_of_death", "Causes of death (day 0 to the cut-off)", table, None,
                     (query,), "Patients who died, transplanted ones of every population (not "
                     "only the safety population). Relapse: death after a relapse (or of the "
                     "disease); otherwise the cause given, grouped (docs/endpoints.md).")


def listings(db: Database, cut: ExportCut, filters: Filters, viewer: Viewer,
             params: dict[str, object], window_text: str, schema: str) -> list[PanelItem]:
    """The SAE and death listings: subject-level reads, refused by the data layer to a viewer
    without that permission."""
    q_serious = Query(SAE_LISTING_SQL, params, subject_level=True)
    serious = db.query(cut, q_serious, viewer, search=(schema,)).drop(columns=["serious"])
    q_deaths = Query(DEATHS_SQL, filters.params(), subject_level=True)
    deaths = db.query(cut, q_deaths, viewer, search=(schema,))
    return [
        PanelItem("sae_listing", f"Serious adverse events, {window_text}", serious, None,
                  (q_serious,), "Days count from the transplant (day 0)."),
        PanelItem("death_listing", "Deaths (day 0 to the cut-off)", deaths, None,
                  (q_deaths,), "Death day counts from the transplant (day 0); category as in "
                  "'Causes of death'."),
    ]


def _n_pct(n: int, total: int) -> str:
    return f"{n} ({100 * n / total:.0f}%)" if total else "-"


def patient_summary(counts: pd.DataFrame, n_at_risk: dict[str, int],
                    groups: tuple[str, ...]) -> pd.DataFrame:
    """Patients with any AE, grade 3 or worse, grade 5, serious, and SMART101-related
    (`counts`: the rows of SUMMARY_SQL)."""
    by_cohort = {str(r["cohort"]): r for r in counts.to_dict("records")}
    rows = []
    for label, column in (
            ("Any adverse event", "any_grade"), ("Grade 3 or worse", "grade3"),
            ("Grade 4 or worse", "grade4"), ("Grade 5 (fatal)", "grade5"),
            ("Serious", "serious"), ("SMART101-related", "related"),
            ("Serious and SMART101-related", "serious_related")):
        row: dict[str, object] = {"patients with": label}
        for g in groups:
            n = int(by_cohort[g][column]) if g in by_cohort else 0
            if label.endswith("related") and g == "CONTROL":
                row[g] = "not applicable"  # controls receive no SMART101
            else:
                row[g] = _n_pct(n, n_at_risk[g])
        rows.append(row)
    return pd.DataFrame(rows, columns=["patients with", *groups])


def worst_grade_distribution(worst: pd.DataFrame, n_at_risk: dict[str, int],
                             groups: tuple[str, ...]) -> pd.DataFrame:
    """Patients by their worst grade (0 = no event), per group: n and % of the group
    (`worst`: the rows of WORST_GRADE_SQL)."""
    found = {(str(r.cohort), None if pd.isna(r.worst_grade) else int(r.worst_grade)):
             int(r.patients) for r in worst.itertuples(index=False)}
    rows = []
    for g in groups:
        with_events = sum(n for (cohort, _), n in found.items() if cohort == g)
        counts = {0: n_at_risk[g] - with_events}
        counts.update({k: found.get((g, k), 0) for k in range(1, 6)})
        for grade, n in counts.items():
            rows.append({"group": g, "worst_grade": grade, "patients": n,
                         "percent": round(100 * n / n_at_risk[g], 1)})
    return pd.DataFrame(rows, columns=["group", "worst_grade", "patients", "percent"])


def worst_grade_by_term(terms: pd.DataFrame, n_at_risk: dict[str, int],
                        groups: tuple[str, ...]) -> pd.DataFrame:
    """Per SOC (all terms) and preferred term: patients at any grade and at grade >= 3
    (`terms`: the rows of BY_TERM_SQL)."""
    columns = ["system_organ_class", "preferred_term"]
    for g in groups:
        columns += [f"{g}_any_n", f"{g}_any_pct", f"{g}_grade3plus_n", f"{g}_grade3plus_pct"]
    found: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for r in terms.itertuples(index=False):
        if not r.any_term and pd.isna(r.pt):
            continue  # an event without a term counts in its SOC's row only
        pt = "(any term)" if r.any_term else str(r.pt)
        found.setdefault((str(r.soc), pt), {})[str(r.cohort)] = (int(r.any_n),
                                                                 int(r.grade3plus_n))
    if not found:
        return pd.DataFrame(columns=columns)
    rows = []
    for (soc, pt), by_group in sorted(found.items()):
        row: dict[str, object] = {"system_organ_class": soc, "preferred_term": pt}
        for g in groups:
            any_n, severe_n = by_group.get(g, (0, 0))
            row[f"{g}_any_n"] = any_n
            row[f"{g}_any_pct"] = round(100 * any_n / n_at_risk[g], 1)
            row[f"{g}_grade3plus_n"] = severe_n
            row[f"{g}_grade3plus_pct"] = round(100 * severe_n / n_at_risk[g], 1)
        rows.append(row)
    table = pd.DataFrame(rows, columns=columns)
    # SOC header rows first within each SOC, SOCs by overall frequency.
    table["_soc_total"] = table.groupby("system_organ_class")[
        [f"{g}_any_n" for g in groups]].transform("max").sum(axis=1)
    table["_is_term"] = table["preferred_term"] != "(any term)"
    table = table.sort_values(["_soc_total", "system_organ_class", "_is_term", "preferred_term"],
                              ascending=[False, True, True, True])
    return table.drop(columns=["_soc_total", "_is_term"]).reset_index(drop=True)


GRADE_COLORS = {0: "#d9d9d9", 1: "#c6dbef", 2: "#6baed6", 3: "#fd8d3c", 4: "#d94801",
                5: "#7f2704"}
GRADE_LABELS = {0: "No event", **{g: f"Grade {g}" for g in range(1, 6)}}


def worst_grade_figure(distribution: pd.DataFrame, window: int) -> Spec:
    """Stacked horizontal bars: % of each group by worst grade."""
    return grade_distribution_figure(
        distribution.rename(columns={"worst_grade": "grade"}), grade_labels=GRADE_LABELS,
        grade_colors=GRADE_COLORS, x_title=f"% of patients (worst grade, day 0 to {window})")


PANEL = Panel(
    key="adverse_events", title="Adverse events", icon=":material/warning:",
    datasets=("adsl", "adae"),
    items=(ItemSpec("ae_summary", Kind.TABLE), ItemSpec("ae_worst_grade", Kind.FIGURE),
           ItemSpec("ae_by_term", Kind.TABLE), ItemSpec("causes_of_death", Kind.TABLE),
           ItemSpec("sae_listing", Kind.TABLE, subject_level=True),
           ItemSpec("death_listing", Kind.TABLE, subject_level=True)),
    options=(Option(
        "window_days", "Window", Widget.RADIO, lambda s: s.endpoints.ae_window_days,
        choices=lambda s: (
            (f"Through day {s.endpoints.ae_window_days} (primary outcome)",
             s.endpoints.ae_window_days),
            (f"Through 24 months (day {s.endpoints.follow_up_days})",
             s.endpoints.follow_up_days))),),
    build=build)
