"""A patient's whole story: every SMART101 patient's course on one swimmer plot, and one
patient's timeline from the transplant to the last follow-up.

The swimmer plot draws each transplanted SMART101 patient of the filtered population as a bar
from day 0 to death or last follow-up, marked where the infusion, CD4+ immune reconstitution,
grade II-IV acute GvHD, chronic GvHD, the first infection, relapse and death happened: the
days come from the per-cut analysis table `adtte` (the first event of each endpoint, as the
outcome pages count it). The timeline of one chosen patient (the page option `subject`, for a
SMART101 or a control patient) reads the raw datasets: every CD4 count, every GvHD assessment,
infection episode and adverse event, with the transplant, infusion, relapse and death of adsl.

Every item holds rows about single patients: each read is a subject-level query, refused by
the data layer to a viewer without that permission, and such a viewer gets a message and no
item. Days count from the transplant (day 0 = HSCTDT; an event before it has a negative day).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Permission, Viewer
from smart101_dash.analysis import AnalysisTables, analysis_tables
from smart101_dash.charts import (
    ARM_COLORS,
    COHORT_COLORS,
    DAYS_AXIS,
    GRADE_COLORS,
    Spec,
    _value_axis,
    with_footer,
)
from smart101_dash.config import EndpointSettings, Settings
from smart101_dash.filters import Filters, with_population
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.gvhd import ORGANS, ROMAN
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Widget
from smart101_dash.safe_text import escape_plotly
from smart101_dash.store import Database, ExportCut, Query

TITLE = "A patient's whole story"
CHOOSE = "Choose a patient to see their timeline."

# One row per SMART101 patient of the population: the first day of each endpoint's event
# (NULL: none), and the follow-up (overall survival's time: death, else last known alive,
# capped at the cut-off). A patient not yet transplanted has no adtte row: all NULL.
SWIMMER_SQL = with_population("""\
SELECT p.USUBJID AS usubjid, p.ARM AS arm,
       max(t.time) FILTER (WHERE t.PARAMCD = 'OS') AS follow_up_days,
       date_diff('day', p.HSCTDT, p.TRTSDT) AS infusion_day,
       max(t.time) FILTER (WHERE t.PARAMCD = 'CD4IR' AND t.status = 1) AS cd4_reconstitution_day,
       max(t.time) FILTER (WHERE t.PARAMCD = 'AGVHD24' AND t.status = 1) AS acute_gvhd_2_4_day,
       max(t.time) FILTER (WHERE t.PARAMCD = 'CGVHD' AND t.status = 1) AS chronic_gvhd_day,
       max(t.time) FILTER (WHERE t.PARAMCD = 'INFALL' AND t.status = 1) AS first_infection_day,
       max(t.time) FILTER (WHERE t.PARAMCD = 'RELAPSE' AND t.status = 1) AS relapse_day,
       max(t.time) FILTER (WHERE t.PARAMCD = 'OS' AND t.status = 1) AS death_day
FROM population p
LEFT JOIN adtte t USING (subject)
WHERE p.COHORT = 'SMART101'
GROUP BY p.USUBJID, p.ARM, p.HSCTDT, p.TRTSDT
ORDER BY follow_up_days DESC NULLS LAST, p.USUBJID""")

# The chosen patient: found in the export at all, selected by the filters, and the days of
# adsl's events (and of CD4+IR, from the analysis table).
SUBJECT_SQL = with_population("""\
SELECT a.USUBJID AS usubjid, a.COHORT AS cohort, a.ARM AS arm, a.DOSELVL AS dose_level,
       a.HSCTDT IS NOT NULL AS transplanted,
       a.USUBJID IN (SELECT USUBJID FROM population) AS selected,
       date_diff('day', a.HSCTDT, a.TRTSDT) AS infusion_day,
       (SELECT min(t.time) FROM adtte t
        WHERE t.USUBJID = a.USUBJID AND t.PARAMCD = 'CD4IR' AND t.status = 1)
           AS cd4_reconstitution_day,
       date_diff('day', a.HSCTDT, a.RLPSDT) AS relapse_day,
       date_diff('day', a.HSCTDT, a.DTHDT) AS death_day, a.DTHCAUS AS death_cause,
       date_diff('day', a.HSCTDT, a.LSTALVDT) AS last_alive_day
