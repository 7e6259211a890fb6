"""Drawing a page: the export, the filter sidebar, the banner, a panel's options and results.

Every text that reaches a Markdown-rendering element passes `escape_markdown` (it may hold text
from the export); every file offered for download passes `spreadsheet_safe` (in `csv_bytes`).
"""

from __future__ import annotations

import gc
import logging
import runpy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd
import streamlit as st

from smart101_dash.access import AccessDenied, Permission, Viewer
from smart101_dash.audit import Action
from smart101_dash.charts import AsDrawn
from smart101_dash.config import PACKAGE_ROOT, SETTINGS, Settings, data_dir
from smart101_dash.contract import AGE_GROUPS, COHORTS
from smart101_dash.cuts import CutFolder, find_cuts
from smart101_dash.files import context_rows, csv_bytes, file_stem, xlsx_bytes
from smart101_dash.filters import Filters
from smart101_dash.labels import group_names
from smart101_dash.panels.base import (
    Level,
    PanelItem,
    PanelResult,
    item_csv,
    item_file_name,
    item_xlsx,
)
from smart101_dash.panels.common import (
    enrollment_range,
    filter_choices_of,
    population_counts,
)
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.panels.spec import Option, Panel, Section, Widget
from smart101_dash.panels.start import start_of_options
from smart101_dash.panels.subjects import KEY as SUBJECTS_KEY
from smart101_dash.panels.subjects import STATUS_NOTE as SUBJECTS_NOTE
from smart101_dash.panels.subjects import TITLE as SUBJECTS_TITLE
from smart101_dash.panels.subjects import subject_slice
from smart101_dash.runner import build_panel
from smart101_dash.safe_text import escape_markdown
from smart101_dash.store import Database, DatasetUnavailable, ExportCut, ExportUnreadable
from smart101_dash.ui import paper, shared_view
from smart101_dash.ui.identity import Visitor, record
from smart101_dash.ui.tables import draw_table
from smart101_dash.views import query_string

log = logging.getLogger("smart101_dash")
ARM_CHOICES = {"Both arms": None, "Group A (adults)": "GROUP A", "Group B (pediatric)": "GROUP B"}
MORE_FILTERS_KEY = "f_more"  # the "More filters" expander: open or closed
MORE_FILTER_KEYS = ("f_age", "f_diag", "f_disstat", "f_dontype", "f_period")  # drawn in it
FILTER_KEYS = ("f_cut", "f_print", "f_cohorts", "f_arm", *MORE_FILTER_KEYS, MORE_FILTERS_KEY)
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


def run_navigation(visitor: Visitor, pages: list[Any], listed: bool = True) -> None:
    """app.py's one call: run the chosen page through st.navigation (and mark it so);
    `listed`: the pages shown in the sidebar (not the sign-in page's many addresses)."""
    _navigation.visitor = visitor
    try:
        # The cuts the page loads keep their views until it ends, whatever arrives meanwhile.
        with get_database().lease():
            # expanded: every page listed (past ten, Streamlit would hide the rest behind
            # "View more", Data quality, Reports and Audit among them).
            st.navigation(pages, expanded=True,
                          position="sidebar" if listed else "hidden").run()
        freeze_long_lived_objects()
    finally:
        _navigation.visitor = None


_frozen = threading.Lock()  # taken once, never released


def freeze_long_lived_objects() -> None:
    """Once per process, after its first page: what lives as long as the process (modules,
    Plotly's validators, the database) leaves the garbage collector's rounds.

    Every full collection walked those 190,000 objects: 100-140 ms with the script's thread
    holding the interpreter, so a click's last messages waited. Streamlit's own collection
    after every run is off (.streamlit/config.toml, runner.postScriptGC) for that reason;
    Python's generational collection still runs, over the young objects only.
    """
    if _frozen.acquire(blocking=False):
        gc.collect()
        gc.freeze()


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


