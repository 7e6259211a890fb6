"""The export contract: which datasets and columns the dashboard reads, their types and rules.

This module is the single source of truth for `docs/data-contract.md`, the validator and the
column allowlist of the data layer. Names follow CDISC ADaM where ADaM has one (see
`docs/data-contract.md`); GvHD and infection datasets are sponsor-defined, ADaM-style.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """Logical column types, each with the physical Parquet/DuckDB types it accepts."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"


# DuckDB type names (as DESCRIBE prints them) accepted for each logical kind.
ACCEPTED_TYPES: dict[Kind, frozenset[str]] = {
    Kind.STRING: frozenset({"VARCHAR"}),
    Kind.INTEGER: frozenset(
        {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
    ),
    Kind.NUMBER: frozenset(
        {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
         "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL"}
    ),
    Kind.DATE: frozenset({"DATE"}),
}


@dataclass(frozen=True)
class Column:
    """One column of a dataset.

    `required` means the column must exist; `nullable` whether its values may be missing.
    `allowed` is the closed set of values (null aside); `minimum`/`maximum` bound numbers.
    """

    name: str
    kind: Kind
    meaning: str
    required: bool = True
    nullable: bool = False
    allowed: tuple[str | int, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class Dataset:
    """One dataset of the export: `<name>.parquet` or a folder `<name>/` of Parquet parts."""

    name: str
    label: str
    structure: str
    required: bool
    columns: tuple[Column, ...]
    # Columns holding event dates: each must fall on or after HSCTDT and on or before DCUTDT.
    event_dates: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name} in the contract")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


S, I, N, D = Kind.STRING, Kind.INTEGER, Kind.NUMBER, Kind.DATE
FLAG_Y = ("Y",)  # ADaM flags in Parquet: "Y" or null

COHORTS = ("SMART101", "CONTROL")
ARMS = ("GROUP A", "GROUP B", "CONTROL")
AGE_GROUPS = ("ADULT", "PEDIATRIC")
DIAGNOSES = ("AML", "ALL", "ALAL", "MDS")
LYMPHOCYTE_PARAMS = ("CD4", "CD3", "CD8", "CD19", "NK")
# Daily blood counts, for engraftment: absolute neutrophil count and platelets.
COUNT_PARAMS = ("ANC", "PLAT")
GRAFT_FAILURE_TYPES = ("PRIMARY", "SECONDARY")
INFECTION_CATEGORIES = ("BACTERIAL", "VIRAL", "FUNGAL", "OTHER")
CGVHD_SEVERITIES = ("NONE", "MILD", "MODERATE", "SEVERE")
EOS_STATUSES = ("ONGOING", "COMPLETED", "DISCONTINUED")

ADSL = Dataset(
    name="adsl",
    label="Subject-level analysis dataset",
    structure="one row per subject, treated and control alike",
    required=True,
    columns=(
        Column("STUDYID", S, "Study identifier"),
        Column("USUBJID", S, "Unique subject identifier (unique in adsl, key of every dataset)"),
        Column("SUBJID", S, "Subject identifier within the study", required=False, nullable=True),
        Column("SITEID", S, "Study site identifier"),
        Column("AGE", N, "Age at enrollment, years", minimum=0, maximum=100),
        Column("AGEU", S, "Age unit", required=False, nullable=True, allowed=("YEARS",)),
        Column("AGEGR1", S, "Age group: ADULT (age >= 18) or PEDIATRIC", allowed=AGE_GROUPS),
        Column("SEX", S, "Sex", allowed=("M", "F", "U")),
        Column("RACE", S, "Race", required=False, nullable=True),
        Column("COHORT", S, "SMART101 (treated in the trial) or CONTROL (routine HSCT)",
               allowed=COHORTS),
        Column("ARM", S, "Protocol arm: GROUP A (adults), GROUP B (pediatric); CONTROL for the "
               "control cohort", allowed=ARMS),
        Column("DIAG", S, "Primary diagnosis", allowed=DIAGNOSES),
        Column("DISSTAT", S, "Disease status at transplant (for example CR1, CR2, CR3+, ACTIVE)"),
        Column("DONTYPE", S, "Donor type (for example MRD, MUD, MMUD, HAPLO)"),
        Column("HLAMATCH", S, "HLA match (for example 10/10)", required=False, nullable=True),
        Column("CONDINT", S, "Conditioning intensity (MAC, RIC)", required=False, nullable=True),
        Column("ENRLDT", D, "Enrollment date (entry into the control database for controls)"),
        Column("HSCTDT", D, "Date of the CD34+ selected HSCT: day 0. Null if not yet transplanted",
               nullable=True),
        Column("TRTSDT", D, "Date of SMART101 infusion (treated only; null if not infused)",
               nullable=True),
        Column("DOSELVL", S, "SMART101 dose level (for example DL1); null for controls",
               nullable=True),
        Column("SAFFL", S, "Safety population flag (received SMART101, or transplanted control)",
               nullable=True, allowed=FLAG_Y),
        Column("DTHFL", S, "Death flag", nullable=True, allowed=FLAG_Y),
        Column("DTHDT", D, "Date of death", nullable=True),
        Column("DTHCAUS", S, "Cause of death", nullable=True),
        Column("RLPSDT", D, "Date of relapse of the leukemia", nullable=True),
        Column("ANCRDT", D, "Neutrophil recovery: first of three consecutive days with ANC >= "
               "500/uL. Null if not (yet) recovered. Without this column, derived from daily "
               "ANC in adlb", required=False, nullable=True),
        Column("PLTRDT", D, "Platelet recovery: first of three consecutive days with platelets "
               ">= 20,000/uL without a transfusion in the 7 days before. Null if not (yet) "
               "recovered", required=False, nullable=True),
        Column("GFDT", D, "Date of graft failure (null if none)", required=False,
               nullable=True),
        Column("GFTYPE", S, "Graft failure type: PRIMARY (never engrafted) or SECONDARY (loss "
               "after engraftment); null without GFDT", required=False, nullable=True,
               allowed=GRAFT_FAILURE_TYPES),
        Column("LSTALVDT", D, "Last date known alive"),
        Column("EOSSTT", S, "End-of-study status", allowed=EOS_STATUSES),
        Column("DCSREAS", S, "Reason for discontinuation", required=False, nullable=True),
        Column("DCUTDT", D, "Data cut-off date (one value for the whole export)"),
    ),
    event_dates=("TRTSDT", "DTHDT", "RLPSDT", "LSTALVDT", "ANCRDT", "PLTRDT", "GFDT"),
)

ADLB = Dataset(
    name="adlb",
    label="Lymphocyte subsets and blood counts (laboratory analysis dataset)",
    structure="one row per subject, parameter and date",
    required=False,
    columns=(
        Column("USUBJID", S, "Unique subject identifier"),
        Column("PARAMCD", S, "Parameter code: a lymphocyte subset, or ANC (neutrophils) and PLAT "
               "(platelets) for engraftment", allowed=LYMPHOCYTE_PARAMS + COUNT_PARAMS),
        Column("PARAM", S, "Parameter label, for example 'CD4+ T cells (cells/uL)'"),
        Column("AVAL", N, "Count in cells/uL (= cells/mm3 = 10^6/L)", minimum=0),
        Column("AVALU", S, "Unit of AVAL", allowed=("cells/uL",)),
        Column("ADT", D, "Date of the sample"),
        Column("AVISIT", S, "Analysis visit, for example 'DAY 100'", required=False, nullable=True),
        Column("AVISITN", N, "Analysis visit number (the protocol day)", required=False,
               nullable=True),
    ),
    event_dates=("ADT",),
)

ADGVHD = Dataset(
    name="adgvhd",
    label="GvHD assessments (sponsor-defined, ADaM-style)",
    structure="one row per subject and assessment date",
    required=False,
    columns=(
        Column("USUBJID", S, "Unique subject identifier"),
        Column("ADT", D, "Assessment date"),
        Column("SKINSTG", I, "Acute GvHD skin stage (MAGIC 0-4)", nullable=True, minimum=0,
               maximum=4),
        Column("LIVERSTG", I, "Acute GvHD liver stage (MAGIC 0-4)", nullable=True, minimum=0,
               maximum=4),
        Column("UGISTG", I, "Acute GvHD upper GI stage (MAGIC 0-1)", nullable=True, minimum=0,
               maximum=1),
        Column("LGISTG", I, "Acute GvHD lower GI stage (MAGIC 0-4)", nullable=True, minimum=0,
               maximum=4),
        Column("AGVHDGR", I, "Overall acute GvHD grade, MAGIC 0-IV as 0-4", nullable=True,
               minimum=0, maximum=4),
        Column("CGVHDSEV", S, "Chronic GvHD NIH 2014 global severity", nullable=True,
               allowed=CGVHD_SEVERITIES),
        Column("CGVHDIST", S, "Y when the chronic GvHD needed systemic immunosuppression (the "
               "GRFS event); null otherwise", required=False, nullable=True, allowed=FLAG_Y),
    ),
    event_dates=("ADT",),
)

ADINF = Dataset(
    name="adinf",
    label="Infection episodes (sponsor-defined, ADaM-style)",
    structure="one row per infection episode",
    required=False,
    columns=(
        Column("USUBJID", S, "Unique subject identifier"),
        Column("INFSEQ", I, "Episode sequence number within subject", required=False,
               nullable=True),
        Column("ASTDT", D, "Onset date of the episode"),
        Column("INFCAT", S, "Infection category", allowed=INFECTION_CATEGORIES),
        Column("PATHOGEN", S, "Pathogen (for example CMV, E. coli, Aspergillus)"),
        Column("INFSITE", S, "Site (for example blood, lung, urine)"),
        Column("INFSEV", I, "Severity grade, BMT CTN infection grading 1-3", minimum=1, maximum=3),
        Column("VIRREACT", S, "Y when the episode is a viral reactivation (CMV, EBV, ADV, HHV-6, "
               "BK)", nullable=True, allowed=FLAG_Y),
    ),
    event_dates=("ASTDT",),
)

ADAE = Dataset(
    name="adae",
    label="Adverse events analysis dataset",
    structure="one row per adverse event",
    required=False,
    columns=(
        Column("USUBJID", S, "Unique subject identifier"),
        Column("AESEQ", I, "Sequence number"),
        Column("AETERM", S, "Reported term"),
        Column("AEDECOD", S, "MedDRA preferred term"),
        Column("AEBODSYS", S, "MedDRA system organ class"),
        Column("ATOXGR", I, "CTCAE v5 grade 1-5", minimum=1, maximum=5),
        Column("AESER", S, "Serious event", allowed=("Y", "N")),
        Column("AEREL", S, "Related to SMART101 (Y/N; null for controls)", nullable=True,
               allowed=("Y", "N")),
        Column("AEOUT", S, "Outcome (for example RECOVERED, FATAL)", required=False,
               nullable=True),
        Column("ASTDT", D, "Start date"),
        Column("AENDT", D, "End date (null if ongoing)", nullable=True),
        Column("TRTEMFL", S, "Treatment-emergent flag", nullable=True, allowed=FLAG_Y),
    ),
    event_dates=("ASTDT",),
)

CONTRACT: tuple[Dataset, ...] = (ADSL, ADLB, ADGVHD, ADINF, ADAE)
DATASETS: dict[str, Dataset] = {d.name: d for d in CONTRACT}


def allowed_column(dataset: str, column: str) -> str:
    """Return `column` if the contract names it for `dataset`: the allowlist for SQL identifiers."""
    spec = DATASETS.get(dataset)
    if spec is None or column not in spec.column_names:
        raise ValueError(f"{dataset}.{column} is not a column of the export contract")
    return column
