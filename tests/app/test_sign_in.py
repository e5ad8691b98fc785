"""The door in the app: who sees what, with sign-in (``st.user`` as AppTest seeds it) and without.

The real sign-in through an OpenID Connect provider, in Chromium, is ``tests/e2e/test_sign_in.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from cers_app.access import NO_SIGN_IN
from cers_core import list_schools
from cers_demo import DemoServer
from tests.support import ROOT
from tests.support.app import choose_school, open_store, save_connection
from tests.support.store import save_import_connection

HOME, APPLICATIONS, CONNECTIONS, SECTION_GROUPS, CHECK = (
    "app.py",
    "pages/1_Applications.py",
    "pages/2_CERS_Connections.py",
    "pages/3_Section_Groups.py",
    "pages/4_Check_a_CSV_file.py",
)
ADMIN, ANALYST, OUTSIDER = "it@district.org", "analyst@district.org", "someone@elsewhere.org"
ALL_PAGES = ["Home", "Applications", "CERS Connections", "Section Groups", "Check a CSV file", "History"]
SECRETS = {
    "auth": {
        "redirect_uri": "https://cers.district.org/oauth2callback",
        "cookie_secret": "a-random-cookie-secret-of-enough-length",
        "client_id": "cers-app",
        "client_secret": "from-the-provider",
        "server_metadata_url": "https://idp.district.org/.well-known/openid-configuration",
    },
    "cers": {"access": {"administrators": [ADMIN], "analysts": ["@district.org"]}},
}


def open_app(page: str = HOME, *, user: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None) -> AppTest:
    """A new browser session on ``page``, signed in as ``user`` (claims as the provider gives them)."""
    at = AppTest.from_file(str(ROOT / HOME), default_timeout=120)
    at.user = user if user is not None else {}
    at.secrets.update(secrets or {})
    at.run()
    if page != HOME:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def elementary_school(server: DemoServer) -> str:
    """A school of the demo district whose file CERS accepts as saved by ``save_connection``."""
    names = list_schools(server.settings())["name"]
    return names.filter(names.str.contains("Elementary"))[0]


def signed_in(email: str) -> dict[str, Any]:
    return {"is_logged_in": True, "email": email, "email_verified": True, "name": "Someone"}


def sidebar_pages(at: AppTest) -> list[str]:
    return [link.label for link in at.sidebar.get("page_link")]


def keys(widgets: Any) -> list[str]:
    return [widget.key for widget in widgets]


def texts(elements: Any) -> str:
    return " ".join(str(element.value) for element in elements)


@pytest.fixture
def listening_everywhere() -> Iterator[None]:
    """The server as ``streamlit run app.py --server.address 0.0.0.0`` would start it."""
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


def test_without_sign_in_on_this_computer_everyone_is_administrator_and_is_told(data_dir: Path) -> None:
    at = open_app()
    assert sidebar_pages(at) == ALL_PAGES
    assert "No sign-in: this app is open on this computer only" in texts(at.sidebar.caption)
    assert at.button(key="try_demo")


@pytest.mark.usefixtures("listening_everywhere")
@pytest.mark.parametrize("page", [HOME, CONNECTIONS, SECTION_GROUPS, CHECK])
def test_without_sign_in_an_app_others_can_reach_shows_nothing_but_how_to_set_it_up(data_dir: Path, page: str) -> None:
    at = open_app(page)
    assert [title.value for title in at.title] == ["Sign-in is not set up"]
    assert "it listens on every network interface" in texts(at.error)
    assert "`[auth]`" in texts(at.markdown) and "`[cers.access]`" in texts(at.markdown)
    assert sidebar_pages(at) == []
    assert not data_dir.exists()  # the store was not even opened


@pytest.mark.usefixtures("listening_everywhere")
def test_with_sign_in_the_app_may_listen_everywhere(data_dir: Path) -> None:
    at = open_app(CONNECTIONS, user=signed_in(ADMIN), secrets=SECRETS)
    assert [title.value for title in at.title] == ["CERS Connections"]


def test_before_signing_in_only_the_sign_in_page_shows(data_dir: Path) -> None:
    at = open_app(CONNECTIONS, user={"is_logged_in": False}, secrets=SECRETS)
    assert [button.label for button in at.button] == ["Sign in"]
    assert "Sign in with your district account" in texts(at.markdown)
    assert sidebar_pages(at) == []
    assert not data_dir.exists()


def test_someone_not_on_the_list_is_refused_and_may_sign_out(data_dir: Path) -> None:
    at = open_app(SECTION_GROUPS, user=signed_in(OUTSIDER), secrets=SECRETS)
    assert [title.value for title in at.title] == ["No access"]
    assert "You are signed in as someone\\@elsewhere\\.org, which may not use this app" in texts(at.markdown)
    assert sidebar_pages(at) == []
    assert not data_dir.exists()
    at.button(key="sign_out").click().run()
    assert [button.label for button in at.button] == ["Sign in"]  # signed out: back at the door


def test_an_unverified_address_is_not_taken_for_its_owner(data_dir: Path) -> None:
    at = open_app(user={**signed_in(ADMIN), "email_verified": False}, secrets=SECRETS)
    assert [title.value for title in at.title] == ["No access"]
    assert "did not give this app a verified e-mail address" in texts(at.markdown)


def test_sign_in_settings_with_a_mistake_say_so_and_show_nothing(data_dir: Path) -> None:
    secrets = {**SECRETS, "cers": {"access": {"administrators": ["district.org"]}}}
    at = open_app(user=signed_in(ADMIN), secrets=secrets)
    assert "Sign-in is not set up correctly" in texts(at.error)
    assert "for everyone at district.org, write @district.org" in texts(at.error)
    assert not data_dir.exists()


def test_an_analyst_sees_section_groups_and_checks_but_not_connections(data_dir: Path) -> None:
    at = open_app(user=signed_in(ANALYST), secrets=SECRETS)
    assert sidebar_pages(at) == ["Home", "Section Groups", "Check a CSV file", "History"]
    assert "Signed in as analyst\\@district\\.org · analyst" in texts(at.sidebar.caption)
    assert "try_demo" not in keys(at.button)  # it would save a connection
    for page in (APPLICATIONS, CONNECTIONS):
        at.switch_page(page).run()
        assert "is for administrators" in texts(at.warning)
        assert [title.value for title in at.title] == []


def test_an_analyst_cannot_reach_the_connection_form_even_by_its_session_state(
    data_dir: Path, demo_server: DemoServer
) -> None:
    """The attack of issue 11: open Edit, change only the Token URL, press Test connection (sends the saved secret)."""
    save_connection(data_dir, demo_server)
    [saved] = open_store(data_dir).connections()
    at = open_app(user=signed_in(ANALYST), secrets=SECRETS)
    at.session_state["conns_editing"] = saved.id
    at.switch_page(CONNECTIONS).run()
    assert not at.exception
    assert keys(at.text_input) == [] and keys(at.button) == ["sign_out"]


def test_an_administrator_sees_everything(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server)
    [saved] = open_store(data_dir).connections()
    at = open_app(CONNECTIONS, user=signed_in(ADMIN), secrets=SECRETS)
    assert sidebar_pages(at) == ALL_PAGES
    at.button(key=f"edit_{saved.id}").click().run()
    assert at.text_input(key="conn_token_url").value == demo_server.token_url


def test_an_analyst_downloads_under_their_name_and_may_not_send(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server)
    save_import_connection(open_store(data_dir))
    at = open_app(SECTION_GROUPS, user=signed_in(ANALYST), secrets=SECRETS)
    school = elementary_school(demo_server)
    at = choose_school(at, school, demo_server.district.reference_date)
    assert not at.exception, at.exception
    assert at.button(key="school_send").proto.disabled
    assert "Only administrators send files to CERS" in texts(at.caption)
    at.download_button(key="school_download").click().run()
    [logged] = open_store(data_dir).downloads()
    assert (logged.school, logged.who) == (school, ANALYST)
    at.switch_page(HOME).run()
    log = at.dataframe[0].value
    assert list(log["Who"]) == [ANALYST]


def test_without_sign_in_the_log_says_so(data_dir: Path, demo_server: DemoServer) -> None:
    save_connection(data_dir, demo_server)
    at = open_app(SECTION_GROUPS)
    school = elementary_school(demo_server)
    at = choose_school(at, school, demo_server.district.reference_date)
    at.download_button(key="school_download").click().run()
    [logged] = open_store(data_dir).downloads()
    assert logged.who == NO_SIGN_IN == "this computer (no sign-in)"