def page_start(page: str, options_follow: bool = False) -> PageContext:
    """Begin a page: load the export (a new cut shows on this interaction), draw the filter
    sidebar, the title and the banner. Returns what the page's panel needs. The URL gets
    the view here, or after the page's options when `options_follow`."""
    visitor = current_visitor()
    viewer = visitor.viewer
    assert viewer is not None  # app.py lists data pages only for a viewer with a role
    db = get_database()
    keep_filters()
    shared_view.follow_link_after_sign_in()  # a link opened before signing in
    query = shared_view.incoming_query()  # a link opened or a page reloaded: its view
    cuts = find_cuts(data_dir())
    if query is not None and len(cuts) > 1:
        shared_view.restore_cut(query, [c.label for c in cuts[:-1]], cuts[-1].label)
    cut = db.load(cut_picker(cuts))
    last = st.session_state.get("_smart101_cut")
    st.session_state["_smart101_cut"] = (st.session_state.get("f_cut", NEWEST), cut.fingerprint)
    if query is not None and cut.report.is_usable("adsl"):
        shared_view.restore_filters(query, filter_choices_of(db, cut), enrollment_range(db, cut),
                                    {arm: label for label, arm in ARM_CHOICES.items()})
    filters = sidebar_filters(db, cut)
    paper.print_stylesheet()
    print_view = paper.print_view_toggle()
    if not options_follow:
        shared_view.write_url(filters, print_view=print_view)
    context = PageContext(db, cut, filters, SETTINGS, viewer, page, print_view=print_view)
    st.title("Smart-101 outcomes", anchor=False)
    # New data under the same choice (a new newest cut, or a cut's files replaced); not a
    # cut the user picked.
    if last is not None and last[0] == st.session_state.get("f_cut", NEWEST) \
            and last[1] != cut.fingerprint:
        st.success(f"A new data cut was loaded: export {escape_markdown(cut.fingerprint)}.")
    if cut.notice:  # a newer cut being written, or one that cannot be used
        st.warning(escape_markdown(cut.notice), icon=":material/history:")
    banner(context)
    shared_view.show_problems()
    return context


def keep_filters() -> None:
    """Keep the sidebar filters, and each page's open section, across a page switch and
    across a page that does not draw them (Audit)."""
    for key in (*FILTER_KEYS, *(panel.section_key for panel in PANELS)):
        keep_state(key)


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
    return replace(more_filters(db, cut), cohorts=tuple(cohorts), arm=ARM_CHOICES[arm_label])


def more_filters(db: Database, cut: ExportCut) -> Filters:
    """Age group, diagnosis, disease status, donor type and enrollment period, under "More
    filters". Drawn only while open: these five widgets were a third of the browser's work on
    a click (about 50 ms of 150-200 on the lightest page). Closed, their values stay in force
    (keep_filters) and are listed under it, as in the banner."""
    sb, state = st.sidebar, st.session_state
    choices = filter_choices_of(db, cut)
    lists = {"f_age": ("Age group", AGE_GROUPS), "f_diag": ("Diagnosis", choices["diag"]),
             "f_disstat": ("Disease status", choices["disstat"]),
             "f_dontype": ("Donor type", choices["donor"])}
    for key, (_, options) in lists.items():
        if state.get(key):  # a value this cut lacks is dropped, drawn or not
            state[key] = [value for value in state[key] if value in options]
    first, last = enrollment_range(db, cut)
    if first is not None and last is not None:
        state["f_period"] = period_within(state.get("f_period"), state.get("_f_period_range"),
                                          (first, last))
        state["_f_period_range"] = (first, last)
    more = sb.expander("More filters", key=MORE_FILTERS_KEY, on_change="rerun")
    if more.open:
        for key, (label, options) in lists.items():
            more.multiselect(label, options, key=key)
        if first is not None and last is not None:
            more.date_input("Enrollment period", min_value=first, max_value=last, key="f_period")
    period = state.get("f_period")
    # The whole range is no filter.
    enrolled = period if isinstance(period, tuple) and len(period) == 2 \
        and period != (first, last) else (None, None)
    chosen = Filters(age_groups=tuple(state.get("f_age") or ()),
                     diagnoses=tuple(state.get("f_diag") or ()),
                     disease_statuses=tuple(state.get("f_disstat") or ()),
                     donor_types=tuple(state.get("f_dontype") or ()),
                     enrolled_from=enrolled[0], enrolled_to=enrolled[1])
    if not more.open and chosen != Filters():
        sb.caption("In force: " + escape_markdown(chosen.describe()))
    return chosen


