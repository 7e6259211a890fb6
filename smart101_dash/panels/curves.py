"""From endpoint rows to estimates, curves and landmark rows: shared by the outcome panels.

Every time-to-event panel does the same four things: attach the cohort to each subject's
(time, status), fit Kaplan-Meier or the cumulative incidence by cohort, test the difference
(log-rank or Gray), and read the estimates at landmark days. They live here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from smart101_dash.panels.base import Level, Message
from smart101_dash.stats import (
    CumulativeIncidence,
    KaplanMeier,
    cumulative_incidence,
    gray_test,
    kaplan_meier,
    landmarks,
    log_rank_test,
    number_at_risk,
)

GROUP_ORDER = ("SMART101", "CONTROL")
SMALL_GROUP = 10  # below this many patients a group's estimates get a warning
LANDMARK_COLUMNS = ["endpoint", "group", "day", "estimate", "lower", "upper", "n_risk",
                    "n_events"]


def with_groups(endpoint: pd.DataFrame, subjects: pd.DataFrame) -> pd.DataFrame:
    """Endpoint rows (USUBJID, time, status, or any per-subject rows) with the cohort as `group`.

    Sorted SMART101 first, then by time when there is one.
    """
    merged = endpoint.merge(subjects[["USUBJID", "COHORT"]], on="USUBJID", how="inner")
    merged = merged.rename(columns={"COHORT": "group"})
    keys = ["group", "time", "USUBJID"] if "time" in merged else ["group", "USUBJID"]
    return merged.sort_values(keys, ascending=[False] + [True] * (len(keys) - 1))


def group_sizes(data: pd.DataFrame) -> dict[str, int]:
    """Patients per cohort in rows of one endpoint (one row a transplanted subject), SMART101
    first: the N of footers and denominators."""
    counts = data.groupby("group").size().to_dict()
    return {g: int(counts[g]) for g in GROUP_ORDER if g in counts}


def group_messages(n_per_group: dict[str, int], what: str) -> list[Message]:
    """A warning per small group and a note when only one cohort is left to compare."""
    messages = [Message(Level.WARNING, f"{group} has {n} patients: {what} are very uncertain.")
                for group, n in n_per_group.items() if n < SMALL_GROUP]
    if len(n_per_group) < 2:
        messages.append(Message(Level.INFO, "Only one cohort is selected: no comparison."))
    return messages


def sort_groups(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of SMART101 before CONTROL (a stable sort keeps each group's order)."""

    def rank(groups: pd.Series) -> pd.Series:
        # Categorical codes: fast on long tables (a per-value map on Arrow strings is not).
        codes = pd.Categorical(groups.astype(str), categories=GROUP_ORDER).codes
        return pd.Series(np.where(codes < 0, len(GROUP_ORDER), codes), index=groups.index)

    return table.sort_values("group", key=rank, kind="stable").reset_index(drop=True)


def present_groups(data: pd.DataFrame) -> tuple[str, ...]:
    return tuple(g for g in GROUP_ORDER if (data["group"] == g).any())


@dataclass(frozen=True)
class Estimate:
    """One endpoint estimated by cohort: the step table, the curves to draw, and the test."""

    table: pd.DataFrame  # the estimator's table (what the CSV of the chart holds)
    curves: pd.DataFrame  # curve, group, dash, time, estimate, lower, upper, n_censor
    test_name: str
    statistic: float | None
    df: int | None
    p_value: float | None
    note: str = ""
    fit: KaplanMeier | CumulativeIncidence | None = None  # for landmark_rows: fitted once


def survival_estimate(data: pd.DataFrame, label: str) -> Estimate:
    """Kaplan-Meier (log-log 95% interval) by group, and the log-rank test."""
    fit = kaplan_meier(data["time"], data["status"] == 1, data["group"])
    table = fit.table.copy()
    table["group"] = table["group"].astype(str)
    table = sort_groups(table)
    curves = _start_at_zero(table.rename(columns={"surv": "estimate"}), start=1.0)
    curves["curve"] = curves["group"] + " · " + label
    test = _two_group_test(lambda: log_rank_test(data["time"], data["status"] == 1,
                                                 data["group"]), data)
    return Estimate(table, curves, "log-rank", *test, fit=fit)


