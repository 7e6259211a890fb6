"""Overview: how the trial is enrolling, where patients stand, and who they are.

Enrollment and status describe the trial's treated patients (the two protocol arms); baseline
characteristics compare the SMART101 cohort with the control cohort under the same filters.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from smart101_dash.access import Viewer
from smart101_dash.charts import cumulative_enrollment_figure
from smart101_dash.config import Settings
from smart101_dash.contract import COHORTS
from smart101_dash.filters import Filters, with_population
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.common import as_count_table, count_and_percent
from smart101_dash.panels.spec import ItemSpec, Kind, Panel
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Overview: enrollment, status and baseline characteristics"

ENROLLMENT_SQL = with_population("""\
SELECT ENRLDT AS enrollment_date, ARM AS arm
FROM population
WHERE COHORT = 'SMART101'
ORDER BY ENRLDT, USUBJID""")

STATUS_SQL = with_population("""\
SELECT ARM AS arm,
       count(*) AS enrolled,
       count(HSCTDT) AS transplanted,
       count(TRTSDT) AS infused,
       count(*) FILTER (WHERE EOSSTT = 'ONGOING') AS on_study,
       count(*) FILTER (WHERE EOSSTT = 'COMPLETED') AS completed,
       count(*) FILTER (WHERE DTHFL = 'Y') AS died,
       count(*) FILTER (WHERE EOSSTT = 'DISCONTINUED' AND DTHFL IS NULL) AS withdrawn
FROM population
WHERE COHORT = 'SMART101'
GROUP BY ARM
ORDER BY ARM""")

# "Table 1" counted in SQL: per cohort, N and age (median, range) ...
BASELINE_AGE_SQL = with_population("""\
SELECT COHORT AS cohort, count(*) AS n, median(AGE) AS age_median, min(AGE) AS age_min,
       max(AGE) AS age_max
FROM population
GROUP BY COHORT""")

# ... and patients per value of each characteristic (UNPIVOT leaves out missing values).
BASELINE_SQL = with_population("""\
SELECT cohort, characteristic, value, count(*) AS n
FROM (UNPIVOT (SELECT COHORT AS cohort, SEX AS sex, DIAG AS diagnosis,
                      DISSTAT AS disease_status, DONTYPE AS donor_type, DOSELVL AS dose_level
               FROM population)
      ON sex, diagnosis, disease_status, donor_type, dose_level
      INTO NAME characteristic VALUE value)
