from __future__ import annotations

from datetime import date

import pytest

from smart101_dash.filters import POPULATION_SQL, Filters, with_population


def test_default_filters_select_everyone() -> None:
    params = Filters().params()
    assert params["cohorts"] == ["SMART101", "CONTROL"]
    assert params["arm"] is None and params["arm_age_group"] is None
    assert Filters().describe() == "no filters (all subjects)"


def test_an_arm_brings_the_controls_of_its_age_group() -> None:
    assert Filters(arm="GROUP A").params()["arm_age_group"] == "ADULT"
    assert Filters(arm="GROUP B").params()["arm_age_group"] == "PEDIATRIC"
    assert Filters(arm="GROUP B").describe() == "arm GROUP B vs pediatric controls"


def test_unknown_arm_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown arm"):
        Filters(arm="GROUP C")


def test_description_names_every_filter() -> None:
    text = Filters(cohorts=("CONTROL",), diagnoses=("AML", "ALL"), donor_types=("HAPLO",),
                   enrolled_from=date(2023, 1, 1)).describe()
    assert text == ("cohort CONTROL; diagnosis AML/ALL; donor type HAPLO; "
                    "enrolled 2023-01-01 to ...")


def test_every_parameter_appears_in_the_sql() -> None:
    for name in Filters().params():
        assert f"${name}" in POPULATION_SQL
    assert with_population("SELECT 1").startswith("WITH population AS (")
