"""GvHD, SMART101 against control: acute GvHD (MAGIC) by day 100/180 and chronic GvHD (NIH).

Acute GvHD is a secondary endpoint and, for a T-cell add-back product, the main safety worry:
the maximum grade by day 100 (counts with exact intervals), the cumulative incidence of grade
II-IV and III-IV to day 180 with death competing and Gray's test, and which organs were involved
at each patient's worst grade. Chronic GvHD: cumulative incidence of any and of moderate-severe
to 2 years. The day-100/180 and 1/2-year estimates are the landmark table's rows (AGVHD24,
AGVHD34, CGVHD, CGVHDMS), computed by the same function.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.analysis import EndpointRead, analysis_tables
from smart101_dash.charts import (
    GRADE_COLORS,
    Spec,
    grade_distribution_figure,
    step_curves_by_group_figure,
    with_footer,
)
from smart101_dash.config import EndpointSettings, Settings
from smart101_dash.endpoints.gvhd import STAGE_COLUMNS
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult, no_patients
from smart101_dash.panels.curves import (
    Estimate,
    format_p,
    group_messages,
    group_sizes,
    incidence_estimate,
    landmark_rows,
    present_groups,
    risk_table,
)
from smart101_dash.panels.spec import ItemSpec, Kind, Panel, Section, wants
from smart101_dash.panels.start import (
    ENROLLED,
    START_OPTIONS,
    read_messages,
    start_of,
)
from smart101_dash.stats import clopper_pearson
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Graft-versus-host disease"
ROMAN = {0: "0", 1: "I", 2: "II", 3: "III", 4: "IV"}
ORGANS = {"SKINSTG": "Skin", "LIVERSTG": "Liver", "UGISTG": "Upper GI", "LGISTG": "Lower GI"}
ACUTE_TICKS = (0, 30, 60, 100, 180)
CHRONIC_TICKS = (0, 100, 180, 365, 548, 730)
MAX_GRADE_COLUMNS = ["group", "grade", "patients", "n", "percent", "percent_lower",
                     "percent_upper"]
ORGAN_COLUMNS = ["group", "organ", "patients_with_agvhd", "involved", "percent", "stage_1",
                 "stage_2", "stage_3", "stage_4"]
TEST_COLUMNS = ["endpoint", "test", "statistic", "df", "p_value", "note"]


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, landmark: bool = False, landmark_day: int = 7,
          population: str = ENROLLED, items: frozenset[str] | None = None) -> PanelResult:
    """Every item is aggregate (counts, percentages, curves, estimates). The options set where
    the time-to-event comparisons start (panels/start.py); the maximum grades count every
    transplanted patient whatever they are. `items`: the items wanted (None: all)."""
    cut.require("adsl", "adgvhd")
    ep = settings.endpoints
    tables = analysis_tables(db, cut, ep)
    start = start_of(landmark, landmark_day, population)
    grades, q_grades = tables.acute_grades(db, filters)
    n_per_group = group_sizes(grades)
    base = PanelResult(TITLE, cut, filters, n_per_group=n_per_group, start=start.short())
    if grades.empty:
        return no_patients(TITLE, cut, filters)

    grade_window = min(ep.agvhd_windows_days)
    built = []
    if wants(items, "gvhd_max_grade_chart", "gvhd_max_grade"):
        built += max_grade_items(grades, q_grades, grade_window, base.footer)
    codes = tuple(code for code, keys in ENDPOINT_ITEMS.items() if wants(items, *keys))
    read = tables.endpoints(db, filters, tuple(ENDPOINT_ITEMS), start) if codes else None
    fits = {code: incidence_estimate(read[code], LABELS[code], dash=DASHES[code],
                                     curves=wants(items, ENDPOINT_ITEMS[code][0]))
            for code in codes} if read is not None else {}
    made = Built(read, fits, grades, q_grades, ep, base.footer)
    for key, make in (("gvhd_acute_incidence", acute_curves_item),
                      ("gvhd_acute_estimates", acute_estimates_item),
                      ("gvhd_organ_involvement", organ_involvement_item),
                      ("gvhd_chronic_incidence", chronic_curves_item),
                      ("gvhd_chronic_estimates", chronic_estimates_item),
                      ("gvhd_tests", tests_item)):
        if wants(items, key):
            built.append(make(made))
    definitions = (
        endpoints.definition("acute_gvhd_grade", ep, window_days=grade_window),
        endpoints.definition("acute_gvhd", ep, min_grade=2,
                             window_days=max(ep.agvhd_windows_days)),
        endpoints.definition("acute_gvhd", ep, min_grade=3,
                             window_days=max(ep.agvhd_windows_days)),
        endpoints.definition("chronic_gvhd", ep, severity="any"),
        endpoints.definition("chronic_gvhd", ep, severity="moderate_severe"),
        ("MAGIC grade from organ stages (Harris et al. 2016) when the export gives no overall "
         "grade. Cumulative incidence: Aalen-Johansen with cmprsk's variance and log(-log) "
         "interval; Gray's test."),
        start.describe(),
    )
    return PanelResult(TITLE, cut, filters, tuple(built), definitions=definitions,
                       start=start.short(), n_per_group=n_per_group,
                       messages=(*_messages(n_per_group, grades, read),
                                 *(read_messages(read, LABELS) if read is not None else ())))


# The endpoints each item needs (the tests need all four); read in one query either way.
# Per endpoint the items that need its estimate, the one drawing its curve first.
ENDPOINT_ITEMS = {
    "AGVHD24": ("gvhd_acute_incidence", "gvhd_acute_estimates", "gvhd_tests"),
    "AGVHD34": ("gvhd_acute_incidence", "gvhd_acute_estimates", "gvhd_tests"),
    "CGVHD": ("gvhd_chronic_incidence", "gvhd_chronic_estimates", "gvhd_tests"),
    "CGVHDMS": ("gvhd_chronic_incidence", "gvhd_chronic_estimates", "gvhd_tests")}
ACUTE_CODES, CHRONIC_CODES = ("AGVHD24", "AGVHD34"), ("CGVHD", "CGVHDMS")
DASHES = {"AGVHD24": "solid", "AGVHD34": "dot", "CGVHD": "solid", "CGVHDMS": "dot"}


@dataclass(frozen=True)
class Built:
    """What the GvHD items are made from: the endpoints read (None when no item asked for
    needs them), their estimates, the maximum grades and their query."""

    read: EndpointRead | None
    fits: dict[str, Estimate]
    grades: pd.DataFrame
    q_grades: Query
    ep: EndpointSettings
    footer: str

    @property
    def data(self) -> dict[str, pd.DataFrame]:
        return {code: self.read[code] for code in self.fits} if self.read is not None else {}

    def acute_days(self) -> list[int]:
        window = max(self.ep.agvhd_windows_days)
        return sorted({*self.ep.agvhd_windows_days,
                       *(d for d in self.ep.landmark_days if d <= window)})

    def estimates(self, codes: tuple[str, ...], days: list[int] | tuple[int, ...]
                  ) -> pd.DataFrame:
        return pd.concat([landmark_rows(code, self.read[code], days, survival=False,
                                        fit=self.fits[code].fit)
                          for code in codes], ignore_index=True)

    def curves(self, key: str, title: str, codes: tuple[str, str],
               ticks: tuple[int, ...]) -> PanelItem:
        """Two endpoints, a plot per cohort; the risk tables have a row per endpoint."""
        table, figure, caption = incidence_by_cohort(codes, self.data, self.fits, ticks,
                                                     self.footer)
        return PanelItem(key, title, table, figure, (self.read.query,), caption)


def max_grade_items(grades: pd.DataFrame, q_grades: Query, grade_window: int,
                    footer: str) -> list[PanelItem]:
    max_grade = max_grade_table(grades)
    distribution = max_grade[max_grade["grade"].isin(ROMAN.values())].copy()
    distribution["grade"] = distribution["grade"].map({v: k for k, v in ROMAN.items()})
    grade_figure = with_footer(grade_distribution_figure(
        distribution, grade_labels={g: f"Grade {r}" for g, r in ROMAN.items()},
        grade_colors=GRADE_COLORS,
        x_title=f"% of patients (maximum acute GvHD grade by day {grade_window})"),
        footer)
    return [
        PanelItem("gvhd_max_grade_chart", f"Maximum acute GvHD grade by day {grade_window}",
                  distribution, grade_figure, (q_grades,),
                  "Each patient counted once, at the worst MAGIC grade recorded by the day."),
        PanelItem("gvhd_max_grade", f"Maximum acute GvHD grade by day {grade_window}: counts",
                  max_grade, None, (q_grades,),
                  "n = transplanted patients of the group (a patient with no assessment counts "
                  "as grade 0); percent with the exact (Clopper-Pearson) 95% interval."),
    ]


def acute_curves_item(b: Built) -> PanelItem:
    return b.curves("gvhd_acute_incidence", "Cumulative incidence of acute GvHD to day "
                    f"{max(b.ep.agvhd_windows_days)}", ACUTE_CODES, ACUTE_TICKS)


def acute_estimates_item(b: Built) -> PanelItem:
    days = b.acute_days()
    return PanelItem("gvhd_acute_estimates", f"Acute GvHD: estimates at day "
                     f"{', '.join(str(d) for d in days)}", b.estimates(ACUTE_CODES, days), None,
                     (b.read.query,),
                     "Cumulative incidence with 95% interval (death without aGvHD competing); "
                     "n_risk at the day, n_events on or before it.")


def organ_involvement_item(b: Built) -> PanelItem:
    return PanelItem("gvhd_organ_involvement", "Organ involvement at the worst acute GvHD "
                     f"grade (by day {min(b.ep.agvhd_windows_days)})",
                     organ_involvement(b.grades), None, (b.q_grades,),
                     "Among patients with acute GvHD (grade I or worse): organs with stage 1 or "
                     "more at the assessment of their worst grade, and the stage counts.")


def chronic_curves_item(b: Built) -> PanelItem:
    return b.curves("gvhd_chronic_incidence", "Cumulative incidence of chronic GvHD to 2 years",
                    CHRONIC_CODES, CHRONIC_TICKS)


def chronic_estimates_item(b: Built) -> PanelItem:
    days = tuple(d for d in b.ep.landmark_days if d >= 365)
    return PanelItem("gvhd_chronic_estimates", "Chronic GvHD: estimates at 1 and 2 years",
                     b.estimates(CHRONIC_CODES, days), None, (b.read.query,),
                     "Cumulative incidence with 95% interval; empty when no one was followed "
                     "that far.")


def tests_item(b: Built) -> PanelItem:
    tests = pd.DataFrame([{"endpoint": code, "test": fit.test_name,
                           "statistic": fit.statistic, "df": fit.df, "p_value": fit.p_value,
                           "note": fit.note} for code, fit in b.fits.items()],
                         columns=TEST_COLUMNS)
    return PanelItem("gvhd_tests", "Tests between cohorts (Gray)", tests, None,
                     (b.q_grades, b.read.query),
                     "Descriptive: the control cohort is external and non-randomized.")


LABELS = {"AGVHD24": "grade II-IV", "AGVHD34": "grade III-IV", "CGVHD": "any cGvHD",
          "CGVHDMS": "moderate-severe cGvHD"}


def incidence_by_cohort(codes: tuple[str, ...], data: dict[str, pd.DataFrame],
                        fits: dict[str, Estimate], ticks: tuple[int, ...], footer: str
                        ) -> tuple[pd.DataFrame, Spec, str]:
    """Two grades (or severities) of one GvHD: the estimators' rows (with `endpoint`), the
    figure (a plot per cohort, so no bands of two colours overlap) and Gray's tests as words."""
    table = pd.concat([fits[c].table.assign(endpoint=c) for c in codes], ignore_index=True)
    curves = pd.concat([fits[c].curves.assign(endpoint=LABELS[c]) for c in codes],
                       ignore_index=True)
    risk = pd.concat([risk_table(data[c], ticks).assign(row=LABELS[c]) for c in codes],
                     ignore_index=True)
    figure = step_curves_by_group_figure(curves, risk, y_title="Cumulative incidence",
                                         ticks=ticks, footer=footer)
    tests = "; ".join(f"{LABELS[c]}: {format_p(fits[c].p_value)}" for c in codes)
    return table, figure, f"Gray's test, {tests}."


