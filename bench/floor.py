"""The floor of each page: its main numbers computed directly, to compare the dashboard with.

"Directly" is what the speed issue calls the floor: DuckDB SQL straight on the export's
Parquet files (views over `read_parquet`, no contract check, no analysis tables, no cache),
the filtered population the same CTE as the app's, then the estimators on arrays. Nothing is
formatted and no figure is built. Each page's floor computes the same numbers as its panel
(`differences` compares the landmark estimates of every survival and GvHD endpoint with the
survival page's table; the benchmark prints the result); where a page shows many tables, the
floor does the work of the largest ones:

- overview: SMART101's enrollment dates by arm (the cumulative enrollment curve), its
  status, and the baseline counts and ages by cohort (four queries, as the page);
- adverse events: patients by criterion, by worst grade, and by SOC and term;
- survival: OS, DFS, relapse and NRM derived in one statement from adsl, Kaplan-Meier and
  cumulative incidence with their tests, read at the landmark days; and, as the page's
  landmark table holds them, the GvHD endpoints and CD4+IR below (not GRFS and engraftment,
  which this floor does not derive: the ratio is still a little generous to the floor);
- GvHD: grade II-IV and III-IV acute (by day 100) and any and moderate-severe chronic GvHD from
  adgvhd and adsl, cumulative incidence and Gray's test, and the maximum grade per patient;
- infections: the first infection of each category (cumulative incidence, death competing)
  and episodes by category and grade;
- CD4: the count of each subset standing for each protocol day (the nearest in its window)
  and the quartiles; CD4+ reconstitution (two consecutive daily counts above the threshold
  within the window, death competing) derived in one statement from adlb and adsl, its
  cumulative incidence and Gray's test, and the day-100 counts compared (Wilcoxon).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from smart101_dash.config import SETTINGS
from smart101_dash.cuts import newest_cut
from smart101_dash.filters import Filters, with_population
from smart101_dash.stats import (
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    landmarks,
    log_rank_test,
    wilcoxon_rank_sum,
)

EP = SETTINGS.endpoints
DATASETS = ("adsl", "adae", "adgvhd", "adinf", "adlb")

# Each subject's follow-up (endpoints._frame.follow_up): death and relapse on day 0..cut-off,
# relapse not after death, end of follow-up at death or last known alive (capped).
FOLLOW_UP = """\
SELECT USUBJID, COHORT AS "group", death_day, relapse_day,
       coalesce(death_day, least(greatest(coalesce(greatest(alive_day, relapse_day), 0), 0),
                                 cut_day)) AS end_day
FROM (
    SELECT *, CASE WHEN raw_relapse BETWEEN 0 AND cut_day
                    AND (death_day IS NULL OR raw_relapse <= death_day)
               THEN raw_relapse END AS relapse_day
    FROM (
        SELECT USUBJID, COHORT, date_diff('day', HSCTDT, DCUTDT) AS cut_day,
               CASE WHEN date_diff('day', HSCTDT, DTHDT) BETWEEN 0
                         AND date_diff('day', HSCTDT, DCUTDT)
                    THEN date_diff('day', HSCTDT, DTHDT) END AS death_day,
               date_diff('day', HSCTDT, RLPSDT) AS raw_relapse,
               date_diff('day', HSCTDT, LSTALVDT) AS alive_day
        FROM population WHERE HSCTDT IS NOT NULL))"""

SURVIVAL_SQL = with_population(f"""\
SELECT code, "group", least(time, {EP.follow_up_days}) AS time,
       CASE WHEN time > {EP.follow_up_days} THEN 0 ELSE status END AS status, count(*) AS n
FROM (
    SELECT 'OS' AS code, "group", end_day AS time, (death_day IS NOT NULL)::INT AS status
    FROM follow
    UNION ALL
    SELECT 'DFS', "group", coalesce(least(relapse_day, death_day), end_day),
           (relapse_day IS NOT NULL OR death_day IS NOT NULL)::INT FROM follow
    UNION ALL
    SELECT 'RELAPSE', "group", coalesce(relapse_day, death_day, end_day),
           CASE WHEN relapse_day IS NOT NULL THEN 1 WHEN death_day IS NOT NULL THEN 2 ELSE 0 END
    FROM follow
    UNION ALL
    SELECT 'NRM', "group", coalesce(relapse_day, death_day, end_day),
           CASE WHEN relapse_day IS NOT NULL THEN 2 WHEN death_day IS NOT NULL THEN 1 ELSE 0 END
    FROM follow)