GROUP BY ALL""")

STATUS_LABELS = {
    "enrolled": "Enrolled", "transplanted": "Transplanted (day 0)", "infused": "SMART101 infused",
    "on_study": "On study", "completed": "Completed follow-up", "died": "Died",
    "withdrawn": "Withdrawn (alive)",
}
SEX_LABELS = {"M": "Male", "F": "Female", "U": "Unknown"}


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer) -> PanelResult:
    """Every item is aggregate: enrollment is counted by date and arm, without subject IDs."""
    cut.require("adsl")
    q_age, q_baseline = (Query(sql, filters.params()) for sql in (BASELINE_AGE_SQL,
                                                                    BASELINE_SQL))
    ages = db.query(cut, q_age)
    # N per cohort: the age table's n (the same count as `common.cohort_counts`, one query
    # fewer).
    sizes = dict(zip(ages["cohort"].astype(str), ages["n"].astype(int), strict=True))
    counts = {c: sizes[c] for c in COHORTS if c in sizes}
    study = settings.study
    messages: list[Message] = []
    arms = (filters.arm,) if filters.arm else study.arms
    labels = {a: study.arm_label(a) for a in (*study.arms, "CONTROL")}

    q_enrollment = Query(ENROLLMENT_SQL, filters.params())
    enrollment = cumulative_enrollment(db.query(cut, q_enrollment))
    if filters.arm:
        targets = {f"Target, {study.arm_label(filters.arm)}": study.target_per_arm}
    else:  # one line for both arms' equal targets, one for the total
        targets = {"Target per arm": study.target_per_arm,
                   "Target, both arms": study.target_total}
    planned = planned_accrual(study.planned_accrual_start, study.planned_accrual_end,
                              study.target_total if not filters.arm else study.target_per_arm,
                              cut.cutoff)
    result = PanelResult(TITLE, cut, filters, n_per_group=counts)
    if "SMART101" not in filters.cohorts:
        messages.append(Message(Level.INFO, "Enrollment and status describe the SMART101 cohort, "
                                            "which the cohort filter leaves out."))
    elif enrollment.empty:
        messages.append(Message(Level.INFO, "No SMART101 patient matches the filters."))
    figure = cumulative_enrollment_figure(enrollment, targets, planned, cut.cutoff, labels,
                                          result.footer, show_total=filters.arm is None)

    q_status = Query(STATUS_SQL, filters.params())
    status = enrollment_status(db.query(cut, q_status), arms, labels)

    baseline = baseline_characteristics(ages, db.query(cut, q_baseline))
    if any(n < 10 for n in counts.values()):
        messages.append(Message(Level.WARNING, "A group has fewer than 10 patients: percentages "
                                               "are unstable; read the counts."))

    items = (
        PanelItem("enrollment", "Cumulative enrollment by arm", enrollment, figure, (q_enrollment,),
                  f"Target {study.target_total} patients ({study.target_per_arm} per arm); "
                  f"planned accrual drawn linearly from {study.planned_accrual_start} to "
                  f"{study.planned_accrual_end}."),
        PanelItem("enrollment_status", "Enrollment status by arm", status, None, (q_status,),
                  "Withdrawn: discontinued the study alive. Died: any death before the cut-off."),
        PanelItem("baseline", "Baseline characteristics by cohort", baseline, None, (q_age, q_baseline),
                  "Patients per category: n and % of the cohort (0.1). Blank: not applicable "
                  "(dose level for controls, who receive no SMART101)."),
        PanelItem("baseline_age", "Age at enrollment by cohort, years", baseline_age(ages), None,
                  (q_age,), "Median and range (minimum, maximum) of AGE."),
    )
    return PanelResult(TITLE, cut, filters, items, n_per_group=counts,
                       definitions=(f"Target accrual {study.target_total} ({study.target_per_arm} per arm).",),
                       messages=tuple(messages))


def cumulative_enrollment(rows: pd.DataFrame) -> pd.DataFrame:
    """Running counts per arm and overall, one row per enrolled patient in date order (the
    query's order: date, then subject), without the subject's ID."""
    frame = rows.reset_index(drop=True)
    frame["enrollment_date"] = pd.to_datetime(frame["enrollment_date"])
    frame["cumulative_in_arm"] = frame.groupby("arm").cumcount().astype("int64") + 1
    frame["cumulative_total"] = np.arange(1, len(frame) + 1, dtype="int64")
    return frame[["enrollment_date", "arm", "cumulative_in_arm", "cumulative_total"]]


def planned_accrual(start: date, end: date, target: int, cutoff: date | None) -> pd.DataFrame:
    """The planned accrual line: linear from 0 at `start` to `target` at `end`."""
    last = max(end, cutoff) if cutoff else end
    days = pd.date_range(start, last, freq="MS")
    span = (pd.Timestamp(end) - pd.Timestamp(start)).days
    planned = np.clip((days - pd.Timestamp(start)).days / span * target, 0, target)
    return pd.DataFrame({"date": days, "planned_total": np.round(planned, 1)})


def enrollment_status(counts: pd.DataFrame, arms: tuple[str, ...],
                      labels: dict[str, str]) -> pd.DataFrame:
    """Status rows by arm columns (and the total), zero where an arm has nobody."""
    by_arm = counts.set_index("arm").reindex(list(arms)).fillna(0).astype("int64")
    table = by_arm.T.rename(index=STATUS_LABELS)
    table.columns = [labels.get(a, a) for a in arms]
    if len(arms) > 1:
        table["Total"] = table.sum(axis=1)
    table.index.name = "status"
    return table.reset_index()


def baseline_characteristics(ages: pd.DataFrame, counts: pd.DataFrame) -> pd.DataFrame:
    """A 'Table 1': patients per cohort and per category of each characteristic, as numbers:
    "<cohort> n" and "<cohort> %" (of the cohort, 0.1; blank without a denominator, and both
    blank where not applicable). `ages`: rows of BASELINE_AGE_SQL (for each cohort's N),
    `counts`: rows of BASELINE_SQL."""
    by_cohort = {str(r["cohort"]): r for r in ages.to_dict("records")}
    cohorts = [c for c in COHORTS if c in by_cohort]
    size = {c: int(by_cohort[c]["n"]) for c in cohorts}
    out: list[dict[str, object]] = [{"characteristic": "Patients", "category": "n"}]
    for c in cohorts:
        out[0].update(count_and_percent(c, size[c], size[c]))
    found = {(str(r.cohort), str(r.characteristic), str(r.value)): int(r.n)
             for r in counts.itertuples(index=False)}
    categorical = (("Sex", "sex"), ("Diagnosis", "diagnosis"), ("Disease status", "disease_status"),
                   ("Donor type", "donor_type"), ("Dose level", "dose_level"))
    for label, column in categorical:
        for value in sorted({v for (_, name, v) in found if name == column}):
            shown = SEX_LABELS.get(value, value) if column == "sex" else value
            row: dict[str, object] = {"characteristic": label, "category": str(shown)}
            for c in cohorts:
                # Controls receive no SMART101: dose level not applicable (blank, not 0).
                n = None if column == "dose_level" and c == "CONTROL" else \
                    found.get((c, column, value), 0)
                row.update(count_and_percent(c, n, size[c]))
            out.append(row)
    return as_count_table(out, ["characteristic", "category"], cohorts)


def baseline_age(ages: pd.DataFrame) -> pd.DataFrame:
    """Age at enrollment per cohort, years: patients, median and range (`ages`: rows of
    BASELINE_AGE_SQL), SMART101 first."""
    columns = {"cohort": "group", "n": "n", "age_median": "age_median_years",
               "age_min": "age_min_years", "age_max": "age_max_years"}
    order = {c: i for i, c in enumerate(COHORTS)}
    table = ages[list(columns)].rename(columns=columns)
    table = table.sort_values("group", key=lambda g: g.map(order)).reset_index(drop=True)
    return table.astype({"n": "int64", "age_median_years": "float64", "age_min_years": "float64",
                         "age_max_years": "float64"})


PANEL = Panel(
    key="overview", title="Overview", icon=":material/groups:", datasets=("adsl",),
    items=(ItemSpec("enrollment", Kind.FIGURE), ItemSpec("enrollment_status", Kind.TABLE),
           ItemSpec("baseline", Kind.TABLE), ItemSpec("baseline_age", Kind.TABLE)),
    build=build)
