"""AppTest: an export folder of several cuts: the newest shown, another picked in the sidebar,
and the comparison page following the choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, filter_widget, plain
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(DATA_DIR_ENV, str(ROOT / "data" / "demo"))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def banner(at: AppTest) -> str:
    return next(plain(m.value) for m in at.markdown if "data cut-off" in plain(m.value))


def test_pick_a_cut(at: AppTest) -> None:
    at.run()
    assert "2026-10-31" in banner(at)
    picker = at.sidebar.selectbox(key="f_cut")
    assert picker.options == ["2026-10-31 (newest)", "2026-06-30"]
    at.switch_page("pages/changes.py").run()
    assert [plain(t.value) for t in at.markdown if "since the cut of" in plain(t.value)]
    picker = at.sidebar.selectbox(key="f_cut")
    picker.set_value("2026-06-30").run()
    assert not at.exception
    assert "cut-off **2026-06-30**" in banner(at)
    assert any("is the earliest of this export" in plain(i.value) for i in at.info)
    # A cut picked is not "a new data cut loaded".
    assert not [s for s in at.success if "new data cut" in plain(s.value)]
    at.switch_page("pages/overview.py").run()
    assert "cut-off **2026-06-30**" in banner(at)  # the choice holds across pages


def test_a_choice_the_picked_cut_lacks_is_dropped(at: AppTest, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Two cuts whose donor types differ: HAPLO only in the later one. (Streamlit drops a
    # multiselect value its new options lack; this keeps it so.)
    from export_factory import adsl_rows, to_table, valid_tables, write_export

    later = adsl_rows()
    earlier = [{**r, "DONTYPE": "MUD" if r["DONTYPE"] == "HAPLO" else r["DONTYPE"]}
               for r in later]
    write_export(tmp_path / "2025-06-30", {**valid_tables(), "adsl": to_table("adsl", later)})
    write_export(tmp_path / "2025-03-31", {**valid_tables(), "adsl": to_table("adsl", earlier)})
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    at.run()
    filter_widget(at, "multiselect", "f_dontype").set_value(["HAPLO"]).run()
    at.sidebar.selectbox(key="f_cut").set_value("2025-03-31").run()
    assert not at.exception
    assert at.sidebar.multiselect(key="f_dontype").value == []
    # ... and so it is with "More filters" closed, when the widget is not drawn.
    at.sidebar.selectbox(key="f_cut").set_value("").run()  # the newest
    at.sidebar.multiselect(key="f_dontype").set_value(["HAPLO"]).run()
    at.session_state["f_more"] = False
    at.run()
    assert "donor type HAPLO" in " ".join(plain(m.value) for m in at.markdown)
    at.sidebar.selectbox(key="f_cut").set_value("2025-03-31").run()
    assert not at.exception
    assert at.session_state["f_dontype"] == []
    assert "filters: no filters" in " ".join(plain(m.value) for m in at.markdown)
