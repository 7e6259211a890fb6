"""Figures written as plain dictionaries are valid Plotly figures: validated, each gives the
same JSON as the unvalidated figure the pages send (so skipping validation changes nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from viewers import DSMB

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS, panel
from smart101_dash.panels.spec import Kind
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
CASES = [(p.key, {}) for p in PANELS if any(i.kind is Kind.FIGURE for i in p.items)] + [
    ("cd4_reconstitution", {"log_axis": True, "trajectories": True}),
    ("overview", {"__filters": Filters(arm="GROUP A")}),
]


@pytest.fixture(scope="module")
def demo() -> tuple[Database, object]:
    db = Database()
    return db, db.load(DEMO)


@pytest.mark.parametrize(("key", "options"), CASES,
                         ids=[f"{k}{'-' + '-'.join(o) if o else ''}" for k, o in CASES])
def test_every_figure_is_what_validation_would_make(demo: tuple, key: str,
                                                    options: dict) -> None:
    db, cut = demo
    options = dict(options)
    filters = options.pop("__filters", Filters())
    result = build_panel(panel(key), db, cut, filters, SETTINGS, DSMB, options)
    figures = [item.figure for item in result.items if item.figure is not None]
    assert figures
    for figure in figures:
        sent = json.loads(pio.to_json(figure, validate=False))
        validated = json.loads(pio.to_json(go.Figure(figure.to_dict())))
        assert sent == validated
        assert sent["layout"]["template"]["layout"]["plot_bgcolor"] == "white"
        assert "Data cut-off" in sent["layout"]["annotations"][-1]["text"]
