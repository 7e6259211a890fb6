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
from smart101_dash.analysis import AnalysisTables, EndpointRead, analysis_tables
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
from smart101_dash.panels.spec import ItemSpec, Kind, Panel, Section, wants
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
          population: str = ENROLLED, items: frozenset[str] | None = None) -> PanelResult:
    """Every item is aggregate (curves, estimates, tests, follow-up). The options set where
    the comparison starts (panels/start.py). `items`: the items wanted (None: all); a curve
    needs its own estimate only, the estimates and tests need every one."""
    ep = settings.endpoints
    start = start_of(landmark, landmark_day, population)
    tables = analysis_tables(db, cut, ep)
    extra, extra_messages = landmark_endpoints(cut, settings, tables)
    read = tables.endpoints(db, filters, ("OS", "DFS", "RELAPSE", "NRM", *extra), start)
    n_per_group = group_sizes(read["OS"])
    base = PanelResult(TITLE, cut, filters, n_per_group=n_per_group, start=start.short())
    if read["OS"].empty:
        return no_patients(TITLE, cut, filters)

    every = wants(items, *ESTIMATE_ITEMS)
    fitted = {code: make(read[code], wants(items, key)) for code, (key, make) in FITS.items()
              if (code != "GRFS" or "GRFS" in extra) and (every or wants(items, key))}
    messages = group_messages(n_per_group, "the curves and intervals")
    messages += extra_messages
    messages += read_messages(read, {code: LABELS.get(code, code) for code in read.rows})
    if "GRFS" in fitted and tables.note("GRFS"):
        messages.append(Message(Level.INFO, f"GRFS: {tables.note('GRFS')}"))
    built = [curve_item(key, title, fitted[code], read[code], y_title, read.query, base.footer)
             for key, code, title, y_title in CURVES if code in fitted and wants(items, key)]
    if wants(items, "relapse_nrm"):
        built.append(relapse_nrm_item(fitted["RELAPSE"], fitted["NRM"], read, base.footer))
    if every:
        built += estimate_items(settings, extra, read, fitted)
    definitions = (
        endpoints.definition("overall_survival", ep),
        endpoints.definition("disease_free_survival", ep),
        *((endpoints.definition("gvhd_relapse_free_survival", ep, chronic=(
            "moderate_severe" if tables.note("GRFS") else "systemic")),)
          if "GRFS" in extra else ()),
        endpoints.definition("relapse", ep),
        endpoints.definition("non_relapse_mortality", ep),
        ("Kaplan-Meier with Greenwood variance and log-log 95% interval; log-rank test. "
         "Cumulative incidence: Aalen-Johansen with cmprsk's variance; Gray's test."),
        start.describe(),
    )
    return PanelResult(TITLE, cut, filters, tuple(built), definitions=definitions,
                       start=start.short(), n_per_group=n_per_group, messages=tuple(messages))


# Each endpoint's estimate (with its curves when drawn) and the item that draws it (the
# estimates section needs every estimate, and draws none).
FITS = {
    "OS": ("overall_survival",
           lambda data, draw: survival_estimate(data, "overall survival", curves=draw)),
    "DFS": ("disease_free_survival",
            lambda data, draw: survival_estimate(data, "disease-free survival", curves=draw)),
    "NRM": ("relapse_nrm",
            lambda data, draw: incidence_estimate(data, "NRM", dash="dot", curves=draw)),
    "RELAPSE": ("relapse_nrm",
                lambda data, draw: incidence_estimate(data, "relapse", curves=draw)),
    "GRFS": ("grfs", lambda data, draw: survival_estimate(data, "GRFS", curves=draw)),
}
# The survival curves: item, endpoint, title, y axis.
CURVES = (("overall_survival", "OS", "Overall survival", "Overall survival"),
          ("disease_free_survival", "DFS", "Disease-free survival", "Disease-free survival"),
          ("grfs", "GRFS", "GvHD-free relapse-free survival (GRFS)", "GRFS"))
ESTIMATE_ITEMS = ("landmarks", "survival_tests", "follow_up")


