"""The panel-result cache: keyed by panel and options, cut, filters and settings."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from export_factory import write_export

from smart101_dash import ui
from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels import adverse_events, overview
from smart101_dash.store import Database


def test_panel_key_names_the_panel_and_its_options() -> None:
    assert ui.panel_key(overview.build) == "smart101_dash.panels.overview.build[]"
    day_100 = ui.panel_key(partial(adverse_events.build, window_days=100))
    day_730 = ui.panel_key(partial(adverse_events.build, window_days=730))
    assert day_100 != day_730 and "window_days" in day_100


def test_same_choices_reuse_the_result_and_a_new_cut_does_not(tmp_path: Path) -> None:
    db = Database()
    calls: list[Filters] = []

    def build(*args: object) -> object:
        calls.append(args[2])  # type: ignore[arg-type]
        return overview.build(*args)  # type: ignore[arg-type]

    def run(export: Path, filters: Filters) -> object:
        context = ui.PageContext(db, db.load(export), filters, SETTINGS)
        return ui.cached_panel("test-overview", context.cut.fingerprint, filters, SETTINGS,
                               _build=build, _context=context)

    first = write_export(tmp_path / "one")
    a = run(first, Filters())
    assert run(first, Filters()) is a and len(calls) == 1
    run(first, Filters(arm="GROUP A"))
    assert len(calls) == 2
    second = write_export(tmp_path / "two")
    (second / "adae.parquet").unlink()  # a different cut: other files, other fingerprint
    run(second, Filters())
    assert len(calls) == 3
