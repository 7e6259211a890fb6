"""Adverse events: the primary safety outcome, cumulative adverse events through day 100.

Counts are of patients, by their worst CTCAE v5 grade, in the safety population (SAFFL = "Y":
infused SMART101 patients, transplanted controls). The window is a stated definition
(docs/endpoints.md, "Adverse events"), on or before the data cut-off either way:
- from the transplant (the default): every event starting on day 0 (HSCTDT) to the window's
  last day, for both cohorts; for SMART101 this includes the days before the infusion;
- SMART101 from infusion: SMART101 events only when treatment-emergent (TRTEMFL = "Y");
  controls, who receive no infusion, still from day 0.

Deaths need only adsl: without a usable adae the page still shows them, and says why the
adverse-event tables are missing.
"""

from __future__ import annotations

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Permission, Viewer
from smart101_dash.analysis import AnalysisTables, analysis_tables
from smart101_dash.charts import GRADE_COLORS, Spec, grade_distribution_figure, with_footer
from smart101_dash.config import Settings
from smart101_dash.endpoints.deaths import PERIODS as DEATH_PERIODS
from smart101_dash.filters import Filters, with_population
from smart101_dash.labels import group_names
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.common import as_count_table, causes_of_death_table, count_and_percent
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Section, Widget, wants
from smart101_dash.store import Database, DatasetUnavailable, ExportCut, Query

TITLE = "Adverse events"
GROUPS = ("SMART101", "CONTROL")
# Where the window starts (the page option `ae_start`): value -> label.
AE_START = {"transplant": "From transplant (day 0), both cohorts",
            "infusion": "SMART101 from infusion (treatment-emergent, TRTEMFL)"}

# The denominators, per cohort; `infused`: those with an infusion date (all the SMART101
# patients when SAFFL follows the contract: "received SMART101").
SAFETY_POPULATION_SQL = with_population("""\
SELECT COHORT AS cohort, count(*) AS n, count(TRTSDT) AS infused
FROM population
WHERE SAFFL = 'Y' AND HSCTDT IS NOT NULL
GROUP BY COHORT""")

# The events of the window (a CTE of the counts below); the SAE listing is the same rows
# restricted to serious events, without the columns only the counts use.
# `adverse_events`: the analysis table of the safety population's events from day 0 to the
# cut-off (analysis.py). With $treatment_emergent ("SMART101 from infusion") a SMART101 event
# counts only when TRTEMFL = 'Y'; controls keep every event from day 0.
# `before_infusion`: a SMART101 event starting before the patient's infusion day.
_EVENTS = """\
SELECT p.COHORT AS cohort, p.ARM AS arm, e.USUBJID AS usubjid, subject, e.AESEQ AS aeseq,
       e.AEBODSYS AS soc, e.AEDECOD AS pt, e.ATOXGR AS grade, e.AESER AS serious,
       e.AEREL AS related, e.AEOUT AS outcome, e.start_day, e.end_day,
       p.COHORT = 'SMART101' AND e.start_day < date_diff('day', p.HSCTDT, p.TRTSDT)
           AS before_infusion
FROM adverse_events e
JOIN population p USING (subject)
WHERE e.start_day <= $window_days
  AND NOT ($treatment_emergent AND p.COHORT = 'SMART101' AND e.TRTEMFL IS DISTINCT FROM 'Y')"""
SAE_LISTING_SQL = with_population("""\
SELECT * EXCLUDE (subject, serious, before_infusion)
FROM events
WHERE serious = 'Y'
ORDER BY cohort DESC, usubjid, start_day, aeseq""", events=_EVENTS)

