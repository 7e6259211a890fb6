"""From endpoint rows to estimates, curves and landmark rows: shared by the outcome panels.

Every time-to-event panel does the same four things: attach the cohort to each subject's
(time, status), fit Kaplan-Meier or the cumulative incidence by cohort, test the difference
(log-rank or Gray), and read the estimates at landmark days. They live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from smart101_dash.charts import Spec, step_curves_figure
from smart101_dash.panels.base import Level, Message
from smart101_dash.stats import (
    CumulativeIncidence,
    KaplanMeier,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    log_rank_test,
    number_at_risk,
)
from smart101_dash.stats.landmarks import read_at

GROUP_ORDER = ("SMART101", "CONTROL")
SMALL_GROUP = 10  # below this many patients a group's estimates get a warning
LANDMARK_COLUMNS = ["endpoint", "group", "day", "estimate", "lower", "upper", "n_risk",
                    "n_events"]


def with_groups(endpoint: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Endpoint rows (USUBJID, time, status, or any per-subject rows) with the cohort as `group`.

    Sorted SMART101 first, then by time when there is one; endpoint rows get `n` = 1 (each
    stands for one subject, as the counted rows of `AnalysisTables.endpoints` do for `n`).
    """
    merged = endpoint.merge(subjects[["USUBJID", "COHORT"]], on="USUBJID", how="inner")
    merged = merged.rename(columns={"COHORT": "group"})
    if "time" in merged and "n" not in merged:
        merged["n"] = 1
    keys = ["group", "time", "USUBJID"] if "time" in merged else ["group", "USUBJID"]
    return merged.sort_values(keys, ascending=[False] + [True] * (len(keys) - 1))


def group_sizes(data: pd.DataFrame) -> dict[str, int]:
    """Patients per cohort in rows of one endpoint (rows counting `n` transplanted subjects,
    or one row a subject), SMART101 first: the N of footers and denominators."""
    counts = (data.groupby("group")["n"].sum() if "n" in data else data.groupby("group").size())
    return {g: int(counts[g]) for g in GROUP_ORDER if g in counts}


def subjects_of(data: pd.DataFrame) -> np.ndarray:
    """How many subjects each endpoint row stands for (its `n`)."""
    return data["n"].to_numpy(dtype=np.int64)


class Columns(NamedTuple):
    """An endpoint's rows as the estimators take them: plain numpy arrays (the estimators
    cost about a third less on these than on the frame's Arrow-backed columns)."""

    time: np.ndarray  # float days
    status: np.ndarray  # 0 censored, 1 event, 2 competing event
    group: np.ndarray  # the cohort, as text
    n: np.ndarray  # the subjects each row stands for


def columns_of(data: pd.DataFrame) -> Columns:
    return Columns(data["time"].to_numpy(dtype=float), data["status"].to_numpy(dtype=np.int64),
                   data["group"].to_numpy().astype(str), subjects_of(data))


def group_messages(n_per_group: dict[str, int], what: str) -> list[Message]:
    """A warning per small group and a note when only one cohort is left to compare."""
    messages = [Message(Level.WARNING, f"{group} has {patients(n)}: {what} are very "
                                       "uncertain.")
                for group, n in n_per_group.items() if n < SMALL_GROUP]
    if len(n_per_group) == 1:
        (only,) = n_per_group
        missing = next(g for g in GROUP_ORDER if g != only)
        messages.append(Message(Level.INFO, f"No {missing} patient is left by the filters "
                                            f"(only {only}): no comparison."))
    return messages


def patients(n: int) -> str:
    return f"{n} patient" if n == 1 else f"{n} patients"


