"""Acute GvHD (MAGIC) and chronic GvHD (NIH 2014) onset, with death competing."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints._frame import (
    EndpointInputError,
    event_or_competing,
    first_day,
    follow_up,
    horizon_days,
    require,
    transplant_day,
)
from smart101_dash.grading import magic_grades

CgvhdSeverity = Literal["any", "moderate_severe"]
CGVHD_LEVELS: dict[str, tuple[str, ...]] = {
    "any": ("MILD", "MODERATE", "SEVERE"),
    "moderate_severe": ("MODERATE", "SEVERE"),
}


def acute_grade(adgvhd: pd.DataFrame) -> pd.Series:
    """Overall aGvHD grade per assessment: AGVHDGR, or MAGIC from the stages when it is missing.

    Stages missing beside a recorded one count as 0; with neither grade nor any stage the
    assessment has no grade (NaN) and is ignored.
    """
    stages = ["SKINSTG", "LIVERSTG", "UGISTG", "LGISTG"]
    grade = pd.to_numeric(adgvhd["AGVHDGR"], errors="coerce").astype("float64")
    present = [c for c in stages if c in adgvhd.columns]
    if len(present) == len(stages):
        values = adgvhd[stages].apply(pd.to_numeric, errors="coerce")
        any_stage = values.notna().any(axis=1).to_numpy()
        derived = magic_grades(*(values[c].fillna(0).to_numpy() for c in stages))
        grade = grade.where(grade.notna() | ~any_stage, pd.Series(derived, index=grade.index))
    return grade


def acute_gvhd(
    adsl: pd.DataFrame,
    adgvhd: pd.DataFrame,
    settings: EndpointSettings,
    *,
    min_grade: int = 2,
    window_days: int = 100,
) -> pd.DataFrame:
    """Acute GvHD of grade >= `min_grade` (2: grade II-IV, 3: grade III-IV; MAGIC, Harris et
    al. 2016) by day `window_days` (100 or 180, settings.agvhd_windows_days).

    Event (1): the first assessment (ADT) on day 0..window with that grade or worse. Death
    without it by the window competes (2). Censored (0) at the window, last known alive or
    cut-off. Onset after the window is not an event (censored at the window). An onset on the
    day of death counts as aGvHD.
    """
    if min_grade not in (1, 2, 3, 4):
        raise EndpointInputError(f"min_grade must be 1-4, got {min_grade}")
    require(adgvhd, "adgvhd", ("USUBJID", "ADT", "AGVHDGR"))
    base = follow_up(adsl)
    horizon = horizon_days(settings, window_days)
    rows = adgvhd.loc[(acute_grade(adgvhd) >= min_grade).to_numpy()]
    event = first_day(rows, base, "ADT", np.full(len(base), horizon))
    return event_or_competing(base, event, base["death_day"].to_numpy(), horizon)


def chronic_gvhd(
    adsl: pd.DataFrame,
    adgvhd: pd.DataFrame,
    settings: EndpointSettings,
    *,
    severity: CgvhdSeverity = "any",
    window_days: int | None = None,
) -> pd.DataFrame:
    """Chronic GvHD (NIH 2014, Jagasia et al. 2015), any or moderate-severe.

    Event (1): the first assessment with CGVHDSEV MILD/MODERATE/SEVERE ("any") or
    MODERATE/SEVERE ("moderate_severe"). Death without it competes (2); so does relapse when
    settings.cgvhd_relapse_competes. Censored (0) at last known alive, cut-off, horizon or
    `window_days` if given.
    """
    if severity not in CGVHD_LEVELS:
        raise EndpointInputError(f"severity must be one of {tuple(CGVHD_LEVELS)}, got "
                                 f"{severity!r}")
    require(adgvhd, "adgvhd", ("USUBJID", "ADT", "CGVHDSEV"))
    base = follow_up(adsl)
    horizon = horizon_days(settings, window_days)
    rows = adgvhd.loc[adgvhd["CGVHDSEV"].isin(CGVHD_LEVELS[severity]).to_numpy()]
    event = first_day(rows, base, "ADT", np.full(len(base), horizon))
    competing = base["death_day"].to_numpy()
    if settings.cgvhd_relapse_competes:
        competing = np.fmin(competing, base["relapse_day"].to_numpy())
    return event_or_competing(base, event, competing, horizon)


STAGE_COLUMNS = ("SKINSTG", "LIVERSTG", "UGISTG", "LGISTG")


def acute_gvhd_grade(
    adsl: pd.DataFrame,
    adgvhd: pd.DataFrame,
    settings: EndpointSettings,
    *,
    window_days: int = 100,
) -> pd.DataFrame:
    """Maximum overall acute GvHD grade (MAGIC, 0-4) per transplanted subject by `window_days`.

    One row per subject: USUBJID, max_grade (0 when no graded assessment on day 0..window
    within follow-up: no aGvHD recorded), worst_day (the first assessment at that grade; NaN
    for grade 0) and the organ stages SKINSTG, LIVERSTG, UGISTG, LGISTG at that assessment
    (missing stages beside a recorded grade are left missing, not guessed). The grade of an
    assessment is AGVHDGR, or MAGIC from its stages when AGVHDGR is missing (`acute_grade`).
    """
    require(adgvhd, "adgvhd", ("USUBJID", "ADT", "AGVHDGR"))
    base = follow_up(adsl)
    horizon = horizon_days(settings, window_days)
    stages = [c for c in STAGE_COLUMNS if c in adgvhd.columns]
    rows = adgvhd[["USUBJID", "ADT", *stages]].assign(grade=acute_grade(adgvhd).to_numpy())
    rows = rows.merge(base[["USUBJID", "HSCTDT", "end_day"]], on="USUBJID", how="inner")
    rows["day"] = transplant_day(rows["ADT"], rows["HSCTDT"])
    rows = rows[rows["grade"].notna() & (rows["day"] >= 0) & (rows["day"] <= horizon)
                & (rows["day"] <= rows["end_day"])]
    # The worst assessment: highest grade, then the earliest day at that grade.
    worst = (rows.sort_values(["USUBJID", "grade", "day"], ascending=[True, False, True],
                              kind="stable")
             .drop_duplicates("USUBJID").set_index("USUBJID"))
    out = pd.DataFrame({"USUBJID": base["USUBJID"].to_numpy()})
    grade = out["USUBJID"].map(worst["grade"]).fillna(0)
    out["max_grade"] = grade.astype(np.int64)
    out["worst_day"] = out["USUBJID"].map(worst["day"]).astype("float64")
    for col in STAGE_COLUMNS:
        values = worst[col] if col in worst.columns else pd.Series(dtype="float64")
        out[col] = pd.to_numeric(out["USUBJID"].map(values), errors="coerce").astype("Int64")
    return out
