"""AppTest: the options on the outcome pages reach their panels and change what is shown.

Tiny export: CD4 at days 30/60/100 of T-A1 40/80/150, T-B1 60/70/300 (treated), C-1 10/30/45,
C-3 20/55/90 (controls); infections T-A1 viral (CMV), C-2 bacterial and fungal.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, every_section_tables, open_section, option_key, plain
from export_factory import write_export
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV
from smart101_dash.ui import page


@pytest.fixture
def at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(DATA_DIR_ENV, str(write_export(tmp_path / "export")))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()


def frame(at: AppTest, page_key: str, columns: set[str]) -> pd.DataFrame:
    """The table on the page that has these columns (in whichever section holds it)."""
    return next(df for df in every_section_tables(at, page_key) if columns <= set(df.columns))


def definitions(at: AppTest) -> str:
    return " ".join(plain(m.value) for m in at.markdown)


def test_cd4_threshold_and_window_change_the_definition_and_counts(at: AppTest) -> None:
    at.switch_page("pages/cd4_reconstitution.py").run()
    day100 = frame(at, "cd4_reconstitution", {"reconstituted", "proportion"}).set_index("group")
    # > 50 twice by day 100: T-A1 (80, 150) and T-B1 (60, 70); C-3 (55, 90).
    assert day100["reconstituted"].to_dict() == {"SMART101": 2, "CONTROL": 1}
    assert "CD4 > 50 cells/uL on two consecutive measurements by day 100" in definitions(at)

    at.number_input(key=option_key("cd4_reconstitution", "threshold_cells_per_ul")).set_value(60.0).run()
    at.checkbox(key=option_key("cd4_reconstitution", "threshold_inclusive")).check().run()
    assert not at.exception
    day100 = frame(at, "cd4_reconstitution", {"reconstituted", "proportion"}).set_index("group")
    # >= 60 twice: T-A1 (80, 150), T-B1 (60, 70); C-3 has 55 then 90: not twice.
    assert day100["reconstituted"].to_dict() == {"SMART101": 2, "CONTROL": 0}
    assert "CD4 >= 60 cells/uL on two consecutive measurements by day 100" in definitions(at)

    at.number_input(key=option_key("cd4_reconstitution", "window_days")).set_value(60).run()
    day100 = frame(at, "cd4_reconstitution", {"reconstituted", "proportion"}).set_index("group")
    # By day 60 only T-B1 (60 on day 30, 70 on day 60) qualifies.
    assert day100["reconstituted"].to_dict() == {"SMART101": 1, "CONTROL": 0}
    assert "by day 60" in definitions(at)


def test_infection_category_chooses_the_curve(at: AppTest) -> None:
    at.switch_page("pages/infections.py").run()
    open_section(at, "infections", "First infection")
    assert any("Cumulative incidence of the first infection" in plain(m.value) for m in at.markdown)
    at.selectbox(key=option_key("infections", "category")).set_value("FUNGAL").run()
    assert not at.exception
    assert any("Cumulative incidence of the first fungal infection" in m.value
               for m in at.markdown)
    # The tables cover every category whatever the choice.
    density = frame(at, "infections", {"rate_per_100_patient_days"})
    assert set(density["category"]) == {"ALL", "BACTERIAL", "VIRAL", "FUNGAL", "OTHER"}


def test_adverse_event_window(at: AppTest) -> None:
    at.switch_page("pages/adverse_events.py").run()
    summary = frame(at, "adverse_events", {"patients with"}).set_index("patients with")
    assert summary.loc["Any adverse event", "CONTROL n"] == 1  # C-2, of 3
    assert summary.loc["Any adverse event", "CONTROL %"] == 33.3
    at.radio(key=option_key("adverse_events", "window_days")).set_value(730).run()
    assert not at.exception
    assert any("day 0 to day 730" in plain(m.value) for m in at.markdown)


def test_adverse_event_window_start(at: AppTest) -> None:
    """The window's start is a stated definition, on the page and under the chart."""
    at.switch_page("pages/adverse_events.py").run()
    assert "both cohorts (TRTEMFL is not used)" in definitions(at)
    assert any("AE window day 0 to day 100, both cohorts from the transplant" in plain(c.value)
               for c in at.caption)
    assert any("Safety population (SAFFL = Y): SMART101 patients infused, n=3" in plain(c.value)
               for c in at.caption)
    at.radio(key=option_key("adverse_events", "ae_start")).set_value("infusion").run()
    assert not at.exception
    assert "SMART101: treatment-emergent adverse events only (TRTEMFL = Y" in definitions(at)
    assert any("SMART101 treatment-emergent (TRTEMFL = Y), controls from day 0" in plain(c.value)
               for c in at.caption)


def test_landmark_day_and_as_treated_on_the_survival_page(at: AppTest) -> None:
    """C-2 died on day 90: from landmark day 100 the controls lose C-2, and the page says so."""
    at.switch_page("pages/survival.py").run()
    said = " ".join(plain(m.value) for m in at.info)
    assert "Landmark day" not in said
    assert "From the transplant (day 0); SMART101 as enrolled" in definitions(at)
    at.toggle(key=option_key("survival", "landmark")).set_value(True).run()
    at.number_input(key=option_key("survival", "landmark_day")).set_value(100).run()
    at.radio(key=option_key("survival", "population")).set_value(
        "infused").run()
    assert not at.exception
    said = " ".join(plain(m.value) for m in at.info)
    assert "Landmark day 100" in said
    assert re.search(r"overall survival[^:;]*: CONTROL 1;", said), said
    assert "From landmark day 100" in definitions(at)
    assert "SMART101 as infused (as treated" in definitions(at)
    landmarks = frame(at, "survival", {"endpoint", "n_risk", "n_events"})
    os_rows = landmarks[(landmarks["endpoint"] == "OS") & (landmarks["day"] == 365)]
    # Controls from day 100: C-1 and C-3, both alive at 1 year.
    assert os_rows.set_index("group").loc["CONTROL", "estimate"] == 1.0


def test_engraftment_page_without_dates_says_what_is_missing(at: AppTest) -> None:
    at.switch_page("pages/engraftment.py").run()
    assert not at.exception
    said = " ".join(plain(m.value) for m in at.info)
    assert "ANCRDT" in said and "PLTRDT" in said and "GFDT" in said


def test_the_patient_choice_lists_the_first_ids_and_takes_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A registry of controls would offer 100,000 IDs (the browser took 1-2 s a click to draw
    # them): the list stops at LISTED_SUBJECTS, here 2; any other ID can be typed (Streamlit's
    # accept_new_options, which AppTest cannot drive) or come with a link, as here.
    monkeypatch.setenv(DATA_DIR_ENV, str(write_export(tmp_path / "export")))
    monkeypatch.setattr(page, "LISTED_SUBJECTS", 2)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/patient.py").run()
    choice = at.selectbox(key=option_key("patient", "subject"))
    assert choice.options == ["T-A1", "T-A2"]  # SMART101 first
    assert "type any other patient's ID" in choice.help
    linked = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    linked.query_params["subject"] = "C-2"
    linked.switch_page("pages/patient.py").run()
    assert not linked.exception
    assert linked.selectbox(key=option_key("patient", "subject")).value == "C-2"
    assert any(plain(m.value) == "#### Timeline of patient C-2" for m in linked.markdown)
