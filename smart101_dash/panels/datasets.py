"""The filtered population's transplanted subjects, as the endpoint derivations take them.

The outcome panels read the per-cut analysis tables (`analysis.py`); this read remains for a
definition a page changes (CD4+IR under another threshold), derived again for the population.
"""

from __future__ import annotations

import pandas as pd

from smart101_dash.analysis import ADSL_COLUMNS
from smart101_dash.filters import Filters, with_population
from smart101_dash.store import Database, ExportCut, Query

SUBJECTS_SQL = with_population(f"""\
SELECT {ADSL_COLUMNS}
FROM population
WHERE HSCTDT IS NOT NULL
ORDER BY USUBJID""")


def subjects(db: Database, cut: ExportCut, filters: Filters) -> tuple[pd.DataFrame, Query]:
    """Transplanted subjects of the population, with the columns every endpoint needs."""
    cut.require("adsl")
    query = Query(SUBJECTS_SQL, filters.params())
    return db.query(cut, query), query