FROM adsl a
WHERE a.USUBJID = $subject""")

# The patient's rows of each dataset, as recorded (every count, not the day's mean).
CD4_SQL = with_population("""\
SELECT date_diff('day', p.HSCTDT, l.ADT) AS day, l.AVAL AS cells_per_ul, l.AVISIT AS visit
FROM adlb l
JOIN population p USING (USUBJID)
WHERE l.USUBJID = $subject AND l.PARAMCD = 'CD4'
ORDER BY day""")

GVHD_SQL = with_population("""\
SELECT date_diff('day', p.HSCTDT, g.ADT) AS day, g.SKINSTG, g.LIVERSTG, g.UGISTG, g.LGISTG,
       g.AGVHDGR, g.CGVHDSEV
FROM adgvhd g
JOIN population p USING (USUBJID)
WHERE g.USUBJID = $subject
ORDER BY day""")

INFECTIONS_SQL = with_population("""\
SELECT date_diff('day', p.HSCTDT, i.ASTDT) AS day, i.INFCAT AS category, i.PATHOGEN AS pathogen,
       i.INFSITE AS site, i.INFSEV AS grade, i.VIRREACT AS reactivation
FROM adinf i
JOIN population p USING (USUBJID)
WHERE i.USUBJID = $subject
ORDER BY day, i.INFSEQ""")

ADVERSE_EVENTS_SQL = with_population("""\
SELECT date_diff('day', p.HSCTDT, e.ASTDT) AS day, date_diff('day', p.HSCTDT, e.AENDT) AS end_day,
       e.AEDECOD AS term, e.ATOXGR AS grade, e.AESER AS serious, e.AEREL AS related,
       e.AEOUT AS outcome
