"""Downloads that open in any tool: CSV and XLSX of exactly the rows a table or chart shows.

- CSV: the header on the first line, UTF-8 with a byte-order mark (Excel on Windows then reads
  "·" and "µ" right), numbers as numbers, column names and cohort codes as the `tables` command
  writes them. The context is in the file name's short form.
- XLSX (XlsxWriter): a data sheet with headers in words, and a context sheet with the study,
  cut-off, export fingerprint, filters, start, N, definitions and every query with its
  parameters.
Text cells pass `spreadsheet_safe` in CSV (a leading `=` cannot run as a formula); the XLSX
writer writes every text cell as a string, never as a formula.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
import xlsxwriter

from smart101_dash.filters import Filters
from smart101_dash.labels import group_names, headers, with_headers
from smart101_dash.safe_text import spreadsheet_safe
from smart101_dash.store import ExportCut, Query

Context = list[tuple[str, str]]


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return spreadsheet_safe(frame).to_csv(index=False).encode("utf-8-sig")


def xlsx_bytes(frame: pd.DataFrame, context: Context, names: dict[str, str],
               sheet: str = "data") -> bytes:
    """A workbook: `sheet` (headers in words), `context` (what, where from, how), `columns`
    (each header with the column name of the CSV)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "nan_inf_to_errors": True,
                                        "remove_timezone": True})
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "text_wrap": True,
                            "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    data = book.add_worksheet(sheet[:31])
    readable = with_headers(frame, names)
    for col, header in enumerate(readable.columns):
        data.write_string(0, col, str(header), bold)
        values = readable.iloc[:, col]
        dated = pd.api.types.is_datetime64_any_dtype(values)
        for row, value in enumerate(values.tolist(), start=1):
            _write(data, row, col, value, day if dated else None)
        width = max([len(str(header))] + [len(str(v)) for v in values.head(200).tolist()])
        data.set_column(col, col, min(max(width + 2, 8), 60))
    data.freeze_panes(1, 0)
    about = book.add_worksheet("context")
    about.set_column(0, 0, 24)
    about.set_column(1, 1, 110, wrap)
    for row, (key, value) in enumerate(context):
        about.write_string(row, 0, key, bold)
        about.write_string(row, 1, value, wrap)
    columns = book.add_worksheet("columns")
    columns.write_string(0, 0, "Header", bold)
    columns.write_string(0, 1, "Column (CSV)", bold)
    for row, (name, header) in enumerate(headers(list(map(str, frame.columns)), names).items(),
                                         start=1):
        columns.write_string(row, 0, header)
        columns.write_string(row, 1, name)
    columns.set_column(0, 1, 40)
    book.close()
    return buffer.getvalue()


def _write(sheet: xlsxwriter.worksheet.Worksheet, row: int, col: int, value: object,
           date_format: object) -> None:
    if value is None or (value == "" if isinstance(value, str) else pd.isna(value)):
        return  # a blank cell
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, pd.Timestamp | datetime):
        sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), date_format)
    else:
        sheet.write_string(row, col, str(value))


def context_rows(cut: ExportCut, filters: Filters, title: str, *, start: str = "",
                 n_per_group: dict[str, int] | None = None, definitions: Sequence[str] = (),
                 notes: Sequence[str] = (), queries: Sequence[Query] = (), view: str = "",
                 rows: int = 0) -> Context:
    """The context sheet: everything needed to know what the numbers are and to reproduce
    them (the view's URL query, `tables --view`)."""
    names = group_names(filters)
    context: Context = [
        ("Table", title),
        ("Study", cut.study_id or "Smart-101"),
        ("Data cut-off", cut.cutoff.isoformat() if cut.cutoff else "unknown"),
        ("Export fingerprint", cut.fingerprint),
        ("Filters", filters.describe()),
        ("Compared", " vs ".join(names.values())),
        ("Start", start or "From the transplant (day 0); SMART101 as enrolled"),
        ("N", ", ".join(f"{names.get(g, g)} n={n}" for g, n in (n_per_group or {}).items())
         or "not stated"),
        ("Rows", str(rows)),
        ("View (URL query)", view or "(all defaults)"),
        ("Written", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
    ]
    context += [("Definition", line) for line in definitions]
    context += [("Note", line) for line in notes]
    for i, query in enumerate(queries, start=1):
        context += [(f"Query {i}", query.sql),
                    (f"Query {i} parameters", query.format_params() or "(none)")]
    return context


def file_stem(key: str, cut: ExportCut, filters: Filters, variant: str = "") -> str:
    """`smart101_<key>_cut<cut-off>_<export>_<filters>[_<hash>]`: the filters' short form
    (readable) and, when anything is chosen, a hash of the filters and `variant` (page
    options, start), so two files of different views never share a name."""
    cutoff = cut.cutoff.isoformat() if cut.cutoff else "nocutoff"
    short = filters_short(filters)
    digest = hashlib.sha256(f"{filters!r}|{variant}".encode()).hexdigest()[:6]
    chosen = filters != Filters() or variant
    return "_".join(p for p in (f"smart101_{key}", f"cut{cutoff}", cut.fingerprint,
                                short, digest if chosen else "") if p)


def filters_short(filters: Filters) -> str:
    parts: list[str] = []
    if filters.arm:
        parts.append(filters.arm.title().replace(" ", ""))
    if filters.cohorts and len(filters.cohorts) == 1:
        parts.append(filters.cohorts[0])
    for values in (filters.age_groups, filters.diagnoses, filters.disease_statuses,
                   filters.donor_types):
        if values:
            parts.append("+".join(values))
    if filters.enrolled_from or filters.enrolled_to:
        parts.append(f"enr{filters.enrolled_from or ''}to{filters.enrolled_to or ''}")
    text = re.sub(r"[^A-Za-z0-9+.-]+", "", "-".join(parts))
    return text[:48]
