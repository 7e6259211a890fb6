"""Engraftment, graft failure, GRFS and the landmark subsets against R (survival, cmprsk).

tests/fixtures/r_transplant/make_reference.R writes 203 subjects (43 hand-made edge cases: ties
on one day, missing dates, recovery after graft failure, relapse and death on one day, events on
the landmark day) and their GvHD assessments, derives every endpoint in R by the rules of
docs/endpoints.md, and estimates each without a landmark and from day 7 and day 28. Here the
dashboard's derivations, its landmark rule and its estimators must give the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smart101_dash import endpoints
from smart101_dash.analysis import Start
from smart101_dash.config import EndpointSettings
from smart101_dash.panels.curves import with_groups
from smart101_dash.panels.start import apply_start
from smart101_dash.stats import cumulative_incidence, kaplan_meier, landmarks

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "r_transplant"
DAYS = [28, 42, 100, 365, 730]
SURVIVAL = ("OS", "GRFS", "GRFS_PROXY")
TOL = 1e-6


def _read(name: str) -> pd.DataFrame:
    frame = pd.read_csv(FIXTURES / name, dtype=str, keep_default_na=False)
    return frame.replace("", None)


@pytest.fixture(scope="module")
def subjects() -> pd.DataFrame:
    return _read("subjects.csv")


@pytest.fixture(scope="module")
def derived(subjects: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every endpoint derived by the dashboard from the R script's inputs."""
    gvhd = _read("gvhd.csv")
    gvhd["AGVHDGR"] = pd.to_numeric(gvhd["AGVHDGR"])
    ep = EndpointSettings()
    return {
        "OS": endpoints.overall_survival(subjects, ep),
        "NRM": endpoints.non_relapse_mortality(subjects, ep),
        "NEUTR": endpoints.neutrophil_engraftment(subjects, ep),
        "PLTR": endpoints.platelet_engraftment(subjects, ep),
        "GF": endpoints.graft_failure(subjects, ep),
        "GRFS": endpoints.gvhd_relapse_free_survival(subjects, gvhd, ep),
        "GRFS_PROXY": endpoints.gvhd_relapse_free_survival(subjects, gvhd, ep,
                                                           chronic="moderate_severe"),
    }


@pytest.mark.parametrize("code", ["OS", "NRM", "NEUTR", "PLTR", "GF", "GRFS", "GRFS_PROXY"])
def test_derivation_equals_r_for_every_subject(code: str,
                                               derived: dict[str, pd.DataFrame]) -> None:
    expected = pd.read_csv(FIXTURES / "derived.csv")
    expected = expected[expected["endpoint"] == code].drop(columns="endpoint")
    got = derived[code]
    merged = expected.merge(got, on="USUBJID", how="outer", suffixes=("_r", ""),
                            indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    wrong = merged[(merged["time_r"] != merged["time"]) | (merged["status_r"] != merged["status"])]
    assert wrong.empty, wrong


def test_edge_cases_read_as_the_rules_say(derived: dict[str, pd.DataFrame]) -> None:
    def row(code: str, subject: str) -> tuple[int, int]:
        frame = derived[code].set_index("USUBJID")
        return int(frame.loc[subject, "time"]), int(frame.loc[subject, "status"])

    assert row("NEUTR", "EDGE-01") == (18, 1)  # recovery on the day of death: recovery
    assert row("NEUTR", "EDGE-02") == (28, 2)  # recovery after graft failure: failure first
    assert row("GF", "EDGE-04") == (60, 1)  # secondary graft failure after engraftment
    assert row("NRM", "EDGE-08") == (150, 2)  # relapse and death on one day: relapse
    assert row("GRFS", "EDGE-09") == (49, 1)  # grade III aGvHD on the day of relapse
    assert row("NEUTR", "EDGE-13") == (10, 2)  # a recovery dated after death is ignored
    assert row("GF", "EDGE-27") == (40, 1)  # failure on the day of death: failure
    assert row("GRFS", "EDGE-20")[1] == 0 and row("GRFS_PROXY", "EDGE-20") == (100, 1)


@pytest.mark.parametrize("landmark", [0, 7, 28])
@pytest.mark.parametrize("code", ["OS", "NRM", "NEUTR", "PLTR", "GF", "GRFS", "GRFS_PROXY"])
def test_estimates_equal_r(code: str, landmark: int, subjects: pd.DataFrame,
                           derived: dict[str, pd.DataFrame]) -> None:
    """The dashboard's own landmark rule (`apply_start`, as ADTTE_SQL) on its own rows, then
    its estimators: survfit's summary or cmprsk's timepoints, to 1e-6."""
    reference = pd.read_csv(FIXTURES / "estimates.csv")
    reference = reference[(reference["endpoint"] == code) & (reference["landmark"] == landmark)]
    rows = with_groups(derived[code], subjects)
    start = Start(landmark or None)
    kept, left_out = apply_start(rows, subjects.assign(TRTSDT=None), start)
    assert sum(left_out.values()) == len(rows) - len(kept)
    if code in SURVIVAL:
        got = landmarks(kaplan_meier(kept["time"], kept["status"] == 1, kept["group"]), DAYS)
        columns = {"estimate": "surv", "std_err": "std_err", "lower": "lower", "upper": "upper",
                   "n_risk": "n_risk"}
    else:
        fit = cumulative_incidence(kept["time"], kept["status"], kept["group"], causes=[1, 2])
        got = landmarks(fit, DAYS)
        got = got[got["cause"] == 1]
        columns = {"estimate": "est", "var": "var"}
    got = got.assign(group=got["group"].astype(str)).rename(
        columns=lambda c: c if c == "group" else f"py_{c}")
    merged = reference.merge(got, left_on=["group", "day"], right_on=["group", "py_time"],
                             how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[["group", "day", "py_time", "_merge"]]
    assert len(merged) > 0
    for theirs, ours in columns.items():
        r = merged[theirs].to_numpy(dtype=float)
        p = pd.to_numeric(merged[f"py_{ours}"].astype("Float64")).to_numpy(dtype=float,
                                                                           na_value=np.nan)
        assert np.array_equal(np.isnan(r), np.isnan(p)), (theirs, merged[[theirs, f"py_{ours}"]])
        assert np.allclose(r, p, atol=TOL, rtol=0, equal_nan=True), (theirs, code, landmark)
