"""OS, DFS, relapse and NRM on tiny exports whose answers are worked out here."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from endpoint_helpers import CUTOFF_DAY, adsl, as_dict, subject

from smart101_dash.endpoints import (
    EndpointInputError,
    disease_free_survival,
    non_relapse_mortality,
    overall_survival,
    relapse,
)

EXPORT = adsl(
    subject("alive", last_alive=300),
    subject("died", death=120, last_alive=120),
    subject("tie-a", death=60, last_alive=60),
    subject("tie-b", death=60, last_alive=60),
    subject("relapsed-died", relapse=80, death=150, last_alive=150),
    subject("same-day", relapse=90, death=90, last_alive=90),
    subject("relapsed-alive", relapse=200, last_alive=400),
    subject("after-cutoff", death=CUTOFF_DAY + 10, relapse=CUTOFF_DAY + 5,
            last_alive=CUTOFF_DAY + 10),
    subject("not-transplanted", hsct=None, last_alive=None),
)


def test_overall_survival(settings):
    got = as_dict(overall_survival(EXPORT, settings))
    assert "not-transplanted" not in got
    assert got == {
        "alive": (300, 0), "died": (120, 1), "tie-a": (60, 1), "tie-b": (60, 1),
        "relapsed-died": (150, 1), "same-day": (90, 1), "relapsed-alive": (400, 0),
        # Death after the cut-off is ignored: censored at the cut-off.
        "after-cutoff": (CUTOFF_DAY, 0),
    }


def test_disease_free_survival(settings):
    got = as_dict(disease_free_survival(EXPORT, settings))
    assert got["relapsed-died"] == (80, 1)
    assert got["same-day"] == (90, 1)
    assert got["relapsed-alive"] == (200, 1)
    assert got["alive"] == (300, 0)
    assert got["after-cutoff"] == (CUTOFF_DAY, 0)


def test_relapse_and_nrm_are_mirror_images(settings):
    rel = as_dict(relapse(EXPORT, settings))
    nrm = as_dict(non_relapse_mortality(EXPORT, settings))
    assert rel["died"] == (120, 2) and nrm["died"] == (120, 1)
    assert rel["relapsed-died"] == (80, 1) and nrm["relapsed-died"] == (80, 2)
    # A death on the day of relapse is relapse, not NRM.
    assert rel["same-day"] == (90, 1) and nrm["same-day"] == (90, 2)
    assert rel["alive"] == nrm["alive"] == (300, 0)
    assert rel["after-cutoff"] == (CUTOFF_DAY, 0)
    swap = {1: 2, 2: 1, 0: 0}
    assert {k: (t, swap[s]) for k, (t, s) in rel.items()} == nrm


def test_output_shape(settings):
    got = overall_survival(EXPORT, settings)
    assert list(got.columns) == ["USUBJID", "time", "status"]
    assert str(got["time"].dtype) == "int64" and str(got["status"].dtype) == "int64"


def test_missing_dates(settings):
    export = adsl(
        subject("no-last-alive", last_alive=None, cutoff=450),
        subject("no-last-alive-relapsed", last_alive=None, relapse=40, cutoff=450),
        subject("flag-without-date", dthfl="Y", last_alive=70, cutoff=450),
        subject("no-cutoff-date", last_alive=900),
    )
    export.loc[export["USUBJID"] == "no-cutoff-date", "DCUTDT"] = None
    got = as_dict(overall_survival(export, settings))
    assert got["no-last-alive"] == (0, 0)  # no date after day 0 is known
    assert got["no-last-alive-relapsed"] == (40, 0)  # a relapse date proves being alive
    assert got["flag-without-date"] == (70, 0)  # an undated death cannot be an event
    assert got["no-cutoff-date"] == (450, 0)  # the export's cut-off applies


def test_datetime64_and_python_dates_agree(settings):
    as_datetime = EXPORT.copy()
    for col in ("HSCTDT", "LSTALVDT", "DTHDT", "RLPSDT", "DCUTDT"):
        as_datetime[col] = pd.to_datetime(as_datetime[col])
    pd.testing.assert_frame_equal(relapse(EXPORT, settings), relapse(as_datetime, settings))


def test_follow_up_horizon(settings):
    export = adsl(subject("late-death", death=800, last_alive=800, cutoff=900),
                  subject("long-alive", last_alive=850, cutoff=900))
    plain = as_dict(overall_survival(export, settings))
    assert plain == {"late-death": (800, 1), "long-alive": (850, 0)}
    capped = as_dict(overall_survival(export, replace(settings, censor_at_follow_up=True)))
    assert capped == {"late-death": (730, 0), "long-alive": (730, 0)}


def test_missing_column_is_named(settings):
    with pytest.raises(EndpointInputError, match="RLPSDT"):
        overall_survival(EXPORT.drop(columns="RLPSDT"), settings)


def test_feeds_the_estimators(settings):
    from smart101_dash.stats import cumulative_incidence, kaplan_meier

    os_ = overall_survival(EXPORT, settings)
    fit = kaplan_meier(os_["time"], os_["status"])
    assert fit.table["n_event"].sum() == 5
    rel = relapse(EXPORT, settings)
    cif = cumulative_incidence(rel["time"], rel["status"])
    assert cif.causes == (1, 2)
