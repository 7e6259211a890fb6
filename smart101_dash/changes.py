"""What changed between two cuts of the export: new subjects and events, re-adjudicated
records, removed records.

Both cuts are views in the same DuckDB database (a schema each), so one query joins the
later cut's rows to the earlier cut's by each dataset's record key. It runs once per pair of
cuts, for every subject (`change_tables`: tables `subject_changes` and `record_changes`); a
page's query then lets the later cut's filtered population (`population`) choose the
subjects. A subject or record present only in the earlier cut is listed as removed whatever
the filters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from smart101_dash.filters import Filters, with_population
from smart101_dash.sql import quote_identifier
from smart101_dash.store import Database, ExportCut, Query

# Each dataset's record key, and the values whose change means a re-adjudication (a date or
# a grade read differently; a value missing before and known now is a new event instead).
RECORD_KEYS = {
    "adsl": ("USUBJID",),
    "adae": ("USUBJID", "AESEQ"),
    "adinf": ("USUBJID", "INFSEQ"),
    "adgvhd": ("USUBJID", "ADT"),
}
COMPARED = {
    "adsl": ("ENRLDT", "HSCTDT", "TRTSDT", "DOSELVL", "DTHDT", "DTHCAUS", "RLPSDT"),
    "adae": ("AEDECOD", "ATOXGR", "AESER", "AEREL", "ASTDT", "AENDT"),
    "adinf": ("INFCAT", "INFSEV", "ASTDT", "PATHOGEN"),
    "adgvhd": ("AGVHDGR", "CGVHDSEV"),
}
CHANGES = ("Newly enrolled", "Newly transplanted", "Newly infused", "New death",
           "New relapse", "New SAE", "New grade 3+ AE", "Higher maximum aGvHD grade",
           "New chronic GvHD", "New grade 3 infection")
NEEDS = {"New SAE": "adae", "New grade 3+ AE": "adae", "Higher maximum aGvHD grade": "adgvhd",
         "New chronic GvHD": "adgvhd", "New grade 3 infection": "adinf"}
ROMAN = "CASE {} WHEN 0 THEN '0' WHEN 1 THEN 'I' WHEN 2 THEN 'II' WHEN 3 THEN 'III' ELSE 'IV' END"


def comparable(new: ExportCut, old: ExportCut) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The changes two cuts can be compared on, and the datasets usable in both (adsl first):
    a change whose dataset is unusable in either cut is left out."""
    usable = ("adsl", *(d for d in ("adae", "adgvhd", "adinf")
                        if new.report.is_usable(d) and old.report.is_usable(d)))
    return tuple(c for c in CHANGES if NEEDS.get(c, "adsl") in usable), usable


