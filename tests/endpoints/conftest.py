"""Fixtures of the derivation tests (tiny exports are built by endpoint_helpers.py)."""

from __future__ import annotations

import pytest

from smart101_dash.config import EndpointSettings


@pytest.fixture
def settings() -> EndpointSettings:
    return EndpointSettings()
