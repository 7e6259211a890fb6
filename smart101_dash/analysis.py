"""Analysis tables, derived once per cut: one row per subject and endpoint, as ADaM's ADTTE.

The first time a cut is used with a set of endpoint settings, every time-to-event endpoint is
derived for every transplanted subject (by the functions of `endpoints/`, the definitions of
docs/endpoints.md) and stored as DuckDB tables in a schema of its own:

- `adtte`: USUBJID, PARAMCD, time, status (0 censored, 1 event, 2 competing event);
- `adgvhd_grade`: each subject's maximum acute GvHD grade by the grade window, with the organ
  stages of the assessment where it was reached and the subject's number of assessments;
- `lab_daily` and `lab_visits`: each subject's count per subset and day (the day's mean), and
  the count that stands for each protocol day (the closest within its visit window), made in
  SQL from adlb's rows (`LAB_DAILY_SQL`, `LAB_VISITS_SQL`): millions of rows at registry
  scale, which never reach Python;
- `infection_followup` and `infection_episodes`: each subject's days at risk to the end of
  follow-up (day 730 at most) and every episode in them (`endpoints.infection_episodes`).

Every table also carries adsl's integer `subject` (`store.SUBJECT_NUMBER`), the key a
filter's population is joined on (`USING (subject)`): a number joins about twice as fast as
USUBJID's text at registry scale. USUBJID stays, for the listings.

A filter then selects subjects from these small tables (`ADTTE_SQL` joins the filtered
population): a click derives nothing again and reads only the rows an estimator needs. An
endpoint is a property of one subject, so deriving it for all and selecting gives what
deriving it for the selection would.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, partial

import numpy as np
import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.config import EndpointSettings
from smart101_dash.contract import INFECTION_CATEGORIES, LYMPHOCYTE_PARAMS
from smart101_dash.filters import Filters, with_population
from smart101_dash.sql import quote_identifier
from smart101_dash.store import Database, ExportCut, Query

# The derivations read their inputs with the transplanted subjects numbered 0, 1, ... in
# USUBJID's order (`numbered`, a dense number of their own): at registry scale pandas joins and
# groups on a number several times faster than on a string, and the stored tables get their
# USUBJID back, with adsl's `subject` beside it (`_with_ids`).
NUMBERED = ("WITH numbered AS (SELECT USUBJID, subject, "
            "row_number() OVER (ORDER BY USUBJID) - 1 AS number "
            "FROM adsl WHERE HSCTDT IS NOT NULL)\n")
# Row i: number i, its USUBJID and adsl's subject number (the key the tables are joined on).
SUBJECT_IDS_SQL = NUMBERED + "SELECT USUBJID, subject FROM numbered ORDER BY number"
# The adsl columns every endpoint derivation takes: USUBJID and these.
ADSL_VALUES = ("COHORT, ARM, AGEGR1, HSCTDT, TRTSDT, DCUTDT, LSTALVDT, DTHFL, DTHDT, DTHCAUS, "
               "RLPSDT, ANCRDT, PLTRDT, GFDT, GFTYPE")
ADSL_COLUMNS = f"USUBJID, {ADSL_VALUES}"
LYMPHOCYTES = "['" + "', '".join(LYMPHOCYTE_PARAMS) + "']"
INPUTS_SQL = {
    "adsl": NUMBERED + (
        f"SELECT s.number AS USUBJID, {ADSL_VALUES} "
        "FROM adsl a JOIN numbered s ON s.USUBJID = a.USUBJID ORDER BY s.number"),
    "adgvhd": NUMBERED + (
        "SELECT s.number AS USUBJID, g.ADT, g.SKINSTG, g.LIVERSTG, g.UGISTG, g.LGISTG, "
        "g.AGVHDGR, g.CGVHDSEV, g.CGVHDIST "
        "FROM adgvhd g JOIN numbered s ON s.USUBJID = g.USUBJID ORDER BY s.number, g.ADT"),
    # CD4+IR is derived in Python (endpoints.cd4_reconstitution): only the CD4 rows, several
    # counts on one day already reduced to their mean here, as the derivation does.
    "cd4": NUMBERED + (
        "SELECT s.number AS USUBJID, l.PARAMCD, l.ADT, avg(l.AVAL) AS AVAL "
        "FROM adlb l JOIN numbered s ON s.USUBJID = l.USUBJID "
        "WHERE l.PARAMCD = 'CD4' AND isfinite(l.AVAL) AND l.ADT IS NOT NULL "
        "GROUP BY ALL ORDER BY s.number, l.ADT"),
    "adinf": NUMBERED + (
        "SELECT s.number AS USUBJID, i.INFSEQ, i.ASTDT, i.INFCAT, i.PATHOGEN, i.INFSITE, "
        "i.INFSEV, i.VIRREACT "
        "FROM adinf i JOIN numbered s ON s.USUBJID = i.USUBJID "
        "ORDER BY s.number, i.ASTDT, i.INFSEQ"),
}
NEEDS = {"adgvhd": ("adgvhd",), "cd4": ("adlb",), "adinf": ("adinf",)}

# The safety population's events from day 0 to the cut-off, with their days and
# treatment-emergent flag: stored as they are (table `adverse_events`), so a click reads a
# table, not the Parquet files.
ADVERSE_EVENTS_SQL = """\
SELECT e.USUBJID, a.subject, e.AESEQ, e.AEBODSYS, e.AEDECOD, e.ATOXGR, e.AESER, e.AEREL, e.AEOUT,
       e.TRTEMFL, date_diff('day', a.HSCTDT, e.ASTDT) AS start_day,
       date_diff('day', a.HSCTDT, e.AENDT) AS end_day
