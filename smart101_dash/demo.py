"""A synthetic export that follows the contract and looks like Smart-101 (docs/demo-data.md).

36 treated patients (18 Group A adults, 18 Group B children) and a control cohort of routine
CD34+ selected transplants at the same centre, with CD4 recovery, GvHD, infections, adverse
events, relapses and deaths drawn at rates in the range published for T-cell-depleted HSCT.
Same seed and arguments, same bytes. Nothing here is real patient data.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from smart101_dash.contract import DATASETS, Kind
from smart101_dash.grading import magic_grade

DEFAULT_SEED = 20221201
DEFAULT_CUTOFF = date(2026, 10, 31)
FOLLOW_UP_DAYS = 730
ARROW_TYPES = {Kind.STRING: pa.string(), Kind.INTEGER: pa.int32(), Kind.NUMBER: pa.float64(),
               Kind.DATE: pa.date32()}

# Cumulative probabilities by 2 years if nothing competed (Weibull margins; docs/demo-data.md).
RELAPSE_2Y = {"SMART101": 0.27, "CONTROL": 0.30}
NRM_2Y = {"SMART101": 0.13, "CONTROL": 0.19}
# Maximum acute GvHD grade 0-IV by day 100.
AGVHD_GRADE_P = {"SMART101": (0.60, 0.17, 0.16, 0.05, 0.02),
                 "CONTROL": (0.55, 0.17, 0.18, 0.07, 0.03)}
CGVHD_2Y = {"SMART101": 0.12, "CONTROL": 0.16}
# Median CD4+ (cells/uL) at the protocol days, before each patient's own level.
CD4_MEDIAN = {"SMART101": (70, 130, 190, 280, 420, 600), "CONTROL": (35, 65, 95, 160, 300, 500)}
VISIT_DAYS = (30, 60, 100, 180, 365, 730)
OTHER_LYMPHOCYTES = {  # median counts at the protocol days
    "CD3": (90, 160, 240, 420, 700, 1000), "CD8": (40, 70, 110, 200, 320, 430),
    "CD19": (2, 8, 30, 120, 300, 450), "NK": (180, 200, 210, 230, 250, 260)}
# Engraftment of CD34+ selected grafts (docs/demo-data.md): the median day of neutrophil
# recovery, the platelet recovery's delay after it, and graft failure.
NEUTROPHIL_MEDIAN_DAY = {"ADULT": 11.0, "PEDIATRIC": 10.0}
PLATELET_RECOVERY_P = 0.9
PRIMARY_GF_P = 0.03
SECONDARY_GF_P = 0.03
# Chronic GvHD treated with systemic immunosuppression, by its worst NIH severity.
CGVHD_SYSTEMIC_P = {"MILD": 0.15, "MODERATE": 0.9, "SEVERE": 1.0}
EARLY_DEATHS_PER_100 = 1.5  # controls dying in the first week (day 2-6)
RECOVERY_DAYS = 3  # a recovery is three consecutive days at the level
PLATELET_DAILY_UNTIL = 60  # daily platelet counts end here (weekly samples are not drawn)
PARAM_LABELS = {"CD4": "CD4+ T cells (cells/uL)", "CD3": "CD3+ T cells (cells/uL)",
                "CD8": "CD8+ T cells (cells/uL)", "CD19": "CD19+ B cells (cells/uL)",
                "NK": "NK cells (cells/uL)", "ANC": "Neutrophils (cells/uL)",
                "PLAT": "Platelets (cells/uL)"}
# Mean infection episodes per patient over follow-up, by category.
INFECTION_RATE = {"BACTERIAL": {"SMART101": 0.8, "CONTROL": 0.9},
                  "VIRAL": {"SMART101": 0.7, "CONTROL": 1.2},
                  "FUNGAL": {"SMART101": 0.15, "CONTROL": 0.2},
                  "OTHER": {"SMART101": 0.1, "CONTROL": 0.15}}
PATHOGENS = {
    "BACTERIAL": (("E. coli", "Blood"), ("Klebsiella pneumoniae", "Blood"),
                  ("Staphylococcus aureus", "Skin"), ("Clostridioides difficile", "Gut"),
                  ("Enterococcus faecium", "Urine")),
    "VIRAL": (("CMV", "Blood"), ("CMV", "Blood"), ("EBV", "Blood"), ("Adenovirus", "Blood"),
              ("HHV-6", "Blood"), ("BK virus", "Urine"), ("RSV", "Lung")),
    "FUNGAL": (("Aspergillus fumigatus", "Lung"), ("Candida albicans", "Blood")),
    "OTHER": (("Pneumocystis jirovecii", "Lung"), ("Toxoplasma gondii", "Blood")),
}
REACTIVATING = {"CMV", "EBV", "Adenovirus", "HHV-6", "BK virus"}
# (preferred term, system organ class, probability through day 100, grades, serious if >= 3)
AE_CATALOG = (
    ("Febrile neutropenia", "Blood and lymphatic system disorders", 0.60, (3, 3, 4), False),
    ("Stomatitis", "Gastrointestinal disorders", 0.50, (1, 2, 3), False),
    ("Nausea", "Gastrointestinal disorders", 0.45, (1, 1, 2), False),
    ("Diarrhoea", "Gastrointestinal disorders", 0.35, (1, 2, 3), False),
    ("Pyrexia", "General disorders and administration site conditions", 0.40, (1, 1, 2), False),
    ("Hypokalaemia", "Metabolism and nutrition disorders", 0.30, (1, 2, 3), False),
    ("Alanine aminotransferase increased", "Investigations", 0.20, (1, 2, 3), False),
    ("Hypertension", "Vascular disorders", 0.20, (2, 2, 3), False),
    ("Rash maculo-papular", "Skin and subcutaneous tissue disorders", 0.15, (1, 1, 2), False),
    ("Sepsis", "Infections and infestations", 0.10, (3, 4, 4), True),
    ("Acute kidney injury", "Renal and urinary disorders", 0.08, (2, 3, 3), True),
)
TREATED_ONLY_AES = (  # possible reactions to SMART101 itself (related)
    ("Infusion related reaction", "Injury, poisoning and procedural complications", 0.08,
     (1, 1, 2), False),
    ("Cytokine release syndrome", "Immune system disorders", 0.05, (1, 2, 2), False),
)
PRODUCT_REACTIONS = {term for term, *_ in TREATED_ONLY_AES}
FATAL_AE = {"Infection": ("Sepsis", "Infections and infestations"),
            "GvHD": ("Graft versus host disease", "Immune system disorders"),
            "Organ toxicity": ("Multiple organ dysfunction syndrome",
                               "General disorders and administration site conditions")}


def arrow_table(name: str, frame: pd.DataFrame) -> pa.Table:
    """A frame as an Arrow table with the contract's types, in the contract's column order."""
    columns = [c for c in DATASETS[name].columns if c.name in frame.columns]
    return pa.table({col.name: _arrow_column(frame[col.name], col.kind) for col in columns})


def _arrow_column(values: pd.Series, kind: Kind) -> pa.Array:
    """One column: straight from pandas when its values already have the type (millions of
    rows at 100,000 controls), else value by value (dates as objects, numbers as text)."""
    try:
        return pa.array(values, ARROW_TYPES[kind], from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    if kind is Kind.DATE:
        values = values.map(lambda d: None if d is None or pd.isna(d) else d)
    elif kind is Kind.STRING:
        values = values.map(lambda v: None if v is None or pd.isna(v) else str(v))
    return pa.array(values.tolist(), ARROW_TYPES[kind], from_pandas=True)


class _Weighted:
    """A weighted draw of one value, as `rng.choice(values, p=weights)` draws it (one uniform
    number, placed in the normalised cumulative weights): the same value from the same stream,
    at a twentieth of the cost (a call of `choice` checks its weights every time; the demo makes
    about half a million such draws at 100,000 controls)."""

    def __init__(self, values: tuple, weights: tuple[float, ...]) -> None:
        cumulative = np.asarray(weights, dtype=float).cumsum()
        self.values, self.cdf = values, cumulative / cumulative[-1]

    def draw(self, rng: np.random.Generator) -> object:
        return self.values[int(self.cdf.searchsorted(rng.random(), side="right"))]


DIAGNOSIS = {True: _Weighted(("AML", "ALL", "ALAL", "MDS"), (0.60, 0.32, 0.05, 0.03)),
             False: _Weighted(("AML", "ALL", "ALAL", "MDS"), (0.33, 0.60, 0.07, 0.0))}
NRM_CAUSE = _Weighted(("Infection", "GvHD", "Organ toxicity"), (0.45, 0.3, 0.25))
AGVHD_GRADE = {c: _Weighted((0, 1, 2, 3, 4), p) for c, p in AGVHD_GRADE_P.items()}
CGVHD_SEVERITY = _Weighted(("MILD", "MODERATE", "SEVERE"), (0.5, 0.35, 0.15))
INFECTION_SEVERITY = _Weighted((1, 2, 3), (0.45, 0.4, 0.15))


def _weibull_days(rng: np.random.Generator, p_2y: float, shape: float, size: int) -> np.ndarray:
    """Event days with P(T <= 730) = p_2y; shape < 1 puts more events early."""
    scale = FOLLOW_UP_DAYS / (-np.log(1 - p_2y)) ** (1 / shape)
    return scale * rng.weibull(shape, size)


def _spread_dates(rng: np.random.Generator, n: int, first: date, last: date) -> list[date]:
    """n sorted dates from first to last with irregular gaps (single-centre accrual)."""
    if n == 0:
        return []
    gaps = rng.exponential(1.0, n)
    position = np.cumsum(gaps) - gaps[0]
    position = position / position[-1] if n > 1 else np.zeros(1)
    span = (last - first).days
    return [first + timedelta(days=round(p * span)) for p in position]


def _subjects(rng: np.random.Generator, n_controls: int, cutoff: date) -> pd.DataFrame:
    rows = []
    arms = (("GROUP A", "ADULT", date(2022, 11, 2), date(2026, 5, 20)),
            ("GROUP B", "PEDIATRIC", date(2023, 5, 8), date(2026, 10, 12)))
    for arm, age_group, first, last in arms:
        for i, enrolled in enumerate(_spread_dates(rng, 18, first, last), start=1):
            prefix = "A" if arm == "GROUP A" else "B"
            transplant = enrolled + timedelta(days=int(rng.integers(14, 43)))
            rows.append({"USUBJID": f"SMART101-01-{prefix}{i:03d}", "COHORT": "SMART101",
                         "ARM": arm, "AGEGR1": age_group, "ENRLDT": enrolled,
                         "HSCTDT": transplant if transplant <= cutoff else None})
    # Controls: contemporaneous routine transplants, entered in the database before day 0.
    for i, transplant in enumerate(_spread_dates(rng, n_controls, date(2021, 6, 1),
                                                 cutoff - timedelta(days=21)), start=1):
        adult = rng.random() < 0.6
        rows.append({"USUBJID": f"CTRL-{i:04d}", "COHORT": "CONTROL", "ARM": "CONTROL",
                     "AGEGR1": "ADULT" if adult else "PEDIATRIC", "HSCTDT": transplant,
                     "ENRLDT": transplant - timedelta(days=int(rng.integers(7, 31)))})
    frame = pd.DataFrame(rows)
    n = len(frame)
    adult = (frame["AGEGR1"] == "ADULT").to_numpy()
    frame["AGE"] = np.where(adult, rng.integers(18, 71, n), rng.integers(1, 18, n)).astype(float)
    frame["SEX"] = np.where(rng.random(n) < 0.56, "M", "F")
    frame["DIAG"] = [DIAGNOSIS[bool(a)].draw(rng) for a in adult]
    frame["DISSTAT"] = rng.choice(["CR1", "CR2", "CR3+", "ACTIVE"], n, p=[0.55, 0.30, 0.1, 0.05])
    frame["DONTYPE"] = rng.choice(["MRD", "MUD", "MMUD", "HAPLO"], n, p=[0.25, 0.4, 0.15, 0.2])
    frame["HLAMATCH"] = frame["DONTYPE"].map({"MRD": "10/10", "MUD": "10/10", "MMUD": "9/10",
                                              "HAPLO": "5/10"})
    frame["CONDINT"] = np.where(rng.random(n) < 0.85, "MAC", "RIC")
    return frame


def build_demo_export(seed: int = DEFAULT_SEED, n_controls: int = 150,
                      cutoff: date = DEFAULT_CUTOFF) -> dict[str, pd.DataFrame]:
    """The demo export as DataFrames with the contract's columns (see write_demo_export)."""
    if n_controls < 0:
        raise ValueError("n_controls must be zero or more")
    rng = np.random.Generator(np.random.PCG64(seed))
    adsl = _subjects(rng, n_controls, cutoff)
    _treatment(rng, adsl, cutoff)
    _outcomes(rng, adsl, cutoff)
    adsl["STUDYID"] = "SMART101-01"
    adsl["SUBJID"] = adsl["USUBJID"].str.split("-").str[-1]
    adsl["SITEID"] = "MSK"
    adsl["AGEU"] = "YEARS"
    adsl["RACE"] = rng.choice(["WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"],
                              len(adsl), p=[0.62, 0.16, 0.12, 0.10])
    adsl["DCUTDT"] = cutoff
    adsl = adsl.sort_values("USUBJID").reset_index(drop=True)
    transplanted = adsl[adsl["HSCTDT"].notna()].reset_index(drop=True)
    tables = {
        "adsl": adsl,
        "adlb": _lymphocytes(rng, transplanted),
        "adgvhd": _gvhd(rng, transplanted),
        "adinf": _infections(rng, transplanted),
        "adae": _adverse_events(rng, transplanted),
    }
    # Engraftment and early deaths come from streams of their own, so that adding them
    # changed no other value.
    tables = _with_engraftment(tables, np.random.Generator(np.random.PCG64(seed + 1)))
    return _early_deaths(tables, np.random.Generator(np.random.PCG64(seed + 2)))