FROM adae e
JOIN population p USING (USUBJID)
WHERE e.USUBJID = $subject
ORDER BY day, e.AESEQ""")

# The IDs the page's patient choice offers: every transplanted subject, SMART101 first.
SUBJECT_IDS_SQL = with_population("""\
SELECT USUBJID FROM population WHERE HSCTDT IS NOT NULL
ORDER BY COHORT DESC, USUBJID""")

EVENT_COLUMNS = ["day", "kind", "description", "value"]
# The order of a day's events; `value` is the CD4 count (cells/uL), the acute GvHD grade
# (MAGIC 0-4), the chronic GvHD severity (NIH: 0 none to 3 severe), the infection's grade
# (BMT CTN 1-3) or the adverse event's (CTCAE 1-5); blank for the others.
KINDS = ("transplant", "SMART101 infusion", "CD4 count", "CD4+ immune reconstitution",
         "acute GvHD", "chronic GvHD", "infection", "adverse event", "relapse", "death",
         "last known alive")
CHRONIC_SEVERITY = {"NONE": 0, "MILD": 1, "MODERATE": 2, "SEVERE": 3}
# Swimmer markers: column, legend label, Plotly symbol, colour (Okabe-Ito).
MARKERS = (
    ("infusion_day", "SMART101 infusion", "triangle-up", "#000000"),
    ("cd4_reconstitution_day", "CD4+ immune reconstitution", "star", "#009E73"),
    ("acute_gvhd_2_4_day", "Acute GvHD grade II-IV", "diamond", "#E69F00"),
    ("chronic_gvhd_day", "Chronic GvHD", "square", "#CC79A7"),
    ("first_infection_day", "First infection", "circle", "#F0E442"),
    ("relapse_day", "Relapse", "triangle-down", "#D55E00"),
    ("death_day", "Death", "x", "#000000"),
)
SWIMMER_COLUMNS = ["usubjid", "arm", "follow_up_days", *(m[0] for m in MARKERS)]
# Vertical lines of the timeline: kind, label, colour, dash.
MILESTONES = (("transplant", "HSCT", "#333333", "solid"),
              ("SMART101 infusion", "SMART101", COHORT_COLORS["SMART101"], "dash"),
              ("CD4+ immune reconstitution", "CD4+IR", "#009E73", "dot"),
              ("relapse", "Relapse", "#D55E00", "dash"),
              ("death", "Death", "#000000", "solid"),
              ("last known alive", "Last known alive", "#999999", "dot"))


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, subject: str | None = None) -> PanelResult:
    """The swimmer plot of the population's SMART101 patients and, for a chosen `subject`,
    their timeline and its events; only for a viewer allowed subject-level rows."""
    if not viewer.can(Permission.SUBJECT_LEVEL):
        return PanelResult(TITLE, cut, filters, messages=(Message(
            Level.INFO, f"This page shows single patients: the role {viewer.role!r} does not "
                        "allow subject-level rows."),))
    tables = analysis_tables(db, cut, settings.endpoints)
    swimmer, q_swimmer, untransplanted = swimmer_rows(db, tables, filters, viewer)
    base = PanelResult(TITLE, cut, filters,
                       n_per_group={"SMART101": len(swimmer)} if len(swimmer) else {})
    messages = []
    swimmer_items = []
    if swimmer.empty:
        messages.append(Message(Level.INFO, "No transplanted SMART101 patient matches the "
                                            "filters: no swimmer plot."))
    else:
        swimmer_items.append(PanelItem(
            "swimmer_plot", "SMART101 patients from transplant to last follow-up", swimmer,
            with_footer(swimmer_figure(swimmer, settings), base.footer), (q_swimmer,),
            "One bar per patient, day 0 to death or last follow-up, longest first. Markers: "
            "the first day of each event as the outcome pages count it; the table gives the "
            "days (blank: no such event)."))
    if untransplanted:
        messages.append(Message(Level.INFO, f"Not transplanted yet, so not drawn: "
                                            f"{', '.join(untransplanted)}."))
    subject = (subject or "").strip() or None
    story_items: list[PanelItem] = []
    if subject is None:
        messages.append(Message(Level.INFO, CHOOSE))
    else:
        story = read_story(db, cut, tables, filters, viewer, subject, settings.endpoints)
        messages += story.messages
        if story.events is not None:
            footer = (f"{base.footer} · patient {subject} "
                      f"({settings.study.arm_label(story.arm)})")
            figure = with_footer(timeline_figure(story.events, story.cohort,
                                                 settings.endpoints), footer)
            story_items = [
                PanelItem("patient_timeline", f"Timeline of patient {subject}", story.events,
                          figure, story.queries,
                          "Days after the transplant. Vertical lines: transplant, infusion, "
                          "CD4+ immune reconstitution, relapse, death or last known alive. "
                          "The number in a marker is the grade (BMT CTN for infections, CTCAE "
                          "for adverse events)."),
                # With the subject's ID in every row: a downloaded file names its patient.
                PanelItem("patient_events", f"Events of patient {subject}",
                          story.events.assign(usubjid=subject)[["usubjid", *EVENT_COLUMNS]],
                          None, story.queries, VALUE_CAPTION),
            ]
    return PanelResult(TITLE, cut, filters, (*story_items, *swimmer_items),
                       n_per_group=base.n_per_group, messages=tuple(messages),
                       definitions=definitions(settings.endpoints))


VALUE_CAPTION = ("value: the CD4 count (cells/uL), the acute GvHD grade (MAGIC, 0-4), the chronic "
                 "GvHD severity (NIH 2014: 0 none, 1 mild, 2 moderate, 3 severe), the "
                 "infection's grade (BMT CTN 1-3) or the adverse event's (CTCAE 1-5).")


def definitions(ep: EndpointSettings) -> tuple[str, ...]:
    return (
        ("Days count from the transplant (day 0 = HSCTDT); an event dated before it has a "
         "negative day. Follow-up: to death, else to the last day known alive, at most the "
         "data cut-off."),
        endpoints.definition("cd4_reconstitution", ep),
        endpoints.definition("acute_gvhd", ep, min_grade=2,
                             window_days=max(ep.agvhd_windows_days)),
        endpoints.definition("chronic_gvhd", ep, severity="any"),
        endpoints.definition("first_infection", ep, window_days=ep.follow_up_days),
        ("The timeline shows the patient's records as the export has them: every CD4 count, "
         "GvHD assessment (the acute grade from the organ stages, MAGIC, when the overall "
         "grade is missing), infection episode and adverse event."),
    )


def subject_ids(db: Database, cut: ExportCut, viewer: Viewer, filters: Filters
                ) -> tuple[str, ...]:
    """The IDs the patient choice offers (a subject-level read): the transplanted subjects
    the filters select."""
    if not cut.report.is_usable("adsl"):
        return ()
    frame = db.query(cut, Query(SUBJECT_IDS_SQL, filters.params(), subject_level=True), viewer)
    return tuple(str(v) for v in frame["USUBJID"])


def swimmer_rows(db: Database, tables: AnalysisTables, filters: Filters, viewer: Viewer
                 ) -> tuple[pd.DataFrame, Query, list[str]]:
    """The swimmer table (one row per transplanted SMART101 patient, days as whole numbers,
    blank when none), its query, and the SMART101 patients not transplanted yet."""
    query = Query(SWIMMER_SQL, filters.params(), subject_level=True)
    rows = db.query(tables.cut, query, viewer, search=(tables.schema,))
    untransplanted = rows.loc[rows["follow_up_days"].isna(), "usubjid"].astype(str).tolist()
    rows = rows[rows["follow_up_days"].notna()].reset_index(drop=True)
    for column in SWIMMER_COLUMNS[2:]:
        rows[column] = rows[column].astype("Int64")
    rows["usubjid"] = rows["usubjid"].astype(str)
    rows["arm"] = rows["arm"].astype(str)
    return rows[SWIMMER_COLUMNS], query, untransplanted


@dataclass(frozen=True)
class Story:
    """One patient's read: their events (None: nothing to draw, the messages say why)."""

    events: pd.DataFrame | None
    queries: tuple[Query, ...]
    messages: tuple[Message, ...]
    cohort: str = ""
    arm: str = ""