FROM adae e
JOIN adsl a USING (USUBJID)
WHERE a.SAFFL = 'Y' AND a.HSCTDT IS NOT NULL AND e.ASTDT >= a.HSCTDT AND e.ASTDT <= a.DCUTDT
ORDER BY e.USUBJID, start_day, e.AESEQ"""

# Each transplanted subject's count per lymphocyte subset and transplant day (day 0 = HSCTDT),
# from day 0 to the subject's cut-off; several counts on one day count as their mean (as the
# CD4+IR derivation does). Dates are DATEs (the contract), so a day is a date's difference.
LAB_DAILY_SQL = f"""\
SELECT l.USUBJID, a.subject, l.PARAMCD, date_diff('day', a.HSCTDT, l.ADT) AS day,
       avg(l.AVAL) AS AVAL
FROM adlb l
JOIN adsl a USING (USUBJID)
WHERE a.HSCTDT IS NOT NULL AND list_contains({LYMPHOCYTES}, l.PARAMCD) AND isfinite(l.AVAL)
  AND l.ADT >= a.HSCTDT AND (a.DCUTDT IS NULL OR l.ADT <= a.DCUTDT)
GROUP BY ALL
ORDER BY l.PARAMCD, l.USUBJID, day"""

# Per subject, subset and protocol day ($days, each with its window's half-width in $halves):
# the count closest to the day within the window; at equal distance the earlier count, a
# fixed rule, so the choice never depends on row order. Reads `lab_daily` of the analysis
# schema ({schema}). Stored by subset and day: a read of CD4 alone (most of the page) then
# skips the other subsets' row groups.
LAB_VISITS_SQL = """\
SELECT USUBJID, subject, PARAMCD, protocol_day, day, AVAL
FROM (
    SELECT d.USUBJID, d.subject, d.PARAMCD, w.protocol_day, d.day, d.AVAL,
           row_number() OVER (PARTITION BY d.subject, d.PARAMCD, w.protocol_day
                              ORDER BY abs(d.day - w.protocol_day), d.day) AS pick
    FROM {schema}.lab_daily d
    JOIN (SELECT CAST(unnest($days) AS BIGINT) AS protocol_day, unnest($halves) AS half_width) w
      ON abs(d.day - w.protocol_day) <= w.half_width
)
WHERE pick = 1
ORDER BY PARAMCD, protocol_day, USUBJID"""

# Daily ANC, read only when adsl has no ANCRDT: neutrophil recovery is then derived from it.
ANC_SQL = NUMBERED + (
    "SELECT s.number AS USUBJID, l.ADT, avg(l.AVAL) AS AVAL "
    "FROM adlb l JOIN numbered s ON s.USUBJID = l.USUBJID "
    "WHERE l.PARAMCD = 'ANC' AND isfinite(l.AVAL) AND l.ADT IS NOT NULL "
    "GROUP BY ALL ORDER BY s.number, l.ADT")
SUBSET_ORDER = "['" + "', '".join(endpoints.LYMPHOCYTE_ORDER) + "']"

# An endpoint as the estimators need it: subjects counted by group, day and status (`n`), so
# the rows are bounded by the days of follow-up, not by the number of subjects.
# As treated ($as_treated), SMART101 patients not infused are left out.
AS_TREATED = "NOT ($as_treated AND p.COHORT = 'SMART101' AND p.TRTSDT IS NULL)"

# `before_start`: the subject is not counted from the landmark day (no landmark: NULL, never):
# not followed to the day, or the event (or a competing one) on or before it.
ADTTE_SQL = with_population(f"""\
SELECT t.PARAMCD, p.COHORT AS "group", t.time, t.status,
       coalesce(t.time < $landmark_day OR (t.time = $landmark_day AND t.status > 0), false)
           AS before_start,
       count(*) AS n
