"""CD4+ reconstitution, SMART101 against control: a primary outcome (T-cell reconstitution at
day 100, measured as CD4+ counts) and a secondary one (through 24 months).

SMART101 adds T-cell progenitors to a T-cell-depleted graft to speed up T-cell recovery, so the
panel shows that recovery four ways: CD4+ counts over time (median and IQR at the protocol
days, optionally on a log axis and with each patient's trajectory), the day-100 counts compared
by a rank test with the proportion reaching CD4+ immune reconstitution (CD4+IR) and its exact
interval, the cumulative incidence of CD4+IR with death competing (Gray's test), and the other
lymphocyte subsets (CD3, CD8, CD19, NK) when the export has them. With about 18 patients per
arm, medians, ranks and exact intervals are the methods that suit (domain.md).

The CD4+IR threshold, its inclusiveness and its window are settings that the page can change;
the definition in force is printed with the results.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.analysis import AnalysisTables, analysis_tables
from smart101_dash.charts import (
    counts_over_time_figure,
    step_curves_figure,
    subsets_figure,
    with_footer,
)
from smart101_dash.config import EndpointSettings, Settings
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult, no_patients
from smart101_dash.panels.curves import (
    format_p,
    group_messages,
    group_sizes,
    incidence_estimate,
    present_groups,
    risk_table,
    sort_groups,
    with_groups,
)
from smart101_dash.panels.datasets import subjects
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Section, Widget, wants
from smart101_dash.panels.start import (
    ENROLLED,
    START_OPTIONS,
    apply_start,
    start_messages,
    start_of,
)
from smart101_dash.stats import StatsInputError, clopper_pearson, wilcoxon_rank_sum
from smart101_dash.store import Database, ExportCut, Query

TITLE = "CD4+ reconstitution"
PRIMARY_DAY = 100  # the protocol's primary time point for T-cell reconstitution
OTHER_SUBSETS = ("CD3", "CD8", "CD19", "NK")
SUBSET_LABELS = {"CD4": "CD4+ T cells", "CD3": "CD3+ T cells", "CD8": "CD8+ T cells",
                 "CD19": "CD19+ B cells", "NK": "NK cells"}
BY_VISIT_COLUMNS = ["group", "day", "from_day", "to_day", "n", "median", "q1", "q3"]
MEASUREMENT_COLUMNS = ["USUBJID", "group", "day", "cd4_cells_per_ul", "protocol_day"]
DAY100_COLUMNS = ["group", "patients", "cd4_n", "cd4_median", "cd4_q1", "cd4_q3",
                  "wilcoxon_p", "reconstituted", "proportion", "lower", "upper",
                  "died_without_cd4ir", "censored_before_window"]


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, threshold_cells_per_ul: float | None = None,
          threshold_inclusive: bool | None = None, window_days: int | None = None,
          log_axis: bool = False, trajectories: bool = False, landmark: bool = False,
          landmark_day: int = 7, population: str = ENROLLED,
          items: frozenset[str] | None = None) -> PanelResult:
    """The panel; the keyword options are the page's widgets (None: the setting in force).
    `trajectories` adds each patient's counts: a subject-level item, read for `viewer`.
    `items`: the items wanted (None: all)."""
    cut.require("adsl", "adlb")
    tables = analysis_tables(db, cut, settings.endpoints)
    start = start_of(landmark, landmark_day, population)
    read = tables.endpoints(db, filters, ("CD4IR",), start)
    reconstituted, q_reconstituted = read["CD4IR"], read.query
    left_out = read.left_out["CD4IR"]
    ep = endpoint_settings(settings.endpoints, threshold_cells_per_ul, threshold_inclusive,
                           window_days)
    n_per_group = group_sizes(reconstituted)
    base = PanelResult(TITLE, cut, filters, n_per_group=n_per_group, start=start.short())
    if reconstituted.empty:
        return no_patients(TITLE, cut, filters)

    windows = dict(zip(ep.lab_visit_days, ep.lab_visit_window_days, strict=True))
    groups = tuple(n_per_group)
    messages = group_messages(n_per_group, "medians, proportions and curves")
    built: list[PanelItem] = []
    by_visit, queries = None, ()
    if wants(items, *COUNT_ITEMS, *RECONSTITUTION_ITEMS):
        if tables.cd4_recorded(db, filters):
            summary, q_summary = tables.visit_quartiles(db, filters, ("CD4",))
            by_visit, queries = visit_summary(summary, groups, windows), (q_summary,)
        else:
            messages.append(Message(Level.INFO, "No CD4 count is recorded for the patients "
                                                "selected: no CD4+ summary or reconstitution."))
    if by_visit is not None and wants(items, *COUNT_ITEMS):
        window_text = ", ".join(f"{d} ± {w}" for d, w in windows.items())
        built += [
            PanelItem("cd4_by_visit", "CD4+ T cells (cells/uL) at the protocol days", by_visit,
                      None, queries, f"Median and interquartile range (q1, q3); n = patients "
                                     f"with a count in the visit window (days {window_text})."),
            over_time_item(db, tables, filters, viewer, by_visit, ep, base, log_axis,
                           trajectories, queries),
        ]
    if by_visit is not None and wants(items, *RECONSTITUTION_ITEMS):
        if ep == settings.endpoints:
            data, ir_queries = reconstituted, (q_reconstituted,)
        else:  # a definition the page chose: derived again for the population, then cached
            adsl, q_subjects = subjects(db, cut, filters)
            cd4_days, q_days = tables.cd4_daily(db, filters)
            data, left_out = apply_start(
                with_groups(endpoints.cd4_reconstitution(adsl, cd4_days, ep), adsl), adsl, start)
            ir_queries = (q_subjects, q_days)
        at_day, q_at_day = tables.cd4_at_day(db, filters, PRIMARY_DAY)
        built += reconstitution_items(data, at_day, by_visit, ep, windows,
                                      (*ir_queries, *queries, q_at_day), base)

    if wants(items, *SUBSET_ITEMS):
        others, q_others = tables.visit_quartiles(db, filters, OTHER_SUBSETS)
        subset_built, subset_messages = subset_items(others, groups, windows, log_axis,
                                                     (q_others,), base.footer)
        built += subset_built
        messages += subset_messages

    messages += start_messages(start, {"CD4+IR": left_out})
    definitions = (
        endpoints.definition("cd4_reconstitution", ep),
        ("Counts at a protocol day: per patient and subset, the count closest to the day within "
         "its visit window (days " + ", ".join(f"{d} ± {w}" for d, w in windows.items())
         + "); at equal distance the earlier; several counts on one day are averaged."),
        ("Median and quartiles: linear interpolation between order statistics (numpy's default, "
         "R's quantile type 7)."),
        ("Day-100 comparison: Wilcoxon rank-sum test, normal approximation with continuity "
         "correction (R's wilcox.test(exact = FALSE)). Proportion with CD4+IR: exact "
         "Clopper-Pearson 95% interval; denominator = every transplanted patient of the group."),
        ("Cumulative incidence: Aalen-Johansen with cmprsk's variance and log(-log) interval; "
         "Gray's test. Descriptive: the control cohort is external and non-randomized."),
        f"CD4+IR: {start.describe()} Counts at the protocol days: every patient.",
    )
    return PanelResult(TITLE, cut, filters, tuple(built), definitions=definitions,
                       start=start.short(),
                       n_per_group=n_per_group, messages=tuple(messages))


def subset_items(summary: pd.DataFrame, groups: tuple[str, ...], windows: dict[int, int],
                 log_axis: bool, queries: tuple[Query, ...], footer: str
                 ) -> tuple[list[PanelItem], list[Message]]:
    """The other lymphocyte subsets at the protocol days: their table and chart, or a
    message when the export has none for the patients selected."""
    others = summary[summary["PARAMCD"].isin(OTHER_SUBSETS)]
    if others.empty:
        return [], [Message(Level.INFO, "The export has no CD3, CD8, CD19 or NK counts for "
                                        "the patients selected.")]
    subsets = subset_summary(others, groups, windows)
    titles = {p: SUBSET_LABELS[p] for p in OTHER_SUBSETS}
    figure = with_footer(subsets_figure(subsets, titles, log_axis=log_axis), footer)
    return [
        PanelItem("cd4_other_subsets", "Other lymphocyte subsets (cells/uL) at the protocol "
                  "days", subsets, None, queries, "Median and interquartile range; n = "
                  "patients with a count in the visit window."),
        PanelItem("cd4_other_subsets_chart", "Other lymphocyte subsets over time",
                  subsets, figure, queries,
                  "Median with interquartile range; one panel per subset. The CSV holds the "
                  "medians and quartiles drawn."),
    ], []


COUNT_ITEMS = ("cd4_by_visit", "cd4_over_time", "cd4_trajectories")
RECONSTITUTION_ITEMS = ("cd4_day100", "cd4_cumulative_incidence")
SUBSET_ITEMS = ("cd4_other_subsets", "cd4_other_subsets_chart")


def endpoint_settings(ep: EndpointSettings, threshold_cells_per_ul: float | None,
                      threshold_inclusive: bool | None, window_days: int | None
                      ) -> EndpointSettings:
    """The settings with the page's choices applied (None keeps the configured value)."""
    changes: dict[str, object] = {}
    if threshold_cells_per_ul is not None:
        changes["cd4_threshold_cells_per_ul"] = float(threshold_cells_per_ul)
    if threshold_inclusive is not None:
        changes["cd4_threshold_inclusive"] = bool(threshold_inclusive)
    if window_days is not None:
        changes["cd4_window_days"] = int(window_days)
    return replace(ep, **changes)  # type: ignore[arg-type]