def sort_groups(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of SMART101 before CONTROL (a stable sort keeps each group's order); the group
    column as text."""
    # Ranks and positions in numpy: a pandas sort keyed on Arrow strings (or a Categorical)
    # costs more than the estimates it orders.
    groups = table["group"].to_numpy().astype(str)
    rank = np.full(groups.size, len(GROUP_ORDER))
    for position, group in enumerate(GROUP_ORDER):
        rank[groups == group] = position
    out = table.take(np.argsort(rank, kind="stable")).reset_index(drop=True)
    out["group"] = out["group"].astype(str)
    return out


def present_groups(data: pd.DataFrame) -> tuple[str, ...]:
    """The cohorts present in `data`'s rows, SMART101 first."""
    return _present(data["group"].unique())


def _present(groups: Sequence[str] | np.ndarray) -> tuple[str, ...]:
    present = set(np.unique(np.asarray(groups, dtype=str)).tolist())
    return tuple(g for g in GROUP_ORDER if g in present)


@dataclass(frozen=True)
class Estimate:
    """One endpoint estimated by cohort: the step table, the curves to draw, and the test."""

    # The estimator's table (what the CSV of the chart holds) and the curves to draw (curve,
    # group, dash, time, estimate, lower, upper, n_censor); both None when not drawn.
    table: pd.DataFrame | None
    curves: pd.DataFrame | None
    test_name: str
    statistic: float | None
    df: int | None
    p_value: float | None
    note: str = ""
    fit: KaplanMeier | CumulativeIncidence | None = None  # for landmark_rows: fitted once


def survival_estimate(data: pd.DataFrame, label: str, *, curves: bool = True) -> Estimate:
    """Kaplan-Meier (log-log 95% interval) by group, and the log-rank test; `curves`: with
    the table and curves to draw (a section of estimates and tests draws none)."""
    c = columns_of(data)
    fit = kaplan_meier(c.time, c.status == 1, c.group, weights=c.n)
    table = drawn = None
    if curves:
        table = sort_groups(fit.table)
        drawn = _curves(table, "surv", 1.0, label)
    test = _two_group_test(lambda: log_rank_test(c.time, c.status == 1, c.group, weights=c.n),
                           c)
    return Estimate(table, drawn, "log-rank", *test, fit=fit)


def incidence_estimate(data: pd.DataFrame, label: str, cause: int = 1,
                       dash: str = "solid", *, curves: bool = True) -> Estimate:
    """Aalen-Johansen cumulative incidence of `cause` by group (others compete), Gray's test;
    `curves` as in `survival_estimate`."""
    c = columns_of(data)
    fit = cumulative_incidence(c.time, c.status, c.group, causes=[1, 2], weights=c.n)
    table = drawn = None
    if curves:
        table = sort_groups(fit.table[fit.table["cause"] == cause].drop(columns=["cause"]))
        table["n_censor"] = _censored_at(c, table)
        drawn = _curves(table, "est", 0.0, label, dash)

    def run() -> tuple[float | None, int | None, float | None, str]:
        row = gray_test(c.time, c.status, c.group, causes=[1, 2], weights=c.n).table
        row = row[row["cause"] == cause].iloc[0]
        return _number(row["stat"]), int(row["df"]), _number(row["p_value"]), ""

    test = _two_group_test(run, c)
    return Estimate(table, drawn, "Gray", *test, fit=fit)


def _two_group_test(run: object, c: Columns
                    ) -> tuple[float | None, int | None, float | None, str]:
    if np.unique(c.group).size < 2:
        return None, None, None, "one group only: no test"
    if not (c.status == 1).any():
        return None, None, None, "no event: no test"
    result = run()  # type: ignore[operator]
    if isinstance(result, tuple):
        return result
    return _number(result.chisq), result.df, _number(result.p_value), result.note


def _number(value: object) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if np.isnan(number) else number


def _censored_at(c: Columns, table: pd.DataFrame) -> np.ndarray:
    """For each (group, time) row of `table`, the subjects of the endpoint's rows `c`
    censored at that time (the censor marks of a curve)."""
    groups, times, censored, n = c.group, c.time, c.status == 0, c.n
    at_group = table["group"].to_numpy().astype(str)
    at_time = table["time"].to_numpy(dtype=float)
    out = np.zeros(len(table), dtype=np.int64)
    for group in np.unique(at_group):
        rows = at_group == group
        out[rows] = _counted_up_to(times[censored & (groups == group)],
                                   n[censored & (groups == group)], at_time[rows])
        out[rows] -= _counted_up_to(times[censored & (groups == group)],
                                    n[censored & (groups == group)], at_time[rows], strict=True)
    return out


def _counted_up_to(times: np.ndarray, n: np.ndarray, days: np.ndarray, *,
                   strict: bool = False) -> np.ndarray:
    """Subjects (rows of `n` subjects at `times`) at or before each day (before it: strict)."""
    order = np.argsort(times, kind="stable")
    cumulative = np.concatenate(([0], np.cumsum(n[order])))
    return cumulative[np.searchsorted(times[order], days, side="left" if strict else "right")]


def _curves(table: pd.DataFrame, estimate: str, start: float, label: str,
            dash: str = "solid") -> pd.DataFrame:
    """The curves to draw from an estimator's table: each group's day-0 point prepended, so a
    curve starts at 1 (survival) or 0 (incidence).

    `table`: rows of one group together, by time (as `sort_groups` leaves an estimator's
    table). An event on day 0 gives two points at day 0: the curve then drops at day 0.
    Built from arrays: a figure's data needs no frame operations, and they cost more than
    the estimate.
    """
    groups = table["group"].to_numpy().astype(str)
    n = len(groups)
    first = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) if n else np.arange(0)
    # Each group's first row taken twice, the copy then made the day-0 point.
    position = np.insert(np.arange(n), first, first)
    added = first + np.arange(first.size)

    def column(name: str, at_start: float) -> np.ndarray:
        values = table[name].to_numpy(dtype=float, na_value=np.nan)[position]
        values[added] = at_start
        return values

    n_censor = (column("n_censor", 0) if "n_censor" in table else np.zeros(position.size))
    return pd.DataFrame({
        "group": groups[position], "time": column("time", 0.0),
        "estimate": column(estimate, start), "lower": column("lower", start),
        "upper": column("upper", start), "n_censor": n_censor.astype(np.int64),
        "curve": [f"{g} · {label}" for g in groups[position]], "dash": dash})


def risk_table(data: pd.DataFrame, ticks: Sequence[int]) -> pd.DataFrame:
    """Numbers at risk by group at the plot's ticks (the table under the time axis)."""
    c = columns_of(data)
    return sort_groups(number_at_risk(c.time, list(ticks), c.group, weights=c.n))


def landmark_rows(code: str, data: pd.DataFrame, days: Sequence[int], *,
                  survival: bool, fit: KaplanMeier | CumulativeIncidence | None = None
                  ) -> pd.DataFrame:
    """The landmark table's rows for one endpoint: estimate, limits, n at risk and n events.

    `survival`: Kaplan-Meier of status 1 (OS, DFS); otherwise the cumulative incidence of
    status 1 with status 2 competing. n_events counts events of interest on or before the day.
    A day after a group's last follow-up has no estimate (left empty, n at risk 0), unless
    nobody was censored then: every patient has had the event or a competing one (engraftment
    by day 42, say), so the estimate stays at its last value.
    `fit`: the same fit made already for the curves (an `Estimate.fit`), not made again.
    """
    c = columns_of(data)
    if fit is None:
        fit = (kaplan_meier(c.time, c.status == 1, c.group, weights=c.n) if survival
               else cumulative_incidence(c.time, c.status, c.group, causes=[1, 2], weights=c.n))
    estimate = "surv" if survival else "est"
    settled = _settled_times(c)
    wanted = sorted({float(d) for d in days} | set(settled.values()))
    found = {(str(r.group), float(day)): (r, i) for r in read_at(fit, wanted)
             if r.cause in (None, 1) for i, day in enumerate(r.time)}
    groups, times, events, n = c.group, c.time, c.status == 1, c.n
    rows = []
    for group in _present(groups):
        mine = events & (groups == group)
        by_day = _counted_up_to(times[mine], n[mine], np.asarray(days, dtype=float))
        for day, n_events in zip(days, by_day.tolist(), strict=True):
            hit = found.get((group, float(day)))
            last = settled.get(group)
            if hit is None and last is not None and day > last:
                reading, i = found[(group, last)]
                rows.append((code, group, day, *(_number(reading.values[c][i]) for c in
                                                (estimate, "lower", "upper")), 0, n_events))
                continue
            if hit is None:
                rows.append((code, group, day, None, None, None, 0, n_events))
                continue
            reading, i = hit
            rows.append((code, group, day, *(_number(reading.values[c][i]) for c in
                                            (estimate, "lower", "upper")),
                         int(reading.n_risk[i]), n_events))
    return pd.DataFrame(rows, columns=LANDMARK_COLUMNS)


def _settled_times(c: Columns) -> dict[str, float]:
    """Per group whose last follow-up time has no censored patient: that time (after it the
    estimate cannot change: nobody is left at risk)."""
    groups, times, censored = c.group, c.time, c.status == 0
    out = {}
    for group in _present(groups):
        mine = groups == group
        last = float(times[mine].max())
        if not censored[mine & (times == last)].any():
            out[group] = last
    return out


def incidence_chart(codes: Sequence[str], data: dict[str, pd.DataFrame],
                    fits: dict[str, Estimate], labels: dict[str, str], ticks: Sequence[int],
                    footer: str) -> tuple[pd.DataFrame, Spec, str]:
    """Several cumulative incidences in one chart: the estimators' rows (with `endpoint`), the
    figure with a risk-table row per group and endpoint, and the Gray's tests as a caption."""
    table = pd.concat([fits[c].table.assign(endpoint=c) for c in codes], ignore_index=True)
    curves = pd.concat([fits[c].curves for c in codes], ignore_index=True)
    risk = sort_groups(pd.concat(
        [risk_table(data[c], ticks).assign(row=lambda r, c=c: r["group"] + " · " + labels[c])
         for c in codes], ignore_index=True))
    figure = step_curves_figure(curves, risk, y_title="Cumulative incidence", ticks=ticks,
                                footer=footer, rising=True)
    tests = "; ".join(f"{labels[c]}: {format_p(fits[c].p_value)}" for c in codes)
    return table, figure, f"Gray's test, {tests}."


def format_p(p: float | None) -> str:
    if p is None:
        return "not tested"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