FROM adtte t
JOIN population p USING (subject)
WHERE list_contains($paramcds, t.PARAMCD) AND {AS_TREATED}
GROUP BY ALL
ORDER BY t.PARAMCD, "group" DESC, t.time, t.status""")

# Graft failures by type (PRIMARY, SECONDARY; NULL: type not given) among the GF events.
GRAFT_FAILURE_SQL = with_population(f"""\
SELECT p.COHORT AS "group", p.GFTYPE AS type, count(*) AS patients
FROM adtte t
JOIN population p USING (subject)
WHERE t.PARAMCD = 'GF' AND t.status = 1 AND {AS_TREATED}
GROUP BY ALL
ORDER BY "group" DESC, type""")

# Deaths (day 0 to the cut-off) by cohort, arm, category of cause and period.
DEATH_CAUSES_SQL = with_population("""\
SELECT p.COHORT AS cohort, p.ARM AS arm, d.category, d.period, count(*) AS patients
FROM deaths d
JOIN population p USING (subject)
GROUP BY ALL
ORDER BY ALL""")

# Infections as counts (rows bounded by days and categories, not by subjects): the days at
# risk, the episodes per day, and episodes and patients per category and grade (NULL: all
# categories or any grade) and per viral pathogen (NULL: any).
FOLLOWUP_SQL = with_population("""\
SELECT p.COHORT AS "group", f.time, f.status, count(*) AS n,
       CAST(sum(f.n_episodes) AS BIGINT) AS episodes
FROM infection_followup f
JOIN population p USING (subject)
GROUP BY ALL
ORDER BY "group" DESC, f.time, f.status""")

EPISODE_DAYS_SQL = with_population("""\
SELECT p.COHORT AS "group", e.day, count(*) AS n
FROM infection_episodes e
JOIN population p USING (subject)
GROUP BY ALL
ORDER BY "group" DESC, e.day""")

# Each patient's episodes counted first (`by_patient`), then summed over the patients of a
# category, a grade, both or neither: the patients are then rows, not count(DISTINCT) under
# GROUPING SETS (which cost four times as much at 100,000 controls).
EPISODE_COUNTS_SQL = with_population("""\
SELECT "group", category, grade, false AS all_categories, false AS any_grade,
       CAST(sum(episodes) AS BIGINT) AS episodes, count(*) AS patients
FROM by_patient GROUP BY ALL
UNION ALL
SELECT "group", category, NULL, false, true, CAST(sum(episodes) AS BIGINT), count(*)
FROM (SELECT "group", category, subject, sum(episodes) AS episodes FROM by_patient
      GROUP BY ALL) GROUP BY ALL
UNION ALL
SELECT "group", NULL, grade, true, false, CAST(sum(episodes) AS BIGINT), count(*)
FROM (SELECT "group", grade, subject, sum(episodes) AS episodes FROM by_patient
      GROUP BY ALL) GROUP BY ALL
UNION ALL
SELECT "group", NULL, NULL, true, true, CAST(sum(episodes) AS BIGINT), count(*)
FROM (SELECT "group", subject, sum(episodes) AS episodes FROM by_patient GROUP BY ALL)
GROUP BY ALL
ORDER BY ALL""", by_patient="""\
SELECT p.COHORT AS "group", e.INFCAT AS category, e.INFSEV AS grade, e.subject,
       count(*) AS episodes
FROM infection_episodes e
JOIN population p USING (subject)
GROUP BY ALL""")

REACTIVATIONS_SQL = with_population("""\
SELECT p.COHORT AS "group", e.PATHOGEN AS pathogen, grouping(e.PATHOGEN) = 1 AS any_pathogen,
       count(*) AS episodes, count(DISTINCT e.subject) AS patients
