"""Settings in one typed place: study targets, endpoint definitions, where the export lives.

Defaults follow docs/endpoints.md (and the trial's public description). Panels show the settings
in force, so a reader always knows which definition produced a number.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from smart101_dash.export_files import resolved

DATA_DIR_ENV = "SMART101_DATA_DIR"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PACKAGE_ROOT / "data" / "demo"
SETTLE_ENV = "SMART101_SETTLE_SECONDS"
# A new export is loaded once its files have not changed for this long (or once the export
# job writes its complete marker): a job that writes or renames files one by one is not
# caught half-way (docs/data-contract.md, "Publishing a cut").
DEFAULT_SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class StudySettings:
    """Accrual targets and the planned accrual line drawn against actual enrollment."""

    study_id: str = "SMART101-01"
    target_total: int = 36
    target_per_arm: int = 18
    arms: tuple[str, ...] = ("GROUP A", "GROUP B")
    arm_labels: tuple[tuple[str, str], ...] = (
        ("GROUP A", "Group A (adults)"),
        ("GROUP B", "Group B (pediatric)"),
        ("CONTROL", "Control"),
    )
    # Planned accrual: linear from the first planned enrollment to the target at this date.
    planned_accrual_start: date = date(2022, 9, 1)
    planned_accrual_end: date = date(2026, 12, 31)

    def arm_label(self, arm: str) -> str:
        return dict(self.arm_labels).get(arm, arm)


@dataclass(frozen=True)
class EndpointSettings:
    """Definitions that are conventions rather than rules (docs/endpoints.md)."""

    cd4_threshold_cells_per_ul: float = 50.0
    cd4_threshold_inclusive: bool = False  # van Roessel 2020: "above 50"; Admiraal 2015: ">= 50"
    cd4_window_days: int = 100
    agvhd_windows_days: tuple[int, ...] = (100, 180)
    landmark_days: tuple[int, ...] = (100, 365, 730)
    follow_up_days: int = 730
    ae_window_days: int = 100  # primary outcome: cumulative adverse events through day 100
    # Protocol days for laboratory summaries and the half-width of their visit windows.
    lab_visit_days: tuple[int, ...] = (30, 60, 100, 180, 365, 730)
    lab_visit_window_days: tuple[int, ...] = (7, 7, 14, 21, 30, 45)
    # Censor every time-to-event endpoint at follow_up_days (the protocol's 24 months) as well
    # as at the data cut-off. Off by default: estimates up to day 730 are the same either way.
    censor_at_follow_up: bool = False
    # Chronic GvHD: relapse competes with cGvHD as death does (a common choice; domain.md).
    cgvhd_relapse_competes: bool = False
    engraftment_days: tuple[int, ...] = (28, 42, 100)
    grfs_days: tuple[int, ...] = (365, 730)
    # Causes of death: a death after a relapse (or with a cause naming it) is relapse-related;
    # otherwise the first category whose pattern (a regular expression, case-insensitive)
    # matches DTHCAUS; "Other" when none does, "Not given" without a cause.
    death_cause_patterns: tuple[tuple[str, str], ...] = (
        ("Relapse", r"relapse|progressi|recurren|leuka?emia"),
        ("Graft failure", r"graft (failure|rejection)|rejection"),
        ("GvHD", r"gvhd|graft.versus.host"),
        ("Infection", (r"infect|sepsis|septic|pneumonia|bacter|viral|virus|fung|aspergill|"
                      r"cmv|adenovir|candid")),
        ("Organ toxicity", (r"organ|toxicit|veno.?occlusive|sinusoidal|\bvod\b|\bsos\b|"
                           r"haemorrhag|hemorrhag|respiratory failure|renal failure|"
                           r"hepatic failure|liver failure|cardiac|\btma\b|pneumonitis")),
    )


@dataclass(frozen=True)
class StartSettings:
    """Where the time-to-event comparisons start, as the pages first show them (each page
    can change it): from the transplant, or from a landmark day (default the protocol's day
    of SMART101 infusion), with SMART101 as enrolled or as infused. docs/endpoints.md."""

    landmark: bool = False
    landmark_day: int = 7
    as_treated: bool = False


@dataclass(frozen=True)
class Settings:
    study: StudySettings = field(default_factory=StudySettings)
    endpoints: EndpointSettings = field(default_factory=EndpointSettings)
    start: StartSettings = field(default_factory=StartSettings)


SETTINGS = Settings()


def data_dir() -> Path:
    """The export folder: $SMART101_DATA_DIR if set, else the committed demo export."""
    value = os.environ.get(DATA_DIR_ENV)
    if not value:
        return DEFAULT_DATA_DIR
    return resolved(value)  # a link loop stays as it is: validation names it on every page


def settle_seconds() -> float:
    """$SMART101_SETTLE_SECONDS if it is a number of seconds (0 or more), else the default."""
    try:
        value = float(os.environ.get(SETTLE_ENV, DEFAULT_SETTLE_SECONDS))
    except ValueError:
        return DEFAULT_SETTLE_SECONDS
    return value if value >= 0 else DEFAULT_SETTLE_SECONDS
