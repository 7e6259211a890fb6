"""The one runner: permissions before anything is built, options checked, declared items only."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from export_factory import write_export
from plotly.utils import PlotlyJSONEncoder
from viewers import ANALYST, DSMB, SPONSOR

from smart101_dash.access import AccessDenied, Viewer
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.base import PanelItem, PanelResult
from smart101_dash.panels.registry import PANELS, panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, object]:
    db = Database()
    return db, db.load(write_export(tmp_path_factory.mktemp("runner") / "export"))


def run(setup: tuple, key: str, viewer: Viewer, **options: object) -> PanelResult:
    db, cut = setup
    return build_panel(panel(key), db, cut, Filters(), SETTINGS, viewer, options)


@pytest.mark.parametrize("key", [p.key for p in PANELS])
def test_a_panel_has_sections_for_every_item_or_for_none(key: str) -> None:
    sections = [spec.section for spec in panel(key).items]
    assert all(sections) or not any(sections)
    distinct = set(filter(None, sections))
    assert len({s.key for s in distinct}) == len({s.title for s in distinct}) == len(distinct)


@pytest.mark.parametrize("key", [p.key for p in PANELS])
def test_every_panel_builds_only_what_each_role_may_see(setup: tuple, key: str) -> None:
    for viewer in (DSMB, ANALYST, SPONSOR):
        result = run(setup, key, viewer)
        allowed = {s.key for s in panel(key).allowed_items(viewer)}
        assert {item.key for item in result.items} <= allowed
        assert all(item.queries for item in result.items), key  # "Show query" has the SQL


def test_a_role_without_aggregate_sees_nothing(setup: tuple) -> None:
    nobody = Viewer("x@y.z", "nobody", frozenset())
    with pytest.raises(AccessDenied, match="'nobody' does not allow the page 'Overview'"):
        run(setup, "overview", nobody)


def test_subject_level_options_and_bad_options(setup: tuple) -> None:
    assert "cd4_trajectories" in [i.key for i in run(setup, "cd4_reconstitution", DSMB,
                                                     trajectories=True).items]
    with pytest.raises(AccessDenied, match="Patient trajectories"):
        run(setup, "cd4_reconstitution", SPONSOR, trajectories=True)
    assert [o.name for o in panel("cd4_reconstitution").visible_options(SPONSOR)] == [
        "threshold_cells_per_ul", "threshold_inclusive", "window_days", "log_axis",
        "landmark", "landmark_day", "population"]
    with pytest.raises(ValueError, match="is not one of"):
        run(setup, "adverse_events", DSMB, window_days=5)
    with pytest.raises(ValueError, match="has no option"):
        run(setup, "gvhd", DSMB, colour="red")


def test_a_panel_that_builds_more_than_it_declares_is_stopped(setup: tuple) -> None:
    spec = panel("overview")
    real = spec.build

    def leaky(*args: object, **kwargs: object) -> PanelResult:
        result = real(*args, **kwargs)
        extra = PanelItem("death_listing", "Deaths", result.items[0].data)
        return replace(result, items=(*result.items, extra))

    def undeclared(*args: object, **kwargs: object) -> PanelResult:
        result = real(*args, **kwargs)
        return replace(result, items=(*result.items, PanelItem("secret", "x", result.items[0].data)))

    db, cut = setup
    listing = replace(spec, build=leaky,
                      items=(*spec.items, *panel("adverse_events").items[-1:]))
    with pytest.raises(AccessDenied, match="subject-level item death_listing"):
        build_panel(listing, db, cut, Filters(), SETTINGS, SPONSOR)
    with pytest.raises(KeyError, match="declares no item 'secret'"):
        build_panel(replace(spec, build=undeclared), db, cut, Filters(), SETTINGS, DSMB)


SECTIONED = [p.key for p in PANELS if any(spec.section for spec in p.items)]


@pytest.fixture(scope="module")
def demo_setup() -> tuple[Database, object]:
    db = Database()
    return db, db.load(Path(__file__).resolve().parent.parent / "data" / "demo" / "2026-10-31")


def same_item(alone: PanelItem, whole: PanelItem) -> None:
    assert (alone.key, alone.title, alone.caption, alone.link, alone.queries) == \
        (whole.key, whole.title, whole.caption, whole.link, whole.queries)
    pd.testing.assert_frame_equal(alone.data, whole.data)
    assert json.dumps(alone.chart, cls=PlotlyJSONEncoder, sort_keys=True) == \
        json.dumps(whole.chart, cls=PlotlyJSONEncoder, sort_keys=True)


@pytest.mark.parametrize("key", SECTIONED)
def test_a_section_built_alone_is_that_section_of_the_whole_panel(
        setup: tuple, demo_setup: tuple, key: str) -> None:
    # A page builds only its open section: the same items, numbers, charts and queries as
    # the whole panel's (which the print view, the reports and `tables` show).
    spec = panel(key)
    options = {"trajectories": True} if key == "cd4_reconstitution" else {}
    for (db, cut), viewer in itertools.product((setup, demo_setup), (DSMB, SPONSOR)):
        chosen = options if viewer is DSMB else {}
        whole = build_panel(spec, db, cut, Filters(), SETTINGS, viewer, chosen)
        for section in spec.sections(viewer):
            alone = build_panel(spec, db, cut, Filters(), SETTINGS, viewer, chosen,
                                section=section.key)
            expected = [i for i in whole.items if spec.item(i.key).section == section]
            assert [i.key for i in alone.items] == [i.key for i in expected], section
            for built, shown in zip(alone.items, expected, strict=True):
                same_item(built, shown)
            assert set(alone.messages) <= set(whole.messages)
            assert (alone.definitions, alone.n_per_group, alone.start, alone.options) == \
                (whole.definitions, whole.n_per_group, whole.start, whole.options)


def test_a_section_is_one_the_panel_has_for_the_role(setup: tuple) -> None:
    db, cut = setup
    with pytest.raises(ValueError, match="has no section 'nope'"):
        build_panel(panel("gvhd"), db, cut, Filters(), SETTINGS, DSMB, section="nope")
    # The SAE listing's section is subject-level: not a sponsor's.
    with pytest.raises(ValueError, match="no section 'serious' for the role 'sponsor'"):
        build_panel(panel("adverse_events"), db, cut, Filters(), SETTINGS, SPONSOR,
                    section="serious")


def test_a_section_the_cut_cannot_fill_is_not_offered(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export")
    for name in ("adae", "adgvhd"):
        (export / f"{name}.parquet").unlink()
    cut = Database().load(export)
    events = panel("adverse_events")
    assert [s.key for s in events.sections(DSMB)] == ["events", "deaths", "serious"]
    assert [s.key for s in events.sections(DSMB, cut)] == ["deaths"]  # deaths need adsl only
    assert "grfs" not in [s.key for s in panel("survival").sections(DSMB, cut)]
    assert "grfs" in [s.key for s in panel("survival").sections(DSMB)]


def test_a_build_that_gives_more_than_its_section_is_stopped(setup: tuple) -> None:
    spec = panel("gvhd")
    real = spec.build

    def everything(*args: object, **kwargs: object) -> PanelResult:
        return real(*args, **{**kwargs, "items": None})

    db, cut = setup
    with pytest.raises(ValueError, match="which was not asked for"):
        build_panel(replace(spec, build=everything), db, cut, Filters(), SETTINGS, DSMB,
                    section="acute")


def test_a_missing_dataset_is_said_before_building(tmp_path: Path) -> None:
    from export_factory import valid_tables

    from smart101_dash.store import DatasetUnavailable

    tables = valid_tables()
    del tables["adinf"]
    db = Database()
    with pytest.raises(DatasetUnavailable, match="adinf is not in this export"):
        build_panel(panel("infections"), db, db.load(write_export(tmp_path / "e", tables)),
                    Filters(), SETTINGS, DSMB)


def test_with_an_arm_chosen_every_figure_names_the_arm_and_its_controls() -> None:
    """Legends, risk-table rows (categories of their axis, each still holding its numbers)
    and footers say "Group A (adults)" and "Controls, adults", not the cohort codes."""
    from pathlib import Path

    from smart101_dash.panels.registry import panel as find_panel
    from smart101_dash.store import Database

    demo = Path(__file__).resolve().parent.parent / "data" / "demo" / "2026-10-31"
    db = Database()
    result = build_panel(find_panel("survival"), db, db.load(demo), Filters(arm="GROUP A"),
                         SETTINGS, ANALYST)
    figure = result.item("overall_survival").figure.to_plotly_json()
    names = [t["name"] for t in figure["data"] if t.get("name")]
    assert names == ["Group A (adults) · overall survival", "Controls, adults · overall survival"]
    risk = [t for t in figure["data"] if t.get("mode") == "text"]
    rows = figure["layout"]["yaxis2"]["categoryarray"]
    assert sorted(rows) == ["Controls, adults", "Group A (adults)"]
    assert all(set(t["y"]) <= set(rows) and t["text"] for t in risk)
    hovers = {h.split("<extra>")[1] for t in risk for h in t["hovertemplate"]}
    assert hovers == {"Group A (adults)</extra>", "Controls, adults</extra>"}
    assert "Group A (adults) n=18, Controls, adults n=90" in result.footer
    plain = build_panel(find_panel("survival"), db, db.load(demo), Filters(), SETTINGS, ANALYST)
    assert "SMART101 · overall survival" in [t.name for t in plain.item("overall_survival")
                                             .figure.data]


def test_a_bar_per_group_keeps_its_axis_label_when_the_groups_are_named() -> None:
    """The maximum aGvHD grade bars: each bar's category and the axis's categories are
    renamed together (the axis lost its labels when only the categories were)."""
    from pathlib import Path

    from smart101_dash.panels.registry import panel as find_panel
    from smart101_dash.store import Database

    demo = Path(__file__).resolve().parent.parent / "data" / "demo" / "2026-10-31"
    db = Database()
    result = build_panel(find_panel("gvhd"), db, db.load(demo), Filters(arm="GROUP B"),
                         SETTINGS, ANALYST)
    figure = result.item("gvhd_max_grade_chart").figure.to_plotly_json()
    categories = {v for t in figure["data"] if t.get("type") == "bar" for v in t["y"]}
    assert categories == {"Group B (pediatric)", "Controls, pediatric"}
    for axis in (a for k, a in figure["layout"].items() if k.startswith("yaxis")):
        assert set(axis.get("categoryarray", categories)) <= categories
