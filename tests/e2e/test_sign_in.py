"""Sign-in for real: `streamlit run app.py` with `[auth]` pointing at the demo OpenID Connect provider,
Chromium signing in through it as an administrator, an analyst and someone on no list.

Streamlit's own ``st.login`` does the flow (Authlib: discovery, the authorization redirect with
state, nonce and PKCE, the code for tokens, the RS256 ``id_token`` checked against the JWKS), so
this is the path a district's Google Workspace or Entra ID sign-in takes. With
``CERS_SCREENSHOTS=1`` it saves the sign-in page and the demo provider's page under ``docs/screenshots/``
(``6_sign_in.png``, ``7_demo_identity_provider.png``; the README shows them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from cers_core.settings import GroupOptions
from cers_core.store import Store
from cers_demo import DemoServer
from cers_demo.oidc_provider import DEMO_PEOPLE, DemoOidcServer

# The same marks as the other browser test: browser, and skipped (saying why) where no Chromium exists.
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, pytestmark, settle  # noqa: F401
from tests.support import ROOT
from tests.support.browser import free_port, streamlit_app

ADMIN, ANALYST, OUTSIDER = DEMO_PEOPLE
ALL_PAGES = ["Home", "Applications", "CERS Connections", "Section Groups", "Check a CSV file", "History"]
ANALYST_PAGES = ["Home", "Section Groups", "Check a CSV file", "History"]


@pytest.fixture(scope="module")
def idp() -> Iterator[DemoOidcServer]:
    with DemoOidcServer() as server:
        yield server


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, idp: DemoOidcServer) -> Iterator[str]:
    """The app with sign-in set up in a secrets file of its own; a saved connection to a demo district."""
    folder = tmp_path_factory.mktemp("sign_in")
    port, key = free_port(), Fernet.generate_key().decode()
    url = f"http://127.0.0.1:{port}"
    (folder / "secrets.toml").write_text(idp.secrets_toml(f"{url}/oauth2callback"), encoding="utf-8")
    with DemoServer() as district:
        Store.open(folder / "data", keys=[key]).save_connection(
            name="District SIS",
            settings={"base_url": district.base_url, "token_url": district.token_url, "client_id": district.client_id},
            client_secret=district.client_secret,
            options=GroupOptions(),
        )
        env = {**os.environ, "CERS_DATA_DIR": str(folder / "data"), "CERS_SECRET_KEY": key, "CERS_DEMO": "off"}
        options = ["--secrets.files", str(folder / "secrets.toml")]
        with streamlit_app(port=port, env=env, log=folder / "streamlit.log", options=options) as started:
            yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, app_url: str, email: str):  # type: ignore[no-untyped-def]
    """A fresh browser (no cookies) that opens the app, signs in at the provider as ``email``, and is sent back."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    settle(page)
    expect(page.get_by_text("Sign in with your district account")).to_be_visible()
    if email == ADMIN:
        screenshot(page, "6_sign_in", height=320)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/authorize?**")
    expect(page.get_by_role("heading", name="Demo identity provider")).to_be_visible()
    if email == ADMIN:
        screenshot(page, "7_demo_identity_provider", height=480)
    page.get_by_role("button", name=email).click()
    page.wait_for_url(f"{app_url}/")
    settle(page)
    return page


def screenshot(page, name: str, *, height: int) -> None:  # type: ignore[no-untyped-def]
    """The top of the page, for the README; only with CERS_SCREENSHOTS=1, so runs do not rewrite them."""
    if os.environ.get("CERS_SCREENSHOTS") == "1":
        page.wait_for_timeout(400)  # the last run's fade-out
        page.screenshot(
            path=ROOT / "docs" / "screenshots" / f"{name}.png", clip={"x": 0, "y": 0, "width": 1280, "height": height}
        )


def expect_sidebar_pages(page, labels: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The sidebar links to exactly these pages, in this order, once it has drawn (Playwright waits for it).

    Each link's text is its icon's name and then its label, so a link is matched by how its text ends.
    """
    from playwright.sync_api import expect

    links = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink")
    expect(links).to_have_text([re.compile(rf"{re.escape(label)}$") for label in labels])


def test_an_administrator_signs_in_and_sees_everything(browser, app_url: str, idp: DemoOidcServer) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, app_url, ADMIN)
    expect(page.get_by_role("heading", name="CERS Section Groups")).to_be_visible()
    expect_sidebar_pages(page, ALL_PAGES)
    expect(page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {ADMIN} · administrator")).to_be_visible()
    page.get_by_test_id("stSidebar").get_by_role("link", name="CERS Connections").click()
    settle(page)
    expect(page.get_by_role("button", name="Edit")).to_be_visible()
    assert ADMIN in idp.provider.signed_in


def test_an_analyst_sees_section_groups_but_not_the_connections(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, app_url, ANALYST)
    expect_sidebar_pages(page, ANALYST_PAGES)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Section Groups").click()
    settle(page)
    expect(page.get_by_role("heading", name="Download a CERS Section Group")).to_be_visible()
    page.goto(f"{app_url}/CERS_Connections")  # by its address, as someone who knows it would
    settle(page)
    expect(page.get_by_text("CERS Connections is for administrators")).to_be_visible()
    expect(page.get_by_role("button", name="Edit")).to_have_count(0)
    expect(page.get_by_text("District SIS")).to_have_count(0)


def test_someone_on_no_list_is_refused_and_signs_out(browser, app_url: str) -> None:
    from playwright.sync_api import expect

    page = sign_in(browser, app_url, OUTSIDER)
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    expect(page.get_by_text(f"You are signed in as {OUTSIDER}, which may not use this app")).to_be_visible()
    expect_sidebar_pages(page, [])
    page.goto(f"{app_url}/Section_Groups")
    settle(page)
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{app_url}/")
    settle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
