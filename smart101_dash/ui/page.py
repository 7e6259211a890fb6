"""Drawing a page: the export, the filter sidebar, the banner, a panel's options and results.

Every text that reaches a Markdown-rendering element passes `escape_markdown` (it may hold text
from the export); every file offered for download passes `spreadsheet_safe` (in `csv_bytes`).
"""

from __future__ import annotations

import logging
import runpy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from smart101_dash.access import AccessDenied, Permission, Viewer
from smart101_dash.audit import Action
from smart101_dash.config import PACKAGE_ROOT, SETTINGS, Settings, data_dir
from smart101_dash.contract import AGE_GROUPS, COHORTS
from smart101_dash.cuts import CutFolder, find_cuts
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, PanelItem, PanelResult, csv_bytes, csv_file_name
from smart101_dash.panels.common import cohort_counts, enrollment_range, filter_choices
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.panels.spec import Option, Panel, Widget
from smart101_dash.runner import build_panel
from smart101_dash.safe_text import escape_markdown
from smart101_dash.store import Database, DatasetUnavailable, ExportCut
from smart101_dash.ui import paper
from smart101_dash.ui.identity import Visitor, record

log = logging.getLogger("smart101_dash")
ARM_CHOICES = {"Both arms": None, "Group A (adults)": "GROUP A", "Group B (pediatric)": "GROUP B"}
FILTER_KEYS = ("f_cut", "f_print", "f_cohorts", "f_arm", "f_age", "f_diag", "f_disstat",
               "f_dontype", "f_period")
NEWEST = ""  # the Data cut choice that follows the newest cut, whichever it is


@dataclass(frozen=True)
class PageContext:
    db: Database
    cut: ExportCut
    filters: Filters
    settings: Settings
    viewer: Viewer
    page: str  # the page's key, as the audit trail names it
    options: dict[str, Any] = field(default_factory=dict)
    print_view: bool = False  # tables drawn whole, as plain rows, for printing


_navigation = threading.local()  # the visitor, while app.py runs a page through st.navigation


def run_navigation(visitor: Visitor, pages: list[Any]) -> None:
    """app.py's one call: run the chosen page through st.navigation (and mark it so)."""
    _navigation.visitor = visitor
    try:
        # expanded: every page listed (past ten, Streamlit would hide the rest behind "View
        # more", Data quality, Reports and Audit among them).
        st.navigation(pages, expanded=True).run()
    finally:
        _navigation.visitor = None


def current_visitor() -> Visitor:
    visitor = getattr(_navigation, "visitor", None)
    if visitor is None:
        run_app_instead()
    return visitor


@st.cache_resource
def get_database() -> Database:
    """One DuckDB database per process; every query opens its own cursor on it."""
    return Database()


def run_app_instead() -> NoReturn:
    """A page file run on its own: run app.py, whose navigation runs the page, then stop.

    When a new session opens at a page's URL (say /gvhd), Streamlit runs pages/gvhd.py itself,
    before app.py has ever declared st.navigation in that session: the page would get the
    legacy sidebar listing every file in pages/ (and app.py), no page configuration and no
    sign-in. Running app.py here declares the navigation (and the sign-in), which then runs
    this page through it, if the visitor may see it.
    """
    runpy.run_path(str(PACKAGE_ROOT / "app.py"), run_name="__main__")
    st.stop()


