"""Viewers of the default roles file (config/roles.toml), for tests that build panels or read."""

from __future__ import annotations

from smart101_dash.access import Viewer, load_roles

ROLES = load_roles()


def viewer_of(role: str) -> Viewer:
    viewer = ROLES.viewer(f"{role}@test.example", role)
    assert viewer is not None
    return viewer


DSMB = viewer_of("dsmb")
SPONSOR = viewer_of("sponsor")
ANALYST = viewer_of("analyst")
