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


def test_a_table_drawn_again_is_not_made_again_and_is_let_go_with_its_result() -> None:
    import gc

    import pandas as pd

    from smart101_dash.ui import tables

    wide = pd.DataFrame({f"cause_of_death_{i}": ["a long text that needs room"] * 3
                         for i in range(6)})
    assert tables.on_screen(wide, {}, links=False)[0]  # drawn wrapped, from itself
    wide_key = next(k for k in tables._ON_SCREEN if k[0] == id(wide))
    data = pd.DataFrame({"USUBJID": ["T-A1", "C-1"], "day": [3, 7]})
    first = tables.on_screen(data, {}, links=True)
    assert tables.on_screen(data, {}, links=True) is first  # a rerun: kept
    shown = first[1]
    assert list(shown["USUBJID"]) == ["patient?subject=T-A1", "patient?subject=C-1"]
    assert tables.on_screen(data, {}, links=False) is not first  # another viewer's links
    keys = [k for k in tables._ON_SCREEN if k[0] == id(data)]
    assert len(keys) == 2
    del data, wide
    gc.collect()
    assert not any(k in tables._ON_SCREEN for k in [*keys, wide_key])  # gone with the table