def curve_item(key: str, title: str, fit: Estimate, data: pd.DataFrame, y_title: str,
               query: Query, footer: str, rising: bool = False) -> PanelItem:
    figure = step_curves_figure(fit.curves, risk_table(data, TICKS), y_title=y_title,
                                ticks=TICKS, footer=footer, rising=rising)
    caption = f"{fit.test_name} test: {format_p(fit.p_value)}"
    if fit.note:
        caption += f" ({fit.note})"
    return PanelItem(key, title, fit.table, figure, (query,), caption)


def relapse_nrm_item(relapse: Estimate, nrm: Estimate, read: EndpointRead,
                     footer: str) -> PanelItem:
    both = Estimate(
        table=pd.concat([relapse.table.assign(endpoint="RELAPSE"),
                         nrm.table.assign(endpoint="NRM")], ignore_index=True),
        curves=pd.concat([relapse.curves, nrm.curves], ignore_index=True),
        test_name="Gray", statistic=None, df=None, p_value=None)
    item = curve_item("relapse_nrm", "Cumulative incidence of relapse and NRM", both,
                      read["RELAPSE"], "Cumulative incidence", read.query, footer, rising=True)
    return replace(item, caption=f"Gray's test, relapse: {format_p(relapse.p_value)}; "
                                 f"NRM: {format_p(nrm.p_value)}.")


def estimate_items(settings: Settings, extra: dict[str, tuple[int, ...]], read: EndpointRead,
                   fitted: dict[str, Estimate]) -> list[PanelItem]:
    """The landmark estimates of every endpoint, the tests and the median follow-up."""
    ready = {code: (read[code], fitted[code]) for code in ("OS", "DFS", "NRM", "RELAPSE",
                                                           "GRFS") if code in fitted}
    os_data = read["OS"]
    follow = median_follow_up(os_data["time"], os_data["status"] == 1, os_data["group"],
                              weights=subjects_of(os_data))
    follow["group"] = follow["group"].astype(str)
    follow = sort_groups(follow)
    follow_text = "; ".join(f"{r.group} {_days(r.median)}{_interval(r.lower, r.upper)}"
                            for r in follow.itertuples())
    tests = pd.DataFrame([
        {"endpoint": code, "test": fit.test_name, "statistic": fit.statistic, "df": fit.df,
         "p_value": fit.p_value, "note": fit.note}
        for code, fit in ((c, fitted[c]) for c in ("OS", "DFS", "RELAPSE", "NRM", "GRFS")
                          if c in fitted)])
    return [
        PanelItem("landmarks", "Landmark estimates: day 100, 1 and 2 years",
                  landmark_table(settings, extra, read, ready), None, (read.query,),
                  "Estimate and 95% interval (Kaplan-Meier log-log for OS, DFS and GRFS; "
                  "cumulative incidence with log(-log) interval otherwise); n_risk at the day; "
                  "n_events on or before it. Empty: no follow-up that far."),
        PanelItem("survival_tests", "Tests between cohorts", tests, None, (read.query,),
                  "Descriptive: the control cohort is external and non-randomized."),
        PanelItem("follow_up", "Median follow-up (reverse Kaplan-Meier)", follow, None,
                  (read.query,), f"Median follow-up in days: {follow_text}."),
    ]


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
    items=tuple(ItemSpec(key, kind, section=section, needs=needs)
                for key, kind, section, needs in (
        ("overall_survival", Kind.FIGURE, Section("os", "Overall survival"), ()),
        ("disease_free_survival", Kind.FIGURE, Section("dfs", "Disease-free survival"), ()),
        ("grfs", Kind.FIGURE, Section("grfs", "GRFS"), ("adgvhd",)),  # GvHD is an event
        ("relapse_nrm", Kind.FIGURE, Section("relapse_nrm", "Relapse and NRM"), ()),
        ("landmarks", Kind.TABLE, ESTIMATES, ()), ("survival_tests", Kind.TABLE, ESTIMATES, ()),
        ("follow_up", Kind.TABLE, ESTIMATES, ()))),
    options=START_OPTIONS,
    build=build)