GROUP BY ALL""", follow=FOLLOW_UP)

# The first assessment meeting each GvHD definition, against death (and the window).
GVHD_SQL = with_population(f"""\
SELECT code, "group",
       CASE WHEN onset IS NOT NULL AND onset <= least(end_day, horizon) THEN onset
            WHEN death_day IS NOT NULL AND death_day <= horizon THEN death_day
            ELSE least(end_day, horizon) END AS time,
       CASE WHEN onset IS NOT NULL AND onset <= least(end_day, horizon) THEN 1
            WHEN death_day IS NOT NULL AND death_day <= horizon THEN 2 ELSE 0 END AS status,
       count(*) AS n
FROM (
    SELECT f.*, d.code, d.horizon,
           (SELECT min(date_diff('day', p.HSCTDT, g.ADT)) FROM adgvhd g
            JOIN population p USING (USUBJID)
            WHERE g.USUBJID = f.USUBJID AND date_diff('day', p.HSCTDT, g.ADT) >= 0
              AND CASE d.code WHEN 'AGVHD24' THEN g.AGVHDGR >= 2
                              WHEN 'AGVHD34' THEN g.AGVHDGR >= 3
                              WHEN 'CGVHD' THEN g.CGVHDSEV IN ('MILD', 'MODERATE', 'SEVERE')
                              ELSE g.CGVHDSEV IN ('MODERATE', 'SEVERE') END) AS onset
    FROM follow f,
         (VALUES ('AGVHD24', {min(EP.agvhd_windows_days)}),
                 ('AGVHD34', {min(EP.agvhd_windows_days)}),
                 ('CGVHD', {EP.follow_up_days}), ('CGVHDMS', {EP.follow_up_days}))
         d(code, horizon))
GROUP BY ALL""", follow=FOLLOW_UP)

MAX_GRADE_SQL = with_population(f"""\
SELECT "group", max_grade, count(*) AS n
FROM (SELECT f."group", coalesce(max(g.AGVHDGR), 0) AS max_grade
      FROM follow f LEFT JOIN adgvhd g ON g.USUBJID = f.USUBJID
      AND g.ADT <= (SELECT HSCTDT FROM population p WHERE p.USUBJID = f.USUBJID)
                   + INTERVAL {min(EP.agvhd_windows_days)} DAY
      GROUP BY f.USUBJID, f."group")
GROUP BY ALL""", follow=FOLLOW_UP)

INFECTION_SQL = with_population(f"""\
SELECT code, "group",
       CASE WHEN onset IS NOT NULL THEN onset
            ELSE least(end_day, {EP.follow_up_days}) END AS time,
       CASE WHEN onset IS NOT NULL THEN 1
            WHEN death_day IS NOT NULL AND death_day <= {EP.follow_up_days} THEN 2
            ELSE 0 END AS status,
       count(*) AS n
FROM (
    SELECT f.*, c.code,
           (SELECT min(date_diff('day', p.HSCTDT, i.ASTDT)) FROM adinf i
            JOIN population p USING (USUBJID)
            WHERE i.USUBJID = f.USUBJID
              AND date_diff('day', p.HSCTDT, i.ASTDT) BETWEEN 0
                  AND least(f.end_day, {EP.follow_up_days})
              AND (c.code = 'ALL' OR i.INFCAT = c.code)) AS onset
    FROM follow f, (SELECT unnest(['ALL', 'BACTERIAL', 'VIRAL', 'FUNGAL', 'OTHER'])) c(code))
GROUP BY ALL""", follow=FOLLOW_UP)

INFECTION_COUNTS_SQL = with_population(f"""\
SELECT p.COHORT, i.INFCAT, i.INFSEV, count(*) AS episodes, count(DISTINCT i.USUBJID)
FROM adinf i JOIN population p USING (USUBJID)
WHERE date_diff('day', p.HSCTDT, i.ASTDT) BETWEEN 0 AND {EP.follow_up_days}
GROUP BY GROUPING SETS ((p.COHORT, i.INFCAT, i.INFSEV), (p.COHORT, i.INFCAT), (p.COHORT))""")

AE_SQL = [with_population(sql, events=f"""\
SELECT p.COHORT AS cohort, e.USUBJID AS usubjid, e.AEBODSYS AS soc, e.AEDECOD AS pt,
       e.ATOXGR AS grade, e.AESER AS serious, e.AEREL AS related
