"""AppTest: every page runs, filters change the counts, broken data is contained, new cuts show."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import PAGES, ROOT, filter_widget, open_section, page_tables, plain
from export_factory import adae_rows, adsl_rows, to_table, write_export
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV

OVERVIEW = "pages/overview.py"  # the first page is the safety summary; these tests read the overview


def app(export: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(DATA_DIR_ENV, str(export))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def banner(at: AppTest) -> str:
    return next(plain(m.value) for m in at.markdown if "data cut-off" in plain(m.value))


def populations(at: AppTest) -> str:
    return next(plain(m.value) for m in at.markdown if "enrolled," in plain(m.value))


def counts(at: AppTest) -> tuple[int, int]:
    """Enrolled per cohort, as the banner says (the cohorts named after the arm chosen)."""
    text = populations(at)
    treated = re.search(r"^([^:]+): (\d+) enrolled", text)
    control = re.search(r"· (CONTROL|Controls[^:]*): (\d+) enrolled", text)
    assert treated and control, text
    return int(treated.group(2)), int(control.group(2))


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs(tiny: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    at = app(tiny, monkeypatch).run()
    at.switch_page(page).run()
    assert not at.exception
    assert "2025-06-30" in banner(at)
    assert not [plain(e.value) for e in at.error]


def test_overview_numbers(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(tiny, monkeypatch).run()
    at.switch_page(OVERVIEW).run()
    status = page_tables(at)[0].set_index("status")
    assert status.loc["Enrolled"].to_dict() == {"Group A (adults)": 2, "Group B (pediatric)": 1,
                                                "Total": 3}
    assert status.loc["Died", "Total"] == 1
    baseline = page_tables(at)[1].set_index(["characteristic", "category"])
    assert baseline.loc[("Patients", "n")].to_dict() == {
        "SMART101 n": 3, "SMART101 %": 100.0, "CONTROL n": 3, "CONTROL %": 100.0}
    assert pd.isna(baseline.loc[("Dose level", "DL1"), "CONTROL n"])  # not applicable
    age = page_tables(at)[2].set_index("group")
    assert age.loc["SMART101", ["age_median_years", "age_min_years",
                                "age_max_years"]].tolist() == [45.0, 9.0, 61.0]
    warnings = [plain(w.value) for w in at.warning]
    assert [w for w in warnings if not w.startswith("Local mode")] == [
        "A group has fewer than 10 patients: percentages are unstable; read the counts."]


# (widget kind, key, value, expected SMART101 n, expected CONTROL n) on the tiny export:
# treated T-A1 (adult AML CR1 MUD), T-A2 (adult ALL CR2 MUD), T-B1 (child ALL CR1 HAPLO);
# controls C-1 (adult AML MUD), C-2 (adult AML MRD), C-3 (child ALL MUD).
FILTERS = [
    ("multiselect", "f_cohorts", ["CONTROL"], 0, 3),
    ("radio", "f_arm", "Group A (adults)", 2, 2),
    ("radio", "f_arm", "Group B (pediatric)", 1, 1),
    ("multiselect", "f_age", ["PEDIATRIC"], 1, 1),
    ("multiselect", "f_diag", ["AML"], 1, 2),
    ("multiselect", "f_disstat", ["CR2"], 1, 0),
    ("multiselect", "f_dontype", ["HAPLO"], 1, 0),
    ("date_input", "f_period", (date(2023, 12, 25), date(2023, 12, 31)), 1, 0),
]


@pytest.mark.parametrize(("kind", "key", "value", "treated", "control"), FILTERS,
                         ids=[f"{f[1]}={f[2]}" for f in FILTERS])
def test_each_filter_changes_the_counts(tiny: Path, monkeypatch: pytest.MonkeyPatch, kind: str,
                                        key: str, value: object, treated: int,
                                        control: int) -> None:
    at = app(tiny, monkeypatch).run()
    at.switch_page(OVERVIEW).run()
    assert counts(at) == (3, 3)
    filter_widget(at, kind, key).set_value(value).run()
    assert not at.exception
    assert counts(at) == (treated, control)
    # The overview's tables follow the same filters.
    baseline = page_tables(at)[1].set_index(["characteristic", "category"])
    shown = [int(n) for c, n in baseline.loc[("Patients", "n")].items() if c.endswith(" n")]
    assert shown == [n for n in (treated, control) if n]
    # ... and every other page still runs under them.
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert not [plain(e.value) for e in at.error], page  # no panel fell over on small groups
        assert counts(at) == (treated, control)


def test_broken_dataset_is_contained(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tiny / "adlb.parquet"
    path.write_bytes(path.read_bytes()[:100])  # truncated
    at = app(tiny, monkeypatch).run()
    at.switch_page(OVERVIEW).run()
    assert not at.exception
    assert any("Left out after validation: adlb" in plain(w.value) for w in at.warning)
    assert page_tables(at)[0].shape[0] == 7  # the overview is drawn
    at.switch_page("pages/data_quality.py").run()
    assert not at.exception
    findings = page_tables(at)[1]  # [0] is the per-dataset summary
    row = findings[findings["dataset"] == "adlb"].iloc[0]
    assert (row["severity"], row["rule"]) == ("error", "unreadable or truncated Parquet")
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception


def test_deaths_shown_when_adae_fails_validation(tiny: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    rows = adae_rows()
    rows[1]["ATOXGR"] = 7  # T-A2's sepsis: outside CTCAE 1-5, adae fails validation
    pq.write_table(to_table("adae", rows), tiny / "adae.parquet")
    at = app(tiny, monkeypatch).run()
    at.switch_page("pages/adverse_events.py").run()
    assert not at.exception
    assert not [plain(e.value) for e in at.error]
    assert any(plain(w.value).startswith("Adverse-event tables not shown: Dataset adae failed "
                                         "validation") for w in at.warning)
    deaths = next(df for df in page_tables(at) if "death_day" in df.columns)
    assert deaths[["death_day", "cause"]].values.tolist() == [[90, "Infection"],
                                                               [200, "Relapse"]]
    assert len(page_tables(at)) == 2  # causes of death and the death listing; no AE table


def test_broken_adsl_says_why_everywhere(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tiny / "adsl.parquet").unlink()
    at = app(tiny, monkeypatch).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert any("Dataset adsl failed validation" in plain(e.value) for e in at.error), page


def test_new_export_shows_on_next_interaction(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(tiny, monkeypatch).run()
    diagnosis = filter_widget(at, "multiselect", "f_diag")  # "More filters" opened
    first = banner(at)
    assert counts(at) == (3, 3)
    # A new cut arrives the usual way: written beside, then renamed over the old file.
    rows = adsl_rows()
    rows.append({**rows[3], "USUBJID": "C-4", "SUBJID": "C-4"})
    pq.write_table(to_table("adsl", rows), tiny / ".adsl.parquet.tmp")
    os.replace(tiny / ".adsl.parquet.tmp", tiny / "adsl.parquet")
    diagnosis.set_value(["AML"]).run()  # any interaction
    assert banner(at) != first
    assert counts(at) == (1, 3)
    assert any("A new data cut was loaded" in plain(s.value) for s in at.success)


def test_banner_names_the_filters_the_arm_and_each_population(tiny: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """Tiny export: T-A1, T-A2 (Group A, adults), T-B1 (Group B); controls C-1..C-3."""
    at = app(tiny, monkeypatch).run()
    at.sidebar.radio(key="f_arm").set_value("Group A (adults)").run()
    assert "filters: arm GROUP A vs adult controls" in banner(at)
    text = populations(at)
    assert text.startswith("Group A (adults): ")
    assert "· Controls, adults: " in text
    assert "transplanted" in text and "infused" in text
    assert "Outcome pages count transplanted patients" in text


def test_a_half_written_dataset_keeps_the_last_good_cut_on_every_page(
        tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(tiny, monkeypatch).run()
    first = banner(at)
    whole = (tiny / "adae.parquet").read_bytes()
    (tiny / "adae.parquet").write_bytes(whole[: len(whole) // 2])  # the job is half-way
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert banner(at) == first, page  # the last good cut, adae and all
        assert not [plain(e.value) for e in at.error], page
        notice = [plain(w.value) for w in at.warning if "cannot be used" in plain(w.value)]
        assert notice and "adae" in notice[0], page
    (tiny / "adae.parquet").write_bytes(whole)  # the write completes: a new cut
    at.switch_page(OVERVIEW).run()
    assert banner(at) != first
    assert any("A new data cut was loaded" in plain(s.value) for s in at.success)
    assert not [w for w in at.warning if "cannot be used" in plain(w.value)]


def test_a_query_is_drawn_when_its_expander_is_opened(tiny: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """"Show query" draws the SQL and its parameters only while open: highlighted, it was 40%
    of a page's DOM, drawn on every click. Opening it (a rerun) shows that item's queries."""
    at = app(tiny, monkeypatch).run()
    at.switch_page(OVERVIEW).run()
    assert not at.exception and not at.code  # closed: nothing drawn
    at.session_state["queries_baseline"] = True  # as a click on its "Show query" does
    at.run()
    sql = [c.value for c in at.code if c.language == "sql"]
    assert len(sql) >= 1 and all("SELECT" in s.upper() for s in sql)
    assert any("$cohorts = " in c.value for c in at.code if c.language == "text")  # bound


def test_the_subjects_behind_a_view_are_offered_when_opened(tiny: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The subject slice's note and buttons are drawn only while its expander is open (they
    were drawn on every click); opened, both downloads are there for the local role (dsmb)."""
    at = app(tiny, monkeypatch).run()
    at.switch_page(OVERVIEW).run()
    labels = [b.label for b in at.get("download_button")]
    assert not at.exception and labels and not any(lbl.startswith("Subjects") for lbl in labels)
    at.session_state["subjects_behind_view"] = True  # as a click on the expander does
    at.run()
    labels = [b.label for b in at.get("download_button")]
    assert [lbl for lbl in labels if lbl.startswith("Subjects")] == ["Subjects (CSV)",
                                                                      "Subjects (XLSX)"]
    assert any("<ENDPOINT>_status: 0 censored" in plain(c.value) for c in at.caption)


