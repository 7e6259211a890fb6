"""Where a time-to-event comparison starts: the options every time-to-event page shares.

A SMART101 patient must be alive at about day 7 to be infused, a control need not be: counted
from the transplant, early deaths weigh on the controls only (immortal time). From a landmark
day L, only patients alive and free of the endpoint at day L count, in both cohorts.
"""

from __future__ import annotations

import pandas as pd

from smart101_dash.analysis import EndpointRead, Start
from smart101_dash.config import Settings
from smart101_dash.panels.base import Level, Message
from smart101_dash.panels.spec import Option, Widget

ENROLLED, INFUSED = "enrolled", "infused"

START_OPTIONS = (
    Option("landmark", "From a landmark day", Widget.TOGGLE, lambda s: s.start.landmark,
           help="Count only patients alive and free of each endpoint at the landmark day "
                "(both cohorts), so that SMART101, infused at about day 7, is compared with "
                "controls who also lived that long."),
    Option("landmark_day", "Landmark day", Widget.INTEGER, lambda s: s.start.landmark_day,
           minimum=1, maximum=lambda s: s.endpoints.follow_up_days, step=1,
           help="Used when 'From a landmark day' is on; the protocol infuses SMART101 on "
                "day 7."),
    Option("population", "SMART101 analysed", Widget.RADIO,
           lambda s: INFUSED if s.start.as_treated else ENROLLED,
           choices=lambda s: (("As enrolled (intention to treat)", ENROLLED),
                              ("As infused (as treated)", INFUSED)),
           help="As infused leaves out SMART101 patients who were transplanted but not "
                "infused; controls are the same either way."),
)


def start_of(landmark: bool, landmark_day: int, population: str) -> Start:
    """The Start of a page's three options."""
    if population not in (ENROLLED, INFUSED):
        raise ValueError(f"population must be {ENROLLED!r} or {INFUSED!r}, got {population!r}")
    return Start.of(landmark, landmark_day, population == INFUSED)


def start_messages(start: Start, left_out: dict[str, dict[str, int]]) -> list[Message]:
    """The start in force when it is not the transplant with SMART101 as enrolled, and what
    the landmark left out: `left_out` maps each endpoint's label to its subjects per group."""
    if start == Start():
        return []
    said = [Message(Level.INFO, f"Comparison: {start.describe()}")]
    if start.landmark_day is None:
        return said
    # Endpoints that left out the same patients are named together (often all of them).
    by_count: dict[str, list[str]] = {}
    for label, groups in left_out.items():
        counted = ", ".join(f"{g} {n}" for g, n in sorted(groups.items(), reverse=True))
        by_count.setdefault(counted or "none", []).append(label)
    parts = [f"{', '.join(names)}: {counted}" for counted, names in by_count.items()]
    return [*said, Message(Level.INFO, f"Landmark day {start.landmark_day}: patients left out "
                                f"(died, event or competing event on or before the day, or "
                                f"not followed to it): {'; '.join(parts)}.")]


def read_messages(read: EndpointRead, labels: dict[str, str]) -> list[Message]:
    """`start_messages` of one read, its endpoints named by `labels` (PARAMCD -> label)."""
    return start_messages(read.start, {label: read.left_out.get(code, {})
                                       for code, label in labels.items()})


def apply_start(rows: pd.DataFrame, subjects: pd.DataFrame, start: Start
                ) -> tuple[pd.DataFrame, dict[str, int]]:
    """`ADTTE_SQL`'s start rule on endpoint rows derived in Python (an endpoint a page derives
    again under its own definition): rows (USUBJID, group, time, status, n) kept, and the
    subjects the landmark left out by group. `subjects` gives COHORT and TRTSDT per USUBJID."""
    if start.as_treated:
        not_infused = subjects.loc[(subjects["COHORT"] == "SMART101")
                                   & subjects["TRTSDT"].isna(), "USUBJID"]
        rows = rows[~rows["USUBJID"].isin(not_infused)]
    if start.landmark_day is None:
        return rows, {}
    day = start.landmark_day
    before = (rows["time"] < day) | ((rows["time"] == day) & (rows["status"] > 0))
    left_out = rows[before].groupby("group")["n"].sum()
    return rows[~before], {str(g): int(n) for g, n in left_out.items()}


def start_of_options(options: dict[str, object], settings: Settings) -> Start:
    """The Start a page's options ask for (the settings' start where the page has none)."""
    landmark = bool(options.get("landmark", settings.start.landmark))
    day = int(options.get("landmark_day", settings.start.landmark_day))  # type: ignore[arg-type]
    population = str(options.get("population",
                                 INFUSED if settings.start.as_treated else ENROLLED))
    return start_of(landmark, day, population)
