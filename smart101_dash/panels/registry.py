"""Every panel, once. The app's pages, the `tables` command and the tests are made from this list:
a new panel is its module (ending in `PANEL = Panel(...)`), one line here, and pages/<key>.py."""

from __future__ import annotations

from smart101_dash.panels import (
    adverse_events,
    cd4_reconstitution,
    changes,
    engraftment,
    gvhd,
    infections,
    overview,
    patient,
    safety,
    stopping_rules,
    survival,
)
from smart101_dash.panels.spec import Panel

PANELS: tuple[Panel, ...] = (
    safety.PANEL,
    overview.PANEL,
    changes.PANEL,
    stopping_rules.PANEL,
    engraftment.PANEL,
    cd4_reconstitution.PANEL,
    gvhd.PANEL,
    infections.PANEL,
    adverse_events.PANEL,
    survival.PANEL,
    patient.PANEL,
)


def panel(key: str) -> Panel:
    for candidate in PANELS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"no panel {key!r}; panels: {', '.join(p.key for p in PANELS)}")
