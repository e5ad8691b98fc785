"""A saved secret stays with its origin: a blank secret box keeps the saved secret only while the
connection's URLs point to the same scheme, host and port as when it was saved. Otherwise the
secret must be typed again, for a test and for a save alike; the message says why."""

from __future__ import annotations

import pytest

from cers_core.settings import GroupOptions
from cers_core.store import ConnectionInvalid, Store

SIS = {"base_url": "https://sis.example.org/ims/v1p2", "token_url": "https://sis.example.org/oauth/token",
       "client_id": "c"}  # fmt: skip
IMPORT = {"import_url": "https://import.cers.example.org", "token_url": "https://sso.cers.example.org/token",
          "client_id": "rdw", "username": "admin@district.example.org"}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "url", "moved"),
    [
        ("token_url", "https://evil.example/oauth/token", "Token URL"),
        ("token_url", "https://sis.example.org:8443/oauth/token", "Token URL"),
        ("base_url", "http://sis.example.org/ims/v1p2", None),  # refused anyway: http is not for another host
        ("base_url", "https://other.example.org/ims/v1p2", "Base URL"),
    ],
)
def test_a_blank_secret_is_not_sent_to_another_server(store: Store, field: str, url: str, moved: str | None) -> None:
    saved = store.save_connection(name="SIS", settings=SIS, client_secret="s3cret", options=GroupOptions())
    with pytest.raises(ConnectionInvalid) as caught:
        store.resolve_settings(settings={**SIS, field: url}, client_secret="", connection_id=saved.id)
    if moved is not None:
        assert caught.value.field_errors["client_secret"] == (
            f"The {moved} points to another server than when the Client Secret was saved: type the Client Secret "
            "again (a saved secret is sent only where it was saved for)."
        )
    with pytest.raises(ConnectionInvalid):
        store.save_connection(
            name="SIS", settings={**SIS, field: url}, client_secret=" ", options=GroupOptions(), connection_id=saved.id
        )
    assert store.settings(store.connection(saved.id)).token_url == SIS["token_url"]  # nothing was saved


def test_both_urls_moved_are_named(store: Store) -> None:
    saved = store.save_connection(name="SIS", settings=SIS, client_secret="s3cret", options=GroupOptions())
    moved = {**SIS, "base_url": "https://new.example.org/v1p2", "token_url": "https://new.example.org/token"}
    with pytest.raises(ConnectionInvalid) as caught:
        store.resolve_settings(settings=moved, client_secret=None, connection_id=saved.id)
    assert caught.value.field_errors["client_secret"].startswith("The Base URL and the Token URL point to another")


def test_the_same_origin_keeps_the_saved_secret_and_a_typed_one_always_works(store: Store) -> None:
    saved = store.save_connection(name="SIS", settings=SIS, client_secret="s3cret", options=GroupOptions())
    same_origin = {
        **SIS,
        "token_url": "HTTPS://SIS.example.org:443/oauth2/token?appName=x",
        "base_url": SIS["base_url"] + "/",
    }
    kept = store.resolve_settings(settings=same_origin, client_secret="", connection_id=saved.id)
    assert kept.client_secret.get_secret_value() == "s3cret"
    moved = {**SIS, "token_url": "https://evil.example/oauth/token"}
    typed = store.resolve_settings(settings=moved, client_secret="typed-again", connection_id=saved.id)
    assert typed.client_secret.get_secret_value() == "typed-again"


def test_an_import_connection_drops_both_its_secrets(store: Store) -> None:
    saved = store.save_import_connection(name="CERS", settings=IMPORT, client_secret="cs", password="pw")
    moved = {**IMPORT, "import_url": "https://import.evil.example"}
    with pytest.raises(ConnectionInvalid) as caught:
        store.resolve_import_settings(settings=moved, client_secret="", password="", connection_id=saved.id)
    errors = caught.value.field_errors
    assert errors["client_secret"].startswith("The Import URL points to another server than when the Client Secret")
    assert errors["password"].startswith("The Import URL points to another server than when the password was saved")
    kept = store.resolve_import_settings(
        settings={**IMPORT, "import_url": "https://import.cers.example.org/v2"},
        client_secret="",
        password="",
        connection_id=saved.id,
    )
    assert (kept.client_secret.get_secret_value(), kept.password.get_secret_value()) == ("cs", "pw")
    typed = store.resolve_import_settings(settings=moved, client_secret="cs2", password="pw2", connection_id=saved.id)
    assert typed.password.get_secret_value() == "pw2"
