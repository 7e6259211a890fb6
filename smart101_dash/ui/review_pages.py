"""The two pages that are not panels: Data quality (the contract check) and Audit (the trail)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pandas as pd
import streamlit as st

from smart101_dash.access import Permission, Viewer
from smart101_dash.audit import FIELDS, Action, audit_dir, read_records, verify
from smart101_dash.files import csv_bytes
from smart101_dash.safe_text import escape_markdown
from smart101_dash.ui import paper
from smart101_dash.ui.identity import audit_log
from smart101_dash.ui.page import (
    PageContext,
    audit_view,
    audit_visit,
    current_visitor,
    keep_filters,
    page_start,
    shows_subject_ids,
)
from smart101_dash.validate import Severity, ValidationReport

DATASET_NAMES = ("adsl", "adlb", "adgvhd", "adinf", "adae")


def findings_table(report: ValidationReport, subject_ids: bool) -> pd.DataFrame:
    """One row per finding; the example USUBJIDs only for a viewer who may see subject IDs."""
    table = pd.DataFrame(
        [{"severity": f.severity.value, "dataset": f.dataset, "column": f.column or "",
          "rule": f.rule, "rows": f.n_rows, "example USUBJIDs": ", ".join(f.examples),
          "detail": f.detail} for f in report.findings],
        columns=["severity", "dataset", "column", "rule", "rows", "example USUBJIDs", "detail"])
    return table if subject_ids else table.drop(columns=["example USUBJIDs"])


def data_quality_page() -> None:
    context = page_start("data_quality")
    st.subheader("Data quality: the export against the contract", anchor=False)
    st.caption(f"Export folder: {escape_markdown(context.cut.export_dir)} · fingerprint "
               f"{escape_markdown(context.cut.fingerprint)}. Datasets with an error are left "
               "out; warnings flag rows the panels leave out.")
    report = context.cut.report
    table = findings_table(report, shows_subject_ids(context.viewer))
    audit_view(context, rows=len(table))
    summary = pd.DataFrame([
        {"dataset": name, "status": ("usable" if report.is_usable(name) else
                                     "left out" if name in report.sources else "absent"),
         "rows": report.row_counts.get(name)} for name in DATASET_NAMES])
    st.dataframe(summary, hide_index=True, key="dq_summary")
    if table.empty:
        st.success("No findings: every dataset meets the contract.")
        return
    n_err = sum(f.severity is Severity.ERROR for f in report.findings)
    n_warn = sum(f.severity is Severity.WARNING for f in report.findings)
    (st.error if n_err else st.warning)(f"{n_err} error(s), {n_warn} warning(s).")
    st.dataframe(table, hide_index=True, key="dq_findings")
    if context.viewer.can(Permission.DOWNLOAD):
        st.download_button("Download CSV", findings_download(context, table),
                           file_name=f"smart101_validation_findings_{context.cut.fingerprint}.csv",
                           mime="text/csv", on_click="ignore", key="download_findings")


def findings_download(context: PageContext, table: pd.DataFrame) -> Callable[[], bytes]:
    viewer, fingerprint = context.viewer, context.cut.fingerprint

    def payload() -> bytes:
        audit_log().append(viewer, Action.DOWNLOAD, page="data_quality", export=fingerprint,
                           rows=len(table), detail="validation findings")
        return csv_bytes(table)
    return payload


def reports_page() -> None:
    """The DSMB report of the cut shown, as the viewer's role allows (report.py)."""
    context = page_start("reports")
    st.subheader("Reports", anchor=False)
    st.caption(f"The whole report of the cut of {escape_markdown(context.cut.cutoff)} (export "
               f"{escape_markdown(context.cut.fingerprint)}), for all patients: built when "
               "you click, which takes up to half a minute. The same files come from "
               "`python -m smart101_dash report`.")
    audit_view(context, rows=0)
    paper.report_downloads(context.cut, context.viewer)


def audit_page() -> None:
    """The trail, newest first, filtered by user, action, page and date; its chain checked."""
    viewer = current_visitor().viewer
    assert viewer is not None
    keep_filters()  # no sidebar here: the filters chosen must still be there on the next page
    st.title("Audit trail", anchor=False)
    paper.print_stylesheet()  # the trail is drawn as a wrapped table
    folder = audit_dir()
    records = pd.DataFrame(read_records(folder, viewer), columns=list(FIELDS))
    check = verify(folder)
    (st.success if check.ok else st.error)(escape_markdown(check.format()))
    st.caption(f"Folder {escape_markdown(folder)}; every record holds the SHA-256 of the one "
               "before it. Times are UTC.")
    shown, chosen = filter_records(records)
    # The fields of a record (its two hashes are checked above, and kept in the file), newest
    # first, wrapped to the page: at 1280 pixels no column is cut.
    newest = shown.iloc[::-1][[f for f in FIELDS if f in shown.columns]]
    if len(newest) > AUDIT_SHOWN:
        st.caption(f"The newest {AUDIT_SHOWN} of {len(newest):,} records; the filters above "
                   "narrow them.")
    paper.print_table(newest.head(AUDIT_SHOWN), names=list(newest.columns), long_words=True)
    audit_visit(viewer, "audit", chosen, rows=len(shown), filters=chosen)


AUDIT_SHOWN = 300


def filter_records(records: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The records the widgets choose, and the choice in words (for the page's own record)."""
    cols = st.columns(4)
    users = cols[0].multiselect("User", sorted(records["user"].dropna().unique()),
                                key="audit_user")
    actions = cols[1].multiselect("Action", [a.value for a in Action], key="audit_action")
    pages = cols[2].multiselect("Page", sorted(p for p in records["page"].dropna().unique() if p),
                                key="audit_page")
    today = datetime.now(UTC).date()
    first = _day(records["time"].min()) if len(records) else today
    period = cols[3].date_input("Between", value=(first, today), key="audit_period")
    mask = pd.Series(True, index=records.index)
    if users:
        mask &= records["user"].isin(users)
    if actions:
        mask &= records["action"].isin(actions)
    if pages:
        mask &= records["page"].isin(pages)
    words = [f"{name} {'/'.join(map(str, values))}" for name, values in
             (("user", users), ("action", actions), ("page", pages)) if values]
    if isinstance(period, tuple) and len(period) == 2:
        days = records["time"].map(_day)
        mask &= (days >= period[0]) & (days <= period[1])
        words.append(f"from {period[0]} to {period[1]}")
    return records[mask], "; ".join(words)


def _day(timestamp: object) -> date:
    return datetime.fromisoformat(str(timestamp)).date()


def may_audit(viewer: Viewer | None) -> bool:
    return viewer is not None and viewer.can(Permission.AUDIT)
