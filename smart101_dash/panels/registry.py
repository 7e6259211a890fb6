"""Every panel, once: the `tables` command writes them all, and tests check them all."""

from __future__ import annotations

from collections.abc import Callable

from smart101_dash.panels import (
    adverse_events,
    cd4_reconstitution,
    gvhd,
    infections,
    overview,
    survival,
)
from smart101_dash.panels.base import PanelResult

PanelBuild = Callable[..., PanelResult]

# name -> build(db, cut, filters, settings); the name is also the page file in pages/.
PANELS: dict[str, PanelBuild] = {
    "overview": overview.build,
    "cd4_reconstitution": cd4_reconstitution.build,
    "gvhd": gvhd.build,
    "infections": infections.build,
    "adverse_events": adverse_events.build,
    "survival": survival.build,
}