def banner(context: PageContext) -> None:
    """Study, cut-off, export fingerprint and N per cohort: on every page."""
    cut = context.cut
    if not cut.report.is_usable("adsl"):
        unavailable = cut.unavailable("adsl")
        st.error(escape_markdown(unavailable.describe(shows_subject_ids(context.viewer))))
        return
    cutoff = cut.cutoff.isoformat() if cut.cutoff else "unknown"
    st.markdown(f"**{escape_markdown(cut.study_id or 'Smart-101')}** · data cut-off "
                f"**{escape_markdown(cutoff)}** · export {escape_markdown(cut.fingerprint)} · "
                f"filters: {escape_markdown(context.filters.describe())}")
    st.markdown(escape_markdown(population_text(
        population_counts(context.db, cut, context.filters), group_names(context.filters))))
    if cut.report.errors:
        failed = sorted({f.dataset for f in cut.report.errors})
        st.warning(f"Left out after validation: {escape_markdown(', '.join(failed))}. See the "
                   "Data quality page.")
    if cut.report.warnings:  # rows or dates no page uses: say so where the numbers are
        n = len(cut.report.warnings)
        st.caption(f"Validation has {n} warning{'s' if n != 1 else ''} on this cut (records or "
                   "dates that no page uses, among others): see the Data quality page.")


def population_text(counts: dict[str, dict[str, int]], names: dict[str, str]) -> str:
    """Each cohort's N, saying which population each page counts (they differ: a SMART101
    patient can be enrolled and not transplanted, or transplanted and not infused)."""
    parts = []
    for cohort in COHORTS:
        n = counts.get(cohort, {"enrolled": 0, "transplanted": 0, "infused": 0})
        text = f"{names[cohort]}: {n['enrolled']} enrolled, {n['transplanted']} transplanted"
        if cohort == "SMART101":
            text += f", {n['infused']} infused"
        parts.append(text)
    return (" · ".join(parts) + ". Outcome pages count transplanted patients; adverse events "
            "count the safety population (SMART101 infused).")


def shows_subject_ids(viewer: Viewer) -> bool:
    return viewer.can(Permission.SUBJECT_LEVEL)


def panel_page(key: str) -> None:
    """A whole outcome page: the panel's options, then the panel through the runner."""
    panel = find_panel(key)
    context = page_start(panel.key, options_follow=True)
    shared_view.restore_options(panel, context)
    options = draw_options(panel, context)
    shared_view.write_url(context.filters, options,
                          {o.name: o.default(context.settings) for o in panel.options},
                          context.print_view, shared_view.open_section(panel, context.viewer))
    shared_view.show_problems()
    context = PageContext(**{**context.__dict__, "options": options})
    run_panel(panel, context)
    draw_subject_slice(context)


def draw_subject_slice(context: PageContext) -> None:
    """The filtered population, one row per subject, as CSV and XLSX: for a viewer allowed
    subject-level data and downloads; read only when a button is clicked."""
    viewer = context.viewer
    if not (viewer.can(Permission.SUBJECT_LEVEL) and viewer.can(Permission.DOWNLOAD)) \
            or not context.cut.report.is_usable("adsl"):
        return
    start = start_of_options(context.options, context.settings)
    cut, filters, settings = context.cut, context.filters, context.settings
    view = query_string(st.session_state.get(shared_view.WRITTEN) or {})
    stem = file_stem(SUBJECTS_KEY, cut, filters, start.short())
    # Drawn only while open, as "Show query": its note and buttons were drawn on every click.
    subjects = st.expander("Subjects behind this view: download one row per subject",
                           key="subjects_behind_view", on_change="rerun")
    if not subjects.open:
        return
    with subjects:
        st.caption(escape_markdown(SUBJECTS_NOTE))

        def frame() -> tuple[pd.DataFrame, Any]:
            return subject_slice(context.db, cut, filters, settings, viewer, start)

        def as_csv() -> bytes:
            return csv_bytes(frame()[0])

        def as_xlsx() -> bytes:
            data, query = frame()
            context_sheet = context_rows(cut, filters, SUBJECTS_TITLE, start=start.describe(),
                                         notes=[SUBJECTS_NOTE], queries=[query], view=view,
                                         rows=len(data))
            return xlsx_bytes(data, context_sheet, group_names(filters), sheet=SUBJECTS_KEY)

        cols = st.columns(2)
        for col, kind, build, mime in ((cols[0], "csv", as_csv, "text/csv"),
                                       (cols[1], "xlsx", as_xlsx, XLSX_MIME)):
            col.download_button(f"Subjects ({kind.upper()})",
                                audited_download(context, build, f"{stem}.{kind}", 0),
                                file_name=f"{stem}.{kind}", mime=mime, on_click="ignore",
                                key=f"download_subjects_{kind}")