def _subject_changes(old: str) -> dict[str, str]:
    """Per change, the SELECT of its subjects: USUBJID, day (after day 0), detail."""
    day = "date_diff('day', p.HSCTDT, {})"
    return {
        "Newly enrolled": f"""
            SELECT p.USUBJID, NULL AS day, 'enrolled ' || strftime(p.ENRLDT, '%Y-%m-%d')
            FROM population p LEFT JOIN {old}.adsl o USING (USUBJID) WHERE o.USUBJID IS NULL""",
        "Newly transplanted": f"""
            SELECT p.USUBJID, 0, 'day 0 on ' || strftime(p.HSCTDT, '%Y-%m-%d')
            FROM population p LEFT JOIN {old}.adsl o USING (USUBJID)
            WHERE p.HSCTDT IS NOT NULL AND o.HSCTDT IS NULL""",
        "Newly infused": f"""
            SELECT p.USUBJID, {day.format('p.TRTSDT')},
                   'SMART101 ' || coalesce(p.DOSELVL, '(no dose level)')
            FROM population p LEFT JOIN {old}.adsl o USING (USUBJID)
            WHERE p.TRTSDT IS NOT NULL AND o.TRTSDT IS NULL""",
        "New death": f"""
            SELECT p.USUBJID, {day.format('p.DTHDT')}, coalesce(p.DTHCAUS, 'cause not given')
            FROM population p LEFT JOIN {old}.adsl o USING (USUBJID)
            WHERE p.DTHDT IS NOT NULL AND o.DTHDT IS NULL""",
        "New relapse": f"""
            SELECT p.USUBJID, {day.format('p.RLPSDT')}, 'relapse'
            FROM population p LEFT JOIN {old}.adsl o USING (USUBJID)
            WHERE p.RLPSDT IS NOT NULL AND o.RLPSDT IS NULL""",
        "New SAE": f"""
            SELECT p.USUBJID, {day.format('n.ASTDT')},
                   n.AEDECOD || ', grade ' || coalesce(CAST(n.ATOXGR AS VARCHAR), '?')
            FROM adae n JOIN population p USING (USUBJID)
            LEFT JOIN {old}.adae o ON o.USUBJID = n.USUBJID AND o.AESEQ = n.AESEQ
            WHERE n.AESER = 'Y' AND o.AESER IS DISTINCT FROM 'Y'""",
        "New grade 3+ AE": f"""
            SELECT p.USUBJID, {day.format('n.ASTDT')},
                   n.AEDECOD || ', grade ' || CAST(n.ATOXGR AS VARCHAR)
                   || CASE WHEN o.ATOXGR IS NOT NULL
                           THEN ' (was ' || CAST(o.ATOXGR AS VARCHAR) || ')' ELSE '' END
            FROM adae n JOIN population p USING (USUBJID)
            LEFT JOIN {old}.adae o ON o.USUBJID = n.USUBJID AND o.AESEQ = n.AESEQ
            WHERE n.ATOXGR >= 3 AND coalesce(o.ATOXGR, 0) < 3""",
        "Higher maximum aGvHD grade": f"""
            SELECT p.USUBJID, NULL, 'grade ' || {ROMAN.format('coalesce(o.worst, 0)')}
                   || ' -> ' || {ROMAN.format('n.worst')}
            FROM (SELECT USUBJID, max(AGVHDGR) AS worst FROM adgvhd GROUP BY ALL) n
            JOIN population p USING (USUBJID)
            LEFT JOIN (SELECT USUBJID, max(AGVHDGR) AS worst FROM {old}.adgvhd GROUP BY ALL) o
                USING (USUBJID)
            WHERE n.worst > coalesce(o.worst, 0)""",
        "New chronic GvHD": f"""
            SELECT p.USUBJID, {day.format('n.first')}, n.severity
            FROM (SELECT USUBJID, min(ADT) AS first, max(CGVHDSEV) AS severity FROM adgvhd
                  WHERE CGVHDSEV IN ('MILD', 'MODERATE', 'SEVERE') GROUP BY ALL) n
            JOIN population p USING (USUBJID)
            WHERE n.USUBJID NOT IN (SELECT USUBJID FROM {old}.adgvhd
                                    WHERE CGVHDSEV IN ('MILD', 'MODERATE', 'SEVERE'))""",
        "New grade 3 infection": f"""
            SELECT p.USUBJID, {day.format('n.ASTDT')},
                   n.INFCAT || coalesce(', ' || n.PATHOGEN, '')
                   || CASE WHEN o.INFSEV IS NOT NULL
                           THEN ' (was grade ' || CAST(o.INFSEV AS VARCHAR) || ')' ELSE '' END
            FROM adinf n JOIN population p USING (USUBJID)
            LEFT JOIN {old}.adinf o ON o.USUBJID = n.USUBJID AND o.INFSEQ = n.INFSEQ
            WHERE n.INFSEV = 3 AND coalesce(o.INFSEV, 0) < 3""",
    }


@dataclass(frozen=True)
class ChangeTables:
    """The schema holding two cuts' changes, and what could be compared."""

    schema: str
    changes: tuple[str, ...]  # the changes compared (their datasets usable in both cuts)


