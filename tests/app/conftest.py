from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["pages/overview.py", "pages/cd4_reconstitution.py", "pages/gvhd.py",
         "pages/infections.py", "pages/adverse_events.py", "pages/survival.py",
         "pages/data_quality.py"]


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Each test gets its own database and result cache (Streamlit caches are per process)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()