def visit_summary(summary: pd.DataFrame, groups: tuple[str, ...],
                  windows: dict[int, int]) -> pd.DataFrame:
    """group, day, from_day, to_day, n, median, q1, q3 for every group and protocol day.

    `summary`: one subset's rows of `AnalysisTables.visit_quartiles` (days with counts only).
    A day without counts keeps its row with n = 0, so a reader sees that nothing is missing
    from the table but the data.
    """
    found = {(r.group, int(r.protocol_day)): r for r in summary.itertuples(index=False)}
    rows = []
    for group in groups:
        for target, half_width in windows.items():
            hit = found.get((group, target))
            rows.append({"group": group, "day": target, "from_day": target - half_width,
                         "to_day": target + half_width, "n": int(hit.n) if hit else 0,
                         "median": float(hit.median) if hit else None,
                         "q1": float(hit.q1) if hit else None,
                         "q3": float(hit.q3) if hit else None})
    return pd.DataFrame(rows, columns=BY_VISIT_COLUMNS)


def subset_summary(summary: pd.DataFrame, groups: tuple[str, ...],
                   windows: dict[int, int]) -> pd.DataFrame:
    """visit_summary per subset present, with a leading `parameter` column."""
    parts = [visit_summary(summary[summary["PARAMCD"] == p], groups, windows)
             .assign(parameter=p) for p in OTHER_SUBSETS if (summary["PARAMCD"] == p).any()]
    table = pd.concat(parts, ignore_index=True)
    return table[["parameter", *BY_VISIT_COLUMNS]]


