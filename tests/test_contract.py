from __future__ import annotations

from pathlib import Path

import pytest

from smart101_dash.contract import CONTRACT, DATASETS, allowed_column
from smart101_dash.contract_doc import render_contract_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_docs_match_the_contract() -> None:
    """docs/data-contract.md is generated: `python -m smart101_dash contract > docs/...`."""
    assert (ROOT / "docs" / "data-contract.md").read_text() == render_contract_markdown()


def test_names_are_unique_and_upper_case() -> None:
    assert [d.name for d in CONTRACT] == ["adsl", "adlb", "adgvhd", "adinf", "adae"]
    for spec in CONTRACT:
        names = spec.column_names
        assert len(set(names)) == len(names)
        assert all(n == n.upper() for n in names)
        assert "USUBJID" in names
        assert set(spec.event_dates) <= set(names)


def test_issue_columns_are_in_the_contract() -> None:
    adsl = ["STUDYID", "USUBJID", "SITEID", "AGE", "AGEGR1", "SEX", "COHORT", "ARM", "DIAG", "DISSTAT", "DONTYPE", "ENRLDT", "HSCTDT", "TRTSDT", "DOSELVL", "SAFFL", "DTHFL", "DTHDT", "DTHCAUS", "RLPSDT", "LSTALVDT", "EOSSTT", "DCUTDT"]
    adae = ["USUBJID", "AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "ATOXGR", "AESER", "AEREL", "ASTDT", "AENDT", "TRTEMFL"]
    adlb = ["USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "ADT", "AVISIT", "AVISITN"]
    for name, columns in (("adsl", adsl), ("adae", adae), ("adlb", adlb)):
        assert set(columns) <= set(DATASETS[name].column_names)


def test_allowlist() -> None:
    assert allowed_column("adsl", "DIAG") == "DIAG"
    with pytest.raises(ValueError):
        allowed_column("adsl", "DIAG; DROP TABLE adsl")
    with pytest.raises(ValueError):
        allowed_column("nosuch", "DIAG")
