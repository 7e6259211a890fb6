"""The server's settings that a deployment depends on: what .streamlit/config.toml holds, and
the one-time freeze of the objects that live as long as the process (the speed issue: a full
garbage collection after every run cost 165 ms a click)."""

from __future__ import annotations

import gc
import json
import threading
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT, each_section
from export_factory import write_export
from streamlit.testing.v1 import AppTest

from smart101_dash.charts import GRID
from smart101_dash.config import DATA_DIR_ENV
from smart101_dash.ui import page


def test_the_server_config_keeps_clicks_fast_and_errors_plain() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["postScriptGC"] is False  # no full collection after every run
    assert config["server"]["fileWatcherType"] == "none"  # no polling of the sources
    assert config["client"]["showErrorDetails"] == "none"  # never a traceback


def test_the_first_page_freezes_what_lives_as_long_as_the_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(write_export(tmp_path / "export")))
    # As in a new process (this one may have drawn a page before): nothing frozen yet.
    monkeypatch.setattr(page, "_frozen", threading.Lock())
    gc.unfreeze()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert gc.get_freeze_count() > 0
    gc.unfreeze()
    AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert gc.get_freeze_count() == 0  # once per process, not on every run


def test_charts_reach_the_browser_with_their_look_and_no_template(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Streamlit's theme puts a template in a chart and themes it again once mounted; Plotly
    then draws the chart from scratch a second time (the template is a new object). Charts
    are sent unthemed, their look in the figure (charts.LAYOUT_LOOK), with a fixed datarevision
    so that second pass redraws nothing."""
    monkeypatch.setenv(DATA_DIR_ENV, str(write_export(tmp_path / "export")))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/survival.py").run()
    charts = [chart for _ in each_section(at, "survival") for chart in at.get("plotly_chart")]
    assert not at.exception and len(charts) >= 4
    for chart in charts:
        layout = json.loads(chart.proto.spec)["layout"]
        assert chart.proto.theme == ""  # theme=None
        assert "template" not in layout and layout["datarevision"] == 1
        assert layout["plot_bgcolor"] == "#FFFFFF" and layout["yaxis"]["gridcolor"] == GRID