def max_grade_table(grades: pd.DataFrame) -> pd.DataFrame:
    """Patients by maximum aGvHD grade (0-IV) and the II-IV and III-IV totals, per group."""
    rows = []
    for group in present_groups(grades):
        worst = grades.loc[grades["group"] == group, "max_grade"]
        n = len(worst)
        bands = [(ROMAN[g], worst == g) for g in ROMAN]
        bands += [("II-IV", worst >= 2), ("III-IV", worst >= 3)]
        for label, mask in bands:
            x = int(mask.sum())
            ci = clopper_pearson(x, n)
            rows.append({"group": group, "grade": label, "patients": x, "n": n,
                         "percent": round(100 * x / n, 1),
                         "percent_lower": round(100 * ci.lower, 1),
                         "percent_upper": round(100 * ci.upper, 1)})
    return pd.DataFrame(rows, columns=MAX_GRADE_COLUMNS)


def organ_involvement(grades: pd.DataFrame) -> pd.DataFrame:
    """Organs staged 1+ at each patient's worst aGvHD assessment, among patients with aGvHD."""
    rows = []
    for group in present_groups(grades):
        ill = grades[(grades["group"] == group) & (grades["max_grade"] >= 1)]
        for column in STAGE_COLUMNS:
            stage = ill[column]
            involved = int((stage >= 1).sum())
            row: dict[str, object] = {
                "group": group, "organ": ORGANS[column], "patients_with_agvhd": len(ill),
                "involved": involved,
                "percent": round(100 * involved / len(ill), 1) if len(ill) else None}
            for s in range(1, 5):
                row[f"stage_{s}"] = int((stage == s).sum())
            rows.append(row)
    return pd.DataFrame(rows, columns=ORGAN_COLUMNS)