# More in a row, and a label is cut at 1280-1400 pixels (CD4's eight: "Inclusi…").
OPTIONS_PER_ROW = 4


def draw_options(panel: Panel, context: PageContext) -> dict[str, Any]:
    """The page options the viewer may use, in rows of up to OPTIONS_PER_ROW; untouched they
    are the settings'."""
    visible = panel.visible_options(context.viewer)
    width = min(len(visible), OPTIONS_PER_ROW)
    chosen: dict[str, Any] = {}
    for start in range(0, len(visible), OPTIONS_PER_ROW):
        row = visible[start:start + OPTIONS_PER_ROW]
        for option, column in zip(row, st.columns(width), strict=False):
            chosen[option.name] = option_widget(option, column, panel.key, context.settings,
                                                context.cut, context.filters)
    return chosen


def option_widget(option: Option, where: Any, panel_key: str, settings: Settings,
                  cut: ExportCut | None = None, filters: Filters | None = None) -> Any:
    """One option's widget. Its value lives in the session state, seeded with the default
    (or a link's value, `shared_view.restore_options`), never passed to the widget as well:
    Streamlit warns on a widget given both."""
    key, default = option.widget_key(panel_key), option.default(settings)
    choices = dict(option.choices_for(settings, cut))
    labels = {value: label for label, value in choices.items()}
    if choices and st.session_state.get(key, default) not in labels:
        st.session_state[key] = default if default in labels else next(iter(labels))
    st.session_state.setdefault(key, default)
    common = {"key": key, "help": option.help or None}
    if option.widget in (Widget.NUMBER, Widget.INTEGER):
        cast = float if option.widget is Widget.NUMBER else int
        upper = option.upper(settings)
        st.session_state[key] = cast(st.session_state[key])
        return cast(where.number_input(
            option.label,
            min_value=None if option.minimum is None else cast(option.minimum),
            max_value=None if upper is None else cast(upper),
            step=None if option.step is None else cast(option.step), **common))
    if option.widget is Widget.CHECKBOX:
        return bool(where.checkbox(option.label, **common))
    if option.widget is Widget.TOGGLE:
        return bool(where.toggle(option.label, **common))
    if option.widget is Widget.SUBJECT:  # subject IDs: a subject-level read, for this viewer
        offered = list(option.subjects(get_database(), cut, current_visitor().viewer,
                                       filters or Filters())
                       if option.subjects is not None and cut is not None else ())
        listed = offered[:LISTED_SUBJECTS]
        if st.session_state[key] is not None and st.session_state[key] not in listed:
            listed.insert(0, st.session_state[key])  # linked or typed: the panel says if unknown
        if len(offered) > LISTED_SUBJECTS:
            common["help"] = (f"{len(offered):,} patients: the first {LISTED_SUBJECTS:,} are "
                              "listed (SMART101 first); type any other patient's ID.")
        return where.selectbox(option.label, listed, placeholder="Choose or type a patient ID",
                               accept_new_options=len(offered) > LISTED_SUBJECTS, **common)
    if not choices:
        return default  # nothing to choose from (a single cut): the default stands
    pick = where.radio if option.widget is Widget.RADIO else where.selectbox
    extra = {"horizontal": True} if option.widget is Widget.RADIO else {}
    return pick(option.label, list(labels), format_func=labels.__getitem__, **common, **extra)


# The patient choice lists this many IDs: with a registry of controls it offered 100,000,
# which the browser took 1-2 s to draw on every click; any other ID can be typed.
LISTED_SUBJECTS = 1000


def access_key(viewer: Viewer) -> tuple[str, tuple[str, ...]]:
    """What a cached result is kept for: the role and its permissions (never the user)."""
    return viewer.role, tuple(sorted(viewer.permissions))


