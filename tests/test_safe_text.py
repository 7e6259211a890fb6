"""The one escaping helper and the spreadsheet rule: data never becomes markup or a formula."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from smart101_dash.safe_text import (
    WORD_JOINER,
    escape_markdown,
    escape_plotly,
    spreadsheet_cell,
    spreadsheet_safe,
)

HOSTILE = [
    "**bold** _em_ `code` ~~strike~~",
    "[link](https://evil.example/x) ![img](https://evil.example/i.png)",
    "<b>html</b> <img src=x onerror=alert(1)> <script>alert(1)</script>",
    "$x^2$ $$\\frac{1}{2}$$",
    ":material/home: :smile: :red[red]",
    "https://evil.example www.evil.example mail@evil.example javascript:alert(1)",
    "# heading\n- list\n> quote",
    "&amp; &lt;b&gt; | table | --- |",
]
_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_escape_keeps_every_character_and_no_syntax(text: str) -> None:
    escaped = escape_markdown(text)
    # What Markdown renders is the text itself (line breaks folded to spaces) ...
    shown = _UNESCAPE.sub(r"\1", escaped).replace(WORD_JOINER, "")
    assert shown == re.sub(r"\n", " ", text)
    # ... because no punctuation is left unescaped and no line break remains.
    assert "\n" not in escaped
    assert not re.search(r"(?<!\\)[*_`~\[\]()<>$#|!:&]", escaped.replace("\\\\", ""))


def test_autolink_patterns_are_broken() -> None:
    escaped = escape_markdown("see https://a.example, www.b.example and c@d.example")
    assert "https\\:" + WORD_JOINER in escaped
    assert "www" + WORD_JOINER in escaped
    assert "\\@" + WORD_JOINER in escaped


def test_plain_text_stays_readable() -> None:
    assert escape_markdown("SMART101 n=36") == "SMART101 n\\=36"
    assert escape_markdown(42) == "42"


def test_plotly_escape() -> None:
    assert escape_plotly('<a href="javascript:x">y</a>') == \
        "&lt;a href=&quot;javascript:x&quot;&gt;y&lt;/a&gt;"


@pytest.mark.parametrize(("cell", "safe"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTAB", "'\tTAB"),
    ("\rCR", "'\rCR"),
    ("-3.5", "-3.5"),  # a plain number is read as the number it is
    ("+1e-3", "+1e-3"),
    ("-", "-"),
    ("AML", "AML"),
    ("", ""),
    (-4, -4),
    (None, None),
])
def test_spreadsheet_cell(cell: object, safe: object) -> None:
    assert spreadsheet_cell(cell) == safe


def test_spreadsheet_safe_frame_keeps_numbers_numbers() -> None:
    frame = pd.DataFrame({"term": ["=1+1", "Nausea", None], "grade": [-1, 2, 3],
                          "estimate": [-0.5, 0.1, float("nan")], "=col": ["a", "b", "c"]})
    safe = spreadsheet_safe(frame)
    assert list(safe.columns) == ["term", "grade", "estimate", "'=col"]
    assert safe["term"].tolist()[:2] == ["'=1+1", "Nausea"] and pd.isna(safe["term"][2])
    assert safe["grade"].tolist() == [-1, 2, 3] and safe["grade"].dtype == frame["grade"].dtype
    assert safe["estimate"].iloc[0] == -0.5
    assert frame["term"][0] == "=1+1"  # the input is not changed