FROM infection_episodes e
JOIN population p USING (subject)
WHERE e.VIRREACT = 'Y'
GROUP BY GROUPING SETS ((p.COHORT, e.PATHOGEN), (p.COHORT))
ORDER BY ALL""")

VISITS_SQL = with_population(f"""\
SELECT v.USUBJID, p.COHORT AS "group", v.PARAMCD, v.protocol_day, v.day, v.AVAL
FROM lab_visits v
JOIN population p USING (subject)
ORDER BY p.COHORT DESC, list_position({SUBSET_ORDER}, v.PARAMCD), v.protocol_day, v.USUBJID""")

# Count, median and quartiles (linear interpolation: R's type 7, numpy's default) of each
# subset of $subsets at each protocol day, by cohort: the rows stay in DuckDB.
VISIT_QUARTILES_SQL = with_population(f"""\
SELECT "group", PARAMCD, protocol_day, n, q[1] AS q1, q[2] AS median, q[3] AS q3
FROM (
    -- One quantile call for the three (a fifth faster than three calls at 100,000 subjects).
    SELECT p.COHORT AS "group", v.PARAMCD, v.protocol_day, count(*) AS n,
           quantile_cont(v.AVAL, [0.25, 0.5, 0.75]) AS q
    FROM lab_visits v
    JOIN population p USING (subject)
    WHERE list_contains($subsets, v.PARAMCD)
    GROUP BY p.COHORT, v.PARAMCD, v.protocol_day
)
ORDER BY "group" DESC, list_position({SUBSET_ORDER}, PARAMCD), protocol_day""")

# The CD4 counts of one protocol day (the day-100 comparison's samples).
CD4_AT_DAY_SQL = with_population("""\
SELECT p.COHORT AS "group", v.AVAL
FROM lab_visits v
JOIN population p USING (subject)
WHERE v.PARAMCD = 'CD4' AND v.protocol_day = $protocol_day
ORDER BY p.COHORT DESC, v.USUBJID""")

# Which count stands for which protocol day, per patient: a listing (subject-level).
CD4_VISITS_LISTING_SQL = with_population("""\
SELECT v.USUBJID, v.day, v.protocol_day
FROM lab_visits v
JOIN population p USING (subject)
WHERE v.PARAMCD = 'CD4'
ORDER BY v.USUBJID, v.protocol_day""")

# Each CD4 count (daily mean) of the population, dated again, as endpoints.cd4_reconstitution
# takes them: for CD4+IR under a threshold or window the page chose.
CD4_DAILY_SQL = with_population("""\
SELECT d.USUBJID, d.PARAMCD, p.HSCTDT + CAST(d.day AS INTEGER) AS ADT, d.AVAL
FROM lab_daily d
JOIN population p USING (subject)
WHERE d.PARAMCD = 'CD4'
ORDER BY d.USUBJID, d.day""")

CD4_RECORDED_SQL = with_population("""\
SELECT EXISTS (
    SELECT 1 FROM lab_daily d JOIN population p USING (subject) WHERE d.PARAMCD = 'CD4'
) AS recorded""")

# Each patient's CD4 counts: a listing (subject-level).
CD4_LISTING_SQL = with_population("""\
SELECT d.USUBJID, p.COHORT AS "group", d.PARAMCD, d.day, d.AVAL
FROM lab_daily d
JOIN population p USING (subject)
WHERE d.PARAMCD = 'CD4'
ORDER BY p.COHORT DESC, d.USUBJID, d.day""")

GRADE_SQL = with_population("""\
SELECT g.* EXCLUDE (subject), p.COHORT AS "group"
FROM adgvhd_grade g
JOIN population p USING (subject)
ORDER BY p.COHORT DESC, g.USUBJID""")

Derive = Callable[[dict[str, pd.DataFrame], EndpointSettings], pd.DataFrame]


@dataclass(frozen=True)
class Parameter:
    code: str  # PARAMCD
    needs: tuple[str, ...]  # inputs beyond adsl
    derive: Derive


def _parameters(ep: EndpointSettings, cut: ExportCut) -> tuple[Parameter, ...]:
    acute_window = max(ep.agvhd_windows_days)
    params = [
        Parameter("OS", (), lambda d, s: endpoints.overall_survival(d["adsl"], s)),
        Parameter("DFS", (), lambda d, s: endpoints.disease_free_survival(d["adsl"], s)),
        Parameter("RELAPSE", (), lambda d, s: endpoints.relapse(d["adsl"], s)),
        Parameter("NRM", (), lambda d, s: endpoints.non_relapse_mortality(d["adsl"], s)),
        Parameter("CD4IR", ("cd4",),
                  lambda d, s: endpoints.cd4_reconstitution(d["adsl"], d["cd4"], s)),
    ]
    for code, grade in (("AGVHD24", 2), ("AGVHD34", 3)):
        params.append(Parameter(code, ("adgvhd",), lambda d, s, g=grade: endpoints.acute_gvhd(
            d["adsl"], d["adgvhd"], s, min_grade=g, window_days=acute_window)))
    for code, severity in (("CGVHD", "any"), ("CGVHDMS", "moderate_severe")):
        params.append(Parameter(code, ("adgvhd",), lambda d, s, v=severity: (
            endpoints.chronic_gvhd(d["adsl"], d["adgvhd"], s, severity=v))))
    for category in ("ALL", *INFECTION_CATEGORIES):
        params.append(Parameter(f"INF{category}", ("adinf",), lambda d, s, c=category: (
            endpoints.first_infection(d["adsl"], d["adinf"], s,
                                      category=None if c == "ALL" else c,
                                      window_days=s.follow_up_days))))
    chronic = "systemic" if cut.has_column("adgvhd", "CGVHDIST") else "moderate_severe"
    params.append(Parameter("GRFS", ("adgvhd",), lambda d, s: (
        endpoints.gvhd_relapse_free_survival(d["adsl"], d["adgvhd"], s, chronic=chronic))))
    # Engraftment and graft failure where the export sends their dates (NEUTR also from
    # daily ANC: the input "anc" then holds the derived dates).
    if cut.has_column("adsl", "ANCRDT"):
        params.append(Parameter("NEUTR", (), lambda d, s: endpoints.neutrophil_engraftment(
            d["adsl"], s)))
    else:
        params.append(Parameter("NEUTR", ("anc",), lambda d, s: endpoints.neutrophil_engraftment(
            d["adsl"].assign(ANCRDT=d["adsl"]["USUBJID"].map(d["anc"]).to_numpy()), s)))
    if cut.has_column("adsl", "PLTRDT"):
        params.append(Parameter("PLTR", (), lambda d, s: endpoints.platelet_engraftment(
            d["adsl"], s)))
    if cut.has_column("adsl", "GFDT"):
        params.append(Parameter("GF", (), lambda d, s: endpoints.graft_failure(d["adsl"], s)))
    return tuple(params)


def infection_code(category: str) -> str:
    """The PARAMCD of the first infection of a category ("ALL": any)."""
    return f"INF{category}"


class InfectionCounts:
    """Infections of a population through the follow-up window, as counts.

    `followup`: group, time (days at risk), status (1 died), n subjects, episodes (theirs).
    `episode_days`: group, day, n episodes. `episodes`: group, category, grade,
    all_categories, any_grade, episodes, patients (the two flags mark the totals over
    categories and grades). `reactivations`: group, pathogen, any_pathogen (the total),
    episodes, patients, of the episodes with VIRREACT = Y.

    Each is read when first used: a section that shows none of the episodes' tables (the
    first infection's) does not wait for their queries.
    """

    def __init__(self, read: Callable[[Query], pd.DataFrame], filters: Filters) -> None:
        self._read = read
        self.queries = tuple(Query(sql, filters.params()) for sql in (
            FOLLOWUP_SQL, EPISODE_DAYS_SQL, EPISODE_COUNTS_SQL, REACTIVATIONS_SQL))

    @cached_property
    def followup(self) -> pd.DataFrame:
        return self._read(self.queries[0])

    @cached_property
    def episode_days(self) -> pd.DataFrame:
        return self._read(self.queries[1])

    @cached_property
    def episodes(self) -> pd.DataFrame:
        return self._read(self.queries[2])

    @cached_property
    def reactivations(self) -> pd.DataFrame:
        return self._read(self.queries[3])

    @property
    def any_episode(self) -> bool:
        """Whether the population has an episode in the window (read from `followup`)."""
        return bool(self.followup["episodes"].sum() > 0)


@dataclass(frozen=True)
class Start:
    """Where a time-to-event comparison starts: the landmark day (None: the transplant, day
    0) and whether SMART101 counts as infused (as treated) or as enrolled (intention to
    treat). Days are counted from the transplant either way."""

    landmark_day: int | None = None
    as_treated: bool = False

    def __post_init__(self) -> None:
        if self.landmark_day is not None and self.landmark_day < 1:
            raise ValueError(f"the landmark day must be 1 or later, got {self.landmark_day}")

    @classmethod
    def of(cls, landmark: bool, landmark_day: int, as_treated: bool) -> Start:
        """From a page's options."""
        return cls(int(landmark_day) if landmark else None, bool(as_treated))

    def params(self) -> dict[str, object]:
        return {"landmark_day": self.landmark_day, "as_treated": self.as_treated}

    def short(self) -> str:
        """The start in a few words for footers and CSV context ("" when the default)."""
        parts = []
        if self.landmark_day is not None:
            parts.append(f"from landmark day {self.landmark_day}")
        if self.as_treated:
            parts.append("SMART101 as infused")
        return ", ".join(parts)

    def describe(self) -> str:
        """The definition in force, in words (printed on every time-to-event page)."""
        population = ("SMART101 as infused (as treated: patients not infused are left out)"
                      if self.as_treated else
                      "SMART101 as enrolled (intention to treat: every transplanted patient)")
        if self.landmark_day is None:
            return f"From the transplant (day 0); {population}."
        day = self.landmark_day
        return (f"From landmark day {day}: only patients alive, followed and free of the "
                f"endpoint's event (and of its competing event) at day {day} count, so the "
                f"estimates are conditional on reaching day {day}; days still counted from "
                f"the transplant; {population}.")