def over_time_item(db: Database, tables: AnalysisTables, filters: Filters, viewer: Viewer,
                   by_visit: pd.DataFrame, ep: EndpointSettings, base: PanelResult,
                   log_axis: bool, trajectories: bool, queries: tuple[Query, ...]) -> PanelItem:
    """CD4 counts over time: median and IQR (aggregate, the rows of `by_visit`), or with
    `trajectories` each patient's counts too (subject-level: read for `viewer`, its CSV lists
    every count)."""
    op = ">=" if ep.cd4_threshold_inclusive else ">"
    lines = None
    if trajectories:
        cd4, q_listing = tables.cd4_listing(db, filters, viewer)
        visits, q_visits = tables.cd4_visits_listing(db, filters, viewer)
        lines = cd4_over_time_data(cd4, visits)
    figure = with_footer(counts_over_time_figure(
        by_visit, lines, threshold=ep.cd4_threshold_cells_per_ul,
        threshold_label=f"CD4+IR threshold ({op} {ep.cd4_threshold_cells_per_ul:g})",
        log_axis=log_axis), base.footer)
    zero = " Counts of 0 are not drawn on the log axis." if log_axis else ""
    if lines is None:
        return PanelItem("cd4_over_time", "CD4+ T cells over time", by_visit, figure,
                         queries,
                         "Median with interquartile range per protocol day; dashed: the CD4+IR "
                         "threshold. The CSV holds the medians and quartiles drawn." + zero)
    return PanelItem("cd4_trajectories", "CD4+ T cells over time, each patient", lines, figure,
                     (*queries, q_listing, q_visits),
                     "Median with interquartile range per protocol day, each patient's counts "
                     "as thin lines (SMART101's drawn over the fainter control lines); dashed: "
                     "the CD4+IR threshold. The CSV lists every CD4 "
                     "count (daily mean) with the protocol day it counts for, if any." + zero)


