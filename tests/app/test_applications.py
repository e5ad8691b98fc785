"""The Applications page and the catalogue it browses."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from cers_core import GroupOptions
from cers_core.applications import CATALOGUE, UnknownApplication, browse, get_application
from cers_core.store import Store
from tests.support.app import open_store

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = "pages/1_Applications.py"


def test_the_catalogue_is_alphabetical_and_only_cers_is_available() -> None:
    names = [app.name for app in browse()]
    assert names == sorted(names, key=str.casefold)
    assert len(names) == len(CATALOGUE)
    assert [app.app_id for app in CATALOGUE if app.available] == ["CERS_int"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cers", ["CERS_int"]),
        ("  CERS_INT ", ["CERS_int"]),
        ("educator reporting", ["CERS_int"]),
        ("learning management", ["Canvas LMS", "Schoology"]),
        ("no such thing", []),
    ],
)
def test_browse_matches_every_word(query: str, expected: list[str]) -> None:
    assert [app.name for app in browse(query)] == expected


def test_unknown_application() -> None:
    assert get_application("CERS_int").available
    with pytest.raises(UnknownApplication):
        get_application("nope")


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    return at.switch_page(page).run() if page else at


def added(data_dir: Path) -> list[str]:
    return open_store(data_dir).applications()


def test_home_says_a_deployment_should_set_its_own_key(data_dir: Path) -> None:
    at = open_page()
    assert not at.exception
    assert any("A deployment should set its own" in w.value for w in at.warning)
    assert (data_dir / "secret.key").exists()


def test_home_is_quiet_about_keys_when_one_is_set(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CERS_SECRET_KEY", Fernet.generate_key().decode())
    at = open_page()
    assert not at.warning
    assert not (data_dir / "secret.key").exists()


def test_a_wrong_key_is_explained_not_a_crash(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_page(APPLICATIONS).button(key="add_application").click().run()
    monkeypatch.setenv("CERS_SECRET_KEY", Fernet.generate_key().decode())
    for page in (None, APPLICATIONS):
        at = open_page(page)
        assert not at.exception
        [error] = at.error
        assert "cannot be opened" in error.value
        assert "not the one" in error.value


def test_browse_and_add_cers_int(data_dir: Path) -> None:
    at = open_page(APPLICATIONS)
    assert any("No application added yet" in i.value for i in at.info)
    at.button(key="add_application").click().run()
    assert at.get_by_key("browse_panel") is not None
    at.text_input(key="app_search").input("learning management").run()
    assert {b.key for b in at.button if b.key.startswith("select_")} == {"select_canvas_lms", "select_schoology"}
    assert at.button(key="select_canvas_lms").disabled
    at.text_input(key="app_search").input("CERS").run()
    at.button(key="select_CERS_int").click().run()
    assert not at.exception
    assert added(data_dir) == ["CERS_int"]
    assert any("no connection to CERS yet" in s.value for s in at.success)
    assert at.button(key="select_CERS_int").disabled
    at.button(key="close_browse").click().run()
    with pytest.raises(KeyError):
        at.text_input(key="app_search")
    assert at.get_by_key("app_card_CERS_int") is not None


def test_remove_asks_first(data_dir: Path) -> None:
    at = open_page(APPLICATIONS)
    at.button(key="add_application").click().run()
    at.button(key="select_CERS_int").click().run()
    at.button(key="remove_CERS_int").click().run()
    assert any("Remove CERS_int?" in w.value for w in at.warning)
    at.button(key="cancel_remove_CERS_int").click().run()
    assert added(data_dir) == ["CERS_int"]
    at.button(key="remove_CERS_int").click().run()
    at.button(key="confirm_remove_CERS_int").click().run()
    assert not at.exception
    assert added(data_dir) == []


def test_the_key_can_come_from_streamlit_secrets(data_dir: Path) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.secrets["cers"] = {"secret_key": Fernet.generate_key().decode()}
    at.run()
    assert not at.exception
    assert not at.warning
    assert not (data_dir / "secret.key").exists()


def test_two_keys_rotate_the_saved_secrets_to_the_first(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store = Store.open(data_dir, keys=[old])
    store.save_connection(
        name="District SIS",
        settings={
            "base_url": "https://sis.example.org/api",
            "token_url": "https://sis.example.org/t",
            "client_id": "a",
        },
        client_secret="s3cret",
        options=GroupOptions(),
    )
    monkeypatch.setenv("CERS_SECRET_KEY", f"{new},{old}")
    assert not open_page().exception
    only_new = Store.open(data_dir, keys=[new])
    [saved] = only_new.connections()
    assert only_new.settings(saved).client_secret.get_secret_value() == "s3cret"


def test_try_the_demo_district_from_home(data_dir: Path) -> None:
    at = open_page()
    at.button(key="try_demo").click().run()
    assert not at.exception
    at.switch_page("pages/2_CERS_Connections.py").run()  # where the browser's URL now points
    assert any("Demo credentials" in i.value for i in at.info)
    assert added(data_dir) == ["CERS_int"]