# Patients counted in SQL (the events of 100,000 controls never reach Python), each patient's
# events first reduced to one row (worst grade, whether serious, ...), then counted: the same
# numbers as count(DISTINCT usubjid) per criterion, at a fifth of the cost (one grouping
# of the events, not one distinct-count table per criterion). A patient is grouped by number
# (`subject`, docs/architecture.md): at 100,000 controls 3-17% faster than by USUBJID's text.
# Per cohort, patients meeting each criterion of the summary ...
SUMMARY_SQL = with_population("""\
SELECT cohort,
       count(*) AS with_events,
       count(*) FILTER (WHERE worst IS NOT NULL) AS any_grade,
       count(*) FILTER (WHERE worst >= 3) AS grade3,
       count(*) FILTER (WHERE worst >= 4) AS grade4,
       count(*) FILTER (WHERE worst = 5) AS grade5,
       count(*) FILTER (WHERE serious) AS serious,
       count(*) FILTER (WHERE related) AS related,
       count(*) FILTER (WHERE serious_related) AS serious_related,
       CAST(sum(before_infusion) AS BIGINT) AS events_before_infusion,
       count(*) FILTER (WHERE before_infusion > 0) AS patients_before_infusion
FROM (SELECT cohort, subject, max(grade) AS worst, bool_or(serious = 'Y') AS serious,
             bool_or(related = 'Y') AS related,
             bool_or(serious = 'Y' AND related = 'Y') AS serious_related,
             count(*) FILTER (WHERE before_infusion) AS before_infusion
      FROM events GROUP BY cohort, subject)
GROUP BY cohort""", events=_EVENTS)

# ... patients by their worst grade (NULL: no graded event) ...
WORST_GRADE_SQL = with_population("""\
SELECT cohort, worst_grade, count(*) AS patients
FROM (SELECT cohort, subject, max(grade) AS worst_grade FROM events GROUP BY ALL)
GROUP BY ALL""", events=_EVENTS)

# ... and patients per system organ class (pt NULL with any_term: all its terms) and term:
# each patient's worst grade in the term (`by_term`), then in the class.
BY_TERM_SQL = with_population("""\
SELECT cohort, soc, pt, false AS any_term, count(*) AS any_n,
       count(*) FILTER (WHERE worst >= 3) AS grade3plus_n
FROM by_term
GROUP BY ALL
UNION ALL
SELECT cohort, soc, CAST(NULL AS VARCHAR), true, count(*), count(*) FILTER (WHERE worst >= 3)
FROM (SELECT cohort, soc, subject, max(worst) AS worst FROM by_term GROUP BY ALL)
GROUP BY ALL""", events=_EVENTS, by_term="""\
SELECT cohort, soc, pt, subject, max(grade) AS worst
FROM events
WHERE soc IS NOT NULL
GROUP BY ALL""")

# The deaths overall survival counts (day 0 to the cut-off; analysis table `deaths`).
DEATHS_SQL = with_population("""\
SELECT p.COHORT AS cohort, p.ARM AS arm, d.USUBJID AS usubjid, d.day AS death_day,
       d.DTHCAUS AS cause, d.category, d.relapse_related AS relapsed_before_death
FROM deaths d
JOIN population p USING (subject)
ORDER BY d.day, d.USUBJID""")


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, window_days: int | None = None,
          ae_start: str = "transplant", items: frozenset[str] | None = None) -> PanelResult:
    """The AE panel; the SAE and death listings only for a viewer allowed subject-level rows.
    `items`: the items wanted (None: all); the listings are the page's largest reads.

    Deaths need only adsl: when adae is unusable, the causes of death and the death listing
    are still built, with a message saying why the adverse-event tables are not.
    """
    cut.require("adsl")
    if ae_start not in AE_START:
        raise ValueError(f"ae_start must be one of {list(AE_START)}, got {ae_start!r}")
    window = settings.endpoints.ae_window_days if window_days is None else window_days
    params = window_params(filters, window, ae_start)
    q_n = Query(SAFETY_POPULATION_SQL, filters.params())
    population = {str(r.cohort): (int(r.n), int(r.infused))
                  for r in db.query(cut, q_n).itertuples()}
    n_at_risk = {g: population[g][0] for g in GROUPS if population.get(g, (0, 0))[0]}
    groups = tuple(n_at_risk)
    if not groups:
        return PanelResult(TITLE, cut, filters, messages=(Message(
            Level.INFO, "No patient of the safety population matches the filters."),))

    tables = analysis_tables(db, cut, settings.endpoints)
    subject_level = viewer.can(Permission.SUBJECT_LEVEL)
    causes = [causes_of_death_item(db, tables, filters, settings)] \
        if wants(items, "causes_of_death") else []
    deaths = [death_listing(db, cut, filters, viewer, tables.schema)] \
        if subject_level and wants(items, "death_listing") else []
    if not cut.report.is_usable("adae"):
        reason = DatasetUnavailable("adae", cut.report.findings_for("adae")).describe(
            with_examples=subject_level)
        return PanelResult(TITLE, cut, filters, (*causes, *deaths), n_per_group=n_at_risk,
                           messages=(Message(Level.WARNING, (
                               f"Adverse-event tables not shown: {reason.rstrip('.')}. Deaths "
                               "and causes of death need only adsl and are shown.")),))

    window_text, start_text, window_definition = window_texts(window, ae_start)
    population_text = safety_population_text(population, groups)
    base = PanelResult(TITLE, cut, filters, n_per_group=n_at_risk, start=start_text)
    counts, events = None, []
    if wants(items, *EVENT_ITEMS):
        counts, events = event_items(db, tables, params, q_n, n_at_risk, window_text,
                                     population_text, base.footer)
    messages = []
    if counts is not None and not counts["with_events"].sum():
        messages.append(Message(Level.INFO, f"No adverse event through day {window} in the "
                                            "patients selected."))
    if any(n < 10 for n in n_at_risk.values()):
        messages.append(Message(Level.WARNING, "A group has fewer than 10 patients: read the "
                                               "counts, not the percentages."))
    if counts is not None:
        messages += before_infusion_messages(counts, ae_start)
    serious = [sae_listing(db, cut, viewer, params, window_text, tables.schema)] \
        if subject_level and wants(items, "sae_listing") else []
    return PanelResult(
        TITLE, cut, filters, (*events, *causes, *serious, *deaths), n_per_group=n_at_risk,
        messages=tuple(messages),
        start=start_text, definitions=(
            window_definition,
            population_text,
            "Grades: CTCAE v5 (1 mild, 2 moderate, 3 severe, 4 life-threatening, 5 death).",
            "SMART101-related: AEREL = Y (treated patients only).",
        ))


