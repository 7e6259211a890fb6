from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Tests import the project's package and the test helpers without installing anything.
ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Tests write an export and read it at once: no wait for it to settle (the tests of settling
# set their own; the app's servers in tests/browser inherit this).
os.environ.setdefault("SMART101_SETTLE_SECONDS", "0")


@pytest.fixture(autouse=True)
def audit_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                 ) -> Path:
    """Tests write their audit records to a folder of their own, never to var/audit."""
    folder = tmp_path_factory.mktemp("audit")
    monkeypatch.setenv("SMART101_AUDIT_DIR", str(folder))
    return folder