def cd4_over_time_data(cd4: pd.DataFrame, cd4_values: pd.DataFrame) -> pd.DataFrame:
    """Every CD4 count (daily mean) with the protocol day it stands for (empty if none)."""
    used = cd4_values[["USUBJID", "day", "protocol_day"]]
    data = cd4.merge(used, on=["USUBJID", "day"], how="left")
    data = data.rename(columns={"AVAL": "cd4_cells_per_ul"})
    data["protocol_day"] = data["protocol_day"].astype("Int64")
    data = sort_groups(data.sort_values(["USUBJID", "day"]))
    return data[MEASUREMENT_COLUMNS]


def reconstitution_items(data: pd.DataFrame, at_day: pd.DataFrame, by_visit: pd.DataFrame,
                         ep: EndpointSettings, windows: dict[int, int],
                         queries: tuple[Query, ...], base: PanelResult) -> list[PanelItem]:
    """The day-100 table and the cumulative incidence of CD4+IR (`data`: the endpoint's rows
    with their group, under the settings `ep`)."""
    window = ep.cd4_window_days
    op = ">=" if ep.cd4_threshold_inclusive else ">"
    rule = f"CD4 {op} {ep.cd4_threshold_cells_per_ul:g} cells/uL twice in a row by day {window}"
    table, test_text = day100_table(data, at_day, by_visit, window)
    half = windows[PRIMARY_DAY]

    fit = incidence_estimate(data, "CD4+ reconstitution")
    ticks = tuple(sorted({0, *(d for d in ep.lab_visit_days if d < window), window}))
    figure = step_curves_figure(fit.curves, risk_table(data, ticks),
                                y_title="Cumulative incidence of CD4+IR", ticks=ticks,
                                footer=base.footer, rising=True)
    by_window = "; ".join(f"{g} {_estimate_at(fit.table, data, g, window)}"
                          for g in present_groups(data))
    caption = (f"CD4+IR = {rule}, dated at the first of the two counts; death before it "
               f"competes. By day {window}: {by_window}. Gray's test: {format_p(fit.p_value)}"
               + (f" ({fit.note})" if fit.note else "") + ".")
    return [
        PanelItem("cd4_day100", f"CD4+ at day {PRIMARY_DAY} and CD4+IR by day {window}", table,
                  None, queries,
                  f"CD4 columns: counts in the day-{PRIMARY_DAY} window (day "
                  f"{PRIMARY_DAY - half} to {PRIMARY_DAY + half}), median and IQR; {test_text}. "
                  f"Reconstituted: {rule}; proportion of all transplanted patients of the "
                  "group (exact 95% interval). Patients who died without CD4+IR "
                  "(died_without_cd4ir) or were followed less than the window "
                  "(censored_before_window) count as not reconstituted; the cumulative "
                  "incidence below accounts for them."),
        PanelItem("cd4_cumulative_incidence", f"Cumulative incidence of CD4+ reconstitution "
                  f"({rule})", fit.table, figure, queries, caption),
    ]


def day100_table(data: pd.DataFrame, at_day: pd.DataFrame, by_visit: pd.DataFrame,
                 window: int) -> tuple[pd.DataFrame, str]:
    """Per group: day-100 CD4 (n, median, IQR: the by-visit table's day-100 row), the rank-sum
    p of the day-100 counts `at_day`, and CD4+IR x/n with its Clopper-Pearson interval.
    Returns the table and a sentence on the test."""
    day100 = by_visit[by_visit["day"] == PRIMARY_DAY].set_index("group")
    samples = {g: at_day.loc[at_day["group"] == g, "AVAL"] for g in present_groups(data)}
    p_value, test_text = _rank_sum(samples)
    rows = []
    for group, sample in samples.items():
        mine = data[data["group"] == group]
        visit = day100.loc[group] if group in day100.index else None
        n_of = mine["n"]
        x, n = int(n_of[mine["status"] == 1].sum()), int(n_of.sum())
        ci = clopper_pearson(x, n)
        rows.append({
            "group": group, "patients": n, "cd4_n": len(sample),
            **{f"cd4_{k}": (None if visit is None else visit[k]) for k in ("median", "q1", "q3")},
            "wilcoxon_p": p_value, "reconstituted": x,
            "proportion": ci.estimate, "lower": ci.lower, "upper": ci.upper,
            "died_without_cd4ir": int(n_of[mine["status"] == 2].sum()),
            "censored_before_window": int(n_of[(mine["status"] == 0)
                                               & (mine["time"] < window)].sum())})
    return pd.DataFrame(rows, columns=DAY100_COLUMNS), test_text


