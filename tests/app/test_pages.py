"""AppTest: every page runs, filters change the counts, broken data is contained, new cuts show."""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import PAGES, ROOT, plain
from export_factory import adsl_rows, to_table, write_export
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV

OVERVIEW = "pages/overview.py"  # the first page is the safety summary; these tests read the overview


def app(export: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv(DATA_DIR_ENV, str(export))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def banner(at: AppTest) -> str:
    return next(plain(m.value) for m in at.markdown if "data cut-off" in plain(m.value))


def counts(at: AppTest) -> tuple[int, int]:
    text = banner(at)
    treated = re.search(r"SMART101 n=(\d+)", text)
    control = re.search(r"CONTROL n=(\d+)", text)
    assert treated and control, text
    return int(treated.group(1)), int(control.group(1))


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
    status = at.dataframe[0].value.set_index("status")
    assert status.loc["Enrolled"].to_dict() == {"Group A (adults)": 2, "Group B (pediatric)": 1,
                                                "Total": 3}
    assert status.loc["Died", "Total"] == 1
    baseline = at.dataframe[1].value.set_index(["characteristic", "category"])
    assert baseline.loc[("Patients", "n")].to_dict() == {"SMART101": "3", "CONTROL": "3"}
    assert baseline.loc[("Age, years", "median (range)"), "SMART101"] == "45 (9-61)"
    assert baseline.loc[("Dose level", "DL1"), "CONTROL"] == "not applicable"
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
    getattr(at.sidebar, kind)(key=key).set_value(value).run()
    assert not at.exception
    assert counts(at) == (treated, control)
    # The overview's tables follow the same filters.
    baseline = at.dataframe[1].value.set_index(["characteristic", "category"])
    shown = {c: int(n) for c, n in baseline.loc[("Patients", "n")].items()}
    assert shown == {k: v for k, v in (("SMART101", treated), ("CONTROL", control)) if v}
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
    assert at.dataframe[0].value.shape[0] == 7  # the overview is drawn
    at.switch_page("pages/data_quality.py").run()
    assert not at.exception
    findings = at.dataframe[1].value  # [0] is the per-dataset summary
    row = findings[findings["dataset"] == "adlb"].iloc[0]
    assert (row["severity"], row["rule"]) == ("error", "unreadable or truncated Parquet")
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception


def test_broken_adsl_says_why_everywhere(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tiny / "adsl.parquet").unlink()
    at = app(tiny, monkeypatch).run()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception
        assert any("Dataset adsl failed validation" in plain(e.value) for e in at.error), page


def test_new_export_shows_on_next_interaction(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app(tiny, monkeypatch).run()
    first = banner(at)
    assert counts(at) == (3, 3)
    # A new cut arrives the usual way: written beside, then renamed over the old file.
    rows = adsl_rows()
    rows.append({**rows[3], "USUBJID": "C-4", "SUBJID": "C-4"})
    pq.write_table(to_table("adsl", rows), tiny / ".adsl.parquet.tmp")
    os.replace(tiny / ".adsl.parquet.tmp", tiny / "adsl.parquet")
    at.sidebar.multiselect(key="f_diag").set_value(["AML"]).run()  # any interaction
    assert banner(at) != first
    assert counts(at) == (1, 3)
    assert any("A new data cut was loaded" in plain(s.value) for s in at.success)