@dataclass(frozen=True)
class EndpointRead:
    """Endpoints of a population, read in one query: the rows each estimator takes (group,
    time, status, n) from the start in force, and per endpoint the subjects the landmark left
    out, by group."""

    rows: dict[str, pd.DataFrame]
    left_out: dict[str, dict[str, int]]
    query: Query
    start: Start

    def __getitem__(self, code: str) -> pd.DataFrame:
        return self.rows[code]

    def __contains__(self, code: object) -> bool:
        return code in self.rows


@dataclass(frozen=True)
class AnalysisTables:
    """The analysis schema of one cut and one set of endpoint settings."""

    cut: ExportCut
    schema: str
    parameters: frozenset[str]  # the PARAMCDs derived (those whose datasets are usable)
    grades: bool  # adgvhd_grade exists
    grade_window: int  # the days of adgvhd_grade's maximum grade (the first aGvHD window)
    # How an endpoint was derived when the export lacked a column (PARAMCD, text).
    notes: tuple[tuple[str, str], ...] = ()

    def note(self, code: str) -> str | None:
        return dict(self.notes).get(code)

    def query(self, db: Database, query: Query) -> pd.DataFrame:
        return db.query(self.cut, query, search=(self.schema,))

    def endpoint(self, db: Database, filters: Filters, code: str, start: Start = Start()
                 ) -> tuple[pd.DataFrame, Query]:
        """group, time, status and n (subjects) of the filtered population for one PARAMCD."""
        read = self.endpoints(db, filters, (code,), start)
        return read[code], read.query

    def endpoints(self, db: Database, filters: Filters, codes: tuple[str, ...],
                  start: Start = Start()) -> EndpointRead:
        """`endpoint` for several PARAMCDs in one read (a page's endpoints: one query, not
        one per endpoint), from `start`."""
        missing = [c for c in codes if c not in self.parameters]
        if missing:
            raise KeyError(f"{', '.join(missing)} not derived for this cut (its dataset is "
                           "unusable: check cut.require first)")
        query = Query(ADTTE_SQL, {**filters.params(), **start.params(),
                                  "paramcds": sorted(codes)})
        rows = self.query(db, query)
        # Rows come sorted by PARAMCD: each endpoint is one slice.
        paramcd = rows.pop("PARAMCD").to_numpy()
        before = rows.pop("before_start").to_numpy(dtype=bool)
        groups, subjects = rows["group"].to_numpy().astype(str), rows["n"].to_numpy()
        found, left_out = {}, {}
        for code in codes:
            start_at, stop = (int(np.searchsorted(paramcd, code, side=side))
                              for side in ("left", "right"))
            kept = start_at + np.flatnonzero(~before[start_at:stop])
            found[code] = rows.iloc[kept].reset_index(drop=True)
            dropped = start_at + np.flatnonzero(before[start_at:stop])
            # Per group, the subjects the start left out (numpy: pandas' groupby cost more
            # than the estimates on a page of 13 endpoints).
            left_out[code] = {str(g): int(subjects[dropped][groups[dropped] == g].sum())
                              for g in np.unique(groups[dropped])}
        return EndpointRead(found, left_out, query, start)

    def subjects(self, db: Database, filters: Filters, viewer: Viewer, start: Start = Start()
                 ) -> tuple[pd.DataFrame, Query]:
        """The subject-level slice of the population (SUBJECTS_SQL); as treated when `start`
        says so. Subject-level: refused to a viewer without that permission."""
        sql = subjects_sql(self.parameters, self.grades, "INFALL" in self.parameters,
                           self.grade_window)
        query = Query(sql, {**filters.params(), "as_treated": start.as_treated},
                      subject_level=True)
        return db.query(self.cut, query, viewer, search=(self.schema,), cache=False), query

    def graft_failures(self, db: Database, filters: Filters, start: Start = Start()
                       ) -> tuple[pd.DataFrame, Query]:
        """group, type, patients: the graft failures (GF events) of the population by type."""
        query = Query(GRAFT_FAILURE_SQL, {**filters.params(), "as_treated": start.as_treated})
        return self.query(db, query), query

    def death_causes(self, db: Database, filters: Filters) -> tuple[pd.DataFrame, Query]:
        """cohort, arm, category, period, patients: the population's deaths by cause."""
        query = Query(DEATH_CAUSES_SQL, filters.params())
        return self.query(db, query), query

    def infections(self, db: Database, filters: Filters) -> tuple[InfectionCounts, tuple[Query, ...]]:
        """The filtered population's infections, counted (see `InfectionCounts`)."""
        self.cut.require("adinf")
        counts = InfectionCounts(partial(self.query, db), filters)
        return counts, counts.queries

    def lab_visits(self, db: Database, filters: Filters) -> tuple[pd.DataFrame, Query]:
        """The count each patient of the population gives at each protocol day, by subset."""
        self.cut.require("adlb")
        query = Query(VISITS_SQL, filters.params())
        return self.query(db, query), query

    def visit_quartiles(self, db: Database, filters: Filters, subsets: tuple[str, ...]
                        ) -> tuple[pd.DataFrame, Query]:
        """group, PARAMCD, protocol_day, n, q1, median, q3 of the population (n > 0 only),
        for the lymphocyte `subsets` (PARAMCDs) asked."""
        self.cut.require("adlb")
        query = Query(VISIT_QUARTILES_SQL, {**filters.params(), "subsets": list(subsets)})
        return self.query(db, query), query

    def cd4_at_day(self, db: Database, filters: Filters, protocol_day: int
                   ) -> tuple[pd.DataFrame, Query]:
        """group, AVAL: the population's CD4 counts standing for one protocol day."""
        self.cut.require("adlb")
        query = Query(CD4_AT_DAY_SQL, {**filters.params(), "protocol_day": protocol_day})
        return self.query(db, query), query

    def cd4_visits_listing(self, db: Database, filters: Filters, viewer: Viewer
                           ) -> tuple[pd.DataFrame, Query]:
        """USUBJID, day, protocol_day of each CD4 count standing for a protocol day
        (subject-level)."""
        self.cut.require("adlb")
        query = Query(CD4_VISITS_LISTING_SQL, filters.params(), subject_level=True)
        return db.query(self.cut, query, viewer, search=(self.schema,)), query

    def cd4_recorded(self, db: Database, filters: Filters) -> bool:
        """Whether the population has any CD4 count (EXISTS: stops at the first)."""
        self.cut.require("adlb")
        return bool(self.query(db, Query(CD4_RECORDED_SQL, filters.params()))["recorded"].iloc[0])

    def cd4_daily(self, db: Database, filters: Filters) -> tuple[pd.DataFrame, Query]:
        """USUBJID, PARAMCD, ADT, AVAL of every CD4 day of the population (to derive again)."""
        self.cut.require("adlb")
        query = Query(CD4_DAILY_SQL, filters.params())
        return self.query(db, query), query

    def cd4_listing(self, db: Database, filters: Filters, viewer: Viewer
                    ) -> tuple[pd.DataFrame, Query]:
        """Each patient's CD4 counts: a subject-level read, refused without the permission."""
        self.cut.require("adlb")
        query = Query(CD4_LISTING_SQL, filters.params(), subject_level=True)
        return db.query(self.cut, query, viewer, search=(self.schema,)), query

    def acute_grades(self, db: Database, filters: Filters) -> tuple[pd.DataFrame, Query]:
        """The adgvhd_grade rows of the filtered population, with their group."""
        self.cut.require("adgvhd")
        query = Query(GRADE_SQL, filters.params())
        return self.query(db, query), query


