"""A view as a URL: written with only what was chosen, read back to the same view, and every
value the cut does not know left out with a message."""

from __future__ import annotations

from datetime import date

from viewers import DSMB, SPONSOR

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.views import (
    RESERVED,
    parse_query,
    query_string,
    read_filters,
    read_options,
    read_section,
    view_query,
)

CHOICES = {"diag": ["ALL", "AML"], "disstat": ["CR1", "CR2"], "donor": ["HAPLO", "MUD"]}
PERIOD = (date(2022, 1, 1), date(2024, 12, 31))


def test_a_view_round_trips_through_its_url() -> None:
    filters = Filters(cohorts=("SMART101",), arm="GROUP B", age_groups=("PEDIATRIC",),
                      diagnoses=("AML", "ALL"), disease_statuses=("CR2",),
                      donor_types=("HAPLO",), enrolled_from=date(2023, 1, 1),
                      enrolled_to=date(2023, 6, 30))
    survival = find_panel("survival")
    defaults = {o.name: o.default(SETTINGS) for o in survival.options}
    options = {**defaults, "landmark": True, "landmark_day": 28}
    url = "https://host/survival?" + query_string(view_query(filters, options, "2026-06-30",
                                                             defaults))
    page, query = parse_query(url)
    assert page == "survival"
    assert query["cut"] == ["2026-06-30"]
    assert "population" not in query  # at its default: not in the URL
    assert read_filters(query, CHOICES, PERIOD) == (filters, [])
    values, problems = read_options(survival, query, SETTINGS)
    assert values == {"landmark": True, "landmark_day": 28} and not problems


def test_defaults_make_an_empty_query() -> None:
    assert view_query(Filters()) == {}
    assert parse_query("arm=GROUP+A") == (None, {"arm": ["GROUP A"]})
    assert parse_query("gvhd?diag=AML")[0] == "gvhd"


def test_unknown_values_are_left_out_with_a_problem() -> None:
    query = {"diag": ["AML", "XYZ"], "arm": ["GROUP Z"], "from": ["not a date"],
             "to": ["2030-01-01"], "cohort": ["PLACEBO"]}
    filters, problems = read_filters(query, CHOICES, PERIOD)
    assert filters == Filters(diagnoses=("AML",), enrolled_to=date(2024, 12, 31))
    text = " ".join(problems)
    for said in ("diagnosis 'XYZ'", "arm 'GROUP Z'", "'not a date' is not a date",
                 "outside this cut's enrollment", "cohort 'PLACEBO'"):
        assert said in text
    values, problems = read_options(find_panel("survival"),
                                    {"landmark": ["maybe"], "landmark_day": ["0"],
                                     "population": ["everyone"]}, SETTINGS)
    assert values == {} and len(problems) == 3


def test_a_subject_level_option_in_a_link_is_refused_to_a_role_without_it() -> None:
    cd4 = find_panel("cd4_reconstitution")
    hidden = [o for o in cd4.options if o.subject_level]
    assert hidden
    shown = [o for o in cd4.options if not o.subject_level]
    values, problems = read_options(cd4, {hidden[0].name: ["1"]}, SETTINGS, allowed=shown)
    assert values == {} and "needs subject-level access" in problems[0]


def test_no_page_option_is_named_like_a_filter() -> None:
    for panel in PANELS:
        assert not {o.name for o in panel.options} & RESERVED, panel.key


def test_the_open_section_is_in_the_link_and_an_unknown_one_is_said() -> None:
    gvhd = find_panel("gvhd")
    query = view_query(Filters(), section="chronic")
    assert query == {"section": ["chronic"]}
    section, problems = read_section(gvhd, query, gvhd.sections(DSMB))
    assert section.title == "Chronic GvHD" and not problems
    assert read_section(gvhd, {}, gvhd.sections(DSMB)) == (None, [])
    section, problems = read_section(gvhd, {"section": ["nope"]}, gvhd.sections(DSMB))
    assert section is None and "'nope' is not on the GvHD page" in problems[0]
    ae = find_panel("adverse_events")  # the SAE listing's section is subject-level
    assert read_section(ae, {"section": ["serious"]}, ae.sections(DSMB))[0].key == "serious"
    assert read_section(ae, {"section": ["serious"]}, ae.sections(SPONSOR))[0] is None