def _treatment(rng: np.random.Generator, adsl: pd.DataFrame, cutoff: date) -> None:
    """SMART101 at day 4-10 (mostly 7); dose levels escalate in order of infusion."""
    adsl["TRTSDT"] = None
    adsl["DOSELVL"] = None
    treated = adsl.index[(adsl["COHORT"] == "SMART101") & adsl["HSCTDT"].notna()]
    order = sorted(treated, key=lambda i: (adsl.at[i, "HSCTDT"], adsl.at[i, "USUBJID"]))
    withdrawn = order[len(order) // 2]  # one adult or child withdraws before infusion
    adsl["_withdrawn"] = False
    adsl.at[withdrawn, "_withdrawn"] = True
    infused = [i for i in order if i != withdrawn]
    for rank, i in enumerate(infused):
        day = int(rng.choice([4, 5, 6, 7, 7, 7, 7, 7, 8, 9, 10]))
        infusion = adsl.at[i, "HSCTDT"] + timedelta(days=day)
        if infusion <= cutoff:
            adsl.at[i, "TRTSDT"] = infusion
            adsl.at[i, "DOSELVL"] = ("DL1", "DL2", "DL3")[min(rank // 9, 2)]


def _outcomes(rng: np.random.Generator, adsl: pd.DataFrame, cutoff: date) -> None:
    """Relapse, death (after relapse or without it: NRM) and the end-of-study status."""
    n = len(adsl)
    cohort = adsl["COHORT"].to_numpy()
    relapse_day = np.array([_weibull_days(rng, RELAPSE_2Y[c], 0.9, 1)[0] for c in cohort])
    nrm_day = np.array([_weibull_days(rng, NRM_2Y[c], 0.6, 1)[0] for c in cohort])
    death_after_relapse = relapse_day + rng.exponential(220, n)
    dies_of_relapse = rng.random(n) < 0.65
    columns = {k: [None] * n for k in ("DTHFL", "DTHDT", "DTHCAUS", "RLPSDT", "LSTALVDT",
                                       "EOSSTT", "DCSREAS", "SAFFL")}
    # Plain lists: a pandas lookup per value cost seconds at 100,000 controls.
    transplants, enrolled = adsl["HSCTDT"].tolist(), adsl["ENRLDT"].tolist()
    withdrawals = adsl["_withdrawn"].tolist()
    for i in range(n):
        hsct = transplants[i]
        if hsct is None or pd.isna(hsct):
            withdrawn = bool(withdrawals[i])
            columns["LSTALVDT"][i] = min(cutoff, enrolled[i] + timedelta(days=10))
            columns["EOSSTT"][i] = "DISCONTINUED" if withdrawn else "ONGOING"
            columns["DCSREAS"][i] = "WITHDRAWAL BY SUBJECT" if withdrawn else None
            continue
        if withdrawals[i]:
            columns["LSTALVDT"][i] = hsct + timedelta(days=3)
            columns["EOSSTT"][i] = "DISCONTINUED"
            columns["DCSREAS"][i] = "WITHDRAWAL BY SUBJECT"
            continue
        columns["SAFFL"][i] = "Y"
        end = min((cutoff - hsct).days, FOLLOW_UP_DAYS)
        relapse, death, cause = None, None, None
        if relapse_day[i] < nrm_day[i] and relapse_day[i] <= end:
            relapse = int(relapse_day[i])
            if dies_of_relapse[i] and death_after_relapse[i] <= end:
                death, cause = int(death_after_relapse[i]), "Relapse"
        elif nrm_day[i] <= end:
            death = int(nrm_day[i])
            cause = NRM_CAUSE.draw(rng)
        if relapse is not None:
            columns["RLPSDT"][i] = hsct + timedelta(days=max(relapse, 21))
        if death is not None:
            death = max(death, 14, relapse or 0)
            columns["DTHFL"][i], columns["DTHCAUS"][i] = "Y", cause
            columns["DTHDT"][i] = columns["LSTALVDT"][i] = hsct + timedelta(days=death)
            columns["EOSSTT"][i], columns["DCSREAS"][i] = "DISCONTINUED", "DEATH"
        elif end >= FOLLOW_UP_DAYS:
            columns["LSTALVDT"][i] = hsct + timedelta(days=FOLLOW_UP_DAYS)
            columns["EOSSTT"][i] = "COMPLETED"
        else:
            last_visit = max(end - int(rng.integers(0, 21)), 0)
            columns["LSTALVDT"][i] = hsct + timedelta(days=last_visit)
            columns["EOSSTT"][i] = "ONGOING"
    for key, values in columns.items():
        adsl[key] = values
    del adsl["_withdrawn"]


def _records(frame: pd.DataFrame) -> list[dict]:
    """The rows as dicts (the same values as `to_dict("records")`, four times faster: at
    100,000 controls `to_dict` boxed each value one by one)."""
    columns = list(frame.columns)
    return [dict(zip(columns, row, strict=True))
            for row in zip(*(frame[c].tolist() for c in columns), strict=True)]


class _Rows:
    """Rows collected as tuples and made into a frame column by column: for millions of rows
    far faster than one dict per row, with the same columns, order and types."""

    def __init__(self, *columns: str) -> None:
        self.columns = columns
        self.rows: list[tuple] = []

    def add(self, *values: object) -> None:
        self.rows.append(values)

    def extend(self, rows: Iterable[tuple]) -> None:
        self.rows.extend(rows)

    def frame(self) -> pd.DataFrame:
        by_column = zip(*self.rows, strict=True) if self.rows else ([] for _ in self.columns)
        return pd.DataFrame(dict(zip(self.columns, map(list, by_column), strict=True)))


def _last_day(subject: dict) -> int:
    """The last transplant day on which this subject can have a record."""
    return (subject["LSTALVDT"] - subject["HSCTDT"]).days


LYMPHOCYTES = ("CD4", *OTHER_LYMPHOCYTES)
# Each cohort's medians by visit and subset, as floats: [cohort, visit, subset].
LYMPHOCYTE_MEDIANS = np.array([np.array([cd4, *OTHER_LYMPHOCYTES.values()], dtype=float).T
                               for cd4 in CD4_MEDIAN.values()])
UNSCHEDULED_DAY = 45  # the day of the unscheduled CD4 counts


class _LabDraws(NamedTuple):
    """The lymphocyte draws of every subject, in the order they were drawn."""
    own: list[float]  # each subject's own level, on the log scale
    visits: list[tuple[int, int, int]]  # (subject, visit, day) of each visit done
    errors: list[np.ndarray]  # per visit done, the five subsets' errors
    unscheduled: list[int]  # the subjects with an unscheduled CD4 count
    unscheduled_errors: list[float]  # and its error


def _lymphocyte_draws(rng: np.random.Generator, last: list[int]) -> _LabDraws:
    """Only the draws, subject by subject (the stream's order); the rows are made from them
    as arrays (`_lymphocytes`): a tuple per row cost most of the demo's time at 100,000."""
    draws = _LabDraws([], [], [], [], [])
    for k, last_day in enumerate(last):
        draws.own.append(rng.normal(0, 0.55))
        for v, visit in enumerate(VISIT_DAYS):
            day = visit + int(rng.integers(-3, 4))
            if day > last_day or rng.random() < 0.08:  # not yet due, or a missed visit
                continue
            draws.visits.append((k, v, day))
            # One draw of the five subsets' errors: the same numbers as five draws.
            draws.errors.append(rng.normal(0, 0.3, 5))
        if rng.random() < 0.1 and last_day >= UNSCHEDULED_DAY:
            draws.unscheduled.append(k)
            draws.unscheduled_errors.append(rng.normal(0, 0.3))
    return draws


def _lymphocytes(rng: np.random.Generator, subjects: pd.DataFrame) -> pd.DataFrame:
    """CD4 and the other subsets at the protocol visits (some missed), and an unscheduled
    CD4 count for some; by subset, subject and day."""
    rows = _lymphocyte_rows(subjects, _lymphocyte_draws(rng, _last_days(subjects).tolist()))
    # By subset code, then subject (subjects come in USUBJID's order), then day.
    code_rank = np.argsort(np.argsort(LYMPHOCYTES))
    order = np.lexsort((rows["day"], rows["subject"], code_rank[rows["subset"]]))
    subject, subset, visit, day = (rows[c][order] for c in ("subject", "subset", "visit", "day"))
    return pd.DataFrame({
        "USUBJID": subjects["USUBJID"].to_numpy(dtype=object)[subject],
        "PARAMCD": np.array(LYMPHOCYTES, dtype=object)[subset],
        "PARAM": np.array([PARAM_LABELS[p] for p in LYMPHOCYTES], dtype=object)[subset],
        "AVAL": _round_1(rows["value"][order]),
        "AVALU": "cells/uL",
        "ADT": _dates(subjects["HSCTDT"], subject, day),
        "AVISIT": np.array([f"DAY {d}" for d in VISIT_DAYS] + ["UNSCHEDULED"], dtype=object)[visit],
        "AVISITN": np.array([*VISIT_DAYS, np.nan], dtype=float)[visit]})


def _lymphocyte_rows(subjects: pd.DataFrame, draws: _LabDraws) -> dict[str, np.ndarray]:
    """Subject, subset, visit, day and value of every count, as arrays: the five subsets at
    each visit done, then the unscheduled CD4 counts."""
    cohort = pd.Index(tuple(CD4_MEDIAN)).get_indexer(subjects["COHORT"])
    level = np.where(subjects["AGEGR1"] == "PEDIATRIC", 1.2, 1.0)  # children's counts higher
    own = np.asarray(draws.own, dtype=float)
    k, v, day = np.asarray(draws.visits, dtype=np.int64).reshape(-1, 3).T
    errors = np.asarray(draws.errors, dtype=float).reshape(-1, len(LYMPHOCYTES))
    values = LYMPHOCYTE_MEDIANS[cohort[k], v] * level[k, None] * np.exp(own[k, None] + errors)
    extra = np.asarray(draws.unscheduled, dtype=np.int64)  # at the CD4 median of day 60
    extra_values = LYMPHOCYTE_MEDIANS[cohort[extra], 1, 0] * level[extra] * np.exp(
        own[extra] + np.asarray(draws.unscheduled_errors, dtype=float))
    each = len(LYMPHOCYTES)
    return {"subject": np.concatenate([np.repeat(k, each), extra]),
            "subset": np.concatenate([np.tile(np.arange(each), k.size),
                                      np.zeros(extra.size, np.int64)]),
            # Unscheduled: the visit after the protocol visits (UNSCHEDULED, no AVISITN).
            "visit": np.concatenate([np.repeat(v, each), np.full(extra.size, len(VISIT_DAYS))]),
            "day": np.concatenate([np.repeat(day, each), np.full(extra.size, UNSCHEDULED_DAY)]),
            "value": np.concatenate([values.ravel(), extra_values])}


def _last_days(subjects: pd.DataFrame) -> np.ndarray:
    """Each subject's last transplant day on which it can have a record."""
    return (pd.to_datetime(subjects["LSTALVDT"]) - pd.to_datetime(subjects["HSCTDT"])
            ).dt.days.to_numpy(dtype=np.int64)


def _dates(transplants: pd.Series, subject: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The date of each transplant day `day` of subject `subject` (a row of `transplants`),
    as date objects like the other datasets' dates."""
    day_0 = pd.to_datetime(transplants).to_numpy().astype("datetime64[D]")
    return (day_0[subject] + day.astype("timedelta64[D]")).astype(object)


def _round_1(values: np.ndarray) -> np.ndarray:
    """Python's round(x, 1) of each value, as arrays. np.round multiplies by ten first, which
    can move a value that lies near a half across it; those few are rounded by Python."""
    rounded = np.round(values, 1)
    tenfold = values * 10
    near_half = np.abs(tenfold - np.floor(tenfold) - 0.5) < 1e-6
    rounded[near_half] = [round(x, 1) for x in values[near_half].tolist()]
    return rounded


def _stages_for(rng: np.random.Generator, grade: int) -> tuple[int, int, int, int]:
    """Organ stages (skin, liver, upper GI, lower GI) whose MAGIC grade is `grade`."""
    options = {
        0: [(0, 0, 0, 0)],
        1: [(1, 0, 0, 0), (2, 0, 0, 0)],
        2: [(3, 0, 0, 0), (2, 0, 1, 0), (1, 0, 0, 1), (2, 1, 0, 0), (0, 0, 1, 1)],
        3: [(2, 0, 0, 2), (3, 0, 1, 3), (1, 2, 0, 1), (0, 0, 1, 2)],
        4: [(4, 0, 0, 1), (2, 1, 1, 4), (1, 4, 0, 2)],
    }[grade]
    stages = options[int(rng.integers(0, len(options)))]
    assert magic_grade(*stages) == grade
    return stages


class _GvhdDraws(NamedTuple):
    """Each subject's GvHD draws: the acute grade, its onset, duration and organ stages; if
    chronic GvHD comes, its onset and its worst severity."""
    grade: int
    onset: int
    duration: int
    skin: int
    liver: int
    upper_gi: int
    lower_gi: int
    chronic: bool
    chronic_onset: int
    severity: str


def _gvhd_draws(rng: np.random.Generator, cohorts: Iterable[str]) -> pd.DataFrame:
    """Only the draws, subject by subject (the stream's order); `_gvhd` makes the rows."""
    draws = []
    for cohort in cohorts:
        grade = AGVHD_GRADE[cohort].draw(rng)
        onset = int(rng.integers(14, 85)) if rng.random() < 0.85 else int(rng.integers(100, 170))
        duration = int(rng.integers(14, 36))
        stages = _stages_for(rng, grade)
        chronic = rng.random() < CGVHD_2Y[cohort]
        chronic_onset = int(rng.integers(120, 500))
        draws.append(_GvhdDraws(grade, onset, duration, *stages, chronic, chronic_onset,
                                CGVHD_SEVERITY.draw(rng)))
    return pd.DataFrame(draws, columns=_GvhdDraws._fields)


# Acute GvHD is assessed weekly to day 180 if it comes, else every two weeks to day 100;
# chronic GvHD at the long-term visits.
ACUTE_DAYS = (np.arange(7, 101, 14), np.arange(7, 181, 7))  # without, with acute GvHD
CHRONIC_DAYS = np.array([100, 180, 270, 365, 545, 730])


def _gvhd(rng: np.random.Generator, subjects: pd.DataFrame) -> pd.DataFrame:
    """Staged acute GvHD assessments and chronic GvHD severities, by subject and day."""
    draws = _gvhd_draws(rng, subjects["COHORT"].tolist())
    last = _last_days(subjects)
    acute = draws["grade"].to_numpy() > 0
    k_acute, acute_day = _visits(last, ACUTE_DAYS, acute.astype(int))
    k_chronic, chronic_day = _visits(last, (CHRONIC_DAYS,), np.zeros(len(last), int))
    active = acute[k_acute] & (draws["onset"].to_numpy()[k_acute] <= acute_day) & (
        acute_day < (draws["onset"] + draws["duration"]).to_numpy()[k_acute])
    chronic = draws["chronic"].to_numpy()[k_chronic] & (
        chronic_day >= draws["chronic_onset"].to_numpy()[k_chronic])
    subject = np.concatenate([k_acute, k_chronic])
    day = np.concatenate([acute_day, chronic_day])
    order = np.lexsort((day, subject))  # no day is both an acute and a chronic visit

    def acute_only(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.where(active, values[k_acute], 0),
                               np.full(len(k_chronic), np.nan)])[order]

    severity = np.where(chronic, draws["severity"].to_numpy(dtype=object)[k_chronic], "NONE")
    frame = pd.DataFrame({
        "USUBJID": subjects["USUBJID"].to_numpy(dtype=object)[subject[order]],
        "ADT": _dates(subjects["HSCTDT"], subject[order], day[order])})
    for column, drawn in (("SKINSTG", "skin"), ("LIVERSTG", "liver"), ("UGISTG", "upper_gi"),
                          ("LGISTG", "lower_gi"), ("AGVHDGR", "grade")):
        frame[column] = acute_only(draws[drawn].to_numpy(dtype=float))
    frame["CGVHDSEV"] = np.concatenate([np.full(len(k_acute), None, dtype=object),
                                        severity.astype(object)])[order]
    return frame


def _visits(last: np.ndarray, schedules: tuple[np.ndarray, ...], schedule: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The visits each subject has had by its last day, in order of subject and day: the
    subject and the day of each. Subject k's visit days are `schedules[schedule[k]]`."""
    counts = np.zeros(len(last), dtype=np.int64)
    for i, days in enumerate(schedules):
        theirs = schedule == i
        counts[theirs] = np.searchsorted(days, last[theirs], side="right")
    subject = np.repeat(np.arange(len(last)), counts)
    position = np.arange(len(subject)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = max(len(days) for days in schedules)
    table = np.array([np.pad(days, (0, width - len(days))) for days in schedules])
    return subject, table[schedule[subject], position]


def _infections(rng: np.random.Generator, subjects: pd.DataFrame) -> pd.DataFrame:
    rows = _Rows("USUBJID", "INFSEQ", "ASTDT", "INFCAT", "PATHOGEN", "INFSITE", "INFSEV",
                 "VIRREACT")
    for s in _records(subjects):  # dicts: fast to read, same order
        last = _last_day(s)
        episodes = []
        for category, rates in INFECTION_RATE.items():
            for _ in range(int(rng.poisson(rates[s["COHORT"]]))):
                early = rng.random() < 0.7
                day = int(rng.exponential(35)) + 1 if early else int(rng.integers(100, 731))
                if day > last:
                    continue
                pathogen, site = PATHOGENS[category][int(rng.integers(len(PATHOGENS[category])))]
                episodes.append((day, category, pathogen, site,
                                 INFECTION_SEVERITY.draw(rng)))
        for seq, (day, category, pathogen, site, severity) in enumerate(sorted(episodes), 1):
            rows.add(s["USUBJID"], seq, s["HSCTDT"] + timedelta(days=day), category, pathogen,
                     site, severity, "Y" if pathogen in REACTIVATING else None)
    return rows.frame().sort_values(["USUBJID", "INFSEQ"]).reset_index(drop=True)


def _adverse_events(rng: np.random.Generator, subjects: pd.DataFrame) -> pd.DataFrame:
    rows = _Rows("USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "ATOXGR", "AESER",
                 "AEREL", "AEOUT", "ASTDT", "AENDT", "TRTEMFL")
    for s in _records(subjects):  # dicts: fast to read, same order
        last = _last_day(s)
        treated = s["COHORT"] == "SMART101"
        catalog = AE_CATALOG + (TREATED_ONLY_AES if treated else ())
        events = []
        for term, soc, p, grades, serious_if_severe in catalog:
            if rng.random() >= p:
                continue
            related_to_product = term in PRODUCT_REACTIONS
            start = 8 + int(rng.integers(0, 3)) if related_to_product else \
                int(rng.integers(0, 90))
            if rng.random() < 0.15:  # a later episode, in the second year of follow-up
                start = int(rng.integers(100, 731))
            if start > last:
                continue
            grade = int(grades[int(rng.integers(len(grades)))])
            serious = grade >= 4 or (grade >= 3 and (serious_if_severe or rng.random() < 0.2))
            related = related_to_product or (treated and rng.random() < 0.05)
            events.append((start, term, soc, grade, serious, related))
        if s["DTHFL"] == "Y" and s["DTHCAUS"] in FATAL_AE:
            term, soc = FATAL_AE[s["DTHCAUS"]]
            events.append((max(_last_day(s) - int(rng.integers(0, 6)), 0), term, soc, 5, True,
                           False))
        for seq, (start, term, soc, grade, serious, related) in enumerate(sorted(events), 1):
            began = s["HSCTDT"] + timedelta(days=start)
            fatal = grade == 5
            end_day = start + int(rng.integers(1, 22))
            ended = s["DTHDT"] if fatal else (
                s["HSCTDT"] + timedelta(days=end_day) if end_day <= last else None)
            on_treatment = began >= s["TRTSDT"] if treated and s["TRTSDT"] is not None else True
            rows.add(s["USUBJID"], seq, term.lower(), term, soc, grade, "Y" if serious else "N",
                     ("Y" if related else "N") if treated else None,
                     "FATAL" if fatal else ("RECOVERED" if ended else "NOT RECOVERED"),
                     began, ended, "Y" if on_treatment else None)
    return rows.frame().sort_values(["USUBJID", "AESEQ"]).reset_index(drop=True)


def _with_engraftment(tables: dict[str, pd.DataFrame], rng: np.random.Generator
                      ) -> dict[str, pd.DataFrame]:
    """Neutrophil and platelet recovery, graft failure (adsl), the daily ANC and platelet
    counts they come from (adlb), and which chronic GvHD was treated systemically (adgvhd).

    A recovery or failure after the subject's last day known alive is not (yet) recorded.
    The daily ANC gives back ANCRDT by the contract's rule: below 500/uL from the nadir to
    the day before recovery, then three days at or above it.
    """
    adsl = tables["adsl"]
    n = len(adsl)
    hsct = pd.to_datetime(adsl["HSCTDT"])
    last = (pd.to_datetime(adsl["LSTALVDT"]) - hsct).dt.days.to_numpy(dtype=float)
    child = (adsl["AGEGR1"] == "PEDIATRIC").to_numpy()
    median = np.where(child, NEUTROPHIL_MEDIAN_DAY["PEDIATRIC"], NEUTROPHIL_MEDIAN_DAY["ADULT"])
    neutrophil = np.clip(np.round(median * np.exp(rng.normal(0, 0.2, n))), 8, 30)
    platelet = neutrophil + np.round(np.exp(rng.normal(np.log(6), 0.6, n)))
    platelet = np.where(rng.random(n) < PLATELET_RECOVERY_P, platelet,
                        np.round(rng.uniform(70, 200, n)))  # late recovery
    primary = rng.random(n) < PRIMARY_GF_P
    secondary = ~primary & (rng.random(n) < SECONDARY_GF_P)
    failure = np.where(primary, rng.integers(28, 36, n).astype(float),
                       np.where(secondary, neutrophil + rng.integers(20, 151, n), np.nan))
    neutrophil[primary] = platelet[primary] = np.nan
    platelet[secondary & (platelet >= failure)] = np.nan

    def dated(days: np.ndarray, confirmed_after: int = 0) -> pd.Series:
        # A recovery is known once its three days are (the third on or before last alive).
        known = ~np.isnan(days) & (days + confirmed_after <= last)
        when = (hsct + pd.to_timedelta(np.nan_to_num(days), unit="D")).dt.date
        return when.astype(object).where(known, None)

    adsl = adsl.assign(ANCRDT=dated(neutrophil, RECOVERY_DAYS - 1),
                       PLTRDT=dated(platelet, RECOVERY_DAYS - 1), GFDT=dated(failure))
    adsl["GFTYPE"] = np.where(adsl["GFDT"].isna(), None,
                              np.where(primary, "PRIMARY", "SECONDARY"))
    counts = _daily_counts(rng, adsl.loc[adsl["HSCTDT"].notna()], neutrophil, platelet, last)
    # Already in order (PARAMCD, then subject and day): ANC sorts before the lymphocyte
    # subsets and PLAT after them; a sort of millions of rows with date objects is not needed.
    adlb = pd.concat([counts["ANC"], tables["adlb"], counts["PLAT"]], ignore_index=True)
    tables = {**tables, "adsl": adsl, "adlb": adlb}
    return {**tables, "adgvhd": _systemic_treatment(rng, tables["adgvhd"])}


def _early_deaths(tables: dict[str, pd.DataFrame], rng: np.random.Generator
                  ) -> dict[str, pd.DataFrame]:
    """A few controls die in the first week (EARLY_DEATHS_PER_100 per 100 controls), as after
    any transplant; a SMART101 patient who dies so early is never infused, so a comparison
    from day 0 counts these deaths against the controls only (what the landmark corrects).
    Their records after the death are removed; the death has its grade 5 adverse event."""
    adsl = tables["adsl"].copy()
    transplanted = (adsl["COHORT"] == "CONTROL") & adsl["HSCTDT"].notna()
    controls = adsl.index[transplanted & adsl["DTHDT"].isna() & adsl["RLPSDT"].isna()]
    n = min(len(controls), round(int(transplanted.sum()) * EARLY_DEATHS_PER_100 / 100))
    chosen = rng.choice(controls, size=n, replace=False) if n else []
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    drawn = [(int(rng.integers(2, 7)), str(rng.choice(["Infection", "Organ toxicity"])))
             for _ in chosen]  # per subject, day then cause: the order the demo was made in
    days = np.array([d for d, _ in drawn], dtype=np.int64)
    causes = np.array([c for _, c in drawn], dtype=object)
    deaths = [adsl.at[i, "HSCTDT"] + timedelta(days=int(d)) for i, d in zip(chosen, days,
                                                                             strict=True)]
    death_of = dict(zip(adsl.loc[chosen, "USUBJID"], deaths, strict=True))
    cause_of = dict(zip(adsl.loc[chosen, "USUBJID"], causes.tolist(), strict=True))
    for column, values in (("DTHFL", "Y"), ("DTHDT", deaths), ("DTHCAUS", causes.tolist()),
                           ("LSTALVDT", deaths), ("EOSSTT", "DISCONTINUED"),
                           ("DCSREAS", "DEATH"), ("ANCRDT", None), ("PLTRDT", None),
                           ("GFDT", None), ("GFTYPE", None)):
        adsl[column] = adsl[column].astype(object)
        adsl.loc[chosen, column] = pd.Series(values, index=chosen, dtype=object) \
            if isinstance(values, list) else values
    out = {"adsl": adsl}
    for name, column in (("adlb", "ADT"), ("adgvhd", "ADT"), ("adinf", "ASTDT"),
                         ("adae", "ASTDT")):
        frame = tables[name]
        # Only the early deaths' rows are compared (millions of lab rows at 100,000 controls).
        theirs = frame["USUBJID"].isin(list(death_of)).to_numpy()
        keep = ~theirs
        rows = frame.loc[theirs]
        keep[theirs] = (rows[column] <= rows["USUBJID"].map(death_of)).to_numpy(dtype=bool)
        out[name] = frame[keep].reset_index(drop=True)
    adae = out["adae"]
    last_seq = adae.groupby("USUBJID")["AESEQ"].max()
    fatal = []
    for subject, death in death_of.items():
        term, soc = FATAL_AE[cause_of[subject]]
        seq = int(last_seq.get(subject, 0)) + 1
        fatal.append({"USUBJID": subject, "AESEQ": seq, "AETERM": term.lower(),
                      "AEDECOD": term, "AEBODSYS": soc, "ATOXGR": 5, "AESER": "Y",
                      "AEREL": None, "AEOUT": "FATAL", "ASTDT": death, "AENDT": death,
                      "TRTEMFL": "Y"})
    if fatal:
        adae = pd.concat([adae, pd.DataFrame(fatal)], ignore_index=True).astype(adae.dtypes)
    out["adae"] = adae.sort_values(["USUBJID", "AESEQ"]).reset_index(drop=True)
    return out


def _daily_counts(rng: np.random.Generator, subjects: pd.DataFrame, neutrophil: np.ndarray,
                  platelet: np.ndarray, last: np.ndarray) -> dict[str, pd.DataFrame]:
    """Daily ANC from day 0 to two days after recovery (day 35 without one), and daily
    platelets to two days after recovery (day 60 at most): below the recovery level before
    it, at or above it from then. Some patients start above 500 ANC (before the nadir)."""
    index = subjects.index.to_numpy()
    frames = {}
    for param, recovery, level, until, low, high in (
            ("ANC", neutrophil, 500.0, 35, (0.0, 450.0), (520.0, 3000.0)),
            ("PLAT", platelet, 20000.0, PLATELET_DAILY_UNTIL, (3000.0, 19000.0),
             (21000.0, 120000.0))):
        own = recovery[index]
        end = np.minimum(np.where(np.isnan(own), until, own + 2), last[index])
        end = np.minimum(end, until).astype(int)
        days_per = np.maximum(end + 1, 0)
        who = np.repeat(np.arange(len(index)), days_per)
        day = np.concatenate([np.arange(k) for k in days_per]) if len(days_per) else \
            np.arange(0)
        after = day >= np.nan_to_num(own[who], nan=np.inf)
        value = np.where(after, rng.uniform(*high, day.size), rng.uniform(*low, day.size))
        if param == "ANC":  # the first days before the nadir: some still above 500
            residual = (day <= 1) & (rng.random(day.size) < 0.3) & ~after
            value = np.where(residual, rng.uniform(600, 1500, day.size), value)
        hsct = pd.to_datetime(subjects["HSCTDT"]).to_numpy()[who]
        frames[param] = pd.DataFrame({
            "USUBJID": subjects["USUBJID"].to_numpy()[who], "PARAMCD": param,
            "PARAM": PARAM_LABELS[param], "AVAL": np.round(value, -1 if param == "ANC" else -3),
            "AVALU": "cells/uL",
            "ADT": (hsct + day.astype("timedelta64[D]")).astype("datetime64[D]").astype(object),
            "AVISIT": None, "AVISITN": np.nan})
    return frames


def _systemic_treatment(rng: np.random.Generator, adgvhd: pd.DataFrame) -> pd.DataFrame:
    """CGVHDIST = Y on the chronic GvHD assessments of patients treated systemically (drawn
    once per patient from the worst severity)."""
    chronic = adgvhd["CGVHDSEV"].isin(tuple(CGVHD_SYSTEMIC_P))
    worst = (adgvhd.loc[chronic].assign(rank=adgvhd["CGVHDSEV"].map(
        {k: i for i, k in enumerate(CGVHD_SYSTEMIC_P)})).groupby("USUBJID")["CGVHDSEV"]
        .agg(lambda v: max(v, key=list(CGVHD_SYSTEMIC_P).index)))
    treated = {u for u, sev in worst.items() if rng.random() < CGVHD_SYSTEMIC_P[sev]}
    flag = chronic & adgvhd["USUBJID"].isin(treated)
    return adgvhd.assign(CGVHDIST=np.where(flag, "Y", None))


def as_of(tables: dict[str, pd.DataFrame], cutoff: date, seed: int = DEFAULT_SEED
          ) -> dict[str, pd.DataFrame]:
    """The demo trial as it stood at an earlier `cutoff`: what happened after it is not yet
    known, and a few records read differently then (re-adjudicated by the later cut).

    Subjects enrolled after the cut-off are absent; a transplant, infusion, relapse or death
    after it is not yet recorded (the subject is on study, last known alive at the cut-off);
    records starting after it are absent and an end after it is not yet known. Then, so that
    the later cut has corrections to show: two adverse events were graded one lower, one
    grade 3 infection was graded 2, one relapse was dated five days later, and one adverse
    event was entered twice (the later cut has removed the duplicate).
    """
    cut = pd.Timestamp(cutoff).date()
    adsl = tables["adsl"][tables["adsl"]["ENRLDT"] <= cut].copy()
    late = adsl["LSTALVDT"].map(lambda d: d is not None and not pd.isna(d) and d > cut)
    for column, also in (("HSCTDT", ("SAFFL",)), ("TRTSDT", ("DOSELVL",)),
                         ("DTHDT", ("DTHFL", "DTHCAUS")), ("RLPSDT", ()), ("ANCRDT", ()),
                         ("PLTRDT", ()), ("GFDT", ("GFTYPE",))):
        after = adsl[column].map(lambda d: d is not None and not pd.isna(d) and d > cut)
        for name in (column, *also):
            adsl.loc[after, name] = None
    adsl.loc[late, "LSTALVDT"] = cut
    adsl.loc[late, "EOSSTT"] = "ONGOING"
    adsl.loc[late, "DCSREAS"] = None
    adsl["DCUTDT"] = cut
    kept = set(adsl["USUBJID"])
    died = dict(zip(adsl["USUBJID"], adsl["DTHDT"], strict=True))

    def before(name: str, column: str) -> pd.DataFrame:
        frame = tables[name]
        return frame[frame["USUBJID"].isin(kept) & (frame[column] <= cut)].copy()

    out = {"adsl": adsl.reset_index(drop=True), "adlb": before("adlb", "ADT"),
           "adgvhd": before("adgvhd", "ADT"), "adinf": before("adinf", "ASTDT")}
    adae = before("adae", "ASTDT")
    ends_later = adae["AENDT"].map(lambda d: d is not None and not pd.isna(d) and d > cut)
    adae.loc[ends_later, "AENDT"] = None
    fatal_later = (adae["AEOUT"] == "FATAL") & adae["USUBJID"].map(
        lambda u: died.get(u) is None or pd.isna(died.get(u)))
    adae.loc[fatal_later, "ATOXGR"] = 4
    adae.loc[ends_later | fatal_later, "AEOUT"] = "NOT RECOVERED"
    out["adae"] = adae
    return _readjudicated(out, cut, np.random.Generator(np.random.PCG64(seed + cut.toordinal())))


def _readjudicated(tables: dict[str, pd.DataFrame], cut: date, rng: np.random.Generator
                   ) -> dict[str, pd.DataFrame]:
    """The earlier cut's few records that the later cut corrects (see `as_of`)."""
    adae, adinf, adsl = tables["adae"], tables["adinf"], tables["adsl"]
    settled = adae.index[adae["ATOXGR"].between(2, 4) & (adae["AEOUT"] != "FATAL")
                         & (adae["ASTDT"] <= cut - timedelta(days=30))]
    for i in rng.choice(settled, size=min(2, len(settled)), replace=False):
        adae.loc[i, "ATOXGR"] -= 1
    severe = adinf.index[adinf["INFSEV"] == 3]
    if len(severe):
        adinf.loc[rng.choice(severe), "INFSEV"] = 2
    relapsed = adsl.index[adsl["RLPSDT"].notna() & adsl["DTHDT"].isna()
                          & adsl["RLPSDT"].map(lambda d: d is not None and not pd.isna(d)
                                               and d <= cut - timedelta(days=5))]
    if len(relapsed):
        adsl.loc[rng.choice(relapsed), "RLPSDT"] += timedelta(days=5)
    if len(adae):
        twice = adae.loc[rng.choice(adae.index)].copy()
        twice["AESEQ"] = int(adae.loc[adae["USUBJID"] == twice["USUBJID"], "AESEQ"].max()) + 1
        adae = pd.concat([adae, twice.to_frame().T], ignore_index=True).astype(adae.dtypes)
    tables["adae"] = adae.sort_values(["USUBJID", "AESEQ"]).reset_index(drop=True)
    return tables


def write_demo_export(out_dir: Path | str, seed: int = DEFAULT_SEED, n_controls: int = 150,
                      cutoff: date = DEFAULT_CUTOFF, earlier: date | None = None
                      ) -> dict[str, int]:
    """Write the demo export into `out_dir` (adlb as hive parts by PARAMCD); rows per dataset.

    `earlier`: the same trial as it stood at that earlier cut-off (`as_of`), so that two
    consistent cuts exist. The files are written into a temporary folder beside `out_dir` and
    renamed into place, so a reader never sees half an export. An existing `out_dir` is replaced only if it holds
    nothing but contract datasets (a previous export); anything else is refused.
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists():
        allowed = {f"{n}.parquet" for n in DATASETS} | set(DATASETS)
        strangers = [p.name for p in out.iterdir() if p.name not in allowed]
        if strangers:
            raise FileExistsError(f"{out} holds other files ({', '.join(sorted(strangers)[:3])}); "
                                  "choose an empty or new folder")
    if earlier is not None and not earlier < cutoff:
        raise ValueError(f"--cutoff must be before the demo's own cut-off, {cutoff}")
    tables = build_demo_export(seed, n_controls, cutoff)
    if earlier is not None:
        tables = as_of(tables, earlier, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name, frame in tables.items():
            if name == "adlb":
                for param, part in frame.groupby("PARAMCD", sort=True):
                    folder = staging / "adlb" / f"PARAMCD={param}"
                    folder.mkdir(parents=True)
                    table = arrow_table(name, part.drop(columns=["PARAMCD"]))
                    pq.write_table(table, folder / "part-0.parquet")
            else:
                pq.write_table(arrow_table(name, frame), staging / f"{name}.parquet")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return {name: len(frame) for name, frame in tables.items()}
