"""The store's OneRoster CSV bundle connections: where the bundle is and the group options, no secret,
beside the other kinds in one table."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cers_core.settings import GroupOptions
from cers_core.store import ConnectionInvalid, ConnectionNotFound, Store
from tests.support.store import save_sis_connection

OPTIONS = GroupOptions(split_large=True, cds_map={"sch-9": "01612590130146"})


def test_a_bundle_connection_round_trips(store: Store) -> None:
    saved = store.save_bundle_connection(name="Nightly bundle", settings={"path": " /srv/sis/or.zip "}, options=OPTIONS)
    again = store.bundle_connection(saved.id)
    assert (again.name, again.settings.path, again.options) == ("Nightly bundle", "/srv/sis/or.zip", OPTIONS)
    assert [c.id for c in store.bundle_connections()] == [saved.id]
    uploaded = store.save_bundle_connection(name="Uploaded", settings={}, options=GroupOptions())
    assert uploaded.settings.path is None
    assert [c.name for c in store.bundle_connections()] == ["Nightly bundle", "Uploaded"]


def test_it_is_a_kind_of_its_own(store: Store) -> None:
    saved = store.save_bundle_connection(name="Bundle", settings={}, options=OPTIONS)
    assert store.connections() == [] and store.import_connections() == []
    with pytest.raises(ConnectionNotFound):
        store.connection(saved.id)
    with pytest.raises(ConnectionInvalid) as caught:  # names are unique across every kind
        save_sis_connection(store, "bundle")
    assert caught.value.field_errors == {"name": "Another connection already has this name."}


def test_an_edit_changes_its_version_and_a_delete_takes_it_away(store: Store) -> None:
    saved = store.save_bundle_connection(name="Bundle", settings={"path": "/srv/a.zip"}, options=OPTIONS)
    edited = store.save_bundle_connection(
        connection_id=saved.id, name="Bundle", settings=saved.settings, options=GroupOptions()
    )
    assert edited.id == saved.id and edited.version != saved.version and edited.options == GroupOptions()
    store.delete_connection(saved.id)
    assert store.bundle_connections() == []
    with pytest.raises(ConnectionNotFound):
        store.save_bundle_connection(connection_id=saved.id, name="Bundle", settings={}, options=OPTIONS)


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "", "settings": {}}, {"name": "Enter a name for the connection."}),
        (
            {"name": "B", "settings": {"path": "exports/or.zip"}},
            {"path": "Give the full path on the server, starting with /, e.g. /srv/sis-exports/oneroster.zip."},
        ),
        ({"name": "B", "settings": {"path": "/srv/\x1b[2J"}}, {"path": "The path has control characters or is too "
                                                                      "long; paste it again."}),
        ({"name": "B", "settings": {"host": "sis"}}, {"host": "Extra inputs are not permitted"}),
    ],
)  # fmt: skip
def test_fields_that_cannot_be_used_are_named_and_nothing_is_saved(store: Store, fields, errors) -> None:
    assert store.check_bundle_connection(**fields) == errors
    with pytest.raises(ConnectionInvalid) as caught:
        store.save_bundle_connection(**fields, options=OPTIONS)
    assert caught.value.field_errors == errors
    assert store.bundle_connections() == []


def test_key_rotation_takes_bundle_connections_along(tmp_path: Path, key: str) -> None:
    folder = tmp_path / "data"
    saved = Store.open(folder, keys=[key]).save_bundle_connection(name="Bundle", settings={}, options=OPTIONS)
    new_key = Fernet.generate_key().decode()
    assert Store.open(folder, keys=[new_key, key]).rotate() == 1
    assert Store.open(folder, keys=[new_key]).bundle_connection(saved.id).options == OPTIONS
