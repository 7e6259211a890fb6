"""What a column and a group are called where people read them: table headers on the page, on
paper and in the XLSX file. CSV files and the `tables` command keep the column names and the
cohort codes (SMART101, CONTROL), which scripts key on; the page's tables keep the names
underneath (a header's word is its label), so a test reads the same frame as the CSV.

With an arm chosen, SMART101 is that arm ("Group A (adults)") and CONTROL its age group's
controls ("Controls, adults"): legends, risk tables and headers say what is compared.
"""

from __future__ import annotations

import re

import pandas as pd

from smart101_dash.config import SETTINGS, StudySettings
from smart101_dash.filters import ARM_AGE_GROUP, Filters

CONTROL_AGE = {"ADULT": "adults", "PEDIATRIC": "pediatric"}
GROUP_COLUMNS = ("group", "cohort", "COHORT")  # columns whose values are cohort codes

# Column name -> header in words, with its unit. A name not listed here is a test failure
# (tests/test_labels.py builds every panel and checks each column has a label).
COLUMN_LABELS = {
    "USUBJID": "Subject", "usubjid": "Subject", "aeseq": "AE no.", "age_max_years":
    "Age, max (years)", "age_median_years": "Age, median (years)", "age_min_years":
    "Age, min (years)", "any": "Any grade", "arm": "Arm", "at_risk_now": "At risk (now)",
    "at_risk_then": "At risk (then)", "boundary": "Boundary (events)", "category": "Category",
    "cause": "Cause", "cd4_median": "CD4+ median (cells/µL)", "cd4_n": "CD4+ counts (n)",
    "cd4_q1": "CD4+ Q1 (cells/µL)", "cd4_q3": "CD4+ Q3 (cells/µL)",
    "censored_before_window": "Censored before window (n)", "change": "Change",
    "characteristic": "Characteristic", "cohort": "Cohort", "column": "Column",
    "cumulative_in_arm": "Enrolled in arm (cumulative)", "cumulative_total":
    "Enrolled in total (cumulative)", "dataset": "Dataset", "day": "Day",
    "death": "Death", "death_day": "Day of death", "detail": "Detail", "df": "df",
    "died_without_cd4ir": "Died without CD4+IR (n)", "end_day": "End (day)",
    "endpoint": "Endpoint", "enrollment_date": "Enrollment date", "episodes": "Episodes (n)",
    "est": "Estimate", "estimate": "Estimate", "evaluable": "Evaluable (n)", "event": "Event",
    "events": "Events (n)", "events_that_cross": "Events that cross the rule (n)",
    "events_that_cross_now": "Events that would cross now (n)", "exposure": "Exposure",
    "from_day": "From (day)", "grade": "Grade", "group": "Group", "involved": "Involved",
    "lower": "Lower 95% CI", "max_day": "Max (day)", "mcc": "Mean cumulative count",
    "median": "Median", "median_day": "Median (day)", "min_day": "Min (day)", "n": "N",
    "n_censor": "Censored (n)", "n_episodes": "Episodes (n)", "n_event": "Events (n)",
    "n_events": "Events (n)", "n_risk": "At risk (n)", "new_value": "New value",
    "note": "Note", "now": "Now", "old_value": "Old value", "organ": "Organ",
    "outcome": "Outcome", "p_value": "P", "parameter": "Parameter", "pathogen": "Pathogen",
    "patient_days": "Patient-days", "patients": "Patients (n)", "patients with":
    "Patients with", "patients_with_agvhd": "Patients with aGvHD (n)", "percent": "%",
    "percent_lower": "% lower 95% CI", "percent_upper": "% upper 95% CI",
    "population": "Population", "posterior_probability": "Posterior probability",
    "preferred_term": "Preferred term", "primary": "Primary", "proportion": "Proportion",
    "pt": "Preferred term", "q1": "Q1", "q3": "Q3",
    "rate_per_100_patient_days": "Rate per 100 patient-days", "reconstituted":
    "Reconstituted (n)", "record": "Record", "recovered": "Recovered (n)",
    "relapsed_before_death": "Relapsed before death", "related": "Related", "rule": "Rule",
    "secondary": "Secondary", "soc": "System organ class", "stage_1": "Stage 1",
    "stage_2": "Stage 2", "stage_3": "Stage 3", "stage_4": "Stage 4",
    "start_day": "Start (day)", "statistic": "Statistic", "status": "Status",
    "std_err": "Std. error", "surv": "Survival", "system_organ_class": "System organ class",
    "test": "Test", "then": "Then", "time": "Day", "to_day": "To (day)",
    "type_not_given": "Type not given", "upper": "Upper 95% CI", "var": "Variance",
    "wilcoxon_p": "Wilcoxon P", "worst_grade": "Worst grade", "Total": "Total",
    "death_cause_category": "Cause of death", "infused": "Infused",
    "kind": "Kind", "description": "Description", "value": "Value",
    "follow_up_days": "Follow-up (days)", "infusion_day": "Infusion (day)",
    "cd4_reconstitution_day": "CD4+IR (day)", "acute_gvhd_2_4_day": "aGvHD II-IV (day)",
    "chronic_gvhd_day": "cGvHD (day)", "first_infection_day": "First infection (day)",
    "relapse_day": "Relapse (day)",
}
# A group's column: "SMART101_any_n", "CONTROL %", "SMART101": the group, then the measure.
SUFFIX_LABELS = {"any_n": "any grade (n)", "any_pct": "any grade (%)", "episodes": "episodes",
                 "grade3plus_n": "grade 3+ (n)", "grade3plus_pct": "grade 3+ (%)",
                 "lower": "lower 95% CI", "upper": "upper 95% CI", "patients": "patients (n)",
                 "percent": "%", "n": "n", "%": "%"}
