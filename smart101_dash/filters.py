"""The global filters and the population they select, as one fixed SQL text with parameters.

Every panel's query starts from `POPULATION_SQL`, so the same subjects are counted everywhere and
"Show query" prints the exact text that ran. An empty choice means "all". Choosing an arm keeps
that arm's treated patients and the control patients of the same age group (Group A adults with
adult controls, Group B children with pediatric controls).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from smart101_dash.contract import COHORTS

ARM_AGE_GROUP = {"GROUP A": "ADULT", "GROUP B": "PEDIATRIC"}

POPULATION_SQL = """\
population AS (
    -- adsl's columns and `subject`, its rows numbered in USUBJID's order when the cut
    -- loads: the key the analysis tables are joined on (USING (subject))
    SELECT * FROM adsl
    WHERE list_contains($cohorts, COHORT)
      AND ($arm IS NULL
           OR (COHORT = 'SMART101' AND ARM = $arm)
           OR (COHORT = 'CONTROL' AND AGEGR1 = $arm_age_group))
      AND (len($age_groups) = 0 OR list_contains($age_groups, AGEGR1))
      AND (len($diagnoses) = 0 OR list_contains($diagnoses, DIAG))
      AND (len($disease_statuses) = 0 OR list_contains($disease_statuses, DISSTAT))
      AND (len($donor_types) = 0 OR list_contains($donor_types, DONTYPE))
      AND ($enrolled_from IS NULL OR ENRLDT >= $enrolled_from)
      AND ($enrolled_to IS NULL OR ENRLDT <= $enrolled_to)
)"""


@dataclass(frozen=True)
class Filters:
    cohorts: tuple[str, ...] = COHORTS
    arm: str | None = None
    age_groups: tuple[str, ...] = ()
    diagnoses: tuple[str, ...] = ()
    disease_statuses: tuple[str, ...] = ()
    donor_types: tuple[str, ...] = ()
    enrolled_from: date | None = None
    enrolled_to: date | None = None

    def __post_init__(self) -> None:
        if self.arm is not None and self.arm not in ARM_AGE_GROUP:
            raise ValueError(f"unknown arm {self.arm!r}; expected one of {list(ARM_AGE_GROUP)}")

    def params(self) -> dict[str, Any]:
        """The bound parameters of POPULATION_SQL."""
        return {
            "cohorts": list(self.cohorts),
            "arm": self.arm,
            "arm_age_group": ARM_AGE_GROUP.get(self.arm) if self.arm else None,
            "age_groups": list(self.age_groups),
            "diagnoses": list(self.diagnoses),
            "disease_statuses": list(self.disease_statuses),
            "donor_types": list(self.donor_types),
            "enrolled_from": self.enrolled_from,
            "enrolled_to": self.enrolled_to,
        }

    def describe(self) -> str:
        """The filters in words, for chart footers and the first lines of a CSV."""
        parts = []
        if tuple(self.cohorts) != COHORTS:
            parts.append("cohort " + "/".join(self.cohorts))
        if self.arm:
            parts.append(f"arm {self.arm} vs {ARM_AGE_GROUP[self.arm].lower()} controls")
        for label, values in (("age group", self.age_groups), ("diagnosis", self.diagnoses),
                              ("disease status", self.disease_statuses),
                              ("donor type", self.donor_types)):
            if values:
                parts.append(f"{label} {'/'.join(values)}")
        if self.enrolled_from or self.enrolled_to:
            parts.append(f"enrolled {self.enrolled_from or '...'} to {self.enrolled_to or '...'}")
        return "; ".join(parts) if parts else "no filters (all subjects)"


def with_population(select_sql: str, **ctes: str) -> str:
    """Prefix a panel's SELECT with the filtered population CTE (`population`) and the
    further named CTEs `ctes` (each may read `population`)."""
    more = "".join(f",\n{name} AS (\n{sql}\n)" for name, sql in ctes.items())
    return f"WITH {POPULATION_SQL}{more}\n{select_sql}"
