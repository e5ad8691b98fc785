"""The store's CERS import connections and kept files: encrypted at rest, kept apart, gone with their connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cers_core.settings import CersImportPublic
from cers_core.store import DB_FILE_NAME, ConnectionInvalid, ConnectionNotFound, Store
from tests.support.store import save_sis_connection

SECRET, PASSWORD = "import-Secret-4c1d", "p4ssword-Import-9e2a"
PUBLIC = {
    "import_url": "https://import.cers.example.org",
    "token_url": "https://sso.cers.example.org/auth/oauth2/access_token?realm=/sbac",
    "client_id": "rdw",
}
SSID = "6237930655"
FILE = (
    "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
    f"Algebra,01612590130146,2027,All,{SSID},\r\n"
).encode()


def raw_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(DB_FILE_NAME))


def test_an_import_connection_round_trips_with_its_secrets_encrypted(store: Store, tmp_path: Path) -> None:
    saved = store.save_import_connection(
        name="CERS import", settings={**PUBLIC, "username": "admin@x.org"}, client_secret=SECRET, password=PASSWORD
    )
    settings = store.import_settings(store.import_connection(saved.id))
    assert settings.grant == "password" and settings.username == "admin@x.org"
    assert settings.client_secret.get_secret_value() == SECRET and settings.password.get_secret_value() == PASSWORD
    assert saved.has_client_secret and saved.has_password and SECRET not in repr(saved)
    raw = raw_bytes(tmp_path / "data")
    assert SECRET.encode() not in raw and PASSWORD.encode() not in raw


def test_the_two_kinds_are_listed_apart_and_share_names(store: Store) -> None:
    sis = save_sis_connection(store)
    cers = store.save_import_connection(name="CERS import", settings=PUBLIC, client_secret=SECRET, password=None)
    assert [c.id for c in store.connections()] == [sis.id]
    assert [c.id for c in store.import_connections()] == [cers.id]
    with pytest.raises(ConnectionNotFound):
        store.connection(cers.id)
    with pytest.raises(ConnectionNotFound):
        store.import_connection(sis.id)
    with pytest.raises(ConnectionInvalid) as caught:
        store.save_import_connection(name="district sis", settings=PUBLIC, client_secret=SECRET, password=None)
    assert caught.value.field_errors == {"name": "Another connection already has this name."}


def test_editing_keeps_stored_secrets_and_dropping_the_user_name_drops_the_password(store: Store) -> None:
    saved = store.save_import_connection(
        name="CERS", settings={**PUBLIC, "username": "admin@x.org"}, client_secret=SECRET, password=PASSWORD
    )
    same = store.save_import_connection(
        connection_id=saved.id, name="CERS", settings={**PUBLIC, "username": "admin@x.org"}, client_secret="",
        password="",
    )  # fmt: skip
    assert store.import_settings(same).password.get_secret_value() == PASSWORD
    switched = store.save_import_connection(
        connection_id=saved.id, name="CERS", settings=PUBLIC, client_secret=None, password=None
    )
    settings = store.import_settings(switched)
    assert settings.grant == "client_credentials" and settings.password is None
    assert settings.client_secret.get_secret_value() == SECRET


def test_a_form_is_tested_with_the_saved_secrets_the_same_way(store: Store) -> None:
    saved = store.save_import_connection(
        name="CERS", settings={**PUBLIC, "username": "admin@x.org"}, client_secret=SECRET, password=PASSWORD
    )
    assert isinstance(saved.settings, CersImportPublic) and saved.settings.grant == "password"
    kept = store.resolve_import_settings(
        settings=saved.settings, client_secret="", password=None, connection_id=saved.id
    )
    assert (kept.client_secret.get_secret_value(), kept.password.get_secret_value()) == (SECRET, PASSWORD)
    dropped = store.resolve_import_settings(settings=PUBLIC, client_secret="", password="", connection_id=saved.id)
    assert dropped.grant == "client_credentials" and dropped.password is None
    with pytest.raises(ConnectionInvalid) as caught:  # a password typed without a user name is refused
        store.resolve_import_settings(settings=PUBLIC, client_secret="", password="typed", connection_id=saved.id)
    assert set(caught.value.field_errors) == {"password"}


def test_fields_to_fix_are_named_and_nothing_is_saved(store: Store) -> None:
    errors = store.check_import_connection(
        name="", settings={**PUBLIC, "import_url": "http://cers.example.org"}, client_secret=None, password=None
    )
    assert set(errors) == {"name", "import_url", "client_secret"}
    with pytest.raises(ConnectionInvalid):
        store.save_import_connection(name="x", settings={**PUBLIC, "username": "u"}, client_secret=None, password=None)
    assert store.import_connections() == []


def test_a_kept_file_round_trips_encrypted_and_is_replaced(store: Store, tmp_path: Path) -> None:
    sis = save_sis_connection(store)
    sections = [("Algebra", 2027, "cls-1")]
    store.keep_file(
        connection_id=sis.id, school="01612590130146", how="download", csv_bytes=FILE, rows=1, sha256="ab",
        sections=sections,
    )  # fmt: skip
    kept = store.kept_file(sis.id, "01612590130146")
    assert kept is not None and kept.csv_bytes == FILE and kept.sections == sections and kept.how == "download"
    assert SSID.encode() not in raw_bytes(tmp_path / "data")
    store.keep_file(
        connection_id=sis.id, school="01612590130146", how="upload", csv_bytes=FILE.replace(b"Alg", b"Geo"), rows=1,
        sha256="cd", sections=[],
    )  # fmt: skip
    again = store.kept_file(sis.id, "01612590130146")
    assert (
        again is not None and again.how == "upload" and b"Geometry" not in again.csv_bytes and b"Geo" in again.csv_bytes
    )
    assert store.kept_file(sis.id, "19647336108641") is None


def test_kept_files_go_with_their_connection_and_survive_key_rotation(tmp_path: Path, key: str) -> None:
    store = Store.open(tmp_path / "data", keys=[key])
    sis = save_sis_connection(store)
    store.keep_file(connection_id=sis.id, school="s", how="download", csv_bytes=FILE, rows=1, sha256="x", sections=[])
    new_key = Fernet.generate_key().decode()
    rotated = Store.open(tmp_path / "data", keys=[new_key, key])
    assert rotated.rotate() == 1
    only_new = Store.open(tmp_path / "data", keys=[new_key])
    assert only_new.kept_file(sis.id, "s").csv_bytes == FILE
    only_new.delete_connection(sis.id)
    with sqlite3.connect(tmp_path / "data" / DB_FILE_NAME) as db:
        assert db.execute("SELECT count(*) FROM kept_files").fetchone()[0] == 0
    # A file for a connection that is gone is not kept.
    only_new.keep_file(connection_id=sis.id, school="s", how="upload", csv_bytes=FILE, rows=1, sha256="x", sections=[])
    assert only_new.kept_file(sis.id, "s") is None


def test_a_store_from_before_kept_files_gets_the_table(tmp_path: Path, key: str) -> None:
    store = Store.open(tmp_path / "data", keys=[key])
    sis = save_sis_connection(store)
    with sqlite3.connect(tmp_path / "data" / DB_FILE_NAME) as db:
        db.execute("DROP TABLE kept_files")
    reopened = Store.open(tmp_path / "data", keys=[key])
    reopened.keep_file(connection_id=sis.id, school="s", how="upload", csv_bytes=FILE, rows=1, sha256="x", sections=[])
    assert reopened.kept_file(sis.id, "s") is not None
