"""Queries every page shares: the N per cohort of the banner and the filters' choices."""

from __future__ import annotations

from datetime import date

import pandas as pd

from smart101_dash.contract import allowed_column
from smart101_dash.filters import Filters, with_population
from smart101_dash.sql import quote_identifier
from smart101_dash.store import Database, ExportCut, Query

COHORT_COUNTS_SQL = with_population("""\
SELECT COHORT AS cohort, count(*) AS n
FROM population
GROUP BY COHORT
ORDER BY COHORT DESC""")


def cohort_counts(db: Database, cut: ExportCut, filters: Filters) -> dict[str, int]:
    """N per cohort after the filters (SMART101 first)."""
    cut.require("adsl")
    frame = db.query(cut, Query(COHORT_COUNTS_SQL, filters.params()))
    return {str(r.cohort): int(r.n) for r in frame.itertuples()}


def filter_choices(db: Database, cut: ExportCut, column: str) -> list[str]:
    """The distinct values of an adsl column, for a sidebar multiselect."""
    cut.require("adsl")
    col = quote_identifier(allowed_column("adsl", column))
    frame = db.query(cut, Query(f"SELECT DISTINCT {col} AS value FROM adsl "
                                f"WHERE {col} IS NOT NULL ORDER BY 1"))
    return [str(v) for v in frame["value"]]


def enrollment_range(db: Database, cut: ExportCut) -> tuple[date | None, date | None]:
    """First and last enrollment dates in the export (the bounds of the period filter)."""
    cut.require("adsl")
    frame = db.query(cut, Query("SELECT min(ENRLDT) AS first, max(ENRLDT) AS last FROM adsl"))
    first, last = frame.loc[0, "first"], frame.loc[0, "last"]
    if pd.isna(first) or pd.isna(last):
        return None, None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()