def change_tables(db: Database, new: ExportCut, old: ExportCut) -> ChangeTables:
    """The changes from `old` to `new` for every subject, derived once per pair of cuts."""
    changes, usable = comparable(new, old)
    pair = hashlib.sha256(old.schema.encode()).hexdigest()[:12]
    schema = f"{new.schema}_c{pair}"
    everyone = Filters().params()

    def build() -> tuple[ChangeTables, dict[str, Query]]:
        return ChangeTables(schema, changes), {
            "subject_changes": Query(_every_subject_change_sql(old.schema, changes), everyone),
            "record_changes": Query(_every_record_change_sql(old.schema, usable), everyone)}

    return db.derived(new, schema, build)


def _every_subject_change_sql(old_schema: str, changes: tuple[str, ...]) -> str:
    """change, USUBJID, day, detail: the subjects of the population with each change."""
    parts = _subject_changes(quote_identifier(old_schema))
    return with_population("\nUNION ALL\n".join(
        f"SELECT '{change}' AS change, * FROM ({parts[change]}) AS c(USUBJID, day, detail)"
        for change in changes))


def subject_changes_sql(*, counted: bool = False) -> str:
    """The later cut's filtered subjects with each change (read from `change_tables`):
    change, USUBJID, cohort, arm, day, detail. `counted`: instead, the number of subjects per
    change, cohort and arm (no subject IDs)."""
    if counted:
        return with_population("""\
SELECT c.change, p.COHORT AS cohort, p.ARM AS arm, count(DISTINCT c.USUBJID) AS subjects
FROM subject_changes c
JOIN population p USING (USUBJID)
GROUP BY ALL""")
    return with_population(f"""\
SELECT c.change, c.USUBJID, p.COHORT AS cohort, p.ARM AS arm, c.day, c.detail
FROM subject_changes c
JOIN population p USING (USUBJID)
ORDER BY list_position({list(CHANGES)}, c.change), p.COHORT DESC, p.ARM, c.USUBJID, c.day""")


def _every_record_change_sql(old_schema: str, datasets: tuple[str, ...]) -> str:
    """Records of `datasets` whose compared values differ between the cuts (both known),
    and records of the earlier cut that the later one no longer has: dataset, USUBJID,
    record, column, old_value, new_value, removed."""
    old = quote_identifier(old_schema)
    parts = []
    for name in datasets:
        keys = RECORD_KEYS[name]
        record = " || ' ' || ".join(f"'{k}=' || CAST(n.{k} AS VARCHAR)" for k in keys[1:]) or "''"
        joined = " AND ".join(f"o.{k} = n.{k}" for k in keys)
        for column in COMPARED[name]:
            parts.append(f"""
SELECT '{name}' AS dataset, n.USUBJID, {record} AS record, '{column}' AS "column",
       CAST(o.{column} AS VARCHAR) AS old_value, CAST(n.{column} AS VARCHAR) AS new_value,
       false AS removed
FROM {name} n JOIN population p ON p.USUBJID = n.USUBJID JOIN {old}.{name} o ON {joined}
WHERE n.{column} IS NOT NULL AND o.{column} IS NOT NULL AND n.{column} <> o.{column}""")
        old_record = (" || ' ' || ".join(f"'{k}=' || CAST(o.{k} AS VARCHAR)" for k in keys[1:])
                      or "''")
        absent = " AND ".join(f"n.{k} = o.{k}" for k in keys)
        parts.append(f"""
SELECT '{name}', o.USUBJID, {old_record}, '(whole record)', 'present', 'removed', true
FROM {old}.{name} o
WHERE NOT EXISTS (SELECT 1 FROM {name} n WHERE {absent})""")
    return with_population("\nUNION ALL\n".join(parts))


# The filtered subjects' changed records, and removed records of subjects the later cut no
# longer has (whatever the filters: nothing says which filters they would pass).
RECORD_CHANGES_SQL = with_population("""\
SELECT dataset, USUBJID, record, "column", old_value, new_value
FROM record_changes
WHERE USUBJID IN (SELECT USUBJID FROM population)
   OR (removed AND USUBJID NOT IN (SELECT USUBJID FROM adsl))
ORDER BY dataset, USUBJID, record, "column"
""")
