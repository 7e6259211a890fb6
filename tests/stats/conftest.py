"""Fixtures of the statistics tests (helpers in stats_helpers.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from stats_helpers import read_reference


@pytest.fixture(scope="session")
def cr_data() -> pd.DataFrame:
    """300 subjects, two groups, whole-week times with many ties, cause 0/1/2."""
    return read_reference("competing_risks_data.csv")


@pytest.fixture(scope="session")
def reference():
    return read_reference
