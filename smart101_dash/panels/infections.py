"""Infections through 24 months (day 730), SMART101 against control: a secondary outcome.

SMART101 is meant to speed T-cell recovery, so fewer or later infections are the benefit to look
for, and more of them a harm. The panel shows the episodes by category (bacterial, viral, fungal,
other) and BMT CTN grade (1-3); the patients with at least one infection (exact interval, the
groups are small); the infection density, episodes per 100 patient-days at risk with an exact
Poisson interval, because patients are followed for different lengths of time; the cumulative
incidence of the first infection (Aalen-Johansen, death competing, Gray's test); the mean
cumulative count of episodes (Ghosh & Lin 2000), which counts every episode, not only the first;
and the viral reactivations (CMV, EBV, adenovirus, ...) by pathogen.

Episodes and time at risk run from day 0 (HSCT) to the end of follow-up: death, last known
alive, the data cut-off or day 730, whichever comes first (`endpoints.infection_episodes`).
"""

from __future__ import annotations

import pandas as pd

from smart101_dash import endpoints
from smart101_dash.access import Viewer
from smart101_dash.analysis import EndpointRead, InfectionCounts, analysis_tables, infection_code
from smart101_dash.charts import mean_cumulative_count_figure, step_curves_figure, with_footer
from smart101_dash.config import EndpointSettings, Settings
from smart101_dash.contract import INFECTION_CATEGORIES
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult, no_patients
from smart101_dash.panels.curves import (
    LANDMARK_COLUMNS,
    format_p,
    group_messages,
    group_sizes,
    incidence_estimate,
    landmark_rows,
    present_groups,
    risk_table,
    sort_groups,
)
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Section, Widget, wants
from smart101_dash.panels.start import (
    ENROLLED,
    START_OPTIONS,
    Start,
    read_messages,
    start_of,
)
from smart101_dash.stats import (
    MeanCumulativeCount,
    clopper_pearson,
    mean_cumulative_count,
    poisson_rate_exact,
)
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Infections (through 24 months)"
CATEGORIES = ("ALL", *INFECTION_CATEGORIES)  # "ALL": any category; the page's choices
GRADES = (1, 2, 3)  # BMT CTN infection grading
TICKS = (0, 100, 180, 365, 548, 730)
DENSITY_COLUMNS = ["group", "category", "episodes", "patient_days",
                   "rate_per_100_patient_days", "lower", "upper"]


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, category: str = "ALL", landmark: bool = False,
          landmark_day: int = 7, population: str = ENROLLED,
          items: frozenset[str] | None = None) -> PanelResult:
    """The infections panel; `category` chooses the first-infection curve drawn (a page option:
    every table covers all categories whatever it is). Every item is aggregate. `items`: the
    items wanted (None: all)."""
    if category not in CATEGORIES:
        raise ValueError(f"category must be one of {CATEGORIES}, got {category!r}")
    # Asked before the empty check, so an export without adinf always says so.
    cut.require("adsl", "adinf")
    ep = settings.endpoints
    window = ep.follow_up_days
    tables = analysis_tables(db, cut, ep)
    start = start_of(landmark, landmark_day, population)
    counts, q_inf = tables.infections(db, filters)
    at_risk = counts.followup
    n_per_group = group_sizes(at_risk)
    if at_risk.empty:
        return no_patients(TITLE, cut, filters)
    base = PanelResult(TITLE, cut, filters, n_per_group=n_per_group, start=start.short())
    groups = present_groups(at_risk)
    messages = group_messages(n_per_group, "the rates and curves")
    if not counts.any_episode:
        messages.append(Message(Level.INFO, f"No infection episode from day 0 to day {window} "
                                            "in the patients selected: the tables show zeros."))
    days = f"day 0 to day {window}"
    first: list[PanelItem] = []
    read_said: list[Message] = []
    if wants(items, *FIRST_ITEMS):
        read = tables.endpoints(db, filters, tuple(infection_code(c) for c in CATEGORIES),
                                start)
        first, said = first_infection_items(read, category, counts, ep, base.footer)
        messages += said
        read_said = read_messages(read, {infection_code(c): f"first {_category_words(c)}"
                                         for c in CATEGORIES})
    built: list[PanelItem] = []
    if wants(items, *EPISODE_ITEMS):
        density, density_messages = infection_density(counts.episodes, at_risk, groups)
        messages += density_messages
        built += episode_items(counts, q_inf, density, n_per_group, groups, window)
    built += first
    messages += read_said
    if wants(items, "inf_mcc"):
        mcc = _mean_count(at_risk, counts.episode_days)
        mcc_table = sort_groups(mcc.table.assign(group=mcc.table["group"].astype(str)))
        mcc_figure = with_footer(
            mean_cumulative_count_figure(mcc.table, mcc.max_time, groups, TICKS), base.footer
        ) if counts.any_episode else None
        built.append(PanelItem(
            "inf_mcc", "Mean cumulative count of infection episodes", mcc_table, mcc_figure,
            q_inf, "Expected number of episodes per patient by each day, death ending "
            "follow-up (Ghosh & Lin 2000); every episode counts. No interval is shown."))
    if wants(items, "inf_viral_reactivations"):
        built.append(PanelItem(
            "inf_viral_reactivations", f"Viral reactivations by pathogen, {days}",
            viral_reactivations(counts.reactivations, n_per_group, groups), None, q_inf,
            "Episodes with VIRREACT = Y; patients: n and % of the group. ANY: all pathogens "
            "together."))
    return PanelResult(TITLE, cut, filters, tuple(built), definitions=_definitions(
        ep, category, start), start=start.short(), n_per_group=n_per_group,
        messages=tuple(messages))


