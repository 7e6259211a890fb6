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


# The populations the pages count, per cohort: enrolled (adsl), transplanted (the
# time-to-event pages), infused (SMART101 as treated; the AE safety population).
POPULATION_COUNTS_SQL = with_population("""\
SELECT COHORT AS cohort, count(*) AS enrolled, count(HSCTDT) AS transplanted,
       count(TRTSDT) AS infused
FROM population
GROUP BY COHORT
ORDER BY COHORT DESC""")


def population_counts(db: Database, cut: ExportCut, filters: Filters
                      ) -> dict[str, dict[str, int]]:
    """Per cohort (SMART101 first): enrolled, transplanted and infused after the filters."""
    cut.require("adsl")
    frame = db.query(cut, Query(POPULATION_COUNTS_SQL, filters.params()))
    return {str(r.cohort): {"enrolled": int(r.enrolled), "transplanted": int(r.transplanted),
                            "infused": int(r.infused)} for r in frame.itertuples()}


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


def filter_choices_of(db: Database, cut: ExportCut) -> dict[str, list[str]]:
    """The values each sidebar filter offers in this cut, by URL parameter (views.py)."""
    return {param: filter_choices(db, cut, column)
            for param, column in (("diag", "DIAG"), ("disstat", "DISSTAT"),
                                  ("donor", "DONTYPE"))}


def enrollment_range(db: Database, cut: ExportCut) -> tuple[date | None, date | None]:
    """First and last enrollment dates in the export (the bounds of the period filter)."""
    cut.require("adsl")
    frame = db.query(cut, Query("SELECT min(ENRLDT) AS first, max(ENRLDT) AS last FROM adsl"))
    first, last = frame.loc[0, "first"], frame.loc[0, "last"]
    if pd.isna(first) or pd.isna(last):
        return None, None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def count_and_percent(group: str, n: int | None, total: int) -> dict[str, object]:
    """A group's count and its percentage of `total` as two cells, "<group> n" and
    "<group> %": the percentage rounded to 0.1, blank (None) without a denominator; both
    blank when `n` is None (not applicable)."""
    percent = None if n is None or not total else round(100 * n / total, 1)
    return {f"{group} n": n, f"{group} %": percent}


def count_columns(groups: tuple[str, ...] | list[str]) -> list[str]:
    """The columns `count_and_percent` fills, in order, for `groups`."""
    return [f"{g} {part}" for g in groups for part in ("n", "%")]


def as_count_table(rows: list[dict[str, object]], leading: list[str],
                   groups: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Rows of `count_and_percent` cells as a table whose counts are integers (blank where
    not applicable) and percentages floats, so a CSV or a sort reads numbers, not text."""
    table = pd.DataFrame(rows, columns=[*leading, *count_columns(groups)])
    for g in groups:
        table[f"{g} n"] = table[f"{g} n"].astype("Int64")
        table[f"{g} %"] = table[f"{g} %"].astype("float64")
    return table


def causes_of_death_table(found: pd.DataFrame, columns: dict[str, tuple[str, ...]],
                          categories: tuple[str, ...], periods: tuple[str, ...]
                          ) -> pd.DataFrame:
    """Deaths by cause (relapse, then each non-relapse cause, with totals) and period.

    `found`: cohort, arm, category, period, patients (`AnalysisTables.death_causes`).
    `columns`: each column's label and the (cohort, arm) keys it sums ("cohort:arm"). One
    column per label and period, then the label's total; every category listed, zeros too,
    so two cuts' tables line up.
    """
    counts: dict[tuple[str, str, str], int] = {}
    for r in found.itertuples():
        key = (f"{r.cohort}:{r.arm}", str(r.category), str(r.period))
        counts[key] = counts.get(key, 0) + int(r.patients)

    def count(keys: tuple[str, ...], cats: tuple[str, ...], period: str | None) -> int:
        return sum(n for (k, c, p), n in counts.items()
                   if k in keys and c in cats and (period is None or p == period))

    relapse, others = categories[0], categories[1:]
    rows = [("Relapse", relapse, (relapse,))]
    rows += [("Non-relapse", c, (c,)) for c in others]
    rows += [("Non-relapse", "Non-relapse, all causes", others),
             ("All", "All deaths", categories)]
    out = []
    for kind, label, cats in rows:
        row: dict[str, object] = {"death": kind, "cause": label}
        for name, keys in columns.items():
            for period in periods:
                row[f"{name}: {period}"] = count(keys, cats, period)
            row[f"{name}: total"] = count(keys, cats, None)
        out.append(row)
    return pd.DataFrame(out)