@st.cache_resource(max_entries=64, show_spinner=False)
def cached_panel(key: str, options: tuple[tuple[str, Any], ...], fingerprint: str,
                 filters: Filters, settings: Settings, access: tuple[str, tuple[str, ...]],
                 _context: PageContext, section: str | None = None) -> PanelResult:
    """A panel's result, kept per (panel, options, cut, filters, settings, role, section).

    A rerun with the same choices (a page revisited, a toggle flipped back) is then free. The
    role and its permissions are part of the key, so nothing built for one role is ever
    served to another. A result is immutable once built (frozen dataclasses; drawing does not
    change it), so the cached object is shared rather than copied. `section`: only that
    section's items (None: every item).
    """
    return build_panel(find_panel(key), _context.db, _context.cut, filters, settings,
                       _context.viewer, dict(options), section=section)


def shown_section(panel: Panel, context: PageContext) -> Section | None:
    """The one section the page builds and draws: the open tab (the first until another is
    clicked). None when the page shows every item: the print view, a single section (of
    those the cut can fill: without adae the AE page is its deaths)."""
    sections = panel.sections(context.viewer, context.cut)
    if context.print_view or len(sections) < 2:
        return None
    title = st.session_state.get(panel.section_key)
    return next((s for s in sections if s.title == title), sections[0])


def run_panel(panel: Panel, context: PageContext) -> None:
    """Build a panel through the runner and draw it; a user error or a bug is a message."""
    viewer = context.viewer
    section = shown_section(panel, context)
    try:
        # One section at a time: a filter click computes and redraws one section, not the
        # whole page (its charts, and at 100,000 controls its listings of thousands of rows).
        result = cached_panel(panel.key, tuple(sorted(context.options.items())),
                              context.cut.fingerprint, context.filters, context.settings,
                              access_key(viewer), _context=context,
                              section=section.key if section else None)
    except DatasetUnavailable as exc:
        st.error(escape_markdown(exc.describe(shows_subject_ids(viewer))))
        audit_view(context, rows=0, detail=f"not built: {exc.dataset} unavailable")
        return
    except AccessDenied as exc:
        st.error(escape_markdown(exc))
        record(viewer, Action.ACCESS_DENIED, page=context.page, detail=str(exc))
        return
    except ExportUnreadable as exc:
        st.error(escape_markdown(exc.describe()))
        audit_view(context, rows=0, detail="not built: the export could not be read")
        return
    except Exception:  # a bug: keep the other panels alive and the traceback off the screen
        log.exception("panel %s failed", panel.key)
        st.error("This panel could not be drawn because of an internal error; it has been "
                 "logged on the server. The other pages still work.")
        return
    # Recorded before drawing: a trail that cannot be written stops the page with no data shown.
    audit_view(context, rows=sum(len(item.data) for item in result.items),
               section=section.key if section else None)
    draw_panel(panel, result, context, section)


def audit_view(context: PageContext, rows: int, detail: str = "",
               section: str | None = None) -> None:
    """Record a data page's view: its filters, options, export, the section shown (a page
    with sections builds and shows one) and the rows it returned."""
    options = ", ".join(f"{k}={v}" for k, v in sorted(context.options.items()))
    audit_visit(context.viewer, context.page,
                (context.filters, tuple(sorted(context.options.items()))),
                filters=context.filters.describe(), export=context.cut.fingerprint, rows=rows,
                detail="; ".join(p for p in (f"section: {section}" if section else "",
                                             f"options: {options}" if options else "", detail)
                                 if p), section=section)


def audit_visit(viewer: Viewer, page: str, state: object, section: str | None = None,
                **fields: Any) -> None:
    """A page view when the page or its section changed (opening the SAE listing is a view
    of subject-level rows of its own); a filter change when only its `state` (filters,
    options) did; nothing on a rerun that changed neither."""
    view = ((page, section), state)
    last = st.session_state.get("_audit_last_view")
    if view == last:
        return
    st.session_state["_audit_last_view"] = view
    action = Action.PAGE_VIEW if last is None or last[0] != view[0] else Action.FILTER_CHANGE
    record(viewer, action, page=page, **fields)