def page_start(page: str) -> PageContext:
    """Begin a page: load the export (a new cut shows on this interaction), draw the filter
    sidebar, the title and the banner. Returns what the page's panel needs."""
    visitor = current_visitor()
    viewer = visitor.viewer
    assert viewer is not None  # app.py lists data pages only for a viewer with a role
    db = get_database()
    # Filters are drawn by every page; re-assigning their state keeps it across page switches.
    for key in FILTER_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    chosen = cut_picker(find_cuts(data_dir()))
    cut = db.load(chosen)
    last = st.session_state.get("_smart101_cut")
    st.session_state["_smart101_cut"] = (st.session_state.get("f_cut", NEWEST), cut.fingerprint)
    filters = sidebar_filters(db, cut)
    paper.print_stylesheet()
    print_view = paper.print_view_toggle()
    context = PageContext(db, cut, filters, SETTINGS, viewer, page, print_view=print_view)
    st.title("Smart-101 outcomes", anchor=False)
    # New data under the same choice (a new newest cut, or a cut's files replaced); not a
    # cut the user picked.
    if last is not None and last[0] == st.session_state.get("f_cut", NEWEST) \
            and last[1] != cut.fingerprint:
        st.success(f"A new data cut was loaded: export {escape_markdown(cut.fingerprint)}.")
    banner(context)
    return context


def cut_picker(cuts: list[CutFolder]) -> Path:
    """The cut to show: with several cuts in the export folder, a choice at the top of the
    sidebar (the newest by default, following a newer one when it arrives)."""
    if len(cuts) == 1:
        return cuts[0].path
    by_label = {c.label: c.path for c in cuts}
    newest = cuts[-1]
    if st.session_state.get("f_cut", NEWEST) not in (NEWEST, *by_label):
        st.session_state["f_cut"] = NEWEST  # a cut that is no longer in the folder
    label = st.sidebar.selectbox(
        "Data cut", [NEWEST, *reversed([c.label for c in cuts[:-1]])], key="f_cut",
        format_func=lambda v: f"{newest.label} (newest)" if v == NEWEST else v,
        help="The export folder holds one sub-folder per cut, named by its cut-off date. "
             "'Since the last cut' compares the cut shown with an earlier one.")
    return newest.path if label == NEWEST else by_label[label]


def period_within(chosen: Any, before: Any, whole: tuple[Any, Any]) -> tuple[Any, Any]:
    """The enrollment period to show in a cut whose enrollment runs over `whole`: the whole
    range when nothing was chosen (or the whole range of the cut shown before, `before`),
    else the choice cut to the range (a cut picked, or a new cut, can have another range)."""
    if not isinstance(chosen, tuple) or len(chosen) != 2 or chosen == before:
        return whole
    start, end = max(chosen[0], whole[0]), min(chosen[1], whole[1])
    return (start, end) if start <= end else whole


