"""Downloads open anywhere: CSV with its header first and a byte-order mark, read back by plain
pandas; XLSX with a data sheet, a context sheet and the columns, read back by openpyxl; names
that differ when the view differs; no formula runs."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pandas as pd

from smart101_dash.files import context_rows, csv_bytes, file_stem, xlsx_bytes
from smart101_dash.filters import Filters
from smart101_dash.labels import group_names
from smart101_dash.store import Query

FRAME = pd.DataFrame({"group": ["SMART101", "CONTROL"], "n_risk": [12, 30],
                      "estimate": [0.91234, None], "note": ["=HYPERLINK(\"x\")", None],
                      "day": pd.to_datetime(["2024-01-02", None])})


class Cut:  # the attributes of ExportCut a file needs
    study_id, fingerprint, cutoff = "SMART101-01", "abc123def456", date(2026, 10, 31)


def test_csv_has_its_header_first_and_a_byte_order_mark() -> None:
    raw = csv_bytes(FRAME)
    assert raw.startswith(b"\xef\xbb\xbfgroup,n_risk,")
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert list(back.columns) == list(FRAME.columns)
    assert back["n_risk"].tolist() == [12, 30]  # numbers stay numbers
    assert back.loc[0, "note"].startswith("'=")  # a formula is text
    assert pd.isna(back.loc[1, "estimate"])


def test_xlsx_has_data_context_and_columns_sheets() -> None:
    filters = Filters(arm="GROUP A")
    context = context_rows(Cut(), filters, "Overall survival", n_per_group={"SMART101": 12},
                           definitions=["OS: death from any cause"],
                           queries=[Query("SELECT 1 WHERE x = $x", {"x": 1})], view="arm=GROUP+A")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(FRAME, context, group_names(filters))))
    assert book.sheetnames == ["data", "context", "columns"]
    data = list(book["data"].values)
    assert data[0] == ("Group", "At risk (n)", "Estimate", "Note", "Day")
    assert data[1][:3] == ("Group A (adults)", 12, 0.91234)
    assert data[2][:4] == ("Controls, adults", 30, None, None)  # missing: blank
    assert data[1][3] == '=HYPERLINK("x")' and book["data"]["D2"].data_type == "s"
    about = dict(book["context"].values)
    assert about["Data cut-off"] == "2026-10-31" and about["Export fingerprint"] == "abc123def456"
    assert about["Filters"] == "arm GROUP A vs adult controls"
    assert about["N"] == "Group A (adults) n=12"
    assert about["Query 1"] == "SELECT 1 WHERE x = $x"
    assert about["View (URL query)"] == "arm=GROUP+A"
    assert ("Estimate", "estimate") in list(book["columns"].values)


def test_file_names_differ_when_the_view_differs() -> None:
    plain = file_stem("landmarks", Cut(), Filters())
    assert plain == "smart101_landmarks_cut2026-10-31_abc123def456"
    group_a = file_stem("landmarks", Cut(), Filters(arm="GROUP A", diagnoses=("AML",)))
    assert group_a.startswith(plain + "_GroupA-AML_")
    names = {plain, group_a, file_stem("landmarks", Cut(), Filters(arm="GROUP A")),
             file_stem("landmarks", Cut(), Filters(), variant="landmark day 28"),
             file_stem("landmarks", Cut(), Filters(), variant="landmark day 7")}
    assert len(names) == 5