def _rank_sum(samples: dict[str, pd.Series]) -> tuple[float | None, str]:
    """SMART101 against CONTROL at day 100; None with the reason when there is no test."""
    x, y = samples.get("SMART101"), samples.get("CONTROL")
    if x is None or y is None:
        return None, "one group only: no test"
    if x.empty or y.empty:
        return None, "a group has no day-100 count: no test"
    try:
        test = wilcoxon_rank_sum(x.to_numpy(dtype=float), y.to_numpy(dtype=float))
    except StatsInputError as exc:
        return None, f"no test ({exc})"
    return test.p_value, (f"Wilcoxon rank-sum W = {test.statistic:g}, {format_p(test.p_value)} "
                          "(same value on both rows)")


def _estimate_at(table: pd.DataFrame, data: pd.DataFrame, group: str, day: int) -> str:
    """The cumulative incidence of `group` on `day`, with its interval, as words.

    The curve is known on `day` when someone was followed to it, or when the group's last
    patient left with an event (nobody remains at risk); it is not when the last left censored.
    """
    mine = data[data["group"] == group]
    last = mine["time"].max()
    if last < day and (mine.loc[mine["time"] == last, "status"] == 0).any():
        return f"not estimable (follow-up ends on day {last:g})"
    rows = table[(table["group"] == group) & (table["time"] <= day)]
    if rows.empty:
        return _percent(0.0)
    row = rows.iloc[-1]
    interval = (f" (95% CI {_percent(row['lower'])} to {_percent(row['upper'])})"
                if pd.notna(row["lower"]) else "")
    return _percent(row["est"]) + interval


def _percent(value: object) -> str:
    return "not estimable" if value is None or pd.isna(value) else f"{100 * float(value):.1f}%"


COUNTS = Section("cd4_counts", "CD4+ T cells")
RECONSTITUTION = Section("reconstitution", "CD4+ reconstitution")
SUBSETS = Section("other_subsets", "Other subsets")
PANEL = Panel(
    key="cd4_reconstitution", title="CD4+ reconstitution", icon=":material/monitoring:",
    datasets=("adsl", "adlb"),
    items=(ItemSpec("cd4_by_visit", Kind.TABLE, section=COUNTS),
           ItemSpec("cd4_over_time", Kind.FIGURE, section=COUNTS),
           ItemSpec("cd4_trajectories", Kind.FIGURE, subject_level=True, section=COUNTS),
           ItemSpec("cd4_day100", Kind.TABLE, section=RECONSTITUTION),
           ItemSpec("cd4_cumulative_incidence", Kind.FIGURE, section=RECONSTITUTION),
           ItemSpec("cd4_other_subsets", Kind.TABLE, section=SUBSETS),
           ItemSpec("cd4_other_subsets_chart", Kind.FIGURE, section=SUBSETS)),
    options=(
        Option("threshold_cells_per_ul", "CD4+IR threshold (cells/uL)", Widget.NUMBER,
               lambda s: float(s.endpoints.cd4_threshold_cells_per_ul), minimum=0.0,
               maximum=2000.0, step=10.0,
               help="Two consecutive CD4 counts above this value define CD4+ immune "
                    "reconstitution."),
        Option("threshold_inclusive", "Inclusive (>=)", Widget.CHECKBOX,
               lambda s: s.endpoints.cd4_threshold_inclusive,
               help="van Roessel 2020 writes 'above 50'; Admiraal 2015 '>= 50'."),
        Option("window_days", "CD4+IR window (days)", Widget.INTEGER,
               lambda s: s.endpoints.cd4_window_days, minimum=1,
               maximum=lambda s: s.endpoints.follow_up_days, step=10),
        Option("log_axis", "Log axis", Widget.TOGGLE, lambda s: False),
        Option("trajectories", "Patient trajectories", Widget.TOGGLE, lambda s: False,
               subject_level=True),
        *START_OPTIONS,
    ),
    build=build)
