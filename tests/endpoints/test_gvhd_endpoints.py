"""Acute and chronic GvHD onset with death competing."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
from endpoint_helpers import adsl, as_dict, rows_of, subject

from smart101_dash.endpoints import acute_grade, acute_gvhd, acute_gvhd_grade, chronic_gvhd

STAGES = ("SKINSTG", "LIVERSTG", "UGISTG", "LGISTG", "AGVHDGR", "CGVHDSEV")
EXPORT = adsl(
    subject("g2-day30"), subject("g3-day50"), subject("g3-day120"),
    subject("died-first", death=40, last_alive=40), subject("same-day", death=25, last_alive=25),
    subject("staged-only"), subject("none"), subject("lost", last_alive=60),
    subject("cgvhd-relapse", relapse=150),
)
GVHD = rows_of([
    ("g2-day30", 10, 1, 0, 0, 0, 1, None),
    ("g2-day30", 30, 3, 0, 0, 0, 2, None),
    ("g2-day30", 60, 0, 0, 0, 0, 0, None),
    ("g3-day50", 20, 0, 1, 0, 0, 2, None),
    ("g3-day50", 50, 0, 2, 0, 0, 3, None),
    ("g3-day120", 120, 0, 0, 0, 3, 3, None),  # after day 100, before day 180
    ("died-first", 60, 0, 0, 0, 2, 3, None),  # after death: ignored
    ("same-day", 25, 0, 0, 1, 0, 2, None),
    ("staged-only", 45, 0, 0, 0, 2, None, None),  # no overall grade: MAGIC gives III
    ("none", -5, 4, 0, 0, 0, 4, None),  # before day 0: ignored
    ("none", None, 4, 0, 0, 0, 4, None),  # no date: ignored
    ("g2-day30", 200, None, None, None, None, None, "MILD"),
    ("g2-day30", 300, None, None, None, None, None, "SEVERE"),
    ("g3-day50", 250, None, None, None, None, None, "MODERATE"),
    ("lost", 90, None, None, None, None, None, "SEVERE"),  # after last known alive
    ("cgvhd-relapse", 200, None, None, None, None, None, "MODERATE"),
], STAGES, "ADT")


def test_grade_from_stages_when_missing():
    grades = acute_grade(GVHD)
    assert grades[GVHD["USUBJID"] == "staged-only"].tolist() == [3.0]


def test_grade_ii_iv_by_day_100(settings):
    got = as_dict(acute_gvhd(EXPORT, GVHD, settings, min_grade=2, window_days=100))
    assert got == {
        "g2-day30": (30, 1), "g3-day50": (20, 1), "g3-day120": (100, 0),
        "died-first": (40, 2), "same-day": (25, 1), "staged-only": (45, 1),
        "none": (100, 0), "lost": (60, 0), "cgvhd-relapse": (100, 0),
    }


def test_grade_iii_iv_by_day_100_and_180(settings):
    by100 = as_dict(acute_gvhd(EXPORT, GVHD, settings, min_grade=3, window_days=100))
    by180 = as_dict(acute_gvhd(EXPORT, GVHD, settings, min_grade=3, window_days=180))
    assert by100["g2-day30"] == (100, 0) and by100["g3-day50"] == (50, 1)
    assert by100["g3-day120"] == (100, 0) and by180["g3-day120"] == (120, 1)
    assert by100["same-day"] == (25, 2)  # grade II only: the death competes
    assert by180["none"] == (180, 0)


def test_chronic_any_and_moderate_severe(settings):
    anyc = as_dict(chronic_gvhd(EXPORT, GVHD, settings, severity="any"))
    mod = as_dict(chronic_gvhd(EXPORT, GVHD, settings, severity="moderate_severe"))
    assert anyc["g2-day30"] == (200, 1) and mod["g2-day30"] == (300, 1)
    assert anyc["g3-day50"] == mod["g3-day50"] == (250, 1)
    assert anyc["died-first"] == (40, 2)
    assert anyc["lost"] == (60, 0)
    assert anyc["cgvhd-relapse"] == (200, 1)
    competing = replace(settings, cgvhd_relapse_competes=True)
    assert as_dict(chronic_gvhd(EXPORT, GVHD, competing))["cgvhd-relapse"] == (150, 2)


def test_empty_gvhd_dataset(settings):
    empty = pd.DataFrame(columns=["USUBJID", "ADT", *STAGES])
    got = acute_gvhd(EXPORT, empty, settings)
    assert set(got["status"]) == {0, 2}


def test_maximum_acute_grade_by_day_100(settings):
    out = acute_gvhd_grade(EXPORT, GVHD, settings).set_index("USUBJID")
    grade = out["max_grade"].to_dict()
    # I on day 10, II on day 30, 0 on day 60: II, first reached on day 30 (skin 3).
    assert grade["g2-day30"] == 2 and out.loc["g2-day30", "worst_day"] == 30
    assert out.loc["g2-day30", "SKINSTG"] == 3
    assert grade["g3-day50"] == 3 and out.loc["g3-day50", "LIVERSTG"] == 2
    assert grade["g3-day120"] == 0  # after day 100 ...
    assert acute_gvhd_grade(EXPORT, GVHD, settings, window_days=180).set_index(
        "USUBJID").loc["g3-day120", "max_grade"] == 3  # ... within day 180
    assert grade["died-first"] == 0  # the assessment after death is not followed
    assert grade["same-day"] == 2  # on the day of death: counted
    assert grade["staged-only"] == 3 and out.loc["staged-only", "LGISTG"] == 2
    assert grade["none"] == 0 and pd.isna(out.loc["none", "worst_day"])
    assert pd.isna(out.loc["none", "SKINSTG"])  # no stage is invented for grade 0
    assert len(out) == len(EXPORT)  # every transplanted subject, once
