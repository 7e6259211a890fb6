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

from smart101_dash.access import Viewer
from smart101_dash.analysis import Start
from smart101_dash.config import SETTINGS, Settings
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.runner import build_panel
from smart101_dash.safe_text import spreadsheet_safe
from smart101_dash.store import Database, DatasetUnavailable


@dataclass
class TablesWritten:
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def write_tables(export_dir: Path, out_dir: Path, viewer: Viewer,
                 filters: Filters | None = None, settings: Settings = SETTINGS
                 ) -> TablesWritten:
    export_dir, out_dir = export_dir.resolve(), out_dir.resolve()
    if out_dir == export_dir or export_dir in out_dir.parents:
        raise ValueError(f"refusing to write into the export folder {export_dir}")
    filters = filters or Filters()
    db = Database()
    try:
        cut = db.load(export_dir)
        cut.require("adsl")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = TablesWritten()
        for panel in PANELS:
            try:
                result = build_panel(panel, db, cut, filters, settings, viewer)
            except DatasetUnavailable as exc:
                written.skipped[panel.key] = exc.describe(with_examples=False)
                continue
            if not result.items:  # nothing to show (a single cut to compare, say): say why
                written.skipped[panel.key] = " ".join(m.text for m in result.messages)
            for item in result.items:
                path = out_dir / f"{item.key}.csv"
                spreadsheet_safe(item.data).to_csv(path, index=False)
                written.files.append(path)
            for spec in panel.items:
                if spec not in panel.allowed_items(viewer):
                    written.skipped[spec.key] = (f"subject-level: not for the role "
                                                 f"{viewer.role!r}")
        manifest = {
            "study": cut.study_id,
            "data_cutoff": cut.cutoff.isoformat() if cut.cutoff else None,
            "export_dir": str(export_dir),
            "export_fingerprint": cut.fingerprint,
            "filters": filters.describe(),
            "start": Start.of(settings.start.landmark, settings.start.landmark_day,
                              settings.start.as_treated).describe(),
            "role": viewer.role,
            "files": sorted(p.name for p in written.files),
            "not_built": written.skipped,
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return written
    finally:
        db.close()
