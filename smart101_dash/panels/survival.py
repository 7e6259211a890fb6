"""Survival, relapse and non-relapse mortality, SMART101 against control, and the landmark table.

Overall and disease-free survival: Kaplan-Meier with log-log 95% bands, the number at risk under
the time axis, the log-rank test and the median follow-up (reverse Kaplan-Meier). Relapse and NRM:
Aalen-Johansen cumulative incidence, each the other's competing event, with Gray's test. The
landmark table gathers every endpoint at day 100, 1 and 2 years.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.analysis import AnalysisTables, analysis_tables
from smart101_dash.charts import step_curves_figure
from smart101_dash.config import Settings
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult, no_patients
from smart101_dash.panels.curves import (
    LANDMARK_COLUMNS,
    Estimate,
    format_p,
    group_messages,
    group_sizes,
    incidence_estimate,
    landmark_rows,
    risk_table,
    sort_groups,
    subjects_of,
    survival_estimate,
)
from smart101_dash.panels.spec import ItemSpec, Kind, Panel, Section
from smart101_dash.panels.start import ENROLLED, START_OPTIONS, read_messages, start_of
from smart101_dash.stats import KaplanMeier, median_follow_up
from smart101_dash.store import Database, DatasetUnavailable, ExportCut, Query

TITLE = "Survival, relapse and non-relapse mortality"
TICKS = (0, 100, 180, 365, 548, 730)
ENGRAFTMENT_CODES = ("NEUTR", "PLTR", "GF")
LABELS = {"OS": "overall survival", "DFS": "disease-free survival", "RELAPSE": "relapse",
          "NRM": "NRM", "GRFS": "GRFS", "AGVHD24": "aGvHD II-IV", "AGVHD34": "aGvHD III-IV",
          "CGVHD": "cGvHD", "CGVHDMS": "moderate-severe cGvHD", "CD4IR": "CD4+IR",
          "NEUTR": "neutrophil engraftment", "PLTR": "platelet engraftment",
          "GF": "graft failure"}


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, landmark: bool = False, landmark_day: int = 7,
          population: str = ENROLLED) -> PanelResult:
    """Every item is aggregate (curves, estimates, tests, follow-up). The options set where
    the comparison starts (panels/start.py)."""
    ep = settings.endpoints
    start = start_of(landmark, landmark_day, population)
    tables = analysis_tables(db, cut, ep)
    extra, extra_messages = landmark_endpoints(cut, settings, tables)
    read = tables.endpoints(db, filters, ("OS", "DFS", "RELAPSE", "NRM", *extra), start)
    query = read.query
    os_data, dfs_data, relapse_data, nrm_data = (read[c] for c in ("OS", "DFS", "RELAPSE", "NRM"))
    n_per_group = group_sizes(os_data)
    base = PanelResult(TITLE, cut, filters, n_per_group=n_per_group, start=start.short())
    if os_data.empty:
        return no_patients(TITLE, cut, filters)

    os_fit = survival_estimate(os_data, "overall survival")
    dfs_fit = survival_estimate(dfs_data, "disease-free survival")
    relapse_fit = incidence_estimate(relapse_data, "relapse", dash="solid")
    nrm_fit = incidence_estimate(nrm_data, "NRM", dash="dot")

    follow = median_follow_up(os_data["time"], os_data["status"] == 1, os_data["group"],
                              weights=subjects_of(os_data))
    follow["group"] = follow["group"].astype(str)
    follow = sort_groups(follow)
    follow_text = "; ".join(f"{r.group} {_days(r.median)}{_interval(r.lower, r.upper)}"
                            for r in follow.itertuples())

    messages = group_messages(n_per_group, "the curves and intervals")
    ready = {"OS": (os_data, os_fit), "DFS": (dfs_data, dfs_fit), "NRM": (nrm_data, nrm_fit),
             "RELAPSE": (relapse_data, relapse_fit)}
    grfs_fit = None
    if "GRFS" in extra:
        grfs_fit = survival_estimate(read["GRFS"], "GRFS")
        ready["GRFS"] = (read["GRFS"], grfs_fit)
    table = landmark_table(settings, extra, read, ready)
    messages += extra_messages
    messages += read_messages(read, {code: LABELS.get(code, code) for code in read.rows})
    if grfs_fit is not None and tables.note("GRFS"):
        messages.append(Message(Level.INFO, f"GRFS: {tables.note('GRFS')}"))

    def curve_item(key: str, title: str, fit: Estimate, data: pd.DataFrame, y_title: str,
                   rising: bool, queries: tuple[Query, ...]) -> PanelItem:
        figure = step_curves_figure(fit.curves, risk_table(data, TICKS), y_title=y_title,
                                    ticks=TICKS, footer=base.footer, rising=rising)
        caption = f"{fit.test_name} test: {format_p(fit.p_value)}"
        if fit.note:
            caption += f" ({fit.note})"
        return PanelItem(key, title, fit.table, figure, queries, caption)

    cif_fit = Estimate(
        table=pd.concat([relapse_fit.table.assign(endpoint="RELAPSE"),
                         nrm_fit.table.assign(endpoint="NRM")], ignore_index=True),
        curves=pd.concat([relapse_fit.curves, nrm_fit.curves], ignore_index=True),
        test_name="Gray", statistic=None, df=None, p_value=None)
    cif_item = curve_item("relapse_nrm", "Cumulative incidence of relapse and NRM", cif_fit,
                          relapse_data, "Cumulative incidence", rising=True,
                          queries=(query,))
    cif_item = replace(cif_item, caption=f"Gray's test, relapse: "
                                         f"{format_p(relapse_fit.p_value)}; "
                                         f"NRM: {format_p(nrm_fit.p_value)}.")
    tests = pd.DataFrame([
        {"endpoint": code, "test": fit.test_name, "statistic": fit.statistic, "df": fit.df,
         "p_value": fit.p_value, "note": fit.note}
        for code, fit in (("OS", os_fit), ("DFS", dfs_fit), ("RELAPSE", relapse_fit),
                          ("NRM", nrm_fit), ("GRFS", grfs_fit)) if fit is not None])
    grfs_items: tuple[PanelItem, ...] = ()
    if grfs_fit is not None:
        grfs_items = (curve_item("grfs", "GvHD-free relapse-free survival (GRFS)", grfs_fit,
                                 read["GRFS"], "GRFS", rising=False, queries=(query,)),)
    items = (
        curve_item("overall_survival", "Overall survival", os_fit, os_data, "Overall survival",
                   rising=False, queries=(query,)),
        curve_item("disease_free_survival", "Disease-free survival", dfs_fit, dfs_data,
                   "Disease-free survival", rising=False, queries=(query,)),
        *grfs_items,
        cif_item,
        PanelItem("landmarks", "Landmark estimates: day 100, 1 and 2 years", table, None,
                  (query,),
                  "Estimate and 95% interval (Kaplan-Meier log-log for OS, DFS and GRFS; "
                  "cumulative incidence with log(-log) interval otherwise); n_risk at the day; "
                  "n_events on or before it. Empty: no follow-up that far."),
        PanelItem("survival_tests", "Tests between cohorts", tests, None,
                  (query,),
                  "Descriptive: the control cohort is external and non-randomized."),
        PanelItem("follow_up", "Median follow-up (reverse Kaplan-Meier)", follow, None,
                  (query,), f"Median follow-up in days: {follow_text}."),
    )
    definitions = (
        endpoints.definition("overall_survival", ep),
        endpoints.definition("disease_free_survival", ep),
        *((endpoints.definition("gvhd_relapse_free_survival", ep, chronic=(
            "moderate_severe" if tables.note("GRFS") else "systemic")),) if grfs_fit else ()),
        endpoints.definition("relapse", ep),
        endpoints.definition("non_relapse_mortality", ep),
        ("Kaplan-Meier with Greenwood variance and log-log 95% interval; log-rank test. "
         "Cumulative incidence: Aalen-Johansen with cmprsk's variance; Gray's test."),
        start.describe(),
    )
    return PanelResult(TITLE, cut, filters, items, definitions=definitions, start=start.short(),
                       n_per_group=n_per_group, messages=tuple(messages))


def landmark_endpoints(cut: ExportCut, settings: Settings, tables: AnalysisTables
                       ) -> tuple[dict[str, tuple[int, ...]], list[Message]]:
    """The landmark table's endpoints beyond the page's own (aGvHD to its window, cGvHD,
    GRFS, CD4+IR at its window, engraftment and graft failure) with their days; a warning
    for each dataset that is unusable."""
    ep = settings.endpoints
    days = tuple(ep.landmark_days)
    longest = max(ep.agvhd_windows_days)
    agvhd_days = tuple(sorted({d for d in (*ep.agvhd_windows_days, *days) if d <= longest}))
    extra: dict[str, tuple[int, ...]] = {}
    messages: list[Message] = []
    for dataset, what, endpoints_at in (
            ("adgvhd", "GvHD endpoints and GRFS",
             {"AGVHD24": agvhd_days, "AGVHD34": agvhd_days, "CGVHD": days, "CGVHDMS": days,
              "GRFS": days}),
            ("adlb", "CD4+IR", {"CD4IR": (ep.cd4_window_days,)})):
        try:
            cut.require(dataset)
        except DatasetUnavailable as exc:
            messages.append(Message(Level.WARNING, f"Landmark table without {what}: {exc}"))
            continue
        extra.update(endpoints_at)
    for code in ENGRAFTMENT_CODES:
        if code in tables.parameters:
            extra[code] = tuple(ep.engraftment_days)
    return extra, messages


def landmark_table(settings: Settings, extra: dict[str, tuple[int, ...]],
                   read: dict[str, pd.DataFrame],
                   ready: dict[str, tuple[pd.DataFrame, Estimate]]) -> pd.DataFrame:
    """Every endpoint at its landmark days: those of `ready` (fitted for their curves) at the
    landmark days, those of `extra` (rows in `read`) at their own days."""
    days = tuple(settings.endpoints.landmark_days)
    rows = [landmark_rows(code, data, days, survival=isinstance(done.fit, KaplanMeier),
                          fit=done.fit) for code, (data, done) in ready.items()]
    # An endpoint nobody is left for (all recovered before a landmark day): no rows; the
    # start message says whom the landmark left out.
    rows += [landmark_rows(code, read[code], at, survival=False) for code, at in extra.items()
             if code not in ready and not read[code].empty]
    table = pd.concat([r for r in rows if not r.empty], ignore_index=True) if rows else \
        pd.DataFrame(columns=LANDMARK_COLUMNS)
    return table[LANDMARK_COLUMNS]


def _interval(lower: object, upper: object) -> str:
    if pd.isna(lower) and pd.isna(upper):
        return ""
    return f" (95% CI {_days(lower)} to {_days(upper)})"


def _days(value: object) -> str:
    return "not reached" if value is None or value is pd.NA or pd.isna(value) else \
        f"{float(value):.0f}"


ESTIMATES = Section("estimates", "Estimates and tests")
PANEL = Panel(
    key="survival", title="Survival, relapse and NRM", icon=":material/timeline:",
    datasets=("adsl",),
    items=tuple(ItemSpec(key, kind, section=section) for key, kind, section in (
        ("overall_survival", Kind.FIGURE, Section("os", "Overall survival")),
        ("disease_free_survival", Kind.FIGURE, Section("dfs", "Disease-free survival")),
        ("grfs", Kind.FIGURE, Section("grfs", "GRFS")),
        ("relapse_nrm", Kind.FIGURE, Section("relapse_nrm", "Relapse and NRM")),
        ("landmarks", Kind.TABLE, ESTIMATES), ("survival_tests", Kind.TABLE, ESTIMATES),
        ("follow_up", Kind.TABLE, ESTIMATES))),
    options=START_OPTIONS,
    build=build)
