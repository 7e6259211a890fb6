"""`python -m smart101_dash tables DIR OUT [--role ROLE]`: every panel's tables as CSV, without
the app.

The files are the very `PanelItem.data` frames that the pages draw and download, built through
the same runner and so under the same permissions (a role without subject-level access gets no
listing), so a script can check a data cut against the screen. OUT gets one `<item key>.csv`
per table (every text cell spreadsheet-safe) and a `manifest.json` with the cut-off, the export
fingerprint, the filters, the role, and the panels or items that were not built, with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from smart101_dash.access import Permission, Viewer
from smart101_dash.analysis import Start
from smart101_dash.config import SETTINGS, Settings
from smart101_dash.cuts import find_cuts
from smart101_dash.export_files import resolved
from smart101_dash.files import csv_bytes
from smart101_dash.filters import Filters
from smart101_dash.panels.base import item_csv
from smart101_dash.panels.common import enrollment_range, filter_choices_of
from smart101_dash.panels.registry import PANELS
from smart101_dash.panels.registry import panel as panel_of
from smart101_dash.panels.start import start_of_options
from smart101_dash.panels.subjects import subject_slice
from smart101_dash.runner import build_panel
from smart101_dash.store import Database, DatasetUnavailable, ExportCut, ExportUnreadable
from smart101_dash.validate import Severity
from smart101_dash.views import (
    Query,
    parse_query,
    query_string,
    read_filters,
    read_options,
    view_query,
)


@dataclass
class TablesWritten:
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what a view asked for and could not get
    findings: list[str] = field(default_factory=list)  # validation's errors and warnings
    notice: str = ""  # why the cut written is not the newest (cuts.py, store.Database.load)


def write_tables(export_dir: Path, out_dir: Path, viewer: Viewer,
                 filters: Filters | None = None, settings: Settings = SETTINGS,
                 view: str | None = None, subjects: bool = False) -> TablesWritten:
    """Every panel's tables under `filters`, or under the shared `view` (a URL or its query:
    its cut, filters, and its page's options, checked as the app checks them)."""
    export_dir, out_dir = resolved(export_dir), resolved(out_dir)
    if out_dir == export_dir or export_dir in out_dir.parents:
        raise ValueError(f"refusing to write into the export folder {export_dir}")
    page, query = parse_query(view) if view is not None else \
        (None, view_query(filters or Filters()))
    if page is not None and page not in {p.key for p in PANELS}:
        page = None  # a page without panel options (Data quality, Reports): filters only
    written = TablesWritten()
    db = Database()
    try:
        cut = db.load(cut_of_view(export_dir, query, written.problems))
        ids = viewer.can(Permission.SUBJECT_LEVEL)
        written.findings = [f.format(with_examples=ids) for f in cut.report.findings
                            if f.severity is not Severity.INFO]
        written.notice = cut.notice
        cut.require("adsl")
        filters, problems = read_filters(query, filter_choices_of(db, cut),
                                         enrollment_range(db, cut))
        written.problems += problems
        out_dir.mkdir(parents=True, exist_ok=True)
        for panel in PANELS:
            options: dict[str, object] = {}
            if panel.key == page:
                options, problems = read_options(panel, query, settings, cut,
                                                 panel.visible_options(viewer))
                written.problems += problems
            try:
                result = build_panel(panel, db, cut, filters, settings, viewer, options)
            except DatasetUnavailable as exc:
                written.skipped[panel.key] = exc.describe(with_examples=False)
                continue
            except ExportUnreadable as exc:
                written.skipped[panel.key] = exc.describe()
                continue
            if not result.items:  # nothing to show (a single cut to compare, say): say why
                written.skipped[panel.key] = " ".join(m.text for m in result.messages)
            for item in result.items:
                path = out_dir / f"{item.key}.csv"
                path.write_bytes(item_csv(item))
                written.files.append(path)
            for spec in panel.items:
                if spec not in panel.allowed_items(viewer):
                    written.skipped[spec.key] = (f"subject-level: not for the role "
                                                 f"{viewer.role!r}")
        if subjects and not viewer.can(Permission.SUBJECT_LEVEL):
            written.skipped["subjects"] = f"subject-level: not for the role {viewer.role!r}"
        elif subjects:
            data, _ = subject_slice(db, cut, filters, settings, viewer,
                                    start_of_options(options_of(page, query, settings, cut,
                                                                viewer), settings))
            path = out_dir / "subjects.csv"
            path.write_bytes(csv_bytes(data))
            written.files.append(path)
        manifest = {
            "study": cut.study_id,
            "data_cutoff": cut.cutoff.isoformat() if cut.cutoff else None,
            "export_dir": str(export_dir),
            "export_fingerprint": cut.fingerprint,
            "filters": filters.describe(),
            "start": Start.of(settings.start.landmark, settings.start.landmark_day,
                              settings.start.as_treated).describe(),
            "role": viewer.role,
            "view": query_string(query),
            "view_page": page,
            "view_page_start": start_of_options(options_of(page, query, settings, cut, viewer),
                                                settings).describe() if page else None,
            "view_problems": written.problems,
            "findings": written.findings,
            "notice": written.notice or None,
            "files": sorted(p.name for p in written.files),
            "not_built": written.skipped,
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return written
    finally:
        db.close()


def cut_of_view(export_dir: Path, query: Query, problems: list[str]) -> Path:
    """The cut a view names (`cut=` its folder name), else the newest."""
    cuts = find_cuts(export_dir)
    asked = (query.get("cut") or [None])[-1]
    for cut in cuts:
        if asked is not None and cut.label == asked:
            return cut.path
    if asked is not None and asked != cuts[-1].label:
        problems.append(f"The view's data cut {asked!r} is not in {export_dir}; the newest "
                        f"cut ({cuts[-1].label}) is used.")
    return cuts[-1].path


def options_of(page: str | None, query: Query, settings: Settings, cut: ExportCut,
               viewer: Viewer) -> dict[str, object]:
    if page is None:
        return {}
    chosen = panel_of(page)
    return read_options(chosen, query, settings, cut, chosen.visible_options(viewer))[0]
