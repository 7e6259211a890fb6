"""The panel-result cache: keyed by panel and options, cut, filters, settings and role."""

from __future__ import annotations

from pathlib import Path

import pytest
from export_factory import write_export
from viewers import DSMB, SPONSOR, viewer_of

from smart101_dash.access import Viewer
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.base import PanelResult
from smart101_dash.store import Database
from smart101_dash.ui import page


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Filters, str]]:
    """Every real build the cache lets through: (panel, filters, role)."""
    seen: list[tuple[str, Filters, str]] = []
    real = page.build_panel

    def counting(panel: object, db: Database, cut: object, filters: Filters, settings: object,
                 viewer: Viewer, options: dict, section: str | None = None) -> PanelResult:
        seen.append((panel.key, filters, viewer.role))  # type: ignore[attr-defined]
        return real(panel, db, cut, filters, settings, viewer, options,  # type: ignore[arg-type]
                    section=section)

    monkeypatch.setattr(page, "build_panel", counting)
    return seen


def run(db: Database, export: Path, filters: Filters, viewer: Viewer, key: str = "overview",
        options: tuple = (), section: str | None = None) -> PanelResult:
    context = page.PageContext(db, db.load(export), filters, SETTINGS, viewer, key,
                               dict(options))
    return page.cached_panel(key, options, context.cut.fingerprint, filters, SETTINGS,
                             page.access_key(viewer), _context=context, section=section)


def test_each_section_is_built_and_kept_on_its_own(tmp_path: Path, calls: list) -> None:
    db = Database()
    export = write_export(tmp_path / "export")
    deaths = run(db, export, Filters(), DSMB, "adverse_events", section="deaths")
    assert [i.key for i in deaths.items] == ["causes_of_death", "death_listing"]
    events = run(db, export, Filters(), DSMB, "adverse_events", section="events")
    assert [i.key for i in events.items] == ["ae_summary", "ae_worst_grade", "ae_by_term"]
    assert run(db, export, Filters(), DSMB, "adverse_events", section="deaths") is deaths
    assert len(calls) == 2
    whole = run(db, export, Filters(), DSMB, "adverse_events")  # the print view: every item
    assert len(whole.items) == 6 and len(calls) == 3


def test_same_choices_reuse_the_result_and_a_new_cut_does_not(tmp_path: Path,
                                                              calls: list) -> None:
    db = Database()
    first = write_export(tmp_path / "one")
    a = run(db, first, Filters(), DSMB)
    assert run(db, first, Filters(), DSMB) is a and len(calls) == 1
    run(db, first, Filters(arm="GROUP A"), DSMB)
    assert len(calls) == 2
    run(db, first, Filters(), DSMB, "adverse_events", (("window_days", 730),))
    assert len(calls) == 3
    second = write_export(tmp_path / "two")
    (second / "adae.parquet").unlink()  # a different cut: other files, other fingerprint
    run(db, second, Filters(), DSMB)
    assert len(calls) == 4


def test_a_result_built_for_one_role_is_never_served_to_another(tmp_path: Path,
                                                                calls: list) -> None:
    db = Database()
    export = write_export(tmp_path / "export")
    full = run(db, export, Filters(), DSMB, "adverse_events")
    limited = run(db, export, Filters(), SPONSOR, "adverse_events")
    assert [c[2] for c in calls] == ["dsmb", "sponsor"]
    assert "death_listing" in [i.key for i in full.items]
    assert "death_listing" not in [i.key for i in limited.items]
    # Another user of the same role shares the role's result; the user is not in the key.
    colleague = viewer_of("dsmb")
    assert run(db, export, Filters(), colleague, "adverse_events") is full
    assert len(calls) == 2
