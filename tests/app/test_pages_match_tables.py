"""What each page shows is what the `tables` command writes, under the same filters."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

from smart101_dash.config import DATA_DIR_ENV, SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.store import Database

DEMO = ROOT / "data" / "demo"
CASES = [("overview", None), ("cd4_reconstitution", None), ("cd4_reconstitution", "GROUP B"), ("adverse_events", None), ("survival", None), ("gvhd", None),
         ("infections", None), ("overview", "GROUP B"), ("adverse_events", "GROUP A"), ("survival", "GROUP A"),
         ("gvhd", "GROUP B"), ("infections", "GROUP A")]
ARM_LABELS = {"GROUP A": "Group A (adults)", "GROUP B": "Group B (pediatric)"}


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Compare as the CSV would: through text, so dtypes of the two paths do not matter."""
    return pd.read_csv(pd.io.common.StringIO(frame.to_csv(index=False)))


@pytest.mark.parametrize(("panel", "arm"), CASES, ids=[f"{p}-{a}" for p, a in CASES])
def test_page_tables_equal_panel_tables(monkeypatch: pytest.MonkeyPatch, panel: str,
                                        arm: str | None) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(DEMO))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    if arm:
        at.sidebar.radio(key="f_arm").set_value(ARM_LABELS[arm]).run()
    at.switch_page(f"pages/{panel}.py").run()
    assert not at.exception
    db = Database()
    result = PANELS[panel](db, db.load(DEMO), Filters(arm=arm), SETTINGS)
    expected = [item.data for item in result.items if item.figure is None]
    shown = [df.value for df in at.dataframe]
    assert len(shown) == len(expected)
    for on_page, written in zip(shown, expected, strict=True):
        pd.testing.assert_frame_equal(normalise(on_page), normalise(written))
