"""The store keeps connections safe at rest and loses nothing when sessions save at once."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from cers_core.settings import GroupNameField, GroupOptions, OneRosterPublic, resolve_secret
from cers_core.store import (
    DB_FILE_NAME,
    KEY_FILE_NAME,
    ConnectionInvalid,
    ConnectionNotFound,
    KeySource,
    SecretKeyError,
    Store,
    StoreUnreadable,
    resolve_secret_keys,
)

SECRET = "s3cret-Client-Secret-7f2b"
PUBLIC = {
    "base_url": "https://sis.example.org/ims/oneroster/rostering/v1p2",
    "token_url": "https://sis.example.org/oauth2/token?appName=district",
    "client_id": "district-client",
}


def save(store: Store, name: str = "District SIS", secret: str | None = SECRET, **changes: object):
    return store.save_connection(
        name=name, settings={**PUBLIC, **changes}, client_secret=secret, options=GroupOptions()
    )


def raw_bytes(folder: Path) -> bytes:
    """Every byte SQLite wrote: the database and its write-ahead log."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(DB_FILE_NAME))


def test_round_trip_keeps_settings_and_options(store: Store) -> None:
    options = GroupOptions(fields=[GroupNameField.period, GroupNameField.course_title], separator=" | ")
    saved = store.save_connection(
        name="District SIS", settings={**PUBLIC, "page_size": 250}, client_secret=SECRET, options=options
    )
    again = store.connection(saved.id)
    settings = store.settings(again)
    assert settings.client_secret.get_secret_value() == SECRET
    assert settings.page_size == 250
    assert again.options == options
    assert store.applications() == ["CERS_int"]
    assert [c.name for c in store.connections()] == ["District SIS"]


def test_the_file_on_disk_holds_no_secret(store: Store, tmp_path: Path) -> None:
    saved = save(store)
    save(store, "Second", secret=SECRET + "-2")
    store.log_download(connection=saved, school="Lincoln High", rows=12, sha256="0" * 64, who="it@district.org")
    data = raw_bytes(tmp_path / "data")
    assert SECRET.encode() not in data
    assert PUBLIC["client_id"].encode() in data  # sanity: we did read the data


def test_secrets_stay_out_of_repr_and_errors(store: Store) -> None:
    saved = save(store)
    assert SECRET not in repr(saved)
    assert SECRET not in repr(store.settings(saved))
    assert SECRET not in repr(store)
    with pytest.raises(ConnectionInvalid) as caught:
        save(store, "Bad", secret=SECRET + "\x07", base_url="not a url")
    assert SECRET not in str(caught.value)
    assert set(caught.value.field_errors) == {"base_url", "client_secret"}


