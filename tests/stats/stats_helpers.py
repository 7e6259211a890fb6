"""Helpers of the statistics tests: R's reference numbers, copied into tests/fixtures/reference.

The copies were made by ../shared/reference/make_reference.R (R 4.2, survival 3.5, cmprsk
2.2); the tests read only these copies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REFERENCE = Path(__file__).resolve().parent.parent / "fixtures" / "reference"
TOL = 1e-6


def read_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / name)


def floats(column: pd.Series) -> np.ndarray:
    """A (possibly nullable) column as floats, <NA> as NaN, for comparisons."""
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def assert_no_nan_numbers(df: pd.DataFrame) -> None:
    """Plain float columns hold no NaN: undefined values must be <NA> in a nullable column."""
    plain = [c for c in df.columns if df[c].dtype == np.dtype("float64")]
    assert not df[plain].isna().to_numpy().any(), "NaN in a displayed column"
