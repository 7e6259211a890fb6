"""The shared Streamlit widgets: database handle, filter sidebar, banner and panel drawing.

The one module besides `app.py` and `pages/` that imports Streamlit. Pages stay thin: they read
the context, call a panel's `build`, and hand the result to `draw_panel`.
"""

from __future__ import annotations

import logging
import runpy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import pandas as pd
import streamlit as st

from smart101_dash.config import PACKAGE_ROOT, SETTINGS, Settings, data_dir
from smart101_dash.contract import AGE_GROUPS, COHORTS
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, PanelResult, csv_bytes, csv_file_name
from smart101_dash.panels.common import cohort_counts, enrollment_range, filter_choices
from smart101_dash.store import Database, DatasetUnavailable, ExportCut
from smart101_dash.validate import Severity, ValidationReport

log = logging.getLogger("smart101_dash")
ARM_CHOICES = {"Both arms": None, "Group A (adults)": "GROUP A", "Group B (pediatric)": "GROUP B"}


@dataclass(frozen=True)
class PageContext:
    db: Database
    cut: ExportCut
    filters: Filters
    settings: Settings


_navigation = threading.local()  # set while app.py runs a page through st.navigation


def run_navigation(pages: list[st.Page]) -> None:
    """app.py's one call: run the chosen page through st.navigation (and mark it so)."""
    _navigation.active = True
    try:
        st.navigation(pages).run()
    finally:
        _navigation.active = False


@st.cache_resource
def get_database() -> Database:
    """One DuckDB database per process; every query opens its own cursor on it."""
    return Database()


FILTER_KEYS = ("f_cohorts", "f_arm", "f_age", "f_diag", "f_disstat", "f_dontype", "f_period")


def run_app_instead() -> NoReturn:
    """A page file run on its own: run app.py, whose navigation runs the page, then stop.

    When a new session opens at a page's URL (say /gvhd), Streamlit runs pages/gvhd.py itself,
    before app.py has ever declared st.navigation in that session: the page would get the
    legacy sidebar listing every file in pages/ (and app.py), and no page configuration. Running
    app.py here declares the navigation, which then runs this page through it.
    """
    runpy.run_path(str(PACKAGE_ROOT / "app.py"), run_name="__main__")
    st.stop()


def page_start() -> PageContext:
    """Begin a page: load the export (a new cut shows on this interaction), draw the filter
    sidebar, the title and the banner. Returns what the page's panel needs."""
    if not getattr(_navigation, "active", False):
        run_app_instead()
    db = get_database()
    cut = db.load(data_dir())
    last = st.session_state.get("_smart101_fingerprint")
    st.session_state["_smart101_fingerprint"] = cut.fingerprint
    new_cut = last is not None and last != cut.fingerprint
    # Filters are drawn by every page; re-assigning their state keeps it across page switches.
    for key in FILTER_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    filters = sidebar_filters(db, cut)
    context = PageContext(db, cut, filters, SETTINGS)
    st.title("Smart-101 outcomes")
    if new_cut:
        st.success(f"A new data cut was loaded: export {cut.fingerprint}.")
    banner(context)
    return context


def sidebar_filters(db: Database, cut: ExportCut) -> Filters:
    sb = st.sidebar
    sb.header("Filters")
    if not cut.report.is_usable("adsl"):
        sb.info("Filters need adsl, which failed validation (see Data quality).")
        return Filters()
    cohorts = sb.multiselect("Cohort", COHORTS, default=list(COHORTS), key="f_cohorts",
                             help="SMART101: treated in the trial. CONTROL: routine HSCT at the "
                                  "same centre (external, non-randomized control).")
    arm_label = sb.radio("Arm", list(ARM_CHOICES), key="f_arm",
                         help="An arm is compared with the controls of the same age group.")
    age_groups = sb.multiselect("Age group", AGE_GROUPS, key="f_age")
    diagnoses = sb.multiselect("Diagnosis", filter_choices(db, cut, "DIAG"), key="f_diag")
    statuses = sb.multiselect("Disease status", filter_choices(db, cut, "DISSTAT"),
                              key="f_disstat")
    donors = sb.multiselect("Donor type", filter_choices(db, cut, "DONTYPE"), key="f_dontype")
    first, last = enrollment_range(db, cut)
    enrolled_from = enrolled_to = None
    if first is not None and last is not None:
        period = sb.date_input("Enrollment period", value=(first, last), min_value=first,
                               max_value=last, key="f_period")
        if isinstance(period, tuple) and len(period) == 2:
            enrolled_from, enrolled_to = period
            if (enrolled_from, enrolled_to) == (first, last):
                enrolled_from = enrolled_to = None  # the whole range: no filter stated
    return Filters(cohorts=tuple(cohorts), arm=ARM_CHOICES[arm_label],
                   age_groups=tuple(age_groups), diagnoses=tuple(diagnoses),
                   disease_statuses=tuple(statuses), donor_types=tuple(donors),
                   enrolled_from=enrolled_from, enrolled_to=enrolled_to)