def _messages(n_per_group: dict[str, int], grades: pd.DataFrame,
              read: EndpointRead | None) -> list[Message]:
    """What the counts and (when read) the endpoints say of the patients selected."""
    messages = group_messages(n_per_group, "the estimates and intervals")
    assessed = bool(grades["assessments"].sum())
    if not assessed:
        messages.append(Message(Level.INFO, "No GvHD assessment is recorded for the patients "
                                            "selected: every patient counts as grade 0."))
    elif read is not None and not (read["AGVHD24"]["status"] == 1).any():
        messages.append(Message(Level.INFO, "No grade II-IV acute GvHD in the patients "
                                            "selected: the incidence is 0."))
    if assessed and read is not None and not (read["CGVHD"]["status"] == 1).any():
        messages.append(Message(Level.INFO, "No chronic GvHD in the patients selected: the "
                                            "incidence is 0."))
    return messages


MAXIMUM = Section("maximum_grade", "Maximum grade")
ACUTE = Section("acute", "Acute GvHD")
CHRONIC = Section("chronic", "Chronic GvHD")
PANEL = Panel(
    key="gvhd", title="GvHD", icon=":material/healing:", datasets=("adsl", "adgvhd"),
    items=tuple(ItemSpec(key, kind, section=section) for key, kind, section in (
        ("gvhd_max_grade_chart", Kind.FIGURE, MAXIMUM), ("gvhd_max_grade", Kind.TABLE, MAXIMUM),
        ("gvhd_acute_incidence", Kind.FIGURE, ACUTE), ("gvhd_acute_estimates", Kind.TABLE, ACUTE),
        ("gvhd_organ_involvement", Kind.TABLE, ACUTE),
        ("gvhd_chronic_incidence", Kind.FIGURE, CHRONIC),
        ("gvhd_chronic_estimates", Kind.TABLE, CHRONIC),
        ("gvhd_tests", Kind.TABLE, Section("tests", "Tests between cohorts")))),
    options=START_OPTIONS,
    build=build)