def test_folder_and_files_are_private(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    keys = resolve_secret_keys(folder, environment=None, secrets=None)
    save(Store.open(folder, keys=keys.keys))
    assert keys.source is KeySource.generated
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    written = sorted(p.name for p in folder.iterdir())
    assert DB_FILE_NAME in written
    assert KEY_FILE_NAME in written
    for name in written:  # the database, its write-ahead log and the key file
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize(
    ("environment", "secrets", "source", "count"),
    [
        ("k1", "k2", KeySource.environment, 1),
        (" k1 , k0 ", None, KeySource.environment, 2),
        ("", "k2", KeySource.secrets, 1),
        (None, None, KeySource.generated, 1),
    ],
)
def test_key_sources_in_order(tmp_path: Path, environment, secrets, source, count) -> None:
    keys = resolve_secret_keys(tmp_path, environment=environment, secrets=secrets)
    assert keys.source is source
    assert len(keys.keys) == count
    assert "k1" not in repr(keys)


def test_a_generated_key_is_reused(tmp_path: Path) -> None:
    first = resolve_secret_keys(tmp_path, environment=None, secrets=None)
    second = resolve_secret_keys(tmp_path, environment=None, secrets=None)
    assert first.keys == second.keys


def test_rotation_re_encrypts_with_the_first_key(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    saved = save(Store.open(folder, keys=[key]))
    new_key = Fernet.generate_key().decode()
    both = Store.open(folder, keys=[new_key, key])
    assert both.rotate() == 1
    only_new = Store.open(folder, keys=[new_key])
    assert only_new.settings(only_new.connection(saved.id)).client_secret.get_secret_value() == SECRET
    with pytest.raises(SecretKeyError):
        Store.open(folder, keys=[key])


def test_a_new_key_after_a_generated_one_says_where_the_old_one_is(tmp_path: Path) -> None:
    generated = resolve_secret_keys(tmp_path, environment=None, secrets=None)
    save(Store.open(tmp_path, keys=generated.keys))
    with pytest.raises(SecretKeyError, match=KEY_FILE_NAME) as caught:
        Store.open(tmp_path, keys=[Fernet.generate_key().decode()])
    assert generated.keys[0] not in str(caught.value)


def test_wrong_key_is_a_clear_error_and_keeps_the_data(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    save(Store.open(folder, keys=[key]))
    wrong = Fernet.generate_key().decode()
    with pytest.raises(SecretKeyError, match="not the one") as caught:
        Store.open(folder, keys=[wrong])
    assert wrong not in str(caught.value)
    assert [c.name for c in Store.open(folder, keys=[key]).connections()] == ["District SIS"]


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"], [""]])
def test_missing_or_malformed_key(tmp_path: Path, keys: list[str]) -> None:
    with pytest.raises(SecretKeyError) as caught:
        Store.open(tmp_path, keys=keys)
    assert "not-a-fernet-key" not in str(caught.value)


def test_a_secret_saved_under_another_key_is_named(store: Store, tmp_path: Path, key: str) -> None:
    saved = save(store)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE connections SET secret_token = ?", (Fernet(Fernet.generate_key()).encrypt(b"x"),))
    with pytest.raises(SecretKeyError, match="District SIS"):
        store.settings(store.connection(saved.id))
    with pytest.raises(SecretKeyError, match="District SIS"):
        store.rotate()


@pytest.mark.parametrize(
    "content",
    [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["garbage", "damaged-header"],
)
def test_corrupt_file_is_reported(tmp_path: Path, key: str, content: bytes) -> None:
    (tmp_path / DB_FILE_NAME).write_bytes(content)
    with pytest.raises(StoreUnreadable, match="cannot be read"):
        Store.open(tmp_path, keys=[key])
    assert (tmp_path / DB_FILE_NAME).read_bytes() == content


def test_foreign_database_is_refused_untouched(tmp_path: Path, key: str) -> None:
    with sqlite3.connect(tmp_path / DB_FILE_NAME) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    before = (tmp_path / DB_FILE_NAME).read_bytes()
    with pytest.raises(StoreUnreadable, match="not this app's"):
        Store.open(tmp_path, keys=[key])
    assert (tmp_path / DB_FILE_NAME).read_bytes() == before


def test_edit_with_blank_secret_keeps_the_stored_one(store: Store) -> None:
    saved = save(store)
    edited = store.save_connection(
        connection_id=saved.id,
        name="Renamed",
        settings={**PUBLIC, "client_id": "new-id"},
        client_secret="   ",
        options=GroupOptions(separator=" / "),
    )
    settings = store.settings(edited)
    assert (edited.name, settings.client_id, edited.options.separator) == ("Renamed", "new-id", " / ")
    assert settings.client_secret.get_secret_value() == SECRET
    store.save_connection(
        connection_id=saved.id, name="Renamed", settings=PUBLIC, client_secret="new", options=GroupOptions()
    )
    assert store.settings(store.connection(saved.id)).client_secret.get_secret_value() == "new"


def test_a_new_connection_needs_a_secret_and_a_name(store: Store) -> None:
    with pytest.raises(ConnectionInvalid) as caught:
        save(store, name=" ", secret="")
    assert set(caught.value.field_errors) == {"name", "client_secret"}
    assert store.connections() == []


def test_check_connection_reports_without_saving(store: Store) -> None:
    assert store.check_connection(name="District SIS", settings=PUBLIC, client_secret=SECRET) == {}
    errors = store.check_connection(name="", settings={**PUBLIC, "token_url": "ftp://x"}, client_secret=SECRET)
    assert set(errors) == {"name", "token_url"}
    assert store.connections() == []


def test_names_are_unique(store: Store) -> None:
    save(store)
    with pytest.raises(ConnectionInvalid) as caught:
        save(store, name="district sis")
    assert caught.value.field_errors == {"name": "Another connection already has this name."}


def test_delete_and_missing_connections(store: Store) -> None:
    saved = save(store)
    store.delete_connection(saved.id)
    assert store.connections() == []
    with pytest.raises(ConnectionNotFound):
        store.connection(saved.id)
    with pytest.raises(ConnectionNotFound):
        store.delete_connection(saved.id)
    for secret in (None, "a new secret"):
        with pytest.raises(ConnectionNotFound):
            store.save_connection(
                connection_id=saved.id, name="X", settings=PUBLIC, client_secret=secret, options=GroupOptions()
            )


def test_removing_the_application_removes_its_connections_not_the_log(store: Store) -> None:
    saved = save(store)
    store.log_download(connection=saved, school="Lincoln High", rows=3, sha256="a" * 64, who="analyst@district.org")
    store.remove_application("CERS_int")
    assert store.applications() == []
    assert store.connections() == []
    [record] = store.downloads()
    assert (record.connection_name, record.school, record.rows, record.who) == (
        "District SIS",
        "Lincoln High",
        3,
        "analyst@district.org",
    )


def test_a_store_made_before_the_log_named_who_gains_the_column_and_keeps_its_lines(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    saved = save(Store.open(folder, keys=[key]))
    # The store as the version before sign-in made it: no "who" in the download log, one line in it.
    with sqlite3.connect(folder / DB_FILE_NAME) as db:
        db.execute("ALTER TABLE downloads DROP COLUMN who")
        db.execute(
            "INSERT INTO downloads (at, connection_id, connection_name, school, rows, sha256)"
            " VALUES ('2026-05-01T10:00:00+00:00', ?, 'District SIS', 'Lincoln High', 3, ?)",
            (saved.id, "b" * 64),
        )
    store = Store.open(folder, keys=[key])
    store.log_download(connection=saved, school="Roosevelt", rows=5, sha256="c" * 64, who="it@district.org")
    assert [(r.school, r.who) for r in store.downloads()] == [("Roosevelt", "it@district.org"), ("Lincoln High", None)]
    assert [(r.school, r.who) for r in Store.open(folder, keys=[key]).downloads()][-1] == ("Lincoln High", None)


def test_adding_an_application_twice_is_harmless(store: Store) -> None:
    store.add_application("CERS_int")
    store.add_application("CERS_int")
    assert store.applications() == ["CERS_int"]


def test_two_sessions_saving_at_once_lose_nothing(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    Store.open(folder, keys=[key])
    per_thread = 25
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def session(label: str) -> None:
        # Each browser session opens the store itself, as the app does.
        own = Store.open(folder, keys=[key])
        start.wait()
        try:
            for number in range(per_thread):
                saved = save(own, f"{label} {number}", secret=f"{label}-secret-{number}")
                own.log_download(connection=saved, school=label, rows=number, sha256="f" * 64, who=label)
        except BaseException as error:  # reported below, with the thread's label
            failures.append(error)

    threads = [threading.Thread(target=session, args=(label,)) for label in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    final = Store.open(folder, keys=[key])
    saved = final.connections()
    assert len(saved) == 2 * per_thread
    assert {final.settings(c).client_secret.get_secret_value() for c in saved} == {
        f"{label}-secret-{n}" for label in ("A", "B") for n in range(per_thread)
    }
    assert len(final.downloads(limit=1000)) == 2 * per_thread


def test_a_saved_connection_carries_its_public_settings_typed_and_no_secret(store: Store) -> None:
    saved = save(store, page_size=250)
    assert type(saved.settings) is OneRosterPublic
    assert (saved.settings.base_url, saved.settings.page_size) == (PUBLIC["base_url"], 250)
    assert "client_secret" not in saved.settings.model_dump()
    assert store.connection(saved.id).settings == saved.settings


@pytest.mark.parametrize(
    ("typed", "saved", "means"),
    [("new", "kept", "new"), ("", "kept", "kept"), ("   ", "kept", "kept"), (None, "kept", "kept"), ("", None, None)],
)
def test_a_blank_secret_box_means_the_saved_secret(typed, saved, means) -> None:
    resolved = resolve_secret(typed, None if saved is None else SecretStr(saved))
    assert (None if resolved is None else resolved.get_secret_value()) == means


def test_a_form_is_tested_with_the_saved_secret_when_its_box_is_blank(store: Store) -> None:
    saved = save(store)
    edited = {**PUBLIC, "client_id": "other-client"}
    settings = store.resolve_settings(settings=edited, client_secret="", connection_id=saved.id)
    assert (settings.client_id, settings.client_secret.get_secret_value()) == ("other-client", SECRET)
    typed = store.resolve_settings(settings=saved.settings, client_secret="typed", connection_id=saved.id)
    assert typed.client_secret.get_secret_value() == "typed"
    with pytest.raises(ConnectionInvalid) as caught:
        store.resolve_settings(settings=PUBLIC, client_secret=" ", connection_id=None)
    assert set(caught.value.field_errors) == {"client_secret"}
    assert store.settings(store.connection(saved.id)).client_id == PUBLIC["client_id"]  # nothing was saved


def test_settings_a_later_rule_refuses_are_listed_and_say_what_to_fix(store: Store) -> None:
    saved = save(store)
    with sqlite3.connect(store.path) as db:  # as if saved before plain http was refused
        db.execute("UPDATE connections SET settings_json = replace(settings_json, 'https://sis', 'http://sis')")
    [listed] = store.connections()
    assert listed.settings.base_url.startswith("http://sis")
    with pytest.raises(StoreUnreadable, match="no longer valid") as caught:
        store.settings(listed)
    assert "Base URL" in str(caught.value) and saved.id == listed.id


def test_the_version_changes_with_every_save_the_secret_included(store: Store) -> None:
    saved = save(store)
    assert store.connection(saved.id).version == saved.version == store.connections()[0].version
    same_secret = store.save_connection(
        connection_id=saved.id, name=saved.name, settings=saved.settings, client_secret=None, options=saved.options
    )
    new_secret = store.save_connection(
        connection_id=saved.id, name=saved.name, settings=saved.settings, client_secret="new", options=saved.options
    )
    versions = {saved.version, same_secret.version, new_secret.version}
    assert len(versions) == 3 and same_secret.settings == new_secret.settings == saved.settings
    assert not any(SECRET in version or "new" in version for version in versions)


def test_a_store_file_cut_to_nothing_is_refused_and_never_made_again(tmp_path: Path, key: str) -> None:
    """Issue 11: an empty file was taken for a new store, and the district's connections were gone."""
    save(Store.open(tmp_path, keys=[key]))
    (tmp_path / DB_FILE_NAME).write_bytes(b"")
    with pytest.raises(StoreUnreadable) as caught:
        Store.open(tmp_path, keys=[key])
    assert str(caught.value) == (
        f"The app's data file {tmp_path / DB_FILE_NAME} is empty: it was cut short or damaged, and the saved "
        "connections are not in it. Restore it from a backup (nothing was changed), or move it away to start "
        "again (you will need to add your connections again)."
    )
    assert (tmp_path / DB_FILE_NAME).stat().st_size == 0


def test_a_missing_key_file_beside_a_store_is_refused_and_never_made_again(tmp_path: Path) -> None:
    """Issue 11: a new key was made, and the message then called it the key "generated earlier"."""
    keys = resolve_secret_keys(tmp_path, environment=None, secrets=None)
    save(Store.open(tmp_path, keys=keys.keys))
    (tmp_path / KEY_FILE_NAME).unlink()
    with pytest.raises(SecretKeyError, match=r"the key file .* is missing, but the app.s data file") as caught:
        resolve_secret_keys(tmp_path, environment=None, secrets=None)
    assert "Restore secret.key from a backup" in str(caught.value) and "generated earlier" not in str(caught.value)
    assert not (tmp_path / KEY_FILE_NAME).exists()
    again = Store.open(tmp_path, keys=resolve_secret_keys(tmp_path, environment=keys.keys[0], secrets=None).keys)
    assert [c.name for c in again.connections()] == ["District SIS"]  # the key set by hand still opens it


def test_a_key_file_that_no_longer_fits_is_not_called_the_one_generated_earlier(tmp_path: Path) -> None:
    save(Store.open(tmp_path, keys=resolve_secret_keys(tmp_path, environment=None, secrets=None).keys))
    (tmp_path / KEY_FILE_NAME).write_text(Fernet.generate_key().decode())  # replaced by hand
    with pytest.raises(SecretKeyError) as caught:
        Store.open(tmp_path, keys=resolve_secret_keys(tmp_path, environment=None, secrets=None).keys)
    assert f"The key in {tmp_path / KEY_FILE_NAME} does not fit either" in str(caught.value)
    assert "generated earlier" not in str(caught.value)


def test_sessions_opening_a_new_store_at_once_all_open_the_same_one(tmp_path: Path, key: str) -> None:
    """A new store is made whole and then put in place, so no session ever finds it empty."""
    opened: list[Store | Exception] = []

    def open_store() -> None:
        try:
            opened.append(Store.open(tmp_path, keys=[key]))
        except Exception as error:  # recorded, asserted below
            opened.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(isinstance(store, Store) for store in opened), opened
    save(opened[0])
    assert [c.name for c in Store.open(tmp_path, keys=[key]).connections()] == ["District SIS"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(DB_FILE_NAME)) == []


@pytest.mark.parametrize(
    ("content", "said"), [(b"", "is empty"), (b"not a database" * 200, "cannot be read")], ids=["empty", "garbage"]
)
def test_a_store_file_that_is_no_store_is_explained_and_gets_no_key_file(tmp_path: Path, content, said) -> None:
    (tmp_path / DB_FILE_NAME).write_bytes(content)
    keys = resolve_secret_keys(tmp_path, environment=None, secrets=None)
    with pytest.raises(StoreUnreadable, match=said):
        Store.open(tmp_path, keys=keys.keys)
    assert not (tmp_path / KEY_FILE_NAME).exists()
    assert (tmp_path / DB_FILE_NAME).read_bytes() == content