# The subject-level slice: adsl's row of every subject of the population, then per endpoint
# the days and status (0 censored, 1 event, 2 competing event) as ADTTE has them, and the
# per-subject values the pages show. `{endpoint_columns}` is made from the cut's PARAMCDs (our
# own codes, never text from the export).
SUBJECTS_SQL = """\
SELECT p.* EXCLUDE (subject),
       p.COHORT = 'SMART101' AND p.TRTSDT IS NOT NULL AS infused,
       {endpoint_columns}{grade_columns}{infection_columns}
       d.category AS death_cause_category, d.day AS death_day
FROM population p
LEFT JOIN (SELECT subject, {pivot} FROM adtte GROUP BY subject) t USING (subject)
{joins}LEFT JOIN deaths d USING (subject)
WHERE {as_treated}
ORDER BY p.COHORT DESC, p.USUBJID"""


def subjects_sql(codes: frozenset[str], grades: bool, infections: bool, grade_window: int
                 ) -> str:
    """SUBJECTS_SQL for a cut whose analysis tables hold `codes` (and the grade and
    infection tables when they were derived)."""
    ordered = sorted(codes)
    pivot = ", ".join(f"max(time) FILTER (WHERE PARAMCD = '{c}') AS \"{c}_days\", "
                      f"max(status) FILTER (WHERE PARAMCD = '{c}') AS \"{c}_status\""
                      for c in ordered)
    endpoint_columns = "".join(f't."{c}_days", t."{c}_status", ' for c in ordered)
    by_day = f"by_day{int(grade_window)}"
    grade_columns = (f"g.max_grade AS acute_gvhd_max_grade_{by_day}, "
                     f"g.worst_day AS acute_gvhd_worst_day_{by_day}, "
                     "g.assessments AS gvhd_assessments, " if grades else "")
    infection_columns = "f.n_episodes AS infection_episodes, " if infections else ""
    joins = ("LEFT JOIN adgvhd_grade g USING (subject)\n" if grades else "") + \
        ("LEFT JOIN infection_followup f USING (subject)\n" if infections else "")
    return with_population(SUBJECTS_SQL.format(
        endpoint_columns=endpoint_columns, grade_columns=grade_columns,
        infection_columns=infection_columns, pivot=pivot, joins=joins,
        as_treated=AS_TREATED))