def banner(context: PageContext) -> None:
    """Study, cut-off, export fingerprint and N per cohort: on every page."""
    cut = context.cut
    if not cut.report.is_usable("adsl"):
        st.error(str(DatasetUnavailable("adsl", cut.report.findings_for("adsl"))))
        return
    counts = cohort_counts(context.db, cut, context.filters)
    cutoff = cut.cutoff.isoformat() if cut.cutoff else "unknown"
    n_text = " · ".join(f"{c} n={counts.get(c, 0)}" for c in COHORTS)
    st.markdown(f"**{cut.study_id or 'Smart-101'}** · data cut-off **{cutoff}** · "
                f"export `{cut.fingerprint}` · {n_text}")
    if cut.report.errors:
        failed = sorted({f.dataset for f in cut.report.errors})
        st.warning(f"Left out after validation: {', '.join(failed)}. See the Data quality page.")


def panel_key(build: Callable[..., PanelResult]) -> str:
    """The panel's name and the page's options: what, besides cut and filters, shapes a result."""
    options = sorted(getattr(build, "keywords", {}).items())
    function = getattr(build, "func", build)
    return f"{function.__module__}.{function.__qualname__}{options!r}"


@st.cache_resource(max_entries=32, show_spinner=False)
def cached_panel(key: str, fingerprint: str, filters: Filters, settings: Settings,
                 _build: Callable[..., PanelResult], _context: PageContext) -> PanelResult:
    """A panel's result, kept per (panel and options, cut, filters, settings).

    A rerun with the same choices (a page revisited, a toggle flipped back) is then free; the
    derivations and estimators cost 0.1-1 s a panel (docs/performance.md). A result is
    immutable once built (frozen dataclasses; drawing does not change it), so the cached
    object is shared rather than copied. A new cut has a new fingerprint: no stale result.
    """
    return _build(_context.db, _context.cut, _context.filters, _context.settings)


def run_panel(build: Callable[..., PanelResult], context: PageContext) -> None:
    """Build a panel and draw it; a missing dataset or a bug becomes a plain message."""
    try:
        result = cached_panel(panel_key(build), context.cut.fingerprint, context.filters,
                              context.settings, _build=build, _context=context)
    except DatasetUnavailable as exc:
        st.error(str(exc))
        return
    except Exception:  # a bug: keep the other panels alive and the traceback off the screen
        log.exception("panel %s failed", getattr(build, "__module__", build))
        st.error("This panel could not be drawn because of an internal error; it has been "
                 "logged on the server. The other pages still work.")
        return
    draw_panel(result)


def draw_panel(result: PanelResult) -> None:
    st.subheader(result.title)
    for message in result.messages:
        {Level.INFO: st.info, Level.WARNING: st.warning, Level.ERROR: st.error}[message.level](
            message.text)
    for item in result.items:
        st.markdown(f"#### {item.title}")
        if item.figure is not None:
            st.plotly_chart(item.figure, key=f"chart_{item.key}")
        else:
            st.dataframe(item.data, hide_index=True, key=f"table_{item.key}",
                         height=table_height(item.data))
        if item.caption:
            st.caption(item.caption)
        cols = st.columns([1, 3])
        # on_click="ignore": a download must not rerun the page (a rerun cancels downloads).
        cols[0].download_button("Download CSV", csv_bytes(result, item),
                                file_name=csv_file_name(result, item), mime="text/csv",
                                on_click="ignore", key=f"download_{item.key}")
        if item.query is not None:
            with cols[1].expander("Show query"):
                st.code(item.query.sql, language="sql")
                st.code(item.query.format_params() or "(no parameters)", language="text")
    if result.definitions:
        with st.expander("Definitions in force"):
            for line in result.definitions:
                st.markdown(f"- {line}")
    st.caption(result.footer)


def table_height(frame: pd.DataFrame, max_rows: int = 30) -> int:
    """Tall enough to show every row of a short table, so nothing hides behind a scrollbar."""
    return 38 + 35 * min(max(len(frame), 1), max_rows)


def not_built_yet(title: str, what: str) -> None:
    """An outcome page whose panel is not built: say so, show nothing invented."""
    st.subheader(title)
    st.info(f"This panel is not built yet. It will show {what}. No numbers are shown until "
            "they are computed from the export and checked against R.")


def findings_table(report: ValidationReport) -> pd.DataFrame:
    return pd.DataFrame(
        [{"severity": f.severity.value, "dataset": f.dataset, "column": f.column or "",
          "rule": f.rule, "rows": f.n_rows, "example USUBJIDs": ", ".join(f.examples),
          "detail": f.detail} for f in report.findings],
        columns=["severity", "dataset", "column", "rule", "rows", "example USUBJIDs", "detail"])


def show_report(report: ValidationReport) -> None:
    summary = pd.DataFrame([
        {"dataset": name, "status": ("usable" if report.is_usable(name) else
                                     "left out" if name in report.sources else "absent"),
         "rows": report.row_counts.get(name)}
        for name in ("adsl", "adlb", "adgvhd", "adinf", "adae")])
    st.dataframe(summary, hide_index=True, key="dq_summary")
    if not report.findings:
        st.success("No findings: every dataset meets the contract.")
        return
    n_err = sum(f.severity is Severity.ERROR for f in report.findings)
    n_warn = sum(f.severity is Severity.WARNING for f in report.findings)
    (st.error if n_err else st.warning)(f"{n_err} error(s), {n_warn} warning(s).")
    table = findings_table(report)
    st.dataframe(table, hide_index=True, key="dq_findings")
    st.download_button("Download CSV", table.to_csv(index=False).encode(),
                       file_name="smart101_validation_findings.csv", mime="text/csv",
                       on_click="ignore", key="download_findings")
