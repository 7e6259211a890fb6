"""A view as a URL: the page, the data cut, every filter and every page option, as query
parameters. Copying the address to a colleague, reloading it, or giving it to
`tables --view` shows the same numbers.

`/survival?arm=GROUP+A&diag=AML&landmark=1&landmark_day=28` is the survival page of Group A
against adult controls, AML only, from landmark day 28. A filter or option at its default is
left out of the URL, so a link stays short and states only what was chosen. A value the data
cut does not know (a diagnosis it lacks, a day out of range) is left out with a problem that
the page shows, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from smart101_dash.config import Settings
from smart101_dash.contract import AGE_GROUPS, COHORTS
from smart101_dash.filters import ARM_AGE_GROUP, Filters
from smart101_dash.panels.spec import Option, Panel, Section, Widget

# Query parameter -> the Filters field it fills (several values: the parameter repeated).
LIST_FILTERS = {"cohort": "cohorts", "age": "age_groups", "diag": "diagnoses",
                "disstat": "disease_statuses", "donor": "donor_types"}
FILTER_LABELS = {"cohort": "cohort", "age": "age group", "diag": "diagnosis",
                 "disstat": "disease status", "donor": "donor type"}
# Every parameter that is not a page option; no panel may name an option so (a test checks).
RESERVED = frozenset({*LIST_FILTERS, "arm", "from", "to", "cut", "print", "section"})

Query = dict[str, list[str]]


def parse_query(text: str) -> tuple[str | None, Query]:
    """A shared URL, a path with a query (`survival?arm=...`) or a bare query string, as the
    page key it names (None when it names none) and its parameters."""
    text = text.strip()
    if "?" not in text and "=" in text:
        path, query = "", text
    else:
        parts = urlsplit(text)
        path, query = parts.path, parts.query
    page = path.rstrip("/").rsplit("/", 1)[-1] or None
    return page, parse_qs(query, keep_blank_values=False)


def view_query(filters: Filters, options: Mapping[str, Any] | None = None,
               cut: str | None = None, defaults: Mapping[str, Any] | None = None,
               print_view: bool = False, section: str | None = None) -> Query:
    """The query parameters of a view: only what differs from the defaults (`section`: the
    key of the open section, when it is not the page's first)."""
    query: Query = {}
    if cut:
        query["cut"] = [cut]
    for name, attribute in LIST_FILTERS.items():
        values = tuple(getattr(filters, attribute))
        if values and not (name == "cohort" and values == COHORTS):
            query[name] = list(values)
    if filters.arm:
        query["arm"] = [filters.arm]
    if filters.enrolled_from:
        query["from"] = [filters.enrolled_from.isoformat()]
    if filters.enrolled_to:
        query["to"] = [filters.enrolled_to.isoformat()]
    defaults = dict(defaults or {})
    for name, value in (options or {}).items():
        if name not in defaults or value != defaults[name]:
            query[name] = [option_text(value)]
    if section:
        query["section"] = [section]
    if print_view:
        query["print"] = ["1"]
    return query


def query_string(query: Query) -> str:
    return urlencode([(k, v) for k, values in query.items() for v in values])


def option_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_filters(query: Query, choices: Mapping[str, Iterable[str]],
                 period: tuple[date | None, date | None] = (None, None)
                 ) -> tuple[Filters, list[str]]:
    """The filters a query asks for, each value checked against the cut's `choices` (by
    parameter: cohort, age, diag, disstat, donor) and the enrollment `period`."""
    problems: list[str] = []
    known = {"cohort": COHORTS, "age": AGE_GROUPS, **{k: tuple(v) for k, v in choices.items()}}
    fields: dict[str, Any] = {}
    for name, attribute in LIST_FILTERS.items():
        asked = query.get(name, [])
        kept = tuple(dict.fromkeys(v for v in asked if v in known.get(name, ())))
        for value in asked:
            if value not in kept:
                problems.append(f"The link's {FILTER_LABELS[name]} {value!r} is not in this "
                                "data cut; it was left out.")
        if kept:
            fields[attribute] = kept
    arm = _last(query, "arm")
    if arm is not None:
        if arm in ARM_AGE_GROUP:
            fields["arm"] = arm
        else:
            problems.append(f"The link's arm {arm!r} is not one of {', '.join(ARM_AGE_GROUP)}; "
                            "both arms are shown.")
    for name, attribute in (("from", "enrolled_from"), ("to", "enrolled_to")):
        text = _last(query, name)
        if text is None:
            continue
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems.append(f"The link's enrollment date {name} {text!r} is not a date "
                            "(YYYY-MM-DD); it was left out.")
            continue
        first, last = period
        if (first and day < first) or (last and day > last):
            day = min(max(day, first or day), last or day)
            problems.append(f"The link's enrollment date {name} {text} is outside this cut's "
                            f"enrollment ({first} to {last}); {day} is used.")
        fields[attribute] = day
    return Filters(**fields), problems


def read_options(panel: Panel, query: Query, settings: Settings, cut: Any = None,
                 allowed: Iterable[Option] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The page options of `panel` a query sets (the others keep their defaults), each
    parsed by its widget and checked against its choices and bounds. `allowed`: the options
    the viewer may use (a subject-level option in a link is ignored for a sponsor)."""
    allowed_names = {o.name for o in (panel.options if allowed is None else allowed)}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for option in panel.options:
        text = _last(query, option.name)
        if text is None:
            continue
        if option.name not in allowed_names:
            problems.append(f"The link's option {option.label!r} needs subject-level access; "
                            "it was left out.")
            continue
        try:
            values[option.name] = parse_option(option, text, settings, cut)
        except ValueError as exc:
            problems.append(f"The link's option {option.label!r}: {exc}; the default is used.")
    return values, problems


def read_section(panel: Panel, query: Query, sections: Iterable[Section]
                 ) -> tuple[Section | None, list[str]]:
    """The section a query opens, among `sections` (the viewer's): None for the first."""
    key = _last(query, "section")
    if key is None:
        return None, []
    for section in sections:
        if section.key == key:
            return section, []
    problem = (f"The link's section {key!r} is not on the {panel.title} page for this role; "
               "its first section is shown.")
    return None, [problem]


def parse_option(option: Option, text: str, settings: Settings, cut: Any = None) -> Any:
    if option.widget in (Widget.CHECKBOX, Widget.TOGGLE):
        if text.lower() not in ("1", "0", "true", "false", "on", "off"):
            raise ValueError(f"{text!r} is not on (1) or off (0)")
        return text.lower() in ("1", "true", "on")
    if option.widget in (Widget.NUMBER, Widget.INTEGER):
        try:
            value: float = int(text) if option.widget is Widget.INTEGER else float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        upper = option.upper(settings)
        if (option.minimum is not None and value < option.minimum) or \
                (upper is not None and value > upper):
            raise ValueError(f"{text} is outside {option.minimum} to {upper}")
        return value
    choices = {option_text(v): v for _, v in option.choices_for(settings, cut)}
    if choices and text not in choices:
        raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
    return choices.get(text, text)


def _last(query: Query, name: str) -> str | None:
    values = query.get(name) or []
    return values[-1] if values else None
