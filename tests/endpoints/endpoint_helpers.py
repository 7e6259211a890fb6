"""Tiny hand-written exports for the derivation tests: dates given as transplant days.

Every subject has day 0 on D0 and the cut-off on day CUTOFF_DAY unless a test says otherwise;
`subject(...)` takes days (or None) and returns an adsl row with python dates.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

D0 = date(2024, 1, 10)
CUTOFF_DAY = 500


def day(n: int | None, start: date = D0) -> date | None:
    return None if n is None else start + timedelta(days=n)


def subject(usubjid: str, *, last_alive: int | None = CUTOFF_DAY, death: int | None = None,
            relapse: int | None = None, hsct: date | None = D0, cutoff: int = CUTOFF_DAY,
            dthfl: str | None = None) -> dict:
    start = hsct or D0
    return dict(USUBJID=usubjid, HSCTDT=hsct, LSTALVDT=day(last_alive, start),
                DTHDT=day(death, start), RLPSDT=day(relapse, start),
                DTHFL="Y" if death is not None else dthfl, DCUTDT=day(cutoff, start))


def adsl(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def rows_of(usubjid_days: list[tuple], columns: tuple[str, ...], date_col: str
            ) -> pd.DataFrame:
    """Rows of a dataset from (USUBJID, day, values...) tuples; the day becomes `date_col`."""
    out = []
    for usubjid, n, *values in usubjid_days:
        out.append(dict(USUBJID=usubjid, **{date_col: day(n)},
                        **dict(zip(columns, values, strict=True))))
    return pd.DataFrame(out, columns=["USUBJID", date_col, *columns])


def as_dict(result: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """{USUBJID: (time, status)} for compact assertions."""
    return {r.USUBJID: (r.time, r.status) for r in result.itertuples()}
