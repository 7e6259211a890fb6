"""Dates that cannot be right are not used, and the same way on every page.

One rule, applied once, in the cut's views (`store`), and reported by `validate`:
- any date before 1950, or after the data cut-off, is read as missing; but a last date known
  alive after the cut-off (and not after today) says the subject was alive at the cut-off, so
  it reads as the cut-off, the usual clipping;
- in adsl, an outcome of the transplant (death, relapse, recovery, graft failure, last known
  alive) dated before the transplant (day 0) is read as missing too; a death that is not used
  takes its flag and cause with it, so no page counts it;
- a record (a lab, an assessment, an infection, an adverse event) whose own date is not used is
  left out; an AE's end date that is not used reads as ongoing;
- a data cut-off after today (or before 1950) is not used: the cut folder's date, else the
  latest date in adsl up to today, stands in.
A number that is not a number (NaN, infinity) in an optional column reads as missing as well
(a required one is an error: `validate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from smart101_dash.contract import DATASETS, Kind
from smart101_dash.sql import quote_identifier as q

EARLIEST = date(1950, 1, 1)
# adsl dates of what happens after the transplant: one before day 0 cannot be right.
AFTER_TRANSPLANT = ("DTHDT", "RLPSDT", "ANCRDT", "PLTRDT", "GFDT", "LSTALVDT")
# adsl dates read first: the others are placed against the transplant date as used.
FIRST = ("ENRLDT", "HSCTDT", "TRTSDT")
# What a date that is not used means, where it is more than "not used".
CONSEQUENCE = {
    ("adsl", "DTHDT"): "the death counts on no page",
    ("adsl", "LSTALVDT"): "follow-up ends at a relapse or at day 0",
    ("adsl", "HSCTDT"): "the subject counts as not transplanted",
    ("adsl", "TRTSDT"): "the subject counts as not infused",
    ("adsl", "ENRLDT"): "the subject falls outside any enrollment period chosen",
    ("adsl", "GFDT"): "no graft failure is counted",
    ("adae", "AENDT"): "the event reads as ongoing",
}
# Flags and descriptions that go with a date: not used when it is not.
COMPANIONS = {"DTHDT": ("DTHFL", "DTHCAUS"), "GFDT": ("GFTYPE",)}


@dataclass(frozen=True)
class DateRule:
    """One date column of one dataset: why a value is not used (SQL giving a reason or NULL)."""

    dataset: str
    column: str
    reason_sql: str
    drops_record: bool  # the record's own date: the row is left out, not just the date
    clipped: bool = False  # after the cut-off it reads as the cut-off (last known alive)

    def consequence(self, reason: str) -> str:
        if self.clipped and reason == AFTER_CUTOFF:
            return "read as the cut-off (known alive then)"
        if self.drops_record:
            return "the record is not used on any page"
        return CONSEQUENCE.get((self.dataset, self.column), "not used on any page")


AFTER_CUTOFF = "after the data cut-off"


def date_rules(dataset: str, present: frozenset[str] | set[str], cutoff: date,
               today: date | None = None) -> tuple[DateRule, ...]:
    """The rules for the date columns of `dataset` that the export has."""
    today = today or date.today()
    spec = DATASETS[dataset]
    dates = [c.name for c in spec.columns if c.kind is Kind.DATE and c.name in present
             and c.name != "DCUTDT"]
    if dataset != "adsl":
        main = spec.event_dates[0]
        return tuple(DateRule(dataset, c, _reason(c, cutoff), drops_record=c == main)
                     for c in dates)
    first = {c: _reason(c, cutoff) for c in dates if c in FIRST}
    transplant = (f"(CASE WHEN ({first['HSCTDT']}) IS NULL THEN HSCTDT END)"
                  if "HSCTDT" in first else "HSCTDT")
    return tuple(DateRule(dataset, c, first.get(c) or _reason(
        c, cutoff, transplant if c in AFTER_TRANSPLANT else None,
        today if c == "LSTALVDT" else None), drops_record=False, clipped=c == "LSTALVDT")
        for c in dates)


def _reason(column: str, cutoff: date, transplant: str | None = None,
            today: date | None = None) -> str:
    c = q(column)
    future = f" WHEN {c} > DATE '{today.isoformat()}' THEN 'after today'" if today else ""
    day_zero = (f" WHEN {c} < {transplant} THEN 'before the transplant (day 0)'"
                if transplant else "")
    return (f"CASE WHEN {c} < DATE '{EARLIEST.isoformat()}' THEN 'before 1950'{future} "
            f"WHEN {c} > DATE '{cutoff.isoformat()}' THEN '{AFTER_CUTOFF}'"
            f"{day_zero} END")


def used(rule: DateRule, cutoff: date) -> str:
    """The date as the views give it: NULL when it is not used (the cut-off when clipped)."""
    clip = (f" WHEN ({rule.reason_sql}) = '{AFTER_CUTOFF}' THEN DATE '{cutoff.isoformat()}'"
            if rule.clipped else "")
    return f"CASE WHEN ({rule.reason_sql}) IS NULL THEN {q(rule.column)}{clip} END"


def view_sql(dataset: str, relation: str, present: frozenset[str] | set[str],
             cutoff: date | None, floating: frozenset[str] | set[str] = frozenset()) -> str:
    """SELECT over `relation` (every contract column named) with the rules applied.

    `floating`: the columns stored as FLOAT or DOUBLE, whose NaN and infinities read as
    missing in an optional column.
    """
    replaced: dict[str, str] = {}
    where = ""
    spec = DATASETS[dataset]
    for column in (c.name for c in spec.columns if c.nullable and c.name in floating):
        c = q(column)
        # isfinite, not isnan: DuckDB folds isnan to false from the Parquet statistics.
        replaced[column] = f"CASE WHEN isfinite({c}) THEN {c} END"
    if cutoff is not None:
        for rule in date_rules(dataset, present, cutoff):
            if rule.drops_record:
                where = f" WHERE ({rule.reason_sql}) IS NULL"
                continue
            replaced[rule.column] = used(rule, cutoff)
            for companion in COMPANIONS.get(rule.column, ()):
                replaced[companion] = (f"CASE WHEN {q(rule.column)} IS NOT NULL AND "
                                       f"({used(rule, cutoff)}) IS NULL THEN NULL "
                                       f"ELSE {q(companion)} END")
        if dataset == "adsl":
            replaced["DCUTDT"] = f"DATE '{cutoff.isoformat()}'"
    if not replaced:
        return f"SELECT * FROM {relation}{where}"
    items = ", ".join(f"{expr} AS {q(col)}" for col, expr in replaced.items())
    return f"SELECT * REPLACE ({items}) FROM {relation}{where}"