EPISODE_ITEMS = ("inf_episodes_by_grade", "inf_patients", "inf_density")
FIRST_ITEMS = ("inf_first_infection_cif", "inf_first_infection_landmarks")


def episode_items(counts: InfectionCounts, q_inf: tuple[Query, ...], density: pd.DataFrame,
                  n_per_group: dict[str, int], groups: list[str], window: int
                  ) -> list[PanelItem]:
    episodes, days = counts.episodes, f"day 0 to day {window}"
    return [
        PanelItem("inf_episodes_by_grade", f"Episodes by category and grade, {days}",
                  episodes_by_grade(episodes, groups), None, q_inf,
                  "Every episode counts (a patient may have several); grade: BMT CTN infection "
                  "grading 1-3; 'any' is the category's total, category ALL the total of all."),
        PanelItem("inf_patients", f"Patients with at least one infection, {days}",
                  patients_with_infection(episodes, n_per_group, groups), None, q_inf,
                  "Patients of the group (N in the footer) with at least one episode: n, % and "
                  "exact (Clopper-Pearson) 95% interval in %."),
        PanelItem("inf_density", f"Infection density, {days}", density, None, q_inf,
                  "Episodes per 100 patient-days at risk, with the exact Poisson 95% interval. "
                  "Patient-days run from day 0 to death, last known alive, the cut-off or day "
                  f"{window}, for every category alike."),
    ]


def first_infection_items(read: EndpointRead, category: str, counts: InfectionCounts,
                          ep: EndpointSettings, footer: str
                          ) -> tuple[list[PanelItem], list[Message]]:
    """The first infection of the chosen category (its curve) and of every category (the
    landmark estimates), and a message when the chosen category has no curve to draw."""
    window = ep.follow_up_days
    first = {c: read[infection_code(c)] for c in CATEGORIES}
    what = _category_words(category)
    chosen = first[category]
    fit = incidence_estimate(chosen, what)
    cif_table = fit.table.assign(category=category)[["category", *fit.table.columns]]
    messages = []
    cif_figure = None
    if (chosen["status"] == 1).any():
        cif_figure = step_curves_figure(fit.curves, risk_table(chosen, TICKS),
                                        y_title=f"Cumulative incidence of the first {what}",
                                        ticks=TICKS, footer=footer, rising=True)
    elif counts.any_episode:
        messages.append(Message(Level.INFO, f"No {what} through day {window} in the patients "
                                            "selected: no curve to draw."))
    cif_caption = (f"Death without a prior {what} competes. Gray's test: "
                   f"{format_p(fit.p_value)}" + (f" ({fit.note})." if fit.note else "."))
    landmarks = pd.concat([landmark_rows(c, first[c], ep.landmark_days, survival=False,
                                         fit=fit.fit if c == category else None)
                           for c in CATEGORIES], ignore_index=True)[LANDMARK_COLUMNS]
    return [
        PanelItem("inf_first_infection_cif", f"Cumulative incidence of the first {what}",
                  cif_table, cif_figure, (read.query,), cif_caption),
        PanelItem("inf_first_infection_landmarks", "First infection by category: day 100, 1 and "
                  "2 years", landmarks, None, (read.query,),
                  "endpoint = infection category (ALL: any). Cumulative incidence with death "
                  "competing and its log(-log) 95% interval (empty when the estimate is 0); "
                  "n_risk at the day; n_events on or before it. Empty: no follow-up that far."),
    ], messages