SURVIVAL_SECTIONS = ["Overall survival", "Disease-free survival", "GRFS", "Relapse and NRM",
                     "Estimates and tests"]


def test_a_page_with_sections_draws_only_the_open_one(tiny: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """One section at a time (a filter click redraws one section's charts, not the page's);
    the open section is in the URL and kept over a page switch; the print view has every
    item and no tabs."""
    at = app(tiny, monkeypatch).run()
    at.switch_page("pages/survival.py").run()
    assert [t.label for t in at.tabs] == SURVIVAL_SECTIONS
    assert len(at.get("plotly_chart")) == 1 and not page_tables(at)
    assert "section" not in at.query_params  # the first section is the default
    open_section(at, "survival", "Estimates and tests")
    assert not at.exception and not at.get("plotly_chart") and len(page_tables(at)) == 3
    assert at.query_params["section"] == "estimates"
    at.switch_page("pages/gvhd.py").run()
    at.switch_page("pages/survival.py").run()
    assert not at.get("plotly_chart") and at.query_params["section"] == "estimates"
    at.sidebar.toggle(key="f_print").set_value(True).run()
    assert not at.tabs and len(at.get("plotly_chart")) == 4 and len(page_tables(at)) == 3
    at.sidebar.toggle(key="f_print").set_value(False).run()
    assert not at.get("plotly_chart") and len(page_tables(at)) == 3  # the section kept


@pytest.mark.parametrize(("section", "said"), [("chronic", ""), ("nope", "'nope' is not on")])
def test_a_link_opens_its_section(tiny: Path, monkeypatch: pytest.MonkeyPatch, section: str,
                                  said: str) -> None:
    at = app(tiny, monkeypatch)
    at.query_params["section"] = section
    at.switch_page("pages/gvhd.py").run()
    assert not at.exception
    titles = " ".join(plain(m.value) for m in at.markdown if m.value.startswith("####"))
    warnings = " ".join(plain(w.value) for w in at.warning)
    if said:
        assert said in warnings and "Maximum acute GvHD grade" in titles
    else:
        assert "Cumulative incidence of chronic GvHD" in titles and "section" not in warnings
        assert "Maximum acute GvHD grade" not in titles


def test_more_filters_are_drawn_only_while_open_and_stay_in_force_when_closed(
        tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(tiny, monkeypatch).run()
    at.switch_page(OVERVIEW).run()
    assert [e.label for e in at.sidebar.expander] == ["More filters"]
    assert [w.key for w in at.sidebar.multiselect] == ["f_cohorts"]  # closed: not drawn
    assert not at.sidebar.date_input
    filter_widget(at, "multiselect", "f_diag").set_value(["AML"]).run()
    assert counts(at) == (1, 2)
    assert len(at.sidebar.date_input) == 1
    at.session_state["f_more"] = False  # closed again
    at.run()
    assert [w.key for w in at.sidebar.multiselect] == ["f_cohorts"]
    assert counts(at) == (1, 2)  # still in force, and said so under the closed expander
    assert "In force: diagnosis AML" in [plain(c.value) for c in at.sidebar.caption]
    assert "diagnosis AML" in banner(at)
    at.switch_page("pages/survival.py").run()
    assert counts(at) == (1, 2)
    assert at.query_params["diag"] == "AML"
    assert filter_widget(at, "multiselect", "f_diag").value == ["AML"]  # opened: as left
    assert not [plain(c.value) for c in at.sidebar.caption if "In force" in plain(c.value)]