EVENT_ITEMS = ("ae_summary", "ae_worst_grade", "ae_by_term")


def event_items(db: Database, tables: AnalysisTables, params: dict[str, object], q_n: Query,
                n_at_risk: dict[str, int], window_text: str, population_text: str,
                footer: str) -> tuple[pd.DataFrame, list[PanelItem]]:
    """The counts of patients with events (SUMMARY_SQL's rows) and the three items made from
    the window's events: the summary, the worst grade per patient, and by term."""
    groups = tuple(n_at_risk)
    q_summary, q_worst, q_terms = (Query(sql, params) for sql in (
        SUMMARY_SQL, WORST_GRADE_SQL, BY_TERM_SQL))
    counts = tables.query(db, q_summary)
    summary = patient_summary(counts, n_at_risk, groups)
    by_term = worst_grade_by_term(tables.query(db, q_terms), n_at_risk, groups)
    distribution = worst_grade_distribution(tables.query(db, q_worst), n_at_risk, groups)
    figure = with_footer(worst_grade_figure(distribution, window_text), footer)
    return counts, [
        PanelItem("ae_summary", f"Patients with adverse events, {window_text}", summary, None,
                  (q_n, q_summary), f"{population_text} n and % of it (to 0.1); a patient "
                  "counts once per row. Blank: not applicable (controls receive no "
                  "SMART101)."),
        PanelItem("ae_worst_grade", f"Worst grade per patient, {window_text}", distribution,
                  figure, (q_n, q_worst), "Each patient counted once, at the worst grade of "
                  f"any event. {population_text}"),
        PanelItem("ae_by_term", f"Worst grade by system organ class and preferred term, "
                  f"{window_text}", by_term, None, (q_n, q_terms),
                  "Patients with the term at any grade and at grade 3 or worse, each class "
                  f"with its terms under it (the downloads can be sorted). {population_text}"),
    ]


def window_params(filters: Filters, window: int, ae_start: str) -> dict[str, object]:
    """The bound parameters of the window's queries (`_EVENTS`)."""
    return {**filters.params(), "window_days": window,
            "treatment_emergent": ae_start == "infusion"}