FROM adae e JOIN population p USING (USUBJID)
WHERE p.SAFFL = 'Y' AND e.ASTDT BETWEEN p.HSCTDT AND p.DCUTDT
  AND date_diff('day', p.HSCTDT, e.ASTDT) <= {EP.ae_window_days}""") for sql in (
    """SELECT cohort, count(DISTINCT usubjid) FILTER (WHERE grade >= 3),
              count(DISTINCT usubjid) FILTER (WHERE serious = 'Y'),
              count(DISTINCT usubjid) FILTER (WHERE related = 'Y') FROM events GROUP BY ALL""",
    """SELECT cohort, worst, count(*) FROM (SELECT cohort, usubjid, max(grade) AS worst
       FROM events GROUP BY ALL) GROUP BY ALL""",
    """SELECT cohort, soc, pt, count(DISTINCT usubjid),
              count(DISTINCT usubjid) FILTER (WHERE grade >= 3)
       FROM events GROUP BY GROUPING SETS ((cohort, soc, pt), (cohort, soc))""")]

OVERVIEW_SQL = [with_population(sql) for sql in (
    """SELECT ARM, ENRLDT, count(*) OVER (PARTITION BY ARM ORDER BY ENRLDT, USUBJID)
       FROM population WHERE COHORT = 'SMART101' ORDER BY ENRLDT, USUBJID""",
    """SELECT ARM, count(*), count(HSCTDT), count(TRTSDT), count(*) FILTER (WHERE DTHFL = 'Y')
       FROM population WHERE COHORT = 'SMART101' GROUP BY ARM""",
    """SELECT COHORT, count(*), median(AGE), min(AGE), max(AGE), count(*) FILTER (WHERE SEX = 'F'),
              count(DISTINCT DIAG) FROM population GROUP BY COHORT""",
    """SELECT COHORT, name, value, count(*) FROM (UNPIVOT (SELECT COHORT, SEX, DIAG, DISSTAT,
       DONTYPE, DOSELVL FROM population) ON SEX, DIAG, DISSTAT, DONTYPE, DOSELVL
       INTO NAME name VALUE value) GROUP BY ALL""")]

# The CD4 count standing for each protocol day: the nearest within its window, the earlier
# at equal distance, several on one day averaged.
_VISITS = ", ".join(f"({d}, {w})" for d, w in zip(EP.lab_visit_days, EP.lab_visit_window_days,
                                                   strict=True))
_CD4_CTES = {"days": """\
SELECT p.COHORT AS "group", l.USUBJID, l.PARAMCD, date_diff('day', p.HSCTDT, l.ADT) AS day,
       avg(l.AVAL) AS AVAL
FROM adlb l JOIN population p USING (USUBJID)
WHERE l.AVAL IS NOT NULL AND NOT isnan(l.AVAL)
GROUP BY ALL""", "visits": f"SELECT * FROM (VALUES {_VISITS}) v(protocol_day, half)",
    "standing": """\
SELECT d."group", d.PARAMCD, v.protocol_day,
       arg_min(d.AVAL, abs(d.day - v.protocol_day) * 2 + (d.day > v.protocol_day)::INT) AS AVAL
FROM days d JOIN visits v ON d.day BETWEEN v.protocol_day - v.half AND v.protocol_day + v.half
GROUP BY d."group", d.USUBJID, d.PARAMCD, v.protocol_day"""}
CD4_SQL = with_population("""\
SELECT "group", PARAMCD, protocol_day, count(*), quantile_cont(AVAL, [0.25, 0.5, 0.75])
FROM standing GROUP BY ALL""", **_CD4_CTES)
# The day-100 CD4 counts by cohort (the page's Wilcoxon comparison).
CD4_DAY100_SQL = with_population("""\
SELECT "group", list(AVAL) AS counts FROM standing
WHERE PARAMCD = 'CD4' AND protocol_day = 100 GROUP BY ALL""", **_CD4_CTES)


# CD4+IR (docs/endpoints.md): each subject's daily CD4 means from day 0 to the window and the
# end of follow-up; the event on the first of two consecutive days above the threshold;
# death within the window, before it, competes; else censored at the window or the end.
_ABOVE = ">=" if EP.cd4_threshold_inclusive else ">"
_WINDOW = (min(EP.cd4_window_days, EP.follow_up_days) if EP.censor_at_follow_up
           else EP.cd4_window_days)
CD4IR_SQL = with_population(f"""\
SELECT 'CD4IR' AS code, "group",
       CASE WHEN onset IS NOT NULL AND NOT coalesce(death_day <= {_WINDOW} AND death_day < onset,
                                                    false) THEN onset
            WHEN death_day <= {_WINDOW} THEN death_day
            ELSE least(end_day, {_WINDOW}) END AS time,
       CASE WHEN onset IS NOT NULL AND NOT coalesce(death_day <= {_WINDOW} AND death_day < onset,
                                                    false) THEN 1
            WHEN death_day <= {_WINDOW} THEN 2 ELSE 0 END AS status,
       count(*) AS n
