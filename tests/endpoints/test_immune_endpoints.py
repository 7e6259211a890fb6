"""CD4+ immune reconstitution: two consecutive counts above the threshold by day 100."""

from __future__ import annotations

from dataclasses import replace

from endpoint_helpers import adsl, as_dict, rows_of, subject

from smart101_dash.endpoints import cd4_reconstitution

EXPORT = adsl(*(subject(s) for s in (
    "two-above", "once-only", "not-consecutive", "exactly-50", "second-after-window",
    "no-measurement", "same-day", "other-param")),
    subject("died", death=45, last_alive=45))


def cd4(rows):
    return rows_of([(u, d, "CD4" if len(v) == 1 else v[1], v[0]) for u, d, *v in rows],
                   ("PARAMCD", "AVAL"), "ADT")


LAB = cd4([
    ("two-above", 14, 20), ("two-above", 30, 60), ("two-above", 60, 80),
    ("once-only", 30, 70), ("once-only", 60, 40),
    ("not-consecutive", 20, 70), ("not-consecutive", 40, 30), ("not-consecutive", 60, 90),
    ("not-consecutive", 90, 100),
    ("exactly-50", 30, 50), ("exactly-50", 60, 50),
    ("second-after-window", 90, 60), ("second-after-window", 110, 80),
    ("same-day", 30, 70), ("same-day", 30, 20), ("same-day", 60, 90),
    ("other-param", 30, 500, "CD8"), ("other-param", 60, 500, "CD8"),
    ("died", 20, 60), ("died", 50, 70),
])


def test_default_definition(settings):
    got = as_dict(cd4_reconstitution(EXPORT, LAB, settings))
    assert got == {
        "two-above": (30, 1),  # dated at the first of the two
        "once-only": (100, 0),
        "not-consecutive": (60, 1),
        "exactly-50": (100, 0),  # "above 50": 50 is not above
        "second-after-window": (100, 0),
        "no-measurement": (100, 0),
        "same-day": (100, 0),  # 70 and 20 on day 30 are one measurement, mean 45
        "other-param": (100, 0),
        "died": (45, 2),  # the day-50 count is after death: ignored; death competes
    }


def test_inclusive_threshold_and_longer_window(settings):
    inclusive = replace(settings, cd4_threshold_inclusive=True, cd4_window_days=120)
    got = as_dict(cd4_reconstitution(EXPORT, LAB, inclusive))
    assert got["exactly-50"] == (30, 1)
    assert got["second-after-window"] == (90, 1)
    assert got["no-measurement"] == (120, 0)


def test_threshold_setting(settings):
    got = as_dict(cd4_reconstitution(EXPORT, LAB, replace(settings,
                                                           cd4_threshold_cells_per_ul=75)))
    assert got["two-above"] == (100, 0) and got["not-consecutive"] == (60, 1)