# Each optional dataset of the timeline: its query, what it adds, and its event rows.
SOURCES = (("adlb", CD4_SQL, "CD4 counts"), ("adgvhd", GVHD_SQL, "GvHD assessments"),
           ("adinf", INFECTIONS_SQL, "infections"), ("adae", ADVERSE_EVENTS_SQL,
                                                     "adverse events"))


def read_story(db: Database, cut: ExportCut, tables: AnalysisTables, filters: Filters,
               viewer: Viewer, subject: str, ep: EndpointSettings) -> Story:
    """The chosen patient's events from every dataset the export has, or why there are none."""
    params = {**filters.params(), "subject": subject}
    search = (tables.schema,)
    q_subject = Query(SUBJECT_SQL, params, subject_level=True)
    found = db.query(cut, q_subject, viewer, search=search)
    if found.empty:
        return Story(None, (q_subject,), (Message(
            Level.WARNING, f"There is no patient {subject} in this data cut."),))
    row = found.iloc[0].to_dict()
    if not row["selected"]:
        return Story(None, (q_subject,), (Message(
            Level.WARNING, f"Patient {subject} is not among the patients the filters select "
                           f"({filters.describe()}): clear the filters to see the timeline."),))
    if not row["transplanted"]:
        return Story(None, (q_subject,), (Message(
            Level.INFO, f"Patient {subject} has no transplant date (HSCTDT): there is no day 0 "
                        "to draw a timeline from."),))
    queries, messages = [q_subject], []
    frames = [milestone_events(row, ep)]
    for dataset, sql, what in SOURCES:
        if not cut.report.is_usable(dataset):
            messages.append(Message(Level.INFO, f"No {what} on the timeline: {dataset} is not "
                                                "in this export or failed validation."))
            continue
        query = Query(sql, params, subject_level=True)
        queries.append(query)
        frames.append(EVENT_ROWS[dataset](db.query(cut, query, viewer)))
    return Story(sort_events(pd.concat(frames, ignore_index=True)), tuple(queries),
                 tuple(messages), str(row["cohort"]), str(row["arm"]))


def _event(day: float, kind: str, description: str, value: float | None = None) -> dict:
    return {"day": int(day), "kind": kind, "description": description,
            "value": np.nan if value is None or pd.isna(value) else float(value)}


def _given(value: object) -> bool:
    return value is not None and not pd.isna(value)