FROM follow f LEFT JOIN (
    SELECT USUBJID, min(day) FILTER (WHERE above AND next_above) AS onset
    FROM (SELECT USUBJID, day, AVAL {_ABOVE} {EP.cd4_threshold_cells_per_ul} AS above,
                 lead(AVAL {_ABOVE} {EP.cd4_threshold_cells_per_ul}, 1, false)
                     OVER (PARTITION BY USUBJID ORDER BY day) AS next_above
          FROM (SELECT l.USUBJID, date_diff('day', p.HSCTDT, l.ADT) AS day, avg(l.AVAL) AS AVAL
                FROM adlb l JOIN population p USING (USUBJID) JOIN follow f USING (USUBJID)
                WHERE l.PARAMCD = 'CD4' AND isfinite(l.AVAL)
                  AND date_diff('day', p.HSCTDT, l.ADT) BETWEEN 0 AND least({_WINDOW}, f.end_day)
                GROUP BY ALL))
    GROUP BY USUBJID) e USING (USUBJID)
GROUP BY ALL""", follow=FOLLOW_UP)


def connect(export: Path) -> duckdb.DuckDBPyConnection:
    """A fresh DuckDB with a view per dataset straight over its Parquet files."""
    con = duckdb.connect()
    export = newest_cut(export)
    for name in DATASETS:
        file, folder = export / f"{name}.parquet", export / name
        if file.exists():
            scan = f"read_parquet('{file}')"
        elif folder.is_dir():
            scan = f"read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
        else:
            continue
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {scan}")
    return con


def _fits(con: duckdb.DuckDBPyConnection, sql: str, filters: Filters,
          survival: tuple[str, ...] = ()) -> dict[str, object]:
    """Per endpoint code: its fit (Kaplan-Meier for `survival`, else cumulative incidence),
    its test and its landmark reads, from rows counted by the SQL."""
    rows = con.execute(sql, filters.params()).fetchnumpy()
    out = {}
    for code in np.unique(rows["code"]):
        mine = rows["code"] == code
        time, status, group, n = (rows[c][mine] for c in ("time", "status", "group", "n"))
        if code in survival:
            fit = kaplan_meier(time, status == 1, group, weights=n)
            test = log_rank_test(time, status == 1, group, weights=n) if len(
                set(group)) > 1 else None
        else:
            fit = cumulative_incidence(time, status, group, causes=[1, 2], weights=n)
            test = gray_test(time, status, group, causes=[1, 2], weights=n) if len(
                set(group)) > 1 else None
        out[str(code)] = (fit, test, landmarks(fit, EP.landmark_days))
    return out


def survival(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, object]:
    return {**_fits(con, SURVIVAL_SQL, filters, survival=("OS", "DFS")),
            **_fits(con, GVHD_SQL, filters), **_fits(con, CD4IR_SQL, filters)}


def gvhd(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, object]:
    fits = _fits(con, GVHD_SQL, filters)
    con.execute(MAX_GRADE_SQL, filters.params()).fetchall()
    return fits


def infections(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, object]:
    fits = _fits(con, INFECTION_SQL, filters)
    con.execute(INFECTION_COUNTS_SQL, filters.params()).fetchall()
    return fits


def adverse_events(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[object]:
    params = filters.params()
    return [con.execute(sql, params).fetchall() for sql in AE_SQL]


def overview(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[object]:
    return [con.execute(sql, filters.params()).fetchall() for sql in OVERVIEW_SQL]


def cd4_reconstitution(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[object]:
    quartiles = con.execute(CD4_SQL, filters.params()).fetchall()
    fits = _fits(con, CD4IR_SQL, filters)
    samples = [np.asarray(c, dtype=float) for _, c in
               con.execute(CD4_DAY100_SQL, filters.params()).fetchall()]
    if len(samples) == 2 and all(s.size for s in samples):
        wilcoxon_rank_sum(*samples)
    return [quartiles, fits]


FLOORS = {"overview": overview, "cd4_reconstitution": cd4_reconstitution, "gvhd": gvhd,
          "infections": infections, "adverse_events": adverse_events, "survival": survival}


def differences(con: duckdb.DuckDBPyConnection, filters: Filters,
                landmark_table: object) -> tuple[int, int]:
    """(estimates compared, estimates that differ by more than 1e-9): the floor's survival,
    GvHD and CD4+IR landmarks against the survival page's landmark table (endpoint, group,
    day, estimate)."""
    table = landmark_table
    compared = differ = 0
    for code, (_, _, at) in survival(con, filters).items():  # with GvHD and CD4+IR
        column = "surv" if "surv" in at else "est"
        rows = at[at["cause"] == 1] if "cause" in at else at
        if code == "CD4IR":  # the table has CD4+IR at its window's day only
            rows = rows[rows["time"] == EP.cd4_window_days]
        for row in rows.itertuples(index=False):
            shown = table[(table["endpoint"] == code) & (table["group"] == str(row.group))
                          & (table["day"] == row.time)]["estimate"]
            compared += 1
            value = float(getattr(row, column))
            differ += len(shown) != 1 or not abs(float(shown.iloc[0]) - value) <= 1e-9
    return compared, differ
