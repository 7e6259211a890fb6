"""Every page of the app on each broken export (broken_exports.py): no page shows a traceback,
the panels that do not need the broken dataset draw as usual, those that do say why, and Data
quality lists the finding. A death dated before day 0 counts on no page."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from broken_exports import CASES, DEATH_BEFORE_DAY_0, Case, setting, with_rows
from conftest import PAGES
from unprivileged import run_unprivileged
from viewers import DSMB
from visit import visit_every_page

from smart101_dash.config import DATA_DIR_ENV, SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as find_panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

NEEDS = {f"pages/{p.key}.py": set(p.datasets) for p in PANELS}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder of its own, whatever the test makes unreadable in it (pytest restores the
    permissions when it removes it)."""
    return tmp_path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_page_draws_and_says_what_is_left_out(case: Case, folder: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, os.environ.get(DATA_DIR_ENV, ""))  # restored afterwards
    export = case.build(folder)
    seen = run_unprivileged("pages", export) if case.unprivileged else \
        visit_every_page(export)
    for page in PAGES:
        exceptions, errors = seen[page]
        assert exceptions == [], (page, exceptions)
        if "adsl" in case.left_out:
            assert any("Dataset adsl failed validation" in e for e in errors), page
        elif page in NEEDS and NEEDS[page] & set(case.left_out):
            assert any(f"Dataset {min(NEEDS[page] & set(case.left_out))}" in e
                       for e in errors), (page, errors)
        elif page in NEEDS:
            assert errors == [], (page, errors)
    if "adsl" not in case.left_out:
        rules = seen["findings"][0]
        for _, _, words, _ in case.expected:
            assert any(words in rule for rule in rules), (words, rules)


def test_a_death_before_day_0_counts_on_no_page(tmp_path: Path) -> None:
    export = with_rows("adsl", setting("T-A2", DTHDT=DEATH_BEFORE_DAY_0))(tmp_path)
    db = Database()
    cut = db.load(export)

    def item(panel: str, key: str) -> object:
        result = build_panel(find_panel(panel), db, cut, Filters(), SETTINGS, DSMB)
        return next(i.data for i in result.items if i.key == key)

    status = item("overview", "enrollment_status").set_index("status")
    assert status.loc["Died", "Group A (adults)"] == 0  # T-A2 was the one SMART101 death
    deaths = item("adverse_events", "death_listing")
    assert set(deaths["usubjid"]) == {"C-2"}
    survival = item("survival", "overall_survival")
    treated = survival[survival["group"] == "SMART101"]
    assert treated["n_event"].sum() == 0
    subjects = db.query(cut, _death_of("T-A2"))
    assert subjects.isna().all(axis=None)


def _death_of(usubjid: str) -> object:
    from smart101_dash.store import Query

    return Query("SELECT DTHDT, DTHFL, DTHCAUS FROM adsl WHERE USUBJID = $id", {"id": usubjid})