def milestone_events(row: dict, ep: EndpointSettings) -> pd.DataFrame:
    """Transplant, infusion, CD4+IR, relapse, death (or last known alive) of one adsl row."""
    events = [_event(0, "transplant", "CD34+ selected HSCT (day 0)")]
    if _given(row["infusion_day"]):
        dose = f", dose level {row['dose_level']}" if _given(row["dose_level"]) else ""
        events.append(_event(row["infusion_day"], "SMART101 infusion", f"SMART101 infusion{dose}"))
    if _given(row["cd4_reconstitution_day"]):
        op = ">=" if ep.cd4_threshold_inclusive else ">"
        events.append(_event(row["cd4_reconstitution_day"], "CD4+ immune reconstitution",
                             f"CD4+ immune reconstitution (first of two counts {op} "
                             f"{ep.cd4_threshold_cells_per_ul:g} cells/uL by day "
                             f"{ep.cd4_window_days})"))
    if _given(row["relapse_day"]):
        events.append(_event(row["relapse_day"], "relapse", "relapse"))
    if _given(row["death_day"]):
        cause = row["death_cause"] if _given(row["death_cause"]) else "cause not given"
        events.append(_event(row["death_day"], "death", f"death: {cause}"))
    elif _given(row["last_alive_day"]):
        events.append(_event(row["last_alive_day"], "last known alive", "last known alive"))
    return pd.DataFrame(events, columns=EVENT_COLUMNS)


