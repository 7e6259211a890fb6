"""A wide table is drawn wrapped while the browser can lay it out whole, in the scrolling grid
past SCROLL_ROWS rows (a registry's 30,000 deaths took Chromium 30 s as a plain table)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def draw(rows: int) -> AppTest:
    def script(rows: int) -> None:
        import pandas as pd

        from smart101_dash.ui.tables import draw_table

        wide = pd.DataFrame({f"cause_of_death_{i}": ["a long text that needs room"] * rows
                             for i in range(6)})
        draw_table(wide, {}, key="wide", links=False)

    return AppTest.from_function(script, kwargs={"rows": rows}, default_timeout=30).run()


@pytest.mark.parametrize(("rows", "grids", "wrapped"), [(40, 0, 1), (501, 1, 0)])
def test_a_wide_table_wraps_until_it_is_long(rows: int, grids: int, wrapped: int) -> None:
    at = draw(rows)
    assert not at.exception
    assert len(at.dataframe) == grids
    html = [m for m in at.markdown if "smart101-print-table" in m.value] + \
        [h for h in at.get("html") if "smart101-print-table" in str(h.proto)]
    assert len(html) == wrapped
    if grids:
        assert len(at.dataframe[0].value) == rows
        assert "501 rows: the table scrolls" in at.caption[0].value