_GROUP_COLUMN = re.compile(r"^(SMART101|CONTROL)(?:[ _](.+))?$")


def group_names(filters: Filters, study: StudySettings = SETTINGS.study) -> dict[str, str]:
    """What the two cohorts are called under `filters`."""
    if filters.arm is None:  # the cohorts' own names, as in the CSV files
        return {"SMART101": "SMART101", "CONTROL": "CONTROL"}
    return {"SMART101": study.arm_label(filters.arm),
            "CONTROL": f"Controls, {CONTROL_AGE[ARM_AGE_GROUP[filters.arm]]}"}


def column_label(name: str, names: dict[str, str] | None = None) -> str:
    """A column's header in words (the name itself when none is known)."""
    match = _GROUP_COLUMN.match(name)
    if match:
        group = (names or {}).get(match.group(1), match.group(1))
        measure = match.group(2)
        return group if not measure else f"{group}: {SUFFIX_LABELS.get(measure, measure)}"
    return COLUMN_LABELS.get(name, name)


def known_label(name: str) -> bool:
    match = _GROUP_COLUMN.match(name)
    if match:
        return match.group(2) is None or match.group(2) in SUFFIX_LABELS
    return name in COLUMN_LABELS or ":" in name or name[:1].isupper()


def for_reading(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The frame's values as people read them: cohort codes named (with an arm chosen),
    text blank where missing, numbers kept as numbers (a column of numbers and blanks
    becomes numeric). Column names stay; `headers` gives their words."""
    out = frame.copy()
    for position, (name, column) in enumerate(list(out.items())):
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column) \
                or pd.api.types.is_datetime64_any_dtype(column):
            continue
        present = column.dropna()
        if len(present) and all(isinstance(v, int | float) and not isinstance(v, bool)
                                for v in present):
            out.isetitem(position, pd.to_numeric(column, errors="coerce"))
            continue
        rename = names if name in GROUP_COLUMNS else {}
        out.isetitem(position, column.astype(object).map(
            lambda v, r=rename: "" if v is None or (not isinstance(v, str) and pd.isna(v))
            else r.get(v, v) if isinstance(v, str) else str(v)))
    return out


def with_headers(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """`for_reading`, with the headers in words (paper, the XLSX data sheet)."""
    readable = for_reading(frame, names)
    return readable.rename(columns=headers(list(map(str, frame.columns)), names))


def headers(columns: list[str], names: dict[str, str]) -> dict[str, str]:
    """Each column's header; a name keeps itself when two would read the same."""
    labels = {c: column_label(c, names) for c in columns}
    taken = [label for label in labels.values()]
    return {c: label if taken.count(label) == 1 else c for c, label in labels.items()}


P_VALUE = "p"  # a p-value's format: 4 places, and "<0.0001" below that
MEASURE_COLUMNS = ("median", "q1", "q3", "cd4_median", "cd4_q1", "cd4_q3")  # cells/µL, days


def column_formats(frame: pd.DataFrame, readable: pd.DataFrame) -> dict[int, str]:
    """By position, the number format of each column of numbers of `frame`, given the same
    table as read (`for_reading` or `with_headers`): the screen's and the report's."""
    columns = tuple(map(str, frame.columns))
    return {i: fmt for i, name in enumerate(columns)
            if (fmt := number_format(name, readable.iloc[:, i], columns)) is not None}


def number_format(name: str, values: pd.Series, columns: tuple[str, ...] = ()) -> str | None:
    """A column's one number format (printf style, or P_VALUE), the grid's and the plain
    tables': p-values to 4 places, percents (and their intervals) to 1, days whole, ages and
    CD4+ counts to 1, other estimates to 3, counts whole; None for a column that is not
    numbers. `columns`: the table's columns (an interval's limits go with its percent or
    its median)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        return "%d"
    if name.endswith(("p_value", "_p")):
        return P_VALUE
    prefix, _, limit = name.rpartition("_")
    if "pct" in name or "percent" in name or name.endswith("%") or \
            (limit in ("lower", "upper") and f"{prefix}_percent" in columns):
        return "%.1f"
    if name in ("day", "time") or name.endswith("_day"):
        return "%.0f"
    if name.endswith("_years") or name in MEASURE_COLUMNS or \
            (name in ("lower", "upper") and "median" in columns):  # a median's interval
        return "%.1f"
    return "%.3f"