def _definitions(ep: EndpointSettings, category: str, start: Start) -> tuple[str, ...]:
    window = ep.follow_up_days
    return (
        endpoints.definition("first_infection", ep, window_days=window),
        *((endpoints.definition("first_infection", ep, category=category, window_days=window),)
          if category != "ALL" else ()),
        endpoints.definition("infection_episodes", ep, window_days=window),
        ("Severity: BMT CTN infection grading, grade 1 to 3 (INFSEV). Viral reactivation: "
         "VIRREACT = Y."),
        ("Infection density: exact Poisson 95% interval (Garwood 1936, as R's poisson.test). "
         "Cumulative incidence: Aalen-Johansen, log(-log) interval, Gray's test. Mean "
         "cumulative count: Ghosh & Lin (2000), no interval."),
        (f"First infection: {start.describe()} Rates, densities and mean counts: every "
         f"patient from day 0, whatever the start."),
    )


def _category_words(category: str) -> str:
    return "infection" if category == "ALL" else f"{category.lower()} infection"


def _lookup(episodes: pd.DataFrame) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(group, category, grade) -> (episodes, patients) of the counted episodes; category
    "ALL" for all categories, grade "any" for any grade."""
    found = {}
    for row in episodes.itertuples(index=False):
        if (pd.isna(row.category) and not row.all_categories) or (
                pd.isna(row.grade) and not row.any_grade):
            continue  # an episode without a category or grade counts in the totals only
        category = "ALL" if row.all_categories else str(row.category)
        grade = "any" if row.any_grade else str(int(row.grade))
        found[(str(row.group), category, grade)] = (int(row.episodes), int(row.patients))
    return found


def episodes_by_grade(episodes: pd.DataFrame, groups: tuple[str, ...]) -> pd.DataFrame:
    """Episodes per category and grade per group; grade 'any' is the category's total."""
    found = _lookup(episodes)
    rows = []
    for category in (*INFECTION_CATEGORIES, "ALL"):
        for grade in (*(str(g) for g in GRADES), "any"):
            row: dict[str, object] = {"category": category, "grade": grade}
            for g in groups:
                row[f"{g}_episodes"] = found.get((g, category, grade), (0, 0))[0]
            rows.append(row)
    return pd.DataFrame(rows, columns=["category", "grade", *[f"{g}_episodes" for g in groups]])


def _percent(n: int, total: int) -> float:
    return round(100 * n / total, 1)


