"""Engraftment and graft failure: neutrophil and platelet recovery, primary and secondary graft
failure, SMART101 against control.

Neutrophil (NEUTR) and platelet (PLTR) engraftment: Aalen-Johansen cumulative incidence with
death and graft failure competing, read at day 28, 42 and 100, and the day of recovery of those
who recovered. Graft failure (GF): counts by type and cumulative incidence, death competing.
Each endpoint needs its date in adsl (ANCRDT, PLTRDT, GFDT); neutrophil recovery can also be
derived from daily ANC counts. What the export lacks is said, the rest is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.analysis import AnalysisTables, EndpointRead, Start, analysis_tables
from smart101_dash.config import Settings
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult, no_patients
from smart101_dash.panels.curves import (
    Estimate,
    group_messages,
    group_sizes,
    incidence_chart,
    incidence_estimate,
    landmark_rows,
    present_groups,
)
from smart101_dash.panels.spec import ItemSpec, Kind, Panel, Section, wants
from smart101_dash.panels.start import ENROLLED, START_OPTIONS, read_messages, start_of
from smart101_dash.store import Database, ExportCut

TITLE = "Engraftment and graft failure"
TICKS = (0, 14, 28, 42, 60, 100)
GF_TICKS = (0, 28, 100, 180, 365, 730)
LABELS = {"NEUTR": "neutrophil engraftment", "PLTR": "platelet engraftment",
          "GF": "graft failure"}
DASHES = {"NEUTR": "solid", "PLTR": "dot", "GF": "solid"}
MISSING = {
    "NEUTR": "Neutrophil engraftment needs ANCRDT in adsl or daily ANC counts in adlb; this "
             "export has neither.",
    "PLTR": "Platelet engraftment needs PLTRDT in adsl; this export has none.",
    "GF": "Graft failure needs GFDT (and GFTYPE) in adsl; this export has none.",
}
DAY_COLUMNS = ["endpoint", "group", "n", "recovered", "median_day", "min_day", "max_day"]
GF_COLUMNS = ["group", "n", "primary", "secondary", "type_not_given", "any", "percent"]
GF_DAYS = (28, 100, 365)


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, landmark: bool = False, landmark_day: int = 7,
          population: str = ENROLLED, items: frozenset[str] | None = None) -> PanelResult:
    """Every item is aggregate (curves, estimates, counts, tests). `items`: the items wanted
    (None: all)."""
    cut.require("adsl")
    ep = settings.endpoints
    start = start_of(landmark, landmark_day, population)
    tables = analysis_tables(db, cut, ep)
    codes = tuple(c for c in LABELS if c in tables.parameters)
    messages = [Message(Level.INFO, MISSING[c]) for c in LABELS if c not in codes]
    if not codes:
        return PanelResult(TITLE, cut, filters, messages=tuple(messages))
    read = tables.endpoints(db, filters, codes, start)
    n_per_group = group_sizes(read[codes[0]])
    if not n_per_group:
        return no_patients(TITLE, cut, filters)
    base = PanelResult(TITLE, cut, filters, n_per_group=n_per_group, start=start.short())
    recovery = tuple(c for c in ("NEUTR", "PLTR") if c in codes)
    recovery_wanted = wants(items, *RECOVERY_ITEMS)
    failure_wanted = "GF" in codes and wants(items, *FAILURE_ITEMS)
    tests_wanted = wants(items, "engraftment_tests")
    fits = {c: incidence_estimate(read[c], LABELS[c], dash=DASHES[c]) for c in codes
            if tests_wanted or (c == "GF" and failure_wanted)
            or (c in recovery and recovery_wanted)}
    messages += group_messages(n_per_group, "the estimates and intervals")
    messages += read_messages(read, {c: LABELS[c] for c in codes})
    messages += [Message(Level.INFO, note) for c in codes if (note := tables.note(c))]

    built: list[PanelItem] = []
    if recovery and recovery_wanted:
        built += _recovery_items(read, recovery, fits, ep.engraftment_days, base.footer)
    if failure_wanted:
        built += _graft_failure_items(db, tables, filters, read, fits["GF"], start, base.footer)
    if tests_wanted:
        tests = pd.DataFrame([{"endpoint": c, "test": f.test_name, "statistic": f.statistic,
                               "df": f.df, "p_value": f.p_value, "note": f.note}
                              for c, f in fits.items()])
        built.append(PanelItem("engraftment_tests", "Tests between cohorts (Gray)", tests,
                               None, (read.query,), "Descriptive: the control cohort is "
                               "external and non-randomized."))
    definitions = (
        *(endpoints.definition(name, ep) for code, name in (
            ("NEUTR", "neutrophil_engraftment"), ("PLTR", "platelet_engraftment"),
            ("GF", "graft_failure")) if code in codes),
        ("Cumulative incidence: Aalen-Johansen with cmprsk's variance and log(-log) "
         "interval; Gray's test. Day of recovery: median and range among the patients who "
         "recovered (the competing events make it no estimate of the time to recovery)."),
        start.describe(),
    )
    return PanelResult(TITLE, cut, filters, tuple(built), definitions=definitions,
                       start=start.short(),
                       n_per_group=n_per_group, messages=tuple(messages))


RECOVERY_ITEMS = ("engraftment_incidence", "engraftment_estimates", "engraftment_days")
FAILURE_ITEMS = ("graft_failure", "graft_failure_incidence", "graft_failure_estimates")


def _curves_item(key: str, title: str, codes: tuple[str, ...], read: EndpointRead,
                 fits: dict[str, Estimate], ticks: tuple[int, ...], footer: str,
                 caption: str) -> PanelItem:
    """Endpoints in one cumulative-incidence chart; a risk-table row per group and endpoint."""
    table, figure, tests = incidence_chart(codes, read.rows, fits, LABELS, ticks, footer)
    return PanelItem(key, title, table, figure, (read.query,), f"{caption} {tests}")


def _recovery_items(read: EndpointRead, codes: tuple[str, ...], fits: dict[str, Estimate],
                    days: tuple[int, ...], footer: str) -> list[PanelItem]:
    estimates = pd.concat([landmark_rows(c, read[c], days, survival=False, fit=fits[c].fit)
                           for c in codes], ignore_index=True)
    return [
        _curves_item("engraftment_incidence", "Cumulative incidence of engraftment", codes,
                     read, fits, TICKS, footer,
                     "Death and graft failure before recovery compete."),
        PanelItem("engraftment_estimates",
                  f"Engraftment by day {', '.join(str(d) for d in days)}", estimates, None,
                  (read.query,), "Cumulative incidence with 95% interval; n_risk at the day "
                                 "(not yet recovered), n_events recovered on or before it."),
        PanelItem("engraftment_days", "Day of recovery among the patients who recovered",
                  recovery_days(read, codes), None, (read.query,),
                  "n = patients of the group; recovered = those with the event; days from "
                  "the transplant."),
    ]


def recovery_days(read: EndpointRead, codes: tuple[str, ...]) -> pd.DataFrame:
    """Per endpoint and group: patients, those who recovered, and the median and range of
    their day of recovery (rows counted by `n`: the median of the expanded days)."""
    rows = []
    for code in codes:
        data = read[code]
        for group in present_groups(data):
            mine = data[data["group"] == group]
            events = mine[mine["status"] == 1]
            days = np.repeat(events["time"].to_numpy(), events["n"].to_numpy())
            rows.append((code, group, int(mine["n"].sum()), int(days.size),
                         float(np.median(days)) if days.size else None,
                         int(days.min()) if days.size else None,
                         int(days.max()) if days.size else None))
    return pd.DataFrame(rows, columns=DAY_COLUMNS)


def _graft_failure_items(db: Database, tables: AnalysisTables, filters: Filters,
                         read: EndpointRead, fit: Estimate, start: Start,
                         footer: str) -> list[PanelItem]:
    by_type, q_types = tables.graft_failures(db, filters, start)
    # Counted from day 0 whatever the landmark: n is every patient, kept or left out.
    kept, left_out = group_sizes(read["GF"]), read.left_out["GF"]
    n = {g: kept.get(g, 0) + left_out.get(g, 0) for g in ("SMART101", "CONTROL")
         if g in kept or g in left_out}
    counts = graft_failure_counts(by_type, n)
    estimates = landmark_rows("GF", read["GF"], GF_DAYS, survival=False, fit=fit.fit)
    return [
        PanelItem("graft_failure", "Graft failure by type", counts, None, (read.query, q_types),
                  "Patients with a graft failure from day 0 to the end of follow-up (whatever "
                  "the landmark); primary: never engrafted; secondary: loss after "
                  "engraftment; percent of n."),
        _curves_item("graft_failure_incidence", "Cumulative incidence of graft failure",
                     ("GF",), read, {"GF": fit}, GF_TICKS, footer,
                     "Death without graft failure competes."),
        PanelItem("graft_failure_estimates",
                  f"Graft failure by day {', '.join(str(d) for d in GF_DAYS)}", estimates,
                  None, (read.query,), "Cumulative incidence with 95% interval."),
    ]


def graft_failure_counts(by_type: pd.DataFrame, n_per_group: dict[str, int]) -> pd.DataFrame:
    """Per group: n, graft failures by type (primary, secondary, type not given), any, %."""
    rows = []
    for group, n in n_per_group.items():
        mine = by_type[by_type["group"] == group]
        found = {("" if pd.isna(t) else str(t)): int(p) for t, p in zip(
            mine["type"], mine["patients"], strict=True)}
        total = sum(found.values())
        rows.append((group, n, found.get("PRIMARY", 0), found.get("SECONDARY", 0),
                     sum(v for k, v in found.items() if k not in ("PRIMARY", "SECONDARY")),
                     total, round(100 * total / n, 1) if n else None))
    return pd.DataFrame(rows, columns=GF_COLUMNS)


ENGRAFTMENT = Section("engraftment", "Engraftment")
FAILURE = Section("graft_failure", "Graft failure")
PANEL = Panel(
    key="engraftment", title="Engraftment and graft failure", icon=":material/bloodtype:",
    datasets=("adsl",),
    items=tuple(ItemSpec(key, kind, section=section) for key, kind, section in (
        ("engraftment_incidence", Kind.FIGURE, ENGRAFTMENT),
        ("engraftment_estimates", Kind.TABLE, ENGRAFTMENT),
        ("engraftment_days", Kind.TABLE, ENGRAFTMENT), ("graft_failure", Kind.TABLE, FAILURE),
        ("graft_failure_incidence", Kind.FIGURE, FAILURE),
        ("graft_failure_estimates", Kind.TABLE, FAILURE),
        ("engraftment_tests", Kind.TABLE, Section("tests", "Tests between cohorts")))),
    options=START_OPTIONS,
    build=build)
