"""The view in the address bar: read once when a session opens (a shared link, a reload),
written back after every run, so the URL always shows the page's filters and options.

Reading sets the widgets' session state before they are drawn; writing replaces the query
string (page switches clear it; the next run writes it again). `views.py` says what a URL
holds; this module only moves it between the URL and the widgets.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from streamlit.errors import StreamlitAPIException

from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.safe_text import escape_markdown
from smart101_dash.views import Query, read_filters, read_options, read_section, view_query

WRITTEN = "_view_written"  # the query last written (or read) by this session
PENDING = "_view_pending"  # a link's query, until the page it names has drawn its options
PROBLEMS = "_view_problems"


def incoming_query() -> Query | None:
    """The URL's query when it should set the view: the first run of a session, or a URL
    that differs from the one this session wrote (a link followed within the session). An
    empty query after a page switch sets nothing: the session's filters stay."""
    current = url_query()
    written = st.session_state.get(WRITTEN)
    if written is not None and (not current or current == written):
        return None
    st.session_state[WRITTEN] = current
    st.session_state[PENDING] = current
    st.session_state[PROBLEMS] = []
    return current


def restore_cut(query: Query, labels: list[str], newest: str) -> None:
    """The link's data cut (its folder name) into the cut picker's state."""
    asked = (query.get("cut") or [None])[-1]
    if asked is None or asked == newest:
        st.session_state["f_cut"] = ""
    elif asked in labels:
        st.session_state["f_cut"] = asked
    else:
        st.session_state["f_cut"] = ""
        _problem(f"The link's data cut {asked!r} is not in the export folder; the newest cut "
                 f"({newest}) is shown.")


def restore_filters(query: Query, choices: dict[str, list[str]], period: tuple[Any, Any],
                    arm_labels: dict[str | None, str]) -> None:
    """The link's filters into the sidebar widgets' state (values checked against the cut)."""
    filters, problems = read_filters(query, choices, period)
    for problem in problems:
        _problem(problem)
    state = st.session_state
    state["f_cohorts"] = list(filters.cohorts)
    state["f_arm"] = arm_labels[filters.arm]
    state["f_age"] = list(filters.age_groups)
    state["f_diag"] = list(filters.diagnoses)
    state["f_disstat"] = list(filters.disease_statuses)
    state["f_dontype"] = list(filters.donor_types)
    first, last = period
    if first is not None and last is not None:
        state["f_period"] = (filters.enrolled_from or first, filters.enrolled_to or last)
        state["_f_period_range"] = (first, last)
    state["f_print"] = (query.get("print") or ["0"])[-1] == "1"


def restore_options(panel: Any, context: Any) -> None:
    """A link's page options, into the option widgets' state, once, on the page it names."""
    query = st.session_state.get(PENDING)
    if not query:
        return
    st.session_state[PENDING] = None
    values, problems = read_options(panel, query, context.settings, context.cut,
                                    panel.visible_options(context.viewer))
    for problem in problems:
        _problem(problem)
    for option in panel.options:
        if option.name in values:
            st.session_state[option.widget_key(panel.key)] = values[option.name]
    sections = panel.sections(context.viewer)
    section, problems = read_section(panel, query, sections)
    for problem in problems:
        _problem(problem)
    if sections:
        st.session_state[panel.section_key] = (section or sections[0]).title


def open_section(panel: Any, viewer: Any) -> str | None:
    """The key of the page's open section for the URL; None for the first (the default)."""
    sections = panel.sections(viewer)
    titles = {section.title: section.key for section in sections[1:]}
    return titles.get(st.session_state.get(panel.section_key))


def write_url(filters: Filters, options: dict[str, Any] | None = None,
              defaults: dict[str, Any] | None = None, print_view: bool = False,
              section: str | None = None) -> None:
    """The view shown, into the address bar (only when it changed)."""
    cut = st.session_state.get("f_cut") or None
    query = view_query(filters, options or {}, cut, defaults or {}, print_view, section)
    if query != url_query():  # a page switch cleared the URL: written again
        st.query_params.from_dict(query)
    st.session_state[WRITTEN] = query


def url_query() -> Query:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def show_problems() -> None:
    """What a link asked for that this cut or this viewer cannot show: said once."""
    for problem in st.session_state.get(PROBLEMS) or []:
        st.warning(escape_markdown(problem))
    st.session_state[PROBLEMS] = []


def _problem(text: str) -> None:
    st.session_state.setdefault(PROBLEMS, [])
    st.session_state[PROBLEMS] = [*st.session_state[PROBLEMS], text]


SIGN_IN_WAIT_SECONDS = 900
BROWSER_COOKIE = "_streamlit_xsrf"  # set by Streamlit on a browser's first visit; kept after


@st.cache_resource
def _links_awaiting_sign_in() -> dict[str, tuple[float, str, Query]]:
    """Per browser (a hash of its cookie): the page and query of the link it opened before
    signing in. Sign-in returns to the app's root (Streamlit's OpenID Connect callback), so
    the link is followed from here afterwards."""
    return {}


def _browser() -> str | None:
    """This browser, by the token of its XSRF cookie (`2|mask|masked token|time`: the mask
    changes between responses, the token it masks does not)."""
    cookie = st.context.cookies.get(BROWSER_COOKIE)
    if not isinstance(cookie, str) or not cookie:  # none (or a test's stand-in)
        return None
    parts = cookie.split("|")
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked))
    except (IndexError, ValueError, ZeroDivisionError):
        token = cookie.encode()  # another form: the cookie itself
    return hashlib.sha256(token).hexdigest()


def remember_link_for_sign_in() -> None:
    """On the sign-in page: the link's page and view, kept for this browser for 15 minutes
    (a page path and query, never data: the role decides what it shows after sign-in)."""
    url = st.context.url
    browser = _browser()
    page = urlsplit(url if isinstance(url, str) else "").path.rstrip("/").rsplit("/", 1)
    target = page[-1] if len(page) > 1 else ""
    query = url_query()
    if browser is None or (target in ("", "sign-in") and not query):
        return
    links = _links_awaiting_sign_in()
    now = time.time()
    for key in [k for k, (at, _, _) in links.items() if now - at > SIGN_IN_WAIT_SECONDS]:
        links.pop(key, None)
    links[browser] = (now, target, query)


def follow_link_after_sign_in() -> None:
    """The first page of a signed-in session: go to the link opened before signing in."""
    if WRITTEN in st.session_state:
        return
    browser = _browser()
    link = _links_awaiting_sign_in().pop(browser, None) if browser else None
    if link is None or time.time() - link[0] > SIGN_IN_WAIT_SECONDS:
        return
    _, target, query = link
    st.session_state[WRITTEN] = None  # followed once
    try:
        st.switch_page(f"pages/{target or PANELS[0].key}.py",
                       query_params=query)
    except StreamlitAPIException:
        return  # a page this role is not given: stay on the first page