def patients_with_infection(episodes: pd.DataFrame, n_per_group: dict[str, int],
                            groups: tuple[str, ...]) -> pd.DataFrame:
    """Patients with at least one episode, any category and each: n, % and exact 95% CI (%)."""
    found = _lookup(episodes)
    columns = ["category"]
    for g in groups:
        columns += [f"{g}_patients", f"{g}_percent", f"{g}_lower", f"{g}_upper"]
    rows = []
    for category in CATEGORIES:
        row: dict[str, object] = {"category": category}
        for g in groups:
            n = found.get((g, category, "any"), (0, 0))[1]
            ci = clopper_pearson(n, n_per_group[g])
            row.update({f"{g}_patients": n, f"{g}_percent": _percent(n, n_per_group[g]),
                        f"{g}_lower": round(100 * ci.lower, 1),
                        f"{g}_upper": round(100 * ci.upper, 1)})
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def infection_density(episodes: pd.DataFrame, at_risk: pd.DataFrame, groups: tuple[str, ...]
                      ) -> tuple[pd.DataFrame, list[Message]]:
    """Episodes per 100 patient-days at risk, exact Poisson 95% interval, per group and category.

    `at_risk`: days at risk counted (group, time, n). A category without an episode still has
    its row: rate 0, interval 0 to the exact upper limit. A group with no day at risk
    (everyone ends on day 0) has no rate, and says so.
    """
    found = _lookup(episodes)
    days = (at_risk["time"] * at_risk["n"]).groupby(at_risk["group"]).sum()
    rows, messages = [], []
    for g in groups:
        patient_days = int(days.get(g, 0))
        for category in CATEGORIES:
            n = found.get((g, category, "any"), (0, 0))[0]
            row: dict[str, object] = {"group": g, "category": category, "episodes": n,
                                      "patient_days": patient_days}
            if patient_days > 0:
                rate = poisson_rate_exact(n, patient_days, per=100)
                row.update(rate_per_100_patient_days=rate.estimate, lower=rate.lower,
                           upper=rate.upper)
            else:
                row.update(rate_per_100_patient_days=None, lower=None, upper=None)
            rows.append(row)
        if patient_days == 0:
            messages.append(Message(Level.WARNING, f"{g} has no patient-day at risk: no "
                                                   "infection density."))
    return pd.DataFrame(rows, columns=DENSITY_COLUMNS), messages


def _mean_count(at_risk: pd.DataFrame, episode_days: pd.DataFrame) -> MeanCumulativeCount:
    return mean_cumulative_count(at_risk["time"], at_risk["status"], episode_days["day"],
                                 at_risk["group"], episode_days["group"],
                                 weights=at_risk["n"], episode_weights=episode_days["n"])


def viral_reactivations(reactivations: pd.DataFrame, n_per_group: dict[str, int],
                        groups: tuple[str, ...]) -> pd.DataFrame:
    """Viral reactivations (VIRREACT = Y) by pathogen: episodes, and patients n and %.

    The first row, ANY, counts every reactivation; pathogens follow, most frequent first.
    """
    columns = ["pathogen"]
    for g in groups:
        columns += [f"{g}_episodes", f"{g}_patients", f"{g}_percent"]
    found = {(str(r.group), "ANY" if r.any_pathogen else str(r.pathogen)):
             (int(r.episodes), int(r.patients))
             for r in reactivations.itertuples(index=False)
             if r.any_pathogen or not pd.isna(r.pathogen)}  # no pathogen: in ANY only
    total: dict[str, int] = {}
    for (_, pathogen), (n_episodes, _) in found.items():
        if pathogen != "ANY":
            total[pathogen] = total.get(pathogen, 0) + n_episodes
    pathogens = sorted(total, key=lambda p: (-total[p], p))
    rows = []
    for pathogen in ("ANY", *pathogens):
        row: dict[str, object] = {"pathogen": pathogen}
        for g in groups:
            n_episodes, n = found.get((g, pathogen), (0, 0))
            row.update({f"{g}_episodes": n_episodes, f"{g}_patients": n,
                        f"{g}_percent": _percent(n, n_per_group[g])})
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


EPISODES = Section("episodes", "Episodes")
FIRST = Section("first_infection", "First infection")
PANEL = Panel(
    key="infections", title="Infections", icon=":material/coronavirus:",
    datasets=("adsl", "adinf"),
    items=tuple(ItemSpec(key, kind, section=section) for key, kind, section in (
        ("inf_episodes_by_grade", Kind.TABLE, EPISODES), ("inf_patients", Kind.TABLE, EPISODES),
        ("inf_density", Kind.TABLE, EPISODES),
        ("inf_first_infection_cif", Kind.FIGURE, FIRST),
        ("inf_first_infection_landmarks", Kind.TABLE, FIRST),
        ("inf_mcc", Kind.FIGURE, Section("recurrent", "Recurrent infections")),
        ("inf_viral_reactivations", Kind.TABLE, Section("viral", "Viral reactivations")))),
    options=(Option("category", "First infection: category", Widget.SELECT, lambda s: "ALL",
                    choices=lambda s: tuple((c, c) for c in CATEGORIES),
                    help="The category of the cumulative-incidence curve; the tables cover "
                         "every category."), *START_OPTIONS),
    build=build)