def sidebar_filters(db: Database, cut: ExportCut) -> Filters:
    sb = st.sidebar
    sb.header("Filters", anchor=False)
    if not cut.report.is_usable("adsl"):
        sb.info("Filters need adsl, which failed validation (see Data quality).")
        return Filters()
    # Defaults go through the session state (as page_start keeps it), not the widgets'
    # parameters: a widget given both warns, and one whose parameters change loses its state.
    st.session_state.setdefault("f_cohorts", list(COHORTS))
    cohorts = sb.multiselect("Cohort", COHORTS, key="f_cohorts",
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
        st.session_state["f_period"] = period_within(st.session_state.get("f_period"),
                                                     st.session_state.get("_f_period_range"),
                                                     (first, last))
        st.session_state["_f_period_range"] = (first, last)
        period = sb.date_input("Enrollment period", min_value=first,
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
        unavailable = DatasetUnavailable("adsl", cut.report.findings_for("adsl"))
        st.error(escape_markdown(unavailable.describe(shows_subject_ids(context.viewer))))
        return
    counts = cohort_counts(context.db, cut, context.filters)
    cutoff = cut.cutoff.isoformat() if cut.cutoff else "unknown"
    n_text = " · ".join(f"{c} n={counts.get(c, 0)}" for c in COHORTS)
    st.markdown(f"**{escape_markdown(cut.study_id or 'Smart-101')}** · data cut-off "
                f"**{escape_markdown(cutoff)}** · export {escape_markdown(cut.fingerprint)} · "
                f"{escape_markdown(n_text)}")
    if cut.report.errors:
        failed = sorted({f.dataset for f in cut.report.errors})
        st.warning(f"Left out after validation: {escape_markdown(', '.join(failed))}. See the "
                   "Data quality page.")


def shows_subject_ids(viewer: Viewer) -> bool:
    return viewer.can(Permission.SUBJECT_LEVEL)


def panel_page(key: str) -> None:
    """A whole outcome page: the panel's options, then the panel through the runner."""
    panel = find_panel(key)
    context = page_start(panel.key)
    options = draw_options(panel, context)
    run_panel(panel, PageContext(**{**context.__dict__, "options": options}))


def draw_options(panel: Panel, context: PageContext) -> dict[str, Any]:
    """The page options the viewer may use, in one row; untouched they are the settings'."""
    visible = panel.visible_options(context.viewer)
    if not visible:
        return {}
    return {option.name: option_widget(option, column, panel.key, context.settings, context.cut)
            for option, column in zip(visible, st.columns(len(visible)), strict=True)}


def option_widget(option: Option, where: Any, panel_key: str, settings: Settings,
                  cut: ExportCut | None = None) -> Any:
    key, default = option.widget_key(panel_key), option.default(settings)
    common = {"key": key, "help": option.help or None}
    if option.widget in (Widget.NUMBER, Widget.INTEGER):
        cast = float if option.widget is Widget.NUMBER else int
        upper = option.upper(settings)
        return cast(where.number_input(
            option.label, value=cast(default),
            min_value=None if option.minimum is None else cast(option.minimum),
            max_value=None if upper is None else cast(upper),
            step=None if option.step is None else cast(option.step), **common))
    if option.widget is Widget.CHECKBOX:
        return bool(where.checkbox(option.label, value=bool(default), **common))
    if option.widget is Widget.TOGGLE:
        return bool(where.toggle(option.label, value=bool(default), **common))
    choices = dict(option.choices_for(settings, cut))
    if not choices:
        return default  # nothing to choose from (a single cut): the default stands
    labels = list(choices)
    index = list(choices.values()).index(default)
    pick = where.radio if option.widget is Widget.RADIO else where.selectbox
    extra = {"horizontal": True} if option.widget is Widget.RADIO else {}
    return choices[pick(option.label, labels, index=index, **common, **extra)]


def access_key(viewer: Viewer) -> tuple[str, tuple[str, ...]]:
    """What a cached result is kept for: the role and its permissions (never the user)."""
    return viewer.role, tuple(sorted(viewer.permissions))


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_panel(key: str, options: tuple[tuple[str, Any], ...], fingerprint: str,
                 filters: Filters, settings: Settings, access: tuple[str, tuple[str, ...]],
                 _context: PageContext) -> PanelResult:
    """A panel's result, kept per (panel, options, cut, filters, settings, role).

    A rerun with the same choices (a page revisited, a toggle flipped back) is then free. The
    role and its permissions are part of the key, so nothing built for one role is ever
    served to another. A result is immutable once built (frozen dataclasses; drawing does not
    change it), so the cached object is shared rather than copied.
    """
    return build_panel(find_panel(key), _context.db, _context.cut, filters, settings,
                       _context.viewer, dict(options))


def run_panel(panel: Panel, context: PageContext) -> None:
    """Build a panel through the runner and draw it; a user error or a bug is a message."""
    viewer = context.viewer
    try:
        result = cached_panel(panel.key, tuple(sorted(context.options.items())),
                              context.cut.fingerprint, context.filters, context.settings,
                              access_key(viewer), _context=context)
    except DatasetUnavailable as exc:
        st.error(escape_markdown(exc.describe(shows_subject_ids(viewer))))
        audit_view(context, rows=0, detail=f"not built: {exc.dataset} unavailable")
        return
    except AccessDenied as exc:
        st.error(escape_markdown(exc))
        record(viewer, Action.ACCESS_DENIED, page=context.page, detail=str(exc))
        return
    except Exception:  # a bug: keep the other panels alive and the traceback off the screen
        log.exception("panel %s failed", panel.key)
        st.error("This panel could not be drawn because of an internal error; it has been "
                 "logged on the server. The other pages still work.")
        return
    # Recorded before drawing: a trail that cannot be written stops the page with no data shown.
    audit_view(context, rows=sum(len(item.data) for item in result.items))
    draw_panel(result, context)


def audit_view(context: PageContext, rows: int, detail: str = "") -> None:
    """Record a data page's view: its filters, options, export and the rows it returned."""
    options = ", ".join(f"{k}={v}" for k, v in sorted(context.options.items()))
    audit_visit(context.viewer, context.page,
                (context.filters, tuple(sorted(context.options.items()))),
                filters=context.filters.describe(), export=context.cut.fingerprint, rows=rows,
                detail="; ".join(p for p in (f"options: {options}" if options else "", detail)
                                 if p))


def audit_visit(viewer: Viewer, page: str, state: object, **fields: Any) -> None:
    """A page view when the page changed; a filter change when only its `state` (filters,
    options) did; nothing on a rerun that changed neither."""
    view = (page, state)
    last = st.session_state.get("_audit_last_view")
    if view == last:
        return
    st.session_state["_audit_last_view"] = view
    action = Action.PAGE_VIEW if last is None or last[0] != page else Action.FILTER_CHANGE
    record(viewer, action, page=page, **fields)


def draw_panel(result: PanelResult, context: PageContext) -> None:
    st.subheader(escape_markdown(result.title), anchor=False)
    for message in result.messages:
        {Level.INFO: st.info, Level.WARNING: st.warning, Level.ERROR: st.error}[message.level](
            escape_markdown(message.text))
    for item in result.items:
        draw_item(result, item, context)
    if result.definitions:
        with st.expander("Definitions in force"):
            for line in result.definitions:
                st.markdown("- " + escape_markdown(line))
    st.caption(escape_markdown(result.footer))


def draw_item(result: PanelResult, item: PanelItem, context: PageContext) -> None:
    st.markdown(f"#### {escape_markdown(item.title)}")
    if item.figure is not None:
        st.plotly_chart(item.figure, key=f"chart_{item.key}")
    elif context.print_view:
        paper.print_table(item.data)
    else:
        st.dataframe(item.data, hide_index=True, key=f"table_{item.key}",
                     height=table_height(item.data))
    if item.caption:
        st.caption(escape_markdown(item.caption))
    if item.link is not None:
        detail = find_panel(item.link)
        st.page_link(f"pages/{detail.key}.py", label=f"Detail: {detail.title}",
                     icon=":material/arrow_forward:")
    cols = st.columns([1, 3])
    if context.viewer.can(Permission.DOWNLOAD):
        # Deferred: the file is built, and the download recorded, only when clicked; and
        # on_click="ignore", because a rerun would cancel the download.
        cols[0].download_button(
            "Download CSV", audited_download(context, result, item),
            file_name=csv_file_name(result, item), mime="text/csv", on_click="ignore",
            key=f"download_{item.key}")
    if item.queries:
        with cols[1].expander("Show query" if len(item.queries) == 1 else
                              f"Show the {len(item.queries)} queries"):
            for query in item.queries:
                st.code(query.sql, language="sql")
                st.code(query.format_params() or "(no parameters)", language="text")


def audited_download(context: PageContext, result: PanelResult,
                     item: PanelItem) -> Callable[[], bytes]:
    """The CSV of `item`, built when the button is clicked; the click is audited."""
    viewer, page = context.viewer, context.page
    filters, fingerprint = context.filters.describe(), context.cut.fingerprint

    def payload() -> bytes:
        from smart101_dash.ui.identity import audit_log  # no Streamlit call: runs off-script

        data = csv_bytes(result, item)
        audit_log().append(viewer, Action.DOWNLOAD, page=page, filters=filters,
                           export=fingerprint, rows=len(item.data),
                           detail=csv_file_name(result, item))
        return data

    return payload


def table_height(frame: pd.DataFrame, max_rows: int = 30) -> int:
    """Tall enough to show every row of a short table, so nothing hides behind a scrollbar."""
    return 38 + 35 * min(max(len(frame), 1), max_rows)
