from __future__ import annotations

import sys
from pathlib import Path

# Tests import the project's package and the test helpers without installing anything.
ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
