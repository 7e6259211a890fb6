"""Sign-in through the real OpenID Connect redirect, against a provider on 127.0.0.1.

The provider is `oidc-provider-mock` (its predefined users sign in with one click). The app is
started with an [auth] section (a secrets file of the test's own) and a roles file mapping the
two users to dsmb and sponsor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ARTIFACTS, CHROMIUM_FLAGS, ROOT, Server, free_port, wait_for, wait_idle

from smart101_dash.audit import FILE_NAME, verify
from smart101_dash.panels.registry import PANELS

USERS = {"chair": ("chair@dsmb.example.org", "dsmb"),
         "lead": ("lead@sponsor.example.com", "sponsor")}


@pytest.fixture
def provider() -> Iterator[str]:
    port = free_port()
    claims = [arg for sub, (email, _) in USERS.items()
              for arg in ("--user-claims", json.dumps({"sub": sub, "email": email}))]
    log = (ARTIFACTS / f"oidc-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *claims],
        env={**os.environ, "AUTHLIB_INSECURE_TRANSPORT": "1"}, stdout=log,
        stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)
        log.close()

    wait_for(f"{url}/.well-known/openid-configuration", "the OIDC provider", stop)
    yield url
    stop()


@pytest.fixture
def server(export: Path, provider: str, tmp_path: Path) -> Iterator[Server]:
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{'s' * 48}"
client_id = "smart101-dashboard"
client_secret = "not-a-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""")
    roles = (ROOT / "config" / "roles.toml").read_text().replace(
        "[users]\n", "[users]\n" + "".join(f'"{e}" = "{r}"\n' for e, r in USERS.values()))
    (tmp_path / "roles.toml").write_text(roles)
    running = Server(export, args=("--secrets.files", str(secrets)), port=port,
                     env={"SMART101_ROLES": str(tmp_path / "roles.toml")})
    yield running
    running.stop()


def sign_in(tab: object, server: Server, sub: str) -> None:
    tab.goto(server.url)
    wait_idle(tab)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("button", name=sub, exact=True).click()  # the provider's predefined user
    tab.wait_for_url(f"{server.url}/**")
    wait_idle(tab)


def nav_titles(tab: object) -> list[str]:
    """The page titles of the navigation (each link's text ends with its title)."""
    links = tab.locator("[data-testid=stSidebarNavLink]").all_inner_texts()
    return [t.strip().splitlines()[-1] for t in links]


def test_sign_in_role_and_sign_out(chromium: str, server: Server, audit_folder: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        anonymous = browser.new_context(viewport={"width": 1280, "height": 1200})
        tab = anonymous.new_page()
        # Every page URL shows the sign-in page alone to an anonymous visitor.
        for path in ["", *(p.key for p in PANELS), "data_quality", "audit"]:
            tab.goto(f"{server.url}/{path}")
            wait_idle(tab)
            main = tab.locator("[data-testid=stMain]").inner_text()
            assert "Sign in with your organisation's account" in main, path
            assert "data cut-off" not in main and " enrolled, " not in main, path
            assert tab.locator("[data-testid=stDataFrame], [data-testid=stPlotlyChart], "
                               ".smart101-print-table").count() \
                == 0, path
        tab.screenshot(path=str(ARTIFACTS / "sign-in.png"))

        dsmb = browser.new_context(viewport={"width": 1400, "height": 1600}).new_page()
        sign_in(dsmb, server, "chair")
        # The address is shown as text: an invisible word joiner keeps it from becoming a link.
        sidebar = dsmb.locator("[data-testid=stSidebar]").inner_text().replace("\u2060", "")
        assert "Signed in as chair@dsmb.example.org" in sidebar and "role dsmb" in sidebar
        assert nav_titles(dsmb)[-1] == "Audit"
        assert "SMART101: " in dsmb.locator("[data-testid=stMain]").inner_text()
        dsmb.screenshot(path=str(ARTIFACTS / "signed-in-dsmb.png"))
        dsmb.get_by_role("button", name="Sign out").click()
        dsmb.get_by_role("button", name="End session").click()  # the provider's own step
        dsmb.wait_for_url(f"{server.url}/**")
        wait_idle(dsmb)
        assert "Sign in with your organisation's account" in \
            dsmb.locator("[data-testid=stMain]").inner_text()

        sponsor = browser.new_context(viewport={"width": 1400, "height": 3000}).new_page()
        sign_in(sponsor, server, "lead")
        assert "Audit" not in nav_titles(sponsor)
        sponsor.locator("[data-testid=stSidebarNavLink]", has_text="Adverse events").click()
        wait_idle(sponsor)
        main = sponsor.locator("[data-testid=stMain]").inner_text()
        assert "Serious adverse events" not in main and "Deaths (any time" not in main
        assert "SMART101-01-" not in main and "CTRL-" not in main
        sponsor.screenshot(path=str(ARTIFACTS / "signed-in-sponsor-ae.png"), full_page=True)
        browser.close()

    records = [json.loads(x) for x in (audit_folder / FILE_NAME).read_text().splitlines()]
    actions = [(r["user"], r["action"]) for r in records]
    assert ("chair@dsmb.example.org", "sign_in") in actions
    assert ("chair@dsmb.example.org", "sign_out") in actions
    assert ("lead@sponsor.example.com", "page_view") in actions
    assert verify(audit_folder).ok


def test_a_link_opened_before_sign_in_shows_its_view_after(chromium: str, server: Server
                                                           ) -> None:
    """A colleague's link, opened signed out: the sign-in page, then (Streamlit's sign-in
    returns to the app's root) the link's page and view."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        tab = browser.new_context(viewport={"width": 1280, "height": 1600}).new_page()
        tab.goto(f"{server.url}/gvhd?arm=GROUP+B&diag=AML")
        wait_idle(tab)
        assert "Sign in with your organisation's account" in tab.inner_text("body")
        tab.get_by_role("button", name="Sign in").click()
        tab.get_by_role("button", name="chair", exact=True).click()
        tab.wait_for_url(f"{server.url}/**")
        wait_idle(tab)
        tab.wait_for_url("**/gvhd?**", timeout=30_000)
        wait_idle(tab)
        assert "arm=GROUP+B" in tab.url and "diag=AML" in tab.url
        main = tab.locator("[data-testid=stMain]").inner_text()
        assert "Graft-versus-host disease" in main
        assert "filters: arm GROUP B vs pediatric controls; diagnosis AML" in main
        tab.screenshot(path=str(ARTIFACTS / "signed-in-link-followed.png"))
        browser.close()
