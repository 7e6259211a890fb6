"""Paper: the print stylesheet of every page, the "Print view" that draws whole tables, and the
Reports page's downloads.

A browser prints a Streamlit page badly by default: the sidebar and widgets print, the
scrolling main area gives one page then blanks, and an interactive table prints only the rows
in view. The stylesheet hides the sidebar, header, buttons and expanders and lets the main
area flow over pages; with "Print view" on, tables are drawn as plain HTML tables, every row
and column (the report, `report.py`, is the same tables for a whole session).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from smart101_dash.access import Permission, Viewer
from smart101_dash.audit import Action
from smart101_dash.report import chromium, table_html, write_report
from smart101_dash.store import ExportCut

PRINT_KEY = "f_print"
PRINT_CSS = """
<style>
.smart101-print-table table { border-collapse: collapse; font-size: 0.8rem; }
.smart101-print-table th, .smart101-print-table td { border: 1px solid #ccc;
  padding: 2px 4px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
.smart101-print-table th { background: #f2f2f2; }
.smart101-print-table .num { text-align: right; font-variant-numeric: tabular-nums; }
.smart101-print-table.long-words td { overflow-wrap: anywhere; }
@media print {
  @page { size: A4; margin: 14mm 10mm; }
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  [data-testid="stStatusWidget"], [data-testid="stExpander"], [data-testid="stPageLink"],
  [data-testid="stDownloadButton"], [data-testid="stElementToolbar"], .stButton,
  [data-testid="stWidgetLabel"], [data-testid="stHorizontalBlock"]:has(.stSelectbox),
  [data-testid="stHorizontalBlock"]:has(.stCheckbox),
  [data-testid="stHorizontalBlock"]:has([data-testid="stNumberInput"]) { display: none !important; }
  html, body, [data-testid="stApp"], [data-testid="stAppViewContainer"], [data-testid="stMain"],
  [data-testid="stMainBlockContainer"], .main, section.main {
    overflow: visible !important; height: auto !important; position: static !important; }
  [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
  [data-testid="stPlotlyChart"] { break-inside: avoid; max-width: 100% !important; }
  [data-testid="stPlotlyChart"] .main-svg { max-width: 100% !important; }
  .smart101-print-table thead { display: table-header-group; }
  .smart101-print-table tr { break-inside: avoid; }
}
</style>
"""


# Figures of the print view are drawn this wide (pixels): an A4 page holds 718 between its
# margins, and Plotly draws at the width it had on screen (a figure of the screen's width was
# cut at the page's right edge: scaling down an SVG without a viewBox crops it).
FIGURE_WIDTH = 700


def print_stylesheet() -> None:
    st.html(PRINT_CSS)


def print_view_toggle() -> bool:
    return bool(st.sidebar.toggle(
        "Print view", key=PRINT_KEY,
        help="Draws every table whole, as plain rows, for printing this page from the "
             "browser (Ctrl+P). The sidebar, buttons and widgets are never printed."))


def print_table(data: pd.DataFrame, links: dict[int, Callable[[str], str]] | None = None,
                names: list[str] | None = None, long_words: bool = False) -> None:
    """A table as printed (`table_block`)."""
    st.html(table_block(data, links, names, long_words))


def table_block(data: pd.DataFrame, links: dict[int, Callable[[str], str]] | None = None,
                names: list[str] | None = None, long_words: bool = False,
                formats: dict[int, str] | None = None) -> str:
    """A table as printed: every row and column, text escaped, wrapped to the page's width
    (also a wide table on screen: no column is cut at 1280 pixels). `names`: the columns'
    names under headers in words; `long_words`: cells may break inside a word (addresses,
    times) rather than widen the table; `formats`: by position, a column's number format."""
    css = "smart101-print-table long-words" if long_words else "smart101-print-table"
    return f'<div class="{css}">{table_html(data, links, names, formats)}</div>'


def report_downloads(cut: ExportCut, viewer: Viewer) -> None:
    """The Reports page's downloads: the sessions the viewer's role allows, HTML and (with
    Chromium on the server) PDF, each built only when clicked, and audited."""
    sessions = [s for s, allowed in (("closed", viewer.can(Permission.CLOSED_REPORT)),
                                     ("open", viewer.can(Permission.AGGREGATE))) if allowed]
    if not sessions or not viewer.can(Permission.DOWNLOAD):
        st.info("Your role may not download reports.")
        return
    formats = ("html", "pdf") if chromium() else ("html",)
    about = {"closed": "For the DSMB's closed session: every page by cohort, then the outcome "
                       "pages for each arm with the controls of its age group; subject-level "
                       "listings; \"CONFIDENTIAL: DSMB closed session\" on every page.",
             "open": "For investigators and the sponsor: the safety summary pooled over "
                     "cohorts and arms and the stopping rules; no comparison."}
    for session in sessions:
        st.markdown(f"#### {session.capitalize()} session")
        st.caption(about[session])
        for fmt, column in zip(formats, st.columns(len(formats) + 2), strict=False):
            column.download_button(
                f"{session.capitalize()} session ({fmt.upper()})",
                _builder(cut, viewer, session, fmt),
                file_name=f"smart101-{cut.cutoff}-{session}-session.{fmt}",
                mime="text/html" if fmt == "html" else "application/pdf",
                on_click="ignore", key=f"report_{session}_{fmt}")
    if "pdf" not in formats:
        st.caption("PDF: the server has no Chromium; the HTML file prints the same from any "
                   "browser.")


def _builder(cut: ExportCut, viewer: Viewer, session: str, fmt: str) -> Callable[[], bytes]:
    def build() -> bytes:
        from smart101_dash.ui.identity import audit_log  # no Streamlit call: runs off-script

        with tempfile.TemporaryDirectory() as folder:
            written = write_report(cut.export_dir, Path(folder), viewer, session,
                                   pdf=fmt == "pdf")
            path = written.pdf if fmt == "pdf" else written.html
            if path is None:
                raise RuntimeError(written.note)
            data = path.read_bytes()
        audit_log().append(viewer, Action.REPORT, page="report", export=cut.fingerprint,
                           detail=f"{session} session, {fmt}")
        return data

    return build
