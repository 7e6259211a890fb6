"""`python -m smart101_dash tables DIR OUT`: every panel's tables as CSV, without the app.

The files are the very `PanelItem.data` frames that the pages draw and download, so a script can
check a data cut against the screen. OUT gets one `<item key>.csv` per table and a
`manifest.json` with the cut-off, the export fingerprint, the filters, and the panels that could
not be built with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from smart101_dash.config import SETTINGS, Settings
from smart101_dash.filters import Filters
from smart101_dash.panels.registry import PANELS
from smart101_dash.store import Database, DatasetUnavailable


@dataclass
class TablesWritten:
    files: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def write_tables(export_dir: Path, out_dir: Path, filters: Filters | None = None,
                 settings: Settings = SETTINGS) -> TablesWritten:
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
        for name, build in PANELS.items():
            try:
                result = build(db, cut, filters, settings)
            except DatasetUnavailable as exc:
                written.skipped[name] = str(exc)
                continue
            for item in result.items:
                path = out_dir / f"{item.key}.csv"
                item.data.to_csv(path, index=False)
                written.files.append(path)
        manifest = {
            "study": cut.study_id,
            "data_cutoff": cut.cutoff.isoformat() if cut.cutoff else None,
            "export_dir": str(export_dir),
            "export_fingerprint": cut.fingerprint,
            "filters": filters.describe(),
            "files": sorted(p.name for p in written.files),
            "panels_not_built": written.skipped,
        }
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        return written
    finally:
        db.close()
