"""What each page shows is what the `tables` command writes, under the same filters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from conftest import ROOT, as_printed, every_section_tables, filter_widget, plain
from streamlit.testing.v1 import AppTest
from viewers import DSMB

from smart101_dash.config import DATA_DIR_ENV, SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.labels import for_reading, group_names
from smart101_dash.panels.base import PanelItem
from smart101_dash.panels.registry import PANELS, panel
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

DEMO = ROOT / "data" / "demo"
ARM_LABELS = {"GROUP A": "Group A (adults)", "GROUP B": "Group B (pediatric)"}
# (sidebar widget, key, value, the same choice as Filters); None: no filter.
CHOICES = {
    "all": None,
    "group-a": ("radio", "f_arm", ARM_LABELS["GROUP A"], Filters(arm="GROUP A")),
    "group-b": ("radio", "f_arm", ARM_LABELS["GROUP B"], Filters(arm="GROUP B")),
    "aml": ("multiselect", "f_diag", ["AML"], Filters(diagnoses=("AML",))),
}
CASES = [(p.key, choice) for p in PANELS for choice in CHOICES]


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Compare as the CSV would: through text, so dtypes of the two paths do not matter."""
    return pd.read_csv(pd.io.common.StringIO(frame.to_csv(index=False)))


@pytest.fixture(scope="module")
def database() -> Database:
    return Database()


@pytest.mark.parametrize(("page_key", "choice"), CASES, ids=[f"{p}-{c}" for p, c in CASES])
def test_page_tables_equal_panel_tables(monkeypatch: pytest.MonkeyPatch, database: Database,
                                        page_key: str, choice: str) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(DEMO))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    filters = Filters()
    if CHOICES[choice]:
        kind, key, value, filters = CHOICES[choice]
        filter_widget(at, kind, key).set_value(value).run()
    at.switch_page(f"pages/{page_key}.py").run()
    assert not at.exception
    assert not [plain(e.value) for e in at.error]
    # The app runs in local mode as the default local role, dsmb; `tables` as the same role.
    result = build_panel(panel(page_key), database, database.load(DEMO), filters, SETTINGS, DSMB)
    expected = [item.data for item in in_sections(page_key, result.items)
                if item.figure is None]
    shown = every_section_tables(at, page_key)
    assert result.items
    assert len(shown) == len(expected)
    names = group_names(filters)
    for on_page, written in zip(shown, expected, strict=True):
        if not on_page.attrs.get("printed"):  # a grid: the frame underneath
            # On the page: cohort codes named after the arm chosen, subject IDs as links.
            pd.testing.assert_frame_equal(normalise(unlinked(on_page)),
                                          normalise(for_reading(written, names)))
        else:  # a plain table: headers in words, cells as printed in their formats
            pd.testing.assert_frame_equal(on_page, as_printed(written, names),
                                          check_dtype=False)


def in_sections(page_key: str, items: tuple[PanelItem, ...]) -> list[PanelItem]:
    """The items in the order the page's sections show them (as built, without sections)."""
    spec = panel(page_key)
    order = {s: i for i, s in enumerate(spec.sections(DSMB))}
    return sorted(items, key=lambda item: order.get(spec.item(item.key).section, 0))


def unlinked(frame: pd.DataFrame) -> pd.DataFrame:
    """A page's table with each patient link back to its subject ID."""
    out = frame.copy()
    for column in ("USUBJID", "usubjid"):
        if column in out:
            out[column] = [parse_qs(urlsplit(v).query)["subject"][0] if isinstance(v, str)
                           and v.startswith("patient?") else v for v in out[column]]
    return out