def settings_key(ep: EndpointSettings) -> str:
    return hashlib.sha256(repr(ep).encode()).hexdigest()[:8]


def analysis_tables(db: Database, cut: ExportCut, ep: EndpointSettings) -> AnalysisTables:
    """The cut's analysis tables for `ep`, derived on first use (once per cut and settings)."""
    cut.require("adsl")
    schema = f"{cut.schema}_a{settings_key(ep)}"
    return db.derived(cut, schema, lambda: _derive(db, cut, ep, schema))


def _derive(db: Database, cut: ExportCut, ep: EndpointSettings, schema: str
            ) -> tuple[AnalysisTables, dict[str, pd.DataFrame | Query]]:
    """Read the inputs once, derive every parameter, return the tables to store (those made
    in SQL as queries, run where the rows are)."""
    inputs = {name: db.query(cut, Query(sql), cache=False) for name, sql in INPUTS_SQL.items()
              if all(cut.report.is_usable(d) for d in NEEDS.get(name, ("adsl",)))}
    if not cut.has_column("adsl", "ANCRDT") and cut.report.is_usable("adlb"):
        anc = db.query(cut, Query(ANC_SQL), cache=False)
        if not anc.empty:
            inputs["anc"] = endpoints.neutrophil_recovery_dates(anc, inputs["adsl"])
    rows, codes = [], set()
    for parameter in _parameters(ep, cut):
        if all(n in inputs for n in parameter.needs):
            rows.append(parameter.derive(inputs, ep).assign(PARAMCD=parameter.code))
            codes.add(parameter.code)
    adtte = pd.concat(rows, ignore_index=True)[["USUBJID", "PARAMCD", "time", "status"]]
    tables = {"adtte": adtte, "deaths": endpoints.death_causes(inputs["adsl"], ep)}
    if "adgvhd" in inputs:
        grades = endpoints.acute_gvhd_grade(inputs["adsl"], inputs["adgvhd"], ep,
                                            window_days=min(ep.agvhd_windows_days))
        # How many assessments each subject has at all: "no assessment recorded" is said
        # of a selection, so it must be countable from this table.
        counts = inputs["adgvhd"].groupby("USUBJID").size()
        grades["assessments"] = grades["USUBJID"].map(counts).fillna(0).astype("int64")
        tables["adgvhd_grade"] = grades
    if cut.report.is_usable("adlb"):
        tables["lab_daily"] = Query(LAB_DAILY_SQL)
        tables["lab_visits"] = Query(  # made after lab_daily, which it reads
            LAB_VISITS_SQL.format(schema=quote_identifier(schema)),
            {"days": list(ep.lab_visit_days), "halves": list(ep.lab_visit_window_days)})
    if cut.report.is_usable("adae"):
        tables["adverse_events"] = Query(ADVERSE_EVENTS_SQL)
    if "adinf" in inputs:
        followed = endpoints.infection_episodes(inputs["adsl"], inputs["adinf"], ep,
                                                window_days=ep.follow_up_days)
        tables["infection_followup"] = followed.subjects
        # `seq` keeps the derivation's order of episodes on one subject's day.
        tables["infection_episodes"] = followed.episodes.assign(
            seq=range(len(followed.episodes)))
    notes = []
    if "NEUTR" in codes and not cut.has_column("adsl", "ANCRDT"):
        notes.append(("NEUTR", ("ANCRDT is not in the export: neutrophil recovery is derived "
                      "from the daily ANC counts of adlb (the first of three consecutive counts "
                      ">= 500/uL after the nadir).")))
    if "GRFS" in codes and not cut.has_column("adgvhd", "CGVHDIST"):
        notes.append(("GRFS", ("CGVHDIST is not in the export: chronic GvHD needing systemic "
                      "immunosuppression is stood in for by moderate or severe chronic GvHD "
                      "(NIH 2014).")))
    ids = db.query(cut, Query(SUBJECT_IDS_SQL), cache=False)
    tables = {name: _with_ids(t, ids) if isinstance(t, pd.DataFrame) else t
              for name, t in tables.items()}
    return (AnalysisTables(cut, schema, frozenset(codes), "adgvhd_grade" in tables,
                           min(ep.agvhd_windows_days), tuple(notes)), tables)


def _with_ids(frame: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each subject's number turned back into its USUBJID, and adsl's subject
    number beside it (`ids`: SUBJECT_IDS_SQL's rows)."""
    number = frame["USUBJID"].to_numpy(dtype=np.int64)
    return frame.assign(USUBJID=ids["USUBJID"].array.take(number),
                        subject=ids["subject"].to_numpy().take(number))
