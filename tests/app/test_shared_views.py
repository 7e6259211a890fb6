"""AppTest: a view lives in the URL. Opening a link shows its filters and options; changing
them writes the URL; a value the cut does not know is left out with a message.

Tiny export (tests/export_factory.py): treated T-A1 (Group A, adult) and T-B1 (Group B),
controls C-1..C-3.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, filter_widget, option_key, plain
from export_factory import write_export
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_export(tmp_path / "export")
    monkeypatch.setenv(DATA_DIR_ENV, str(path))
    return path


def opened(page: str, query: dict[str, str | list[str]]) -> AppTest:
    """A new session opened at `pages/<page>.py` with the URL's query."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params.update(query)
    at.switch_page(f"pages/{page}.py")
    return at.run()


def warnings(at: AppTest) -> str:
    """What the page said about the link."""
    return " ".join(plain(w.value) for w in at.warning if "The link's" in plain(w.value))


def test_a_link_sets_the_filters_and_the_page_options(export: Path) -> None:
    at = opened("survival", {"arm": "GROUP A", "landmark": "1", "landmark_day": "28",
                             "population": "infused"})
    assert not at.exception
    assert at.radio(key="f_arm").value == "Group A (adults)"
    assert at.toggle(key=option_key("survival", "landmark")).value is True
    assert at.number_input(key=option_key("survival", "landmark_day")).value == 28
    assert at.radio(key=option_key("survival", "population")).value == "infused"
    assert not warnings(at)
    # The URL keeps what the link said (nothing at its default is added).
    assert at.query_params["arm"] == "GROUP A"
    assert at.query_params["landmark_day"] == "28"
    assert "cohort" not in at.query_params


def test_changing_a_filter_or_an_option_writes_the_url(export: Path) -> None:
    at = opened("gvhd", {})
    assert "diag" not in at.query_params
    filter_widget(at, "multiselect", "f_diag").set_value(["AML"]).run()
    at.toggle(key=option_key("gvhd", "landmark")).set_value(True).run()
    assert at.query_params["diag"] == "AML"
    assert at.query_params["landmark"] == "1"
    filter_widget(at, "multiselect", "f_diag").set_value([]).run()
    assert "diag" not in at.query_params


def test_values_the_cut_does_not_know_are_left_out_with_a_message(export: Path) -> None:
    at = opened("survival", {"diag": ["AML", "XYZ"], "arm": "GROUP C", "from": "yesterday",
                             "landmark_day": "99999"})
    assert not at.exception
    said = warnings(at)
    assert "diagnosis 'XYZ' is not in this data cut" in said
    assert "arm 'GROUP C'" in said
    assert "'yesterday' is not a date" in said
    assert "Landmark day" in said and "the default is used" in said
    assert filter_widget(at, "multiselect", "f_diag").value == ["AML"]
    assert at.radio(key="f_arm").value == "Both arms"


def test_a_page_switch_keeps_the_filters_in_the_url(export: Path) -> None:
    at = opened("survival", {"diag": "AML"})
    at.query_params.clear()  # as Streamlit does when the sidebar switches page
    at.switch_page("pages/gvhd.py").run()
    assert filter_widget(at, "multiselect", "f_diag").value == ["AML"]
    assert at.query_params["diag"] == "AML"


def test_the_filters_outlive_a_visit_to_a_page_without_them(export: Path) -> None:
    """Audit draws no sidebar: a session's filters are still in force on the next page (the
    load test found them gone: widgets, banner and URL back to no filters)."""
    at = opened("gvhd", {"arm": "GROUP A", "diag": "AML"})
    at.query_params.clear()
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    at.query_params.clear()
    at.switch_page("pages/survival.py").run()
    assert at.radio(key="f_arm").value == "Group A (adults)"
    assert filter_widget(at, "multiselect", "f_diag").value == ["AML"]
    assert (at.query_params["arm"], at.query_params["diag"]) == ("GROUP A", "AML")
