"""The one place where text from an export is made harmless before it is shown or written.

- `escape_markdown`: for every Streamlit element that renders Markdown (title, subheader,
  markdown, caption, info, warning, error, success). Every ASCII punctuation character is
  backslash-escaped (CommonMark lets any of them be escaped), so no emphasis, link, image,
  heading, HTML tag, `$` LaTeX, `:material/...:` icon or `:red[...]` directive can form from the
  data. Line breaks become spaces: data never starts a new block.
- `escape_plotly`: for chart titles, legends, ticks and hover text, which Plotly renders as a
  subset of HTML (`<a href>`, `<b>`, `<br>`).
- `spreadsheet_safe`: for every file written (CSV now, any later format). A text cell that begins
  with `=`, `+`, `-`, `@`, tab or carriage return gets a leading single quote (OWASP's rule for
  CSV injection), so Excel or LibreOffice shows it as text instead of running it as a formula.
  Numbers stay numbers: numeric columns are untouched, and neither is a text cell that is a
  plain number (a spreadsheet reads "-3.5" as the number it is) or a lone "-".
"""

from __future__ import annotations

import html
import re
import string

import pandas as pd

_PUNCTUATION = frozenset(string.punctuation)
_LINE_BREAKS = re.compile(r"[\r\n\t\f\v\u2028\u2029\x85]+")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_AUTOLINK_STARTS = re.compile(r"(?i):/|www\.|@.")
WORD_JOINER = "\u2060"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def escape_markdown(text: object) -> str:
    """`text` as Markdown that renders to exactly its characters, on one line."""
    flat = _LINE_BREAKS.sub(" ", str(text))
    # GitHub-flavoured autolinks (`https://...`, `www....`, `name@host`) are found in the text
    # after the backslashes are gone, so escaping alone does not stop them: an invisible word
    # joiner breaks each pattern (checked in Chromium by tests/browser/test_hostile_export).
    flat = _AUTOLINK_STARTS.sub(lambda m: m.group(0)[:-1] + WORD_JOINER + m.group(0)[-1], flat)
    return "".join(f"\\{c}" if c in _PUNCTUATION else c for c in flat)


def escape_plotly(text: object) -> str:
    """`text` for a Plotly label: its pseudo-HTML tags and entities shown as characters."""
    return html.escape(_LINE_BREAKS.sub(" ", str(text)), quote=True)


def spreadsheet_cell(value: object) -> object:
    """One cell as a spreadsheet will read it safely (see the module docstring)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if value == "-" or _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names cannot run as formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if not (pd.api.types.is_numeric_dtype(safe[column])
                or pd.api.types.is_datetime64_any_dtype(safe[column])
                or pd.api.types.is_bool_dtype(safe[column])):
            safe[column] = safe[column].map(spreadsheet_cell, na_action="ignore")
    safe.columns = [spreadsheet_cell(str(c)) for c in safe.columns]
    return safe
