"""The per-selection reads the panels used before the analysis tables: kept as the reference
that `analysis.py`'s tables are checked against (tests/test_analysis.py), and for tests that
need a selection's raw rows."""

from __future__ import annotations

import pandas as pd

from smart101_dash.access import Viewer
from smart101_dash.filters import Filters, with_population
from smart101_dash.store import Database, ExportCut, Query

GVHD_SQL = with_population("""\
SELECT g.USUBJID, g.ADT, g.SKINSTG, g.LIVERSTG, g.UGISTG, g.LGISTG, g.AGVHDGR, g.CGVHDSEV,
       g.CGVHDIST
FROM adgvhd g
JOIN population p USING (USUBJID)
WHERE p.HSCTDT IS NOT NULL
ORDER BY g.USUBJID, g.ADT""")

LAB_SQL = with_population("""\
SELECT l.USUBJID, l.PARAMCD, l.AVAL, l.ADT, l.AVISIT, l.AVISITN
FROM adlb l
JOIN population p USING (USUBJID)
WHERE p.HSCTDT IS NOT NULL AND list_contains($params, l.PARAMCD)
ORDER BY l.USUBJID, l.PARAMCD, l.ADT""")

INFECTIONS_SQL = with_population("""\
SELECT i.USUBJID, i.INFSEQ, i.ASTDT, i.INFCAT, i.PATHOGEN, i.INFSITE, i.INFSEV, i.VIRREACT
FROM adinf i
JOIN population p USING (USUBJID)
WHERE p.HSCTDT IS NOT NULL
ORDER BY i.USUBJID, i.ASTDT""")
def gvhd_assessments(db: Database, cut: ExportCut, filters: Filters
                     ) -> tuple[pd.DataFrame, Query]:
    cut.require("adsl", "adgvhd")
    query = Query(GVHD_SQL, filters.params())
    return db.query(cut, query), query


def lab_values(db: Database, cut: ExportCut, filters: Filters, params: tuple[str, ...],
               listing_for: Viewer | None = None) -> tuple[pd.DataFrame, Query]:
    """Lab values of the population; with `listing_for`, a subject-level read for that viewer
    (the rows will be shown one per subject), refused by the data layer if not allowed."""
    cut.require("adsl", "adlb")
    query = Query(LAB_SQL, {**filters.params(), "params": list(params)},
                  subject_level=listing_for is not None)
    return db.query(cut, query, listing_for), query


def infection_records(db: Database, cut: ExportCut, filters: Filters
                      ) -> tuple[pd.DataFrame, Query]:
    cut.require("adsl", "adinf")
    query = Query(INFECTIONS_SQL, filters.params())
    return db.query(cut, query), query