def draw_panel(panel: Panel, result: PanelResult, context: PageContext,
               shown: Section | None = None) -> None:
    """The result's messages and items; with `shown` (the section built), the sections as
    tabs and that section's items in its tab."""
    st.subheader(escape_markdown(result.title), anchor=False)
    for message in result.messages:
        {Level.INFO: st.info, Level.WARNING: st.warning, Level.ERROR: st.error}[message.level](
            escape_markdown(message.text))
    if shown is None or not result.n_per_group:  # on paper, one section, or no patient
        for item in result.items:
            draw_item(result, item, context)
    else:
        # One section at a time: a filter click then redraws one section's charts and
        # tables, not the whole page's (the browser's time grew with each chart and grid).
        sections = panel.sections(context.viewer, context.cut)
        tabs = st.tabs([s.title for s in sections], key=panel.section_key, on_change="rerun")
        for section, tab in zip(sections, tabs, strict=True):
            if tab.open:
                with tab:
                    items = section_items(panel, result, section)
                    for item in items:
                        draw_item(result, item, context)
                    if not items:
                        st.info("Nothing to show in this section for this export and the "
                                "patients selected; the notes above say why.")
    if result.definitions:
        with st.expander("Definitions in force"):  # one message, not one per line
            st.markdown("\n".join("- " + escape_markdown(line) for line in result.definitions))
    st.caption(escape_markdown(result.footer))


def section_items(panel: Panel, result: PanelResult, section: Section) -> list[PanelItem]:
    return [item for item in result.items if panel.item(item.key).section == section]


def keep_state(key: str) -> None:
    """Keep a widget's state over a run that does not draw it: Streamlit forgets it after
    such a run, unless the state is assigned again."""
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]


def draw_item(result: PanelResult, item: PanelItem, context: PageContext) -> None:
    st.markdown(f"#### {escape_markdown(item.title)}")
    names = group_names(result.filters)
    if item.chart is not None:
        # theme=None: the figure carries its look (charts.LAYOUT_LOOK); Streamlit's theme
        # would add a template, and with it a second drawing of every chart from scratch.
        st.plotly_chart(AsDrawn(item.chart), key=f"chart_{item.key}", theme=None,
                        width=paper.FIGURE_WIDTH if context.print_view else "stretch")
    else:  # the print view: every row, as printed (no links on paper)
        draw_table(item.data, names, f"table_{item.key}", whole=context.print_view,
                   links=context.viewer.can(Permission.SUBJECT_LEVEL) and not context.print_view)
    if item.caption:
        st.caption(escape_markdown(item.caption))
    if item.link is not None:
        detail = find_panel(item.link)
        st.page_link(f"pages/{detail.key}.py", label=f"Detail: {detail.title}",
                     icon=":material/arrow_forward:")
    # One row as one horizontal block: columns sent four blocks per item, each a message the
    # browser handles on every click.
    row = st.container(horizontal=True)
    if context.viewer.can(Permission.DOWNLOAD):
        # Deferred: a file is built, and the download recorded, only when clicked; and
        # on_click="ignore", because a rerun would cancel the download.
        view = query_string(st.session_state.get(shared_view.WRITTEN) or {})
        for kind, mime in (("csv", "text/csv"), ("xlsx", XLSX_MIME)):
            name = item_file_name(result, item, kind)
            build = (lambda: item_csv(item)) if kind == "csv" else \
                (lambda: item_xlsx(result, item, view))
            row.download_button(f"Download {kind.upper()}",
                                audited_download(context, build, name, len(item.data)),
                                file_name=name, mime=mime, on_click="ignore",
                                key=f"download_{kind}_{item.key}")
    if item.queries:
        # Drawn only while open: the SQL, highlighted token by token, made 40% of a survival
        # page's DOM (2,400 of 6,000 nodes), drawn again on every click and rarely read.
        queries = row.expander("Show query" if len(item.queries) == 1 else
                               f"Show the {len(item.queries)} queries",
                               key=f"queries_{item.key}", on_change="rerun")
        if queries.open:
            with queries:
                for query in item.queries:
                    st.code(query.sql, language="sql")
                    st.code(query.format_params() or "(no parameters)", language="text")


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
def audited_download(context: PageContext, build: Callable[[], bytes], name: str,
                     rows: int) -> Callable[[], bytes]:
    """A file built when its button is clicked; the click is audited."""
    viewer, page = context.viewer, context.page
    filters, fingerprint = context.filters.describe(), context.cut.fingerprint

    def payload() -> bytes:
        from smart101_dash.ui.identity import audit_log  # no Streamlit call: runs off-script

        data = build()
        audit_log().append(viewer, Action.DOWNLOAD, page=page, filters=filters,
                           export=fingerprint, rows=rows, detail=name)
        return data

    return payload