def incidence_estimate(data: pd.DataFrame, label: str, cause: int = 1,
                       dash: str = "solid") -> Estimate:
    """Aalen-Johansen cumulative incidence of `cause` by group (others compete), Gray's test."""
    fit = cumulative_incidence(data["time"], data["status"], data["group"], causes=[1, 2])
    table = fit.table[fit.table["cause"] == cause].drop(columns=["cause"]).copy()
    table["group"] = table["group"].astype(str)
    table = sort_groups(table)
    # n_censor for the censor marks: subjects censored at each time.
    censored = data[data["status"] == 0].groupby(["group", "time"]).size()
    table["n_censor"] = [int(censored.get((g, t), 0)) for g, t in
                         zip(table["group"], table["time"], strict=True)]
    curves = _start_at_zero(table.rename(columns={"est": "estimate"}), start=0.0)
    curves["curve"] = curves["group"] + " · " + label
    curves["dash"] = dash

    def run() -> tuple[float | None, int | None, float | None, str]:
        row = gray_test(data["time"], data["status"], data["group"], causes=[1, 2]).table
        row = row[row["cause"] == cause].iloc[0]
        return _number(row["stat"]), int(row["df"]), _number(row["p_value"]), ""

    test = _two_group_test(run, data)
    return Estimate(table, curves, "Gray", *test, fit=fit)


def _two_group_test(run: object, data: pd.DataFrame
                    ) -> tuple[float | None, int | None, float | None, str]:
    groups = present_groups(data)
    if len(groups) < 2:
        return None, None, None, "one group only: no test"
    if not (data["status"] == 1).any():
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


def _start_at_zero(table: pd.DataFrame, start: float) -> pd.DataFrame:
    """Prepend each group's day-0 point so a curve starts at 1 (survival) or 0 (incidence)."""
    first = table.groupby("group", sort=False).head(1).copy()
    first["time"] = 0.0
    first["estimate"] = start
    first["lower"] = start
    first["upper"] = start
    first["n_censor"] = 0
    # An event on day 0 gives two points at day 0: the curve then drops at day 0, as it should.
    curves = pd.concat([first, table], ignore_index=True)
    curves = sort_groups(curves.sort_values("time", kind="stable"))
    keep = ["group", "time", "estimate", "lower", "upper", "n_censor"]
    return curves[keep].reset_index(drop=True)


def risk_table(data: pd.DataFrame, ticks: Sequence[int]) -> pd.DataFrame:
    """Numbers at risk by group at the plot's ticks (the table under the time axis)."""
    table = number_at_risk(data["time"], list(ticks), data["group"])
    table["group"] = table["group"].astype(str)
    return sort_groups(table)


def landmark_rows(code: str, data: pd.DataFrame, days: Sequence[int], *,
                  survival: bool, fit: KaplanMeier | CumulativeIncidence | None = None
                  ) -> pd.DataFrame:
    """The landmark table's rows for one endpoint: estimate, limits, n at risk and n events.

    `survival`: Kaplan-Meier of status 1 (OS, DFS); otherwise the cumulative incidence of
    status 1 with status 2 competing. n_events counts events of interest on or before the day.
    A day after a group's last follow-up has no estimate (left empty, n at risk 0).
    `fit`: the same fit made already for the curves (an `Estimate.fit`), not made again.
    """
    if fit is None:
        fit = (kaplan_meier(data["time"], data["status"] == 1, data["group"]) if survival else
               cumulative_incidence(data["time"], data["status"], data["group"], causes=[1, 2]))
    at = landmarks(fit, days)
    if survival:
        at = at.rename(columns={"surv": "estimate"})
    else:
        at = at[at["cause"] == 1].rename(columns={"est": "estimate"})
    at["group"] = at["group"].astype(str)
    # Looked up by (group, day) rather than filtered per day: the table has dozens of rows.
    found = {(r.group, float(r.time)): r for r in at.itertuples(index=False)}
    rows = []
    for group in present_groups(data):
        mine = data[data["group"] == group]
        event_days = np.sort(mine.loc[mine["status"] == 1, "time"].to_numpy(dtype=float))
        for day in days:
            n_events = int(np.searchsorted(event_days, day, side="right"))
            hit = found.get((group, float(day)))
            if hit is None:
                rows.append({"endpoint": code, "group": group, "day": day, "estimate": None,
                             "lower": None, "upper": None, "n_risk": 0, "n_events": n_events})
                continue
            rows.append({"endpoint": code, "group": group, "day": day,
                         "estimate": _number(hit.estimate), "lower": _number(hit.lower),
                         "upper": _number(hit.upper), "n_risk": int(hit.n_risk),
                         "n_events": n_events})
    return pd.DataFrame(rows, columns=LANDMARK_COLUMNS)


def format_p(p: float | None) -> str:
    if p is None:
        return "not tested"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
