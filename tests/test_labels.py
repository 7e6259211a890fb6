"""Every column a panel writes has a header in words; the arm chosen names the groups."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from viewers import DSMB

from smart101_dash.config import SETTINGS
from smart101_dash.filters import Filters
from smart101_dash.labels import column_label, for_reading, group_names, headers, known_label
from smart101_dash.panels.curves import group_messages
from smart101_dash.panels.registry import PANELS
from smart101_dash.runner import build_panel
from smart101_dash.store import Database

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


def test_every_column_of_every_panel_has_a_header_in_words() -> None:
    db = Database()
    cut = db.load(DEMO / "2026-10-31")
    unknown: dict[str, set[str]] = {}
    for panel in PANELS:
        for item in build_panel(panel, db, cut, Filters(), SETTINGS, DSMB).items:
            missing = {str(c) for c in item.data.columns if not known_label(str(c))}
            if missing:
                unknown[item.key] = missing
    assert not unknown


def test_the_arm_chosen_names_the_groups() -> None:
    assert group_names(Filters()) == {"SMART101": "SMART101", "CONTROL": "CONTROL"}
    names = group_names(Filters(arm="GROUP B"))
    assert names == {"SMART101": "Group B (pediatric)", "CONTROL": "Controls, pediatric"}
    assert column_label("SMART101_grade3plus_pct", names) == "Group B (pediatric): grade 3+ (%)"
    assert column_label("CONTROL n", names) == "Controls, pediatric: n"
    assert column_label("wilcoxon_p") == "Wilcoxon P"
    # Two names that would read the same keep their own names.
    assert headers(["time", "day"], names) == {"time": "time", "day": "day"}


def test_missing_values_read_blank_and_numbers_stay_numbers() -> None:
    frame = pd.DataFrame({"group": ["SMART101", None], "p_value": [0.5, None],
                          "mixed": [1, None], "text": ["a", None]})
    shown = for_reading(frame, group_names(Filters(arm="GROUP A")))
    assert shown["group"].tolist() == ["Group A (adults)", ""]
    assert shown["text"].tolist() == ["a", ""]
    assert pd.api.types.is_numeric_dtype(shown["mixed"])
    assert pd.isna(shown.loc[1, "p_value"])


def test_one_patient_is_one_patient_and_a_missing_group_is_named() -> None:
    said = [m.text for m in group_messages({"SMART101": 1}, "estimates")]
    assert said[0] == "SMART101 has 1 patient: estimates are very uncertain."
    assert said[1] == "No CONTROL patient is left by the filters (only SMART101): no comparison."
