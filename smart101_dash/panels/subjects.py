"""The subject-level slice: the filtered population, one row per subject, for re-analysis.

adsl's columns, then per endpoint its days and status as derived once per cut (ADTTE:
0 censored, 1 event, 2 competing event, counted from the transplant), then the per-subject
values the pages show (maximum aGvHD grade, infection episodes, cause of death). Offered on
every page and written by `tables --subjects`; refused to a role without subject-level access.
"""

from __future__ import annotations

import pandas as pd

from smart101_dash.access import Viewer
from smart101_dash.analysis import Start, analysis_tables
from smart101_dash.config import Settings
from smart101_dash.filters import Filters
from smart101_dash.store import Database, ExportCut, Query

KEY = "subjects"
TITLE = "Subjects behind this view (one row per subject)"
STATUS_NOTE = ("<ENDPOINT>_days: days from the transplant to the event or censoring; "
               "<ENDPOINT>_status: 0 censored, 1 event, 2 competing event (docs/endpoints.md). "
               "The rows are the filtered population as enrolled (as infused when that start "
               "is chosen); a landmark leaves no row out here: each row has its days.")


def subject_slice(db: Database, cut: ExportCut, filters: Filters, settings: Settings,
                  viewer: Viewer, start: Start | None = None) -> tuple[pd.DataFrame, Query]:
    """The slice and the query that read it (AccessDenied without subject-level access)."""
    tables = analysis_tables(db, cut, settings.endpoints)
    return tables.subjects(db, filters, viewer, start or Start())