def cd4_events(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([_event(r.day, "CD4 count", "CD4+ T cells, cells/uL"
                                + (f" ({r.visit})" if _given(r.visit) else ""), r.cells_per_ul)
                         for r in rows.itertuples()], columns=EVENT_COLUMNS)


def gvhd_events(rows: pd.DataFrame) -> pd.DataFrame:
    """Each assessment's acute grade (MAGIC from the stages when the overall grade is
    missing) and chronic severity, when recorded."""
    grades = endpoints.acute_grade(rows) if len(rows) else pd.Series(dtype=float)
    events = []
    for r, grade in zip(rows.to_dict("records"), grades, strict=True):
        if _given(grade):
            organs = ", ".join(f"{label} {int(r[col])}" for col, label in ORGANS.items()
                               if _given(r[col]) and r[col] > 0)
            derived = "" if _given(r["AGVHDGR"]) else ", from the stages"
            detail = f" ({organs}{derived})" if organs or derived else ""
            events.append(_event(r["day"], "acute GvHD",
                                 f"acute GvHD grade {ROMAN[int(grade)]}{detail}", grade))
        severity = r["CGVHDSEV"]
        if _given(severity) and severity in CHRONIC_SEVERITY:
            events.append(_event(r["day"], "chronic GvHD", f"chronic GvHD: {severity.lower()}",
                                 CHRONIC_SEVERITY[severity]))
    return pd.DataFrame(events, columns=EVENT_COLUMNS)


def infection_events(rows: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([_event(
        r.day, "infection", f"{str(r.category).lower()} infection: {r.pathogen}, {r.site}, "
                            f"grade {r.grade}"
                            + (", viral reactivation" if r.reactivation == "Y" else ""),
        r.grade) for r in rows.itertuples()], columns=EVENT_COLUMNS)


def adverse_event_events(rows: pd.DataFrame) -> pd.DataFrame:
    events = []
    for r in rows.itertuples():
        flags = [f"grade {r.grade}"]
        if r.serious == "Y":
            flags.append("serious")
        if r.related == "Y":
            flags.append("SMART101-related")
        flags.append(f"to day {int(r.end_day)}" if _given(r.end_day) else "ongoing")
        if _given(r.outcome):
            flags.append(str(r.outcome).lower())
        events.append(_event(r.day, "adverse event", f"{r.term} ({', '.join(flags)})", r.grade))
    return pd.DataFrame(events, columns=EVENT_COLUMNS)


EVENT_ROWS = {"adlb": cd4_events, "adgvhd": gvhd_events, "adinf": infection_events,
              "adae": adverse_event_events}


def sort_events(events: pd.DataFrame) -> pd.DataFrame:
    """By day, then in the order of KINDS (the transplant before the day's counts), stably."""
    rank = events["kind"].map({k: i for i, k in enumerate(KINDS)})
    order = np.lexsort((np.arange(len(events)), rank.to_numpy(), events["day"].to_numpy()))
    out = events.take(order).reset_index(drop=True)
    out["day"] = out["day"].astype("int64")
    out["value"] = out["value"].astype("float64")
    return out[EVENT_COLUMNS]


def _day_ticks(last: float) -> list[int]:
    """Protocol days (0, 100, 180), then each year, up to the last day drawn."""
    ticks = [0, 100, 180, *range(365, int(last) + 365, 365)]
    return [t for t in ticks if t <= max(last, 180)]


def swimmer_figure(table: pd.DataFrame, settings: Settings) -> Spec:
    """One horizontal bar per patient (day 0 to `follow_up_days`, the arm's colour), longest
    at the top, with a marker per event day; a patient alive at the end gets an arrow."""
    ids = [escape_plotly(v) for v in table["usubjid"]]
    traces: list[dict] = []
    for arm in dict.fromkeys(table["arm"]):
        rows = (table["arm"] == arm).to_numpy()
        label = escape_plotly(settings.study.arm_label(arm))
        traces.append(dict(
            type="bar", orientation="h", y=[i for i, r in zip(ids, rows, strict=True) if r],
            x=table.loc[rows, "follow_up_days"].astype(float).tolist(), name=label, legendrank=1,
            marker=dict(color=ARM_COLORS.get(arm, "#777777"), opacity=0.45),
            hovertemplate="%{y}: followed to day %{x}<extra>" + label + "</extra>"))
    alive = table["death_day"].isna().to_numpy()
    markers = [*MARKERS, ("follow_up_days", "Alive at last follow-up", "triangle-right",
                          "#777777")]
    # Drawn big markers first, so a small one on the same day stays visible; the legend keeps
    # the order of MARKERS (after the arms).
    order = ("first_infection_day", "acute_gvhd_2_4_day", "chronic_gvhd_day")
    rank = {m[0]: i for i, m in enumerate(markers)}
    for column, label, symbol, color in sorted(markers, key=lambda m: m[0] not in order):
        shown = table[column].notna().to_numpy()
        if column == "follow_up_days":
            shown = shown & alive
        if not shown.any():
            continue
        traces.append(dict(
            type="scatter", mode="markers", name=label, legendrank=10 + rank[column],
            x=table.loc[shown, column].astype(float).tolist(),
            y=[i for i, s in zip(ids, shown, strict=True) if s],
            marker=dict(symbol=symbol, color=color, size=11 if symbol == "star" else 9,
                        line=dict(color="#333333", width=0.5)),
            hovertemplate="%{y}: day %{x}<extra>" + label + "</extra>"))
    last = float(table["follow_up_days"].max())
    layout = dict(
        barmode="overlay", bargap=0.35, height=160 + 22 * len(table), hovermode="closest",
        xaxis=dict(title=dict(text=DAYS_AXIS), range=[-last * 0.02, last * 1.04],
                   tickvals=_day_ticks(last)),
        yaxis=dict(type="category", categoryorder="array", categoryarray=ids,
                   autorange="reversed", automargin=True, tickfont=dict(size=11)),
        legend=dict(title=dict(text="Arm and event")))
    return {"data": traces, "layout": layout}


def _lane_offsets(days: list[int], gap: float) -> list[float]:
    """Vertical offsets within a lane so that events close in time do not hide each other."""
    offsets, last_day = (0.0, 0.3, -0.3), [-np.inf] * 3
    out = []
    for day in days:
        slot = next((i for i, d in enumerate(last_day) if day - d >= gap), 0)
        last_day[slot] = day
        out.append(offsets[slot])
    return out


# The timeline's rows, bottom to top: y axis, vertical domain, title.
ROWS = (("y", (0.0, 0.15), "Infections and adverse events (the grade in the marker)"),
        ("y2", (0.22, 0.34), "Chronic GvHD (NIH 2014 severity)"),
        ("y3", (0.41, 0.58), "Acute GvHD grade (MAGIC)"),
        ("y4", (0.65, 0.95), "CD4+ T cells (cells/µL, log scale)"))


def timeline_figure(events: pd.DataFrame, cohort: str, ep: EndpointSettings) -> Spec:
    """Four rows on one day axis: CD4 counts (log axis, with the CD4+IR threshold), acute
    GvHD grade per assessment, chronic GvHD severity, and lanes of infections and adverse
    events (the grade in each marker); vertical lines at the milestones.

    `events`: the rows of `read_story` (day, kind, description, value), the figure's table.
    """
    first, last = min(-7, int(events["day"].min())), max(30, int(events["day"].max()))
    pad = (last - first) * 0.03
    x_range = [first - pad, last + pad]

    def of(kind: str) -> pd.DataFrame:
        return events[events["kind"] == kind]

    def hover(rows: pd.DataFrame) -> list[str]:
        return [f"day {d}: {escape_plotly(t)}"
                for d, t in zip(rows["day"], rows["description"], strict=True)]

    def steps(rows: pd.DataFrame, axis: str, colours: list[str] | str, line: str) -> dict:
        """Each assessment a marker, joined by steps (a grade holds until the next one)."""
        return dict(type="scatter", x=rows["day"].tolist(), y=rows["value"].tolist(),
                    mode="lines+markers", line=dict(color=line, width=1, shape="hv"),
                    marker=dict(size=8, color=colours, line=dict(color="#555555", width=0.5)),
                    text=hover(rows), hovertemplate="%{text}<extra></extra>",
                    xaxis=f"x{axis}", yaxis=f"y{axis}")

    cd4, acute, chronic = of("CD4 count"), of("acute GvHD"), of("chronic GvHD")
    threshold = ep.cd4_threshold_cells_per_ul
    traces = [dict(type="scatter", x=cd4["day"].tolist(), y=cd4["value"].tolist(),
                   mode="lines+markers", line=dict(color=COHORT_COLORS.get(cohort, "#333333"),
                                                   width=2),
                   marker=dict(size=7), text=hover(cd4),
                   hovertemplate="%{text}<extra></extra>", xaxis="x4", yaxis="y4")]
    notes: list[dict] = []
    if threshold > 0:  # a log axis has no 0
        traces.append(dict(type="scatter", x=x_range, y=[threshold] * 2, mode="lines",
                           line=dict(color="#777777", dash="dash", width=1), hoverinfo="skip",
                           xaxis="x4", yaxis="y4"))
        # An annotation on a log axis is placed by the logarithm of its value.
        notes.append(dict(text=f"CD4+IR threshold {threshold:g} cells/µL", x=1,
                          xref="x4 domain", xanchor="right", y=math.log10(threshold),
                          yref="y4", yanchor="bottom", showarrow=False,
                          font=dict(size=10, color="#555555")))
    traces.append(steps(acute, "3", [GRADE_COLORS[int(g)] for g in acute["value"]], "#bbbbbb"))
    # Chronic severity on the grade scale: none grey, mild to severe the darker grades.
    traces.append(steps(chronic, "2", [GRADE_COLORS[(0, 2, 3, 4)[int(g)]]
                                       for g in chronic["value"]], "#bbbbbb"))
    gap = (last - first) * 0.025
    for lane, kind in ((1, "infection"), (0, "adverse event")):
        rows = of(kind)
        grades = [int(g) for g in rows["value"]]
        traces.append(dict(
            type="scatter", x=rows["day"].tolist(),
            y=[lane + o for o in _lane_offsets(rows["day"].tolist(), gap)],
            mode="markers+text", text=[str(g) for g in grades], textposition="middle center",
            textfont=dict(size=10, color=["#ffffff" if g >= 3 else "#000000" for g in grades]),
            marker=dict(size=17, color=[GRADE_COLORS.get(g, "#777777") for g in grades],
                        line=dict(color="#555555", width=0.5)),
            customdata=hover(rows), hovertemplate="%{customdata}<extra></extra>",
            xaxis="x", yaxis="y"))
    for axis, rows, what in (("4", cd4, "CD4 count"), ("3", acute, "acute GvHD assessment"),
                             ("2", chronic, "chronic GvHD assessment")):
        if rows.empty:
            notes.append(dict(text=f"no {what} recorded", x=0.5, xref=f"x{axis} domain",
                              y=0.5, yref=f"y{axis} domain", showarrow=False,
                              font=dict(size=11, color="#777777")))
    for _, (low, high), title in ROWS:
        notes.append(dict(text=title, x=0, xref="paper", xanchor="left", y=high,
                          yref="paper", yanchor="bottom", showarrow=False,
                          bgcolor="rgba(255,255,255,0.9)", font=dict(size=12, color="#333333")))
    ticks = _day_ticks(last)
    layout: dict = dict(height=780, showlegend=False, hovermode="closest",
                        shapes=_milestone_lines(events), annotations=[
                            *notes, *_milestone_labels(events, x_range)])
    for axis, (low, high), _ in ROWS:
        n = axis[1:]
        layout[f"xaxis{n}"] = dict(anchor=axis, domain=[0, 1], range=x_range, tickvals=ticks,
                                   zeroline=False)
        layout[f"yaxis{n}"] = dict(anchor=f"x{n}", domain=[low, high], zeroline=False,
                                   automargin=True)
        if n:
            layout[f"xaxis{n}"] |= dict(matches="x", showticklabels=False)
    layout["xaxis"]["title"] = dict(text=DAYS_AXIS)
    layout["yaxis"] |= dict(range=[-0.6, 1.6], tickvals=[0, 1],
                            ticktext=["Adverse events", "Infections"])
    layout["yaxis2"] |= dict(range=[-0.4, 3.4], tickvals=[0, 1, 2, 3],
                             ticktext=["none", "mild", "moderate", "severe"])
    layout["yaxis3"] |= dict(range=[-0.4, 4.4], tickvals=list(ROMAN),
                             ticktext=list(ROMAN.values()))
    layout["yaxis4"] |= _value_axis(True, [threshold, *cd4["value"].tolist()])
    return {"data": traces, "layout": layout}


def _milestones(events: pd.DataFrame) -> list[tuple[int, str, str, str]]:
    """(day, label, colour, dash) of each milestone of `events`, by day."""
    style = {kind: (label, colour, dash) for kind, label, colour, dash in MILESTONES}
    return [(int(r.day), *style[r.kind]) for r in events.itertuples() if r.kind in style]


def _milestone_lines(events: pd.DataFrame) -> list[dict]:
    """A vertical line through every row at each milestone."""
    return [dict(type="line", x0=day, x1=day, xref="x", y0=0, y1=0.97, yref="paper",
                 line=dict(color=colour, dash=dash, width=1))
            for day, _, colour, dash in _milestones(events)]


def _milestone_labels(events: pd.DataFrame, x_range: list[float]) -> list[dict]:
    """Each milestone named above the plots, on the side of its line away from the nearer
    edge, at the lowest of three heights where it runs into no other label (widths estimated
    for a chart 1280 pixels wide)."""
    days_per_px = (x_range[1] - x_range[0]) / 1100
    middle = sum(x_range) / 2
    taken: list[list[tuple[float, float]]] = [[], [], []]
    notes = []
    for day, label, colour, _ in _milestones(events):
        text = f"{label} (day {day})"
        width = (6 * len(text) + 10) * days_per_px
        span = (day, day + width) if day <= middle else (day - width, day)
        level = next((i for i, spans in enumerate(taken)
                      if all(span[1] < a or span[0] > b for a, b in spans)), len(taken) - 1)
        taken[level].append(span)
        notes.append(dict(text=text, x=day, xref="x", y=0.97, yref="paper", yanchor="bottom",
                          xanchor="left" if day <= middle else "right", yshift=2 + 14 * level,
                          showarrow=False, font=dict(size=10, color=colour)))
    return notes


PANEL = Panel(
    key="patient", title="Patient story", icon=":material/person_search:",
    datasets=("adsl",),
    items=(ItemSpec("patient_timeline", Kind.FIGURE, subject_level=True),
           ItemSpec("patient_events", Kind.TABLE, subject_level=True),
           ItemSpec("swimmer_plot", Kind.FIGURE, subject_level=True)),
    options=(Option("subject", "Patient", Widget.SUBJECT, lambda s: None, subjects=subject_ids,
                    subject_level=True,
                    help="A SMART101 or control patient (type to search the IDs)."),),
    build=build)