def window_texts(window: int, ae_start: str) -> tuple[str, str, str]:
    """The window in words: (for titles, for the footer of the chart and the downloads, the
    definition in force)."""
    if ae_start == "infusion":
        title = f"to day {window}, SMART101 treatment-emergent"
        footer = (f"AE window to day {window}: SMART101 treatment-emergent (TRTEMFL = Y), "
                  "controls from day 0")
        definition = (
            "SMART101: treatment-emergent adverse events only (TRTEMFL = Y, the sponsor's ADaM "
            "flag, relative to the SMART101 infusion TRTSDT: an event starting on or after the "
            "infusion, or one present before it that worsened after it), starting by day "
            f"{window} after the transplant and on or before the cut-off. Controls, who "
            f"receive no infusion: every event starting on day 0 (the transplant) to day "
            f"{window}.")
        return title, footer, definition
    title = f"day 0 to day {window}"
    footer = f"AE window day 0 to day {window}, both cohorts from the transplant"
    definition = (
        f"Adverse events starting on day 0 (the transplant) to day {window}, and on or before "
        "the cut-off, for both cohorts (TRTEMFL is not used): for SMART101 this includes the "
        "events that start after the transplant but before the SMART101 infusion (day 4-10), "
        "when no SMART101 had been given.")
    return title, footer, definition


def safety_population_text(population: dict[str, tuple[int, int]],
                           groups: tuple[str, ...]) -> str:
    """Who the denominators are (`population`: cohort -> (n, infused), SAFETY_POPULATION_SQL)."""
    parts = []
    if "SMART101" in groups:
        n, infused = population["SMART101"]
        parts.append(f"SMART101 patients infused, n={n}" if infused == n else
                     f"SMART101 n={n} ({infused} infused, {n - infused} without an infusion "
                     "date)")
    if "CONTROL" in groups:
        parts.append(f"controls transplanted, n={population['CONTROL'][0]}")
    return f"Safety population (SAFFL = Y): {'; '.join(parts)}."


def before_infusion_messages(counts: pd.DataFrame, ae_start: str) -> list[Message]:
    """What the window does with the SMART101 events that start before the infusion
    (`counts`: the rows of SUMMARY_SQL)."""
    treated = counts[counts["cohort"] == "SMART101"]
    events = int(treated["events_before_infusion"].sum())
    if not events:
        return []
    patients = int(treated["patients_before_infusion"].sum())
    said = (f"{events} SMART101 event{'s' if events > 1 else ''} ({patients} "
            f"patient{'s' if patients > 1 else ''})")
    if ae_start == "infusion":
        return [Message(Level.INFO, f"{said} flagged treatment-emergent (TRTEMFL = Y) "
                                    f"start{'s' if events == 1 else ''} before the infusion: "
                                    "counted as flagged (in ADaM, an event present before the "
                                    "infusion that worsened after it).")]
    return [Message(Level.INFO, f"{said} started between the transplant and the infusion: "
                                "counted here, from day 0. 'SMART101 from infusion' counts "
                                "only treatment-emergent events.")]


def causes_of_death_item(db: Database, tables: AnalysisTables, filters: Filters,
                         settings: Settings) -> PanelItem:
    """Deaths of the transplanted patients by cause and period, SMART101 by arm (only the
    arm chosen, beside its controls, named as the page names them)."""
    deaths, query = tables.death_causes(db, filters)
    arms = (filters.arm,) if filters.arm else settings.study.arms
    columns = {settings.study.arm_label(arm): (f"SMART101:{arm}",) for arm in arms}
    control = group_names(filters, settings.study)["CONTROL"] if filters.arm else "Control"
    columns[control] = ("CONTROL:CONTROL",)
    table = causes_of_death_table(deaths, columns,
                                  endpoints.death_cause_categories(settings.endpoints),
                                  DEATH_PERIODS)
    return PanelItem("causes_of_death", "Causes of death (day 0 to the cut-off)", table, None,
                     (query,), "Patients who died, transplanted ones of every population (not "
                     "only the safety population). Relapse: death after a relapse (or of the "
                     "disease); otherwise the cause given, grouped (docs/endpoints.md).")


def sae_listing(db: Database, cut: ExportCut, viewer: Viewer, params: dict[str, object],
                window_text: str, schema: str) -> PanelItem:
    """The serious events of the window: a subject-level read, refused by the data layer to a
    viewer without that permission."""
    query = Query(SAE_LISTING_SQL, params, subject_level=True)
    serious = db.query(cut, query, viewer, search=(schema,))
    return PanelItem("sae_listing", f"Serious adverse events, {window_text}", serious, None,
                     (query,), "Days count from the transplant (day 0).")


