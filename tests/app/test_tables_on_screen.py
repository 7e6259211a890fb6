"""Tables on screen: plain tables up to SCROLL_ROWS rows, the grid past them (a registry's
30,000 deaths took Chromium 30 s as a plain table); each column in its one number format."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import page_tables
from streamlit.testing.v1 import AppTest


def draw(kind: str, rows: int) -> AppTest:
    def script(kind: str, rows: int) -> None:
        import pandas as pd

        from smart101_dash.ui.tables import draw_table

        data = {"wide listing": pd.DataFrame(
                    {"USUBJID": [f"T-{i}" for i in range(rows)],
                     **{f"cause_of_death_{i}": ["a long text that needs room"] * rows
                        for i in range(6)}}),
                "narrow listing": pd.DataFrame({"USUBJID": [f"T-{i}" for i in range(rows)],
                                                "day": range(rows)}),
                "results": pd.DataFrame({"group": ["SMART101"] * rows,
                                         "estimate": [0.5] * rows})}[kind]
        draw_table(data, {}, key="table", links=True)

    return AppTest.from_function(script, kwargs={"kind": kind, "rows": rows},
                                 default_timeout=30).run()


@pytest.mark.parametrize(("kind", "rows", "grids"), [
    ("wide listing", 40, 0), ("wide listing", 501, 1), ("narrow listing", 500, 0),
    ("narrow listing", 501, 1), ("results", 40, 0), ("results", 501, 1)])
def test_a_table_is_plain_until_it_is_long(kind: str, rows: int, grids: int) -> None:
    at = draw(kind, rows)
    assert not at.exception
    assert len(at.dataframe) == grids
    tables = page_tables(at)
    assert len(tables) == 1 and len(tables[0]) == rows
    assert bool(tables[0].attrs.get("printed")) == (not grids)
    if grids:
        assert f"{rows} rows: the table scrolls" in at.caption[0].value
    if kind != "results":  # each subject ID links to the patient's page, plain or grid
        subjects = tables[0]["USUBJID"]
        assert list(subjects[:2]) == (["T-0", "T-1"] if not grids else
                                      ["patient?subject=T-0", "patient?subject=T-1"])


def test_a_plain_table_shows_each_column_in_its_format() -> None:
    from smart101_dash.ui.tables import plain_table

    data = pd.DataFrame({"USUBJID": ["T-A1", None], "n": [3, 12], "estimate": [0.85234, None],
                         "p_value": [0.000123, 0.00001], "any_pct": [45.678, 100.0],
                         "day": [100.4, 7.0], "rate_per_100_patient_days": [0.3234, 0.0],
                         "SMART101_percent": [85.71, 5.0], "SMART101_lower": [69.66, 1.04],
                         "age_median_years": [17.0, 2.25]})
    html = plain_table(data, {}, links=True)
    rows = [row.split("</tr>")[0] for row in html.split("<tbody>")[1].split("<tr>")[1:]]
    assert rows[0] == ('<td><a href="patient?subject=T-A1" target="_blank">T-A1</a></td>'
                       '<td class="num">3</td><td class="num">0.852</td>'
                       '<td class="num">0.0001</td><td class="num">45.7</td>'
                       '<td class="num">100</td><td class="num">0.323</td>'
                       '<td class="num">85.7</td><td class="num">69.7</td>'
                       '<td class="num">17.0</td>')
    assert rows[1] == ('<td></td><td class="num">12</td><td class="num"></td>'
                       '<td class="num">&lt;0.0001</td><td class="num">100.0</td>'
                       '<td class="num">7</td><td class="num">0.000</td>'
                       '<td class="num">5.0</td><td class="num">1.0</td>'
                       '<td class="num">2.2</td>')
    assert '<th class="num" data-column="p_value">' in html
    assert '<th data-column="USUBJID">' in html
    # A median's interval in the median's format (days of follow-up: 590.0, not 590.000).
    medians = plain_table(pd.DataFrame({"median": [730.0, 412.5], "lower": [590.0, None],
                                        "upper": [None, 601.25]}), {}, links=False)
    assert medians.split("<tbody>")[1].count('class="num">') == 6
    for shown in ("730.0", "590.0", "412.5", "601.2"):
        assert f'class="num">{shown}</td>' in medians


def test_a_table_drawn_again_is_not_made_again_and_is_let_go_with_its_result() -> None:
    import gc

    from smart101_dash.ui import tables

    short = pd.DataFrame({"group": ["SMART101"], "estimate": [0.5]})
    assert tables.on_screen(short, {}, links=False).html  # a plain table
    short_key = next(k for k in tables._ON_SCREEN if k[0] == id(short))
    data = pd.DataFrame({"USUBJID": [f"T-{i}" for i in range(501)], "day": range(501)})
    first = tables.on_screen(data, {}, links=True)
    assert first.html is None  # long: the grid
    assert tables.on_screen(data, {}, links=True) is first  # a rerun: kept
    assert list(first.shown["USUBJID"][:2]) == ["patient?subject=T-0", "patient?subject=T-1"]
    assert tables.on_screen(data, {}, links=False) is not first  # another viewer's links
    assert tables.on_screen(data, {}, links=True, whole=True).html  # the print view
    keys = [k for k in tables._ON_SCREEN if k[0] == id(data)]
    assert len(keys) == 3
    del data, short
    gc.collect()
    assert not any(k in tables._ON_SCREEN for k in [*keys, short_key])  # gone with the table
