"""AppTest with sign-in configured: what each role sees, page by page, and what it never sees.

`at.secrets["auth"]` turns sign-in on (the app checks for that section); `at.user` is the
signed-in user, as Streamlit's OpenID Connect flow would set it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    PAGES,
    ROOT,
    each_section,
    every_section_tables,
    open_section,
    option_key,
    page_tables,
    plain,
)
from export_factory import write_export
from streamlit.testing.v1 import AppTest

from smart101_dash.access import ROLES_ENV
from smart101_dash.audit import FILE_NAME, verify
from smart101_dash.config import DATA_DIR_ENV
from smart101_dash.panels.registry import PANELS

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "smart101", "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration"}
USERS = {"dsmb": "chair@dsmb.example.org", "sponsor": "lead@sponsor.example.com",
         "analyst": "stats@cro.example.com"}
SUBJECTS = ("T-A1", "T-A2", "T-B1", "C-1", "C-2", "C-3")

PANEL_KEYS = {panel.key for panel in PANELS}


@pytest.fixture
def export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    roles = (ROOT / "config" / "roles.toml").read_text().replace(
        "[users]\n", "[users]\n" + "".join(f'"{e}" = "{r}"\n' for r, e in USERS.items()))
    (tmp_path / "roles.toml").write_text(roles)
    monkeypatch.setenv(ROLES_ENV, str(tmp_path / "roles.toml"))
    export = write_export(tmp_path / "export")
    monkeypatch.setenv(DATA_DIR_ENV, str(export))
    return export


def signed_in(email: str | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": email is not None, **({"email": email} if email else {})}
    return at.run()


def everything_shown(at: AppTest, page: str | None = None) -> str:
    """Every text on the page, every table cell and every chart's JSON, as one string; on a
    data `page` with sections, those of every section."""
    key = Path(page).stem if page else ""
    parts = []
    for _ in each_section(at, key) if key in PANEL_KEYS else [""]:
        parts += [plain(e.value) for kind in ("markdown", "caption", "error", "warning", "info",
                                              "success", "title", "subheader")
                  for e in at.get(kind)]
        parts += [df.to_csv() for df in page_tables(at)]
        parts += [chart.proto.spec for chart in at.get("plotly_chart")]
    return "\n".join(parts)


def test_an_anonymous_visitor_gets_the_sign_in_page_only(export: Path) -> None:
    at = signed_in(None)
    assert not at.exception
    assert [t.value for t in at.title] == ["Smart-101 outcomes"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not page_tables(at) and not at.get("plotly_chart")
    for page in PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page).run()


def test_a_user_without_a_role_gets_no_access(export: Path) -> None:
    at = signed_in("someone@elsewhere.example")
    assert [t.value for t in at.title] == ["No access"]
    assert "someone@elsewhere.example" in plain(at.error[0].value)
    assert not page_tables(at)


@pytest.mark.parametrize("role", ["dsmb", "analyst"])
def test_subject_level_roles_see_listings_and_trajectories(export: Path, role: str) -> None:
    at = signed_in(USERS[role])
    at.switch_page("pages/adverse_events.py").run()
    assert not at.exception and not at.error
    columns = [set(df.columns) for df in every_section_tables(at, "adverse_events")]
    assert any({"usubjid", "pt", "grade"} <= c for c in columns)  # the SAE listing
    assert any({"usubjid", "death_day"} <= c for c in columns)  # the death listing
    at.switch_page("pages/cd4_reconstitution.py").run()
    at.toggle(key=option_key("cd4_reconstitution", "trajectories")).set_value(True).run()
    assert any("each patient" in plain(m.value) for m in at.markdown)
    at.switch_page("pages/data_quality.py").run()


def test_sponsor_sees_every_page_and_no_subject_anywhere(export: Path) -> None:
    at = signed_in(USERS["sponsor"])
    for page in (p for p in PAGES if p != "pages/patient.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert not at.error, page
        shown = everything_shown(at, page)
        assert "data cut-off" in shown, page
        assert not [s for s in SUBJECTS if s in shown], page
    at.switch_page("pages/adverse_events.py").run()
    assert not any("usubjid" in df.columns
                   for df in every_section_tables(at, "adverse_events"))
    at.switch_page("pages/cd4_reconstitution.py").run()
    assert "Patient trajectories" not in [t.label for t in at.toggle]
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/audit.py").run()
    # The patient's story is subject-level through and through: not listed for a sponsor.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/patient.py").run()


def test_only_dsmb_gets_the_audit_page(export: Path, audit_folder: Path) -> None:
    analyst = signed_in(USERS["analyst"])
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        analyst.switch_page("pages/audit.py").run()
    at = signed_in(USERS["dsmb"])
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    records = page_tables(at)[0]
    assert {"chair@dsmb.example.org", "stats@cro.example.com"} <= set(records["user"])
    assert "audit trail intact" in plain(at.success[0].value)
    at.multiselect(key="audit_user").set_value(["stats@cro.example.com"]).run()
    assert set(page_tables(at)[0]["user"]) == {"stats@cro.example.com"}


def test_a_result_for_dsmb_is_never_served_to_sponsor(export: Path) -> None:
    """Two sessions, one server process (one cache): the same filters, two roles."""
    dsmb = signed_in(USERS["dsmb"])
    dsmb.switch_page("pages/adverse_events.py").run()
    # summary, by term, causes of death, SAE listing, death listing
    assert len(every_section_tables(dsmb, "adverse_events")) == 5
    assert [s for s in SUBJECTS if s in everything_shown(dsmb, "adverse_events")]  # IDs seen
    sponsor = signed_in(USERS["sponsor"])
    sponsor.switch_page("pages/adverse_events.py").run()
    assert len(every_section_tables(sponsor, "adverse_events")) == 3
    assert not [s for s in SUBJECTS if s in everything_shown(sponsor, "adverse_events")]


def test_every_action_is_audited(export: Path, audit_folder: Path) -> None:
    at = signed_in(USERS["analyst"])
    at.switch_page("pages/gvhd.py").run()
    at.sidebar.radio(key="f_arm").set_value("Group B (pediatric)").run()
    at.sidebar.radio(key="f_arm").set_value("Group B (pediatric)").run()  # no change: no record
    at.switch_page("pages/overview.py").run()
    at.button(key="sign_out").click().run()
    records = [json.loads(line) for line in (audit_folder / FILE_NAME).read_text().splitlines()]
    assert [(r["action"], r["page"]) for r in records] == [
        ("sign_in", ""), ("page_view", "safety"), ("page_view", "gvhd"),
        ("filter_change", "gvhd"), ("page_view", "overview"), ("sign_out", "")]
    assert {r["user"] for r in records} == {USERS["analyst"]}
    assert {r["role"] for r in records} == {"analyst"}
    change = records[3]
    assert change["filters"] == "arm GROUP B vs pediatric controls"
    assert change["rows"] > 0 and len(change["export"]) == 12
    assert pd.Timestamp(change["time"]).tzname() == "UTC"
    assert verify(audit_folder).ok


def test_opening_a_section_is_audited_with_its_rows(export: Path, audit_folder: Path) -> None:
    # A page builds and shows one section: the SAE listing's subject-level rows are a view of
    # their own in the trail, not hidden behind the first section's.
    at = signed_in(USERS["dsmb"])
    at.switch_page("pages/adverse_events.py").run()
    open_section(at, "adverse_events", "Serious adverse events")
    listing = page_tables(at)[0]
    at.sidebar.radio(key="f_arm").set_value("Group A (adults)").run()
    open_section(at, "adverse_events", "Adverse events")
    records = [json.loads(line) for line in (audit_folder / FILE_NAME).read_text().splitlines()]
    views = [(r["action"], r["detail"].split(";")[0], r["rows"]) for r in records
             if r["page"] == "adverse_events"]
    assert [(action, section) for action, section, _ in views] == [
        ("page_view", "section: events"), ("page_view", "section: serious"),
        ("filter_change", "section: serious"), ("page_view", "section: events")]
    assert views[1][2] == len(listing) > 0


@pytest.mark.parametrize("where", ["inside the export", "not writable"])
def test_no_data_is_shown_without_an_audit_trail(export: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    folder = export / "audit" if where == "inside the export" else blocker / "audit"
    monkeypatch.setenv("SMART101_AUDIT_DIR", str(folder))
    at = signed_in(USERS["dsmb"])
    assert not at.exception
    assert "The audit trail cannot be written, so no data is shown" in plain(at.error[0].value)
    assert not page_tables(at) and not at.get("plotly_chart")
    assert sorted(p.name for p in export.iterdir()) == [
        "adae.parquet", "adgvhd.parquet", "adinf.parquet", "adlb.parquet", "adsl.parquet"]
