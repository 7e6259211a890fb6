"""The one runner of panels: every page and the `tables` command build a panel through it.

It checks the viewer's permissions before anything is built, resolves the page options, builds,
and checks that the result holds only declared items the viewer may see. User errors (a missing
dataset, a permission) stay exceptions here; the page and the command turn them into messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from smart101_dash.access import Permission, Viewer
from smart101_dash.charts import with_group_names
from smart101_dash.config import Settings
from smart101_dash.filters import Filters
from smart101_dash.labels import group_names
from smart101_dash.panels.base import PanelResult
from smart101_dash.panels.spec import Panel
from smart101_dash.store import Database, ExportCut


def build_panel(panel: Panel, db: Database, cut: ExportCut, filters: Filters,
                settings: Settings, viewer: Viewer,
                options: Mapping[str, Any] | None = None,
                section: str | None = None) -> PanelResult:
    """Build `panel` for `viewer`: AccessDenied, DatasetUnavailable or ValueError (a bad
    option, an unknown section) before any data is read when the request cannot be served.

    `section`: build only that section's items (a page shows one section at a time); None:
    every item the viewer may see.
    """
    viewer.require(Permission.AGGREGATE, f"the page {panel.title!r}")
    values = panel.resolve_options(options or {}, settings, viewer, cut)
    wanted = None
    if section is not None:
        wanted = panel.section_item_keys(panel.section(section, viewer), viewer)
        values["items"] = wanted
    cut.require(*panel.datasets)
    result = panel.build(db, cut, filters, settings, viewer=viewer, **values)
    panel.check_result(result, viewer, wanted)
    names = group_names(filters)
    items = tuple(replace(item, chart=with_group_names(item.chart, names))
                  if item.chart is not None else item for item in result.items)
    values.pop("items", None)  # what was built, not a choice of the page
    return replace(result, items=items, options=tuple(sorted(values.items())))