def death_listing(db: Database, cut: ExportCut, filters: Filters, viewer: Viewer,
                  schema: str) -> PanelItem:
    """The deaths of the transplanted patients (adsl only): a subject-level read, refused by
    the data layer to a viewer without that permission."""
    query = Query(DEATHS_SQL, filters.params(), subject_level=True)
    deaths = db.query(cut, query, viewer, search=(schema,))
    return PanelItem("death_listing", "Deaths (day 0 to the cut-off)", deaths, None, (query,),
                     "Death day counts from the transplant (day 0); category as in 'Causes of "
                     "death'.")


def patient_summary(counts: pd.DataFrame, n_at_risk: dict[str, int],
                    groups: tuple[str, ...]) -> pd.DataFrame:
    """Patients with any AE, grade 3 or worse, grade 5, serious, and SMART101-related, per
    group as "<group> n" and "<group> %" of the safety population (`counts`: the rows of
    SUMMARY_SQL). SMART101-related rows are blank for controls: not applicable."""
    by_cohort = {str(r["cohort"]): r for r in counts.to_dict("records")}
    rows = []
    for label, column in (
            ("Any adverse event", "any_grade"), ("Grade 3 or worse", "grade3"),
            ("Grade 4 or worse", "grade4"), ("Grade 5 (fatal)", "grade5"),
            ("Serious", "serious"), ("SMART101-related", "related"),
            ("Serious and SMART101-related", "serious_related")):
        row: dict[str, object] = {"patients with": label}
        for g in groups:
            n: int | None = int(by_cohort[g][column]) if g in by_cohort else 0
            if label.endswith("related") and g == "CONTROL":
                n = None  # controls receive no SMART101
            row.update(count_and_percent(g, n, n_at_risk[g]))
        rows.append(row)
    return as_count_table(rows, ["patients with"], groups)


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


GRADE_LABELS = {0: "No event", **{g: f"Grade {g}" for g in range(1, 6)}}


def worst_grade_figure(distribution: pd.DataFrame, window_text: str) -> Spec:
    """Stacked horizontal bars: % of each group by worst grade."""
    return grade_distribution_figure(
        distribution.rename(columns={"worst_grade": "grade"}), grade_labels=GRADE_LABELS,
        grade_colors=GRADE_COLORS, x_title=f"% of patients (worst grade, {window_text})")


EVENTS = Section("events", "Adverse events")
DEATHS = Section("deaths", "Deaths")
PANEL = Panel(
    key="adverse_events", title="Adverse events", icon=":material/warning:",
    # adae is read when usable: without it the page still shows the deaths (adsl only).
    datasets=("adsl",),
    # Deaths need only adsl; the adverse events need adae too.
    items=(ItemSpec("ae_summary", Kind.TABLE, section=EVENTS, needs=("adae",)),
           ItemSpec("ae_worst_grade", Kind.FIGURE, section=EVENTS, needs=("adae",)),
           ItemSpec("ae_by_term", Kind.TABLE, section=EVENTS, needs=("adae",)),
           ItemSpec("causes_of_death", Kind.TABLE, section=DEATHS),
           ItemSpec("sae_listing", Kind.TABLE, subject_level=True,
                    section=Section("serious", "Serious adverse events"), needs=("adae",)),
           ItemSpec("death_listing", Kind.TABLE, subject_level=True, section=DEATHS)),
    options=(Option(
        "window_days", "Window", Widget.RADIO, lambda s: s.endpoints.ae_window_days,
        choices=lambda s: (
            (f"Through day {s.endpoints.ae_window_days} (primary outcome)",
             s.endpoints.ae_window_days),
            (f"Through 24 months (day {s.endpoints.follow_up_days})",
             s.endpoints.follow_up_days))), Option(
        "ae_start", "Window starts", Widget.RADIO, lambda s: "transplant",
        choices=lambda s: tuple((label, value) for value, label in AE_START.items()),
        help="From transplant: every event from day 0, both cohorts (for SMART101, also "
             "the days before the infusion). SMART101 from infusion: only SMART101 events "
             "flagged treatment-emergent (TRTEMFL = Y); controls still from day 0.")),
    build=build)
