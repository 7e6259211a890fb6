"""Tiny exports built in code: a valid one, which each test then breaks in one way.

Six subjects: three treated (two Group A adults, one Group B child) and three controls (two
adults, one child). Dates are chosen so that every event falls between day 0 and the cut-off.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from smart101_dash.contract import DATASETS
from smart101_dash.demo import ARROW_TYPES

CUTOFF = date(2025, 6, 30)
D0 = date(2024, 1, 10)  # every subject's day 0 unless a test says otherwise


def day(n: int, start: date = D0) -> date:
    return start + timedelta(days=n)


def adsl_rows() -> list[dict]:
    base = dict(STUDYID="SMART101-01", SITEID="MSK", AGEU="YEARS", RACE="WHITE", HLAMATCH="10/10",
                CONDINT="MAC", DISSTAT="CR1", DONTYPE="MUD", HSCTDT=D0, SAFFL="Y", DTHFL=None,
                DTHDT=None, DTHCAUS=None, RLPSDT=None, LSTALVDT=CUTOFF, EOSSTT="ONGOING",
                DCSREAS=None, DCUTDT=CUTOFF, ENRLDT=day(-20), TRTSDT=None, DOSELVL=None)
    rows = [
        dict(USUBJID="T-A1", AGE=45, AGEGR1="ADULT", SEX="M", COHORT="SMART101", ARM="GROUP A",
             DIAG="AML", TRTSDT=day(7), DOSELVL="DL1"),
        dict(USUBJID="T-A2", AGE=61, AGEGR1="ADULT", SEX="F", COHORT="SMART101", ARM="GROUP A",
             DIAG="ALL", TRTSDT=day(7), DOSELVL="DL2", DISSTAT="CR2", ENRLDT=day(-10),
             DTHFL="Y", DTHDT=day(200), DTHCAUS="Relapse", RLPSDT=day(150), LSTALVDT=day(200),
             EOSSTT="DISCONTINUED", DCSREAS="DEATH"),
        dict(USUBJID="T-B1", AGE=9, AGEGR1="PEDIATRIC", SEX="F", COHORT="SMART101", ARM="GROUP B",
             DIAG="ALL", TRTSDT=day(6), DOSELVL="DL1", DONTYPE="HAPLO"),
        dict(USUBJID="C-1", AGE=52, AGEGR1="ADULT", SEX="M", COHORT="CONTROL", ARM="CONTROL",
             DIAG="AML", ENRLDT=day(-30)),
        dict(USUBJID="C-2", AGE=38, AGEGR1="ADULT", SEX="F", COHORT="CONTROL", ARM="CONTROL",
             DIAG="AML", DONTYPE="MRD", DTHFL="Y", DTHDT=day(90), DTHCAUS="Infection",
             LSTALVDT=day(90), EOSSTT="DISCONTINUED", DCSREAS="DEATH"),
        dict(USUBJID="C-3", AGE=12, AGEGR1="PEDIATRIC", SEX="M", COHORT="CONTROL", ARM="CONTROL",
             DIAG="ALL"),
    ]
    return [{**base, "SUBJID": r["USUBJID"], **r} for r in rows]


def adlb_rows() -> list[dict]:
    rows = []
    for usubjid, counts in (("T-A1", (40, 80, 150)), ("T-B1", (60, 70, 300)),
                            ("C-1", (10, 30, 45)), ("C-3", (20, 55, 90))):
        for visit, aval in zip((30, 60, 100), counts, strict=True):
            rows.append(dict(USUBJID=usubjid, PARAMCD="CD4", PARAM="CD4+ T cells (cells/uL)",
                             AVAL=float(aval), AVALU="cells/uL", ADT=day(visit),
                             AVISIT=f"DAY {visit}", AVISITN=float(visit)))
    return rows


def adgvhd_rows() -> list[dict]:
    acute = dict(CGVHDSEV=None)
    return [
        dict(USUBJID="T-A1", ADT=day(21), SKINSTG=1, LIVERSTG=0, UGISTG=0, LGISTG=0, AGVHDGR=1,
             **acute),
        dict(USUBJID="T-A1", ADT=day(35), SKINSTG=3, LIVERSTG=0, UGISTG=0, LGISTG=1, AGVHDGR=2,
             **acute),
        dict(USUBJID="C-1", ADT=day(28), SKINSTG=2, LIVERSTG=2, UGISTG=1, LGISTG=0, AGVHDGR=3,
             **acute),
        dict(USUBJID="C-1", ADT=day(200), SKINSTG=None, LIVERSTG=None, UGISTG=None, LGISTG=None,
             AGVHDGR=None, CGVHDSEV="MODERATE"),
    ]


def adinf_rows() -> list[dict]:
    return [
        dict(USUBJID="T-A1", INFSEQ=1, ASTDT=day(25), INFCAT="VIRAL", PATHOGEN="CMV",
             INFSITE="Blood", INFSEV=2, VIRREACT="Y"),
        dict(USUBJID="C-2", INFSEQ=1, ASTDT=day(12), INFCAT="BACTERIAL", PATHOGEN="E. coli",
             INFSITE="Blood", INFSEV=3, VIRREACT=None),
        dict(USUBJID="C-2", INFSEQ=2, ASTDT=day(80), INFCAT="FUNGAL", PATHOGEN="Aspergillus",
             INFSITE="Lung", INFSEV=3, VIRREACT=None),
    ]


def adae_rows() -> list[dict]:
    return [
        dict(USUBJID="T-A1", AESEQ=1, AETERM="fever", AEDECOD="Pyrexia",
             AEBODSYS="General disorders and administration site conditions", ATOXGR=2,
             AESER="N", AEREL="N", AEOUT="RECOVERED", ASTDT=day(9), AENDT=day(12), TRTEMFL="Y"),
        dict(USUBJID="T-A2", AESEQ=1, AETERM="sepsis", AEDECOD="Sepsis",
             AEBODSYS="Infections and infestations", ATOXGR=4, AESER="Y", AEREL="N",
             AEOUT="RECOVERED", ASTDT=day(30), AENDT=day(40), TRTEMFL="Y"),
        dict(USUBJID="C-2", AESEQ=1, AETERM="aspergillosis", AEDECOD="Bronchopulmonary "
             "aspergillosis", AEBODSYS="Infections and infestations", ATOXGR=5, AESER="Y",
             AEREL=None, AEOUT="FATAL", ASTDT=day(80), AENDT=day(90), TRTEMFL="Y"),
    ]


ROWS = {"adsl": adsl_rows, "adlb": adlb_rows, "adgvhd": adgvhd_rows, "adinf": adinf_rows,
        "adae": adae_rows}


def to_table(name: str, rows: list[dict]) -> pa.Table:
    """Rows as an Arrow table with the contract's types (columns absent from rows are left out)."""
    spec = DATASETS[name]
    present = [c for c in spec.columns if any(c.name in r for r in rows)] if rows else list(
        spec.columns)
    return pa.table({c.name: pa.array([r.get(c.name) for r in rows], ARROW_TYPES[c.kind])
                     for c in present})


def write_export(folder: Path, tables: dict[str, pa.Table] | None = None) -> Path:
    """Write the valid export (or the given tables instead of it) as `<name>.parquet` files."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = tables if tables is not None else {n: to_table(n, f()) for n, f in ROWS.items()}
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
    return folder


def valid_tables() -> dict[str, pa.Table]:
    return {n: to_table(n, f()) for n, f in ROWS.items()}


def set_rows(name: str, extra: list[dict] | None = None) -> pa.Table:
    """Dataset `name` of the valid export with `extra` rows appended."""
    return to_table(name, ROWS[name]() + (extra or []))
