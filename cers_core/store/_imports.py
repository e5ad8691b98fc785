"""CERS import (RDW API) connections: the second kind of CERS connection, stored like the first.

They live in the ``connections`` table with ``kind = 'rdw_import'`` (no group options), so
names stay unique across both kinds, deleting and key rotation work as for OneRoster
connections, and an existing store needs no new table. Both secrets (the client secret and
the password of the password grant) are encrypted together, as one JSON object.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from cers_core.settings import CersImportSettings
from cers_core.store._connections import ConnectionRow, put_connection
from cers_core.store._errors import (
    ConnectionInvalid,
    ConnectionNotFound,
    StoreUnreadable,
    field_messages,
    saved_settings,
)
from cers_core.store._names import connection_name_errors

if TYPE_CHECKING:
    from cers_core.store._store import Store

__all__ = ["IMPORT_KIND", "ImportConnections", "SavedImportConnection"]

IMPORT_KIND = "rdw_import"
_SECRET_FIELDS = ("client_secret", "password")


@dataclass(frozen=True, kw_only=True, slots=True)
class SavedImportConnection:
    """A CERS import connection as saved: ``public`` is ``CersImportSettings`` without its secrets."""

    id: int
    name: str
    public: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime
    secret_token: bytes = field(repr=False)
    has_client_secret: bool = False
    has_password: bool = False

    @property
    def import_url(self) -> str:
        return str(self.public["import_url"])

    @property
    def grant(self) -> str:
        return "password" if self.public.get("username") else "client_credentials"


class ImportConnections:
    """The ``Store`` methods for CERS import connections (a mixin of ``Store``)."""

    def import_connections(self: Store) -> list[SavedImportConnection]:
        """The saved CERS import connections, by name."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, name, settings_json, secret_token, created_at, updated_at FROM connections"
                " WHERE kind = ? ORDER BY name COLLATE NOCASE, id",
                (IMPORT_KIND,),
            ).fetchall()
        return [_saved(self, row) for row in rows]

    def import_connection(self: Store, connection_id: int) -> SavedImportConnection:
        with self._connect() as db:
            row = db.execute(
                "SELECT id, name, settings_json, secret_token, created_at, updated_at FROM connections"
                " WHERE id = ? AND kind = ?",
                (connection_id, IMPORT_KIND),
            ).fetchone()
        if row is None:
            raise ConnectionNotFound(
                f"CERS import connection {connection_id} no longer exists; it may have been deleted in another window.",
                hint="Reload the page.",
            )
        return _saved(self, row)

    def import_settings(self: Store, saved: SavedImportConnection) -> CersImportSettings:
        """The connection's full settings, its secrets decrypted."""
        secrets = _secrets(self, saved.secret_token, saved.name)
        return saved_settings(CersImportSettings, {**saved.public, **secrets}, f"CERS import connection {saved.name!r}")

    def check_import_connection(
        self: Store,
        *,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        password: str | None,
        connection_id: int | None = None,
    ) -> dict[str, str]:
        """What ``save_import_connection`` would say is wrong (empty when nothing), saving nothing."""
        with self._connect() as db:
            try:
                _checked(self, db, name, settings, client_secret, password, connection_id)
            except ConnectionInvalid as invalid:
                return invalid.field_errors
        return {}

    def save_import_connection(
        self: Store,
        *,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        password: str | None,
        connection_id: int | None = None,
    ) -> SavedImportConnection:
        """Add a CERS import connection (``connection_id`` None) or replace one, in one transaction.

        ``settings`` holds the ``CersImportSettings`` fields except the secrets. When editing, a
        blank ``client_secret`` or ``password`` keeps the one stored (the password only while a
        user name is given). Raises ``ConnectionInvalid`` (with ``field_errors``) and saves nothing
        when a field is not usable.
        """
        from cers_core.store._store import CERS_APP_ID, _now

        now = _now().isoformat()
        with self._write() as db:
            name, checked = _checked(self, db, name, settings, client_secret, password, connection_id)
            public_json = json.dumps(checked.model_dump(mode="json", exclude=set(_SECRET_FIELDS)), sort_keys=True)
            plain = {
                key: getattr(checked, key).get_secret_value()
                for key in _SECRET_FIELDS
                if getattr(checked, key) is not None
            }
            token = self._fernet.encrypt(json.dumps(plain).encode())
            connection_id = put_connection(
                db,
                ConnectionRow(CERS_APP_ID, IMPORT_KIND, name, public_json, token, "{}"),  # no group options
                connection_id,
                now,
                gone=lambda gone_id: ConnectionNotFound(f"CERS import connection {gone_id} no longer exists."),
            )
            row = db.execute(
                "SELECT id, name, settings_json, secret_token, created_at, updated_at FROM connections WHERE id = ?",
                (connection_id,),
            ).fetchone()
        return _saved(self, row)


def _secrets(store: Store, token: bytes, name: str) -> dict[str, str]:
    from cers_core.store._errors import SecretKeyError

    plain = store._decrypt_or_none(token)
    if plain is None:
        raise SecretKeyError(
            f"The secrets of CERS import connection {name!r} cannot be decrypted with the secret key given.",
            hint="Set the key they were saved with, or edit the connection and enter them again.",
        )
    try:
        values = json.loads(plain)
    except ValueError:
        values = None
    if not isinstance(values, dict):
        raise StoreUnreadable(f"The saved secrets of CERS import connection {name!r} cannot be read.")
    return {key: str(values[key]) for key in _SECRET_FIELDS if values.get(key)}


def _saved(store: Store, row: tuple[Any, ...]) -> SavedImportConnection:
    connection_id, name, public_json, token, created, updated = row
    try:
        public = json.loads(public_json)
    except ValueError:
        raise StoreUnreadable(f"The saved settings of CERS import connection {name!r} cannot be read.") from None
    held = store._decrypt_or_none(bytes(token))
    stored = json.loads(held) if held else {}
    return SavedImportConnection(
        id=connection_id,
        name=name,
        public=public,
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
        secret_token=bytes(token),
        has_client_secret=bool(isinstance(stored, dict) and stored.get("client_secret")),
        has_password=bool(isinstance(stored, dict) and stored.get("password")),
    )


def _checked(
    store: Store,
    db: sqlite3.Connection,
    name: str,
    settings: Mapping[str, Any],
    client_secret: str | None,
    password: str | None,
    connection_id: int | None,
) -> tuple[str, CersImportSettings]:
    """The cleaned name and validated settings (stored secrets when none are typed), or ``ConnectionInvalid``."""
    from cers_core.store._store import CERS_APP_ID

    name, errors = connection_name_errors(db, name, app_id=CERS_APP_ID, connection_id=connection_id)
    typed = {"client_secret": client_secret, "password": password}
    secrets = {key: value for key, value in typed.items() if value and value.strip()}
    public = {k: v for k, v in settings.items() if k not in _SECRET_FIELDS}
    if connection_id is not None and len(secrets) < len(_SECRET_FIELDS):
        row = db.execute(
            "SELECT secret_token FROM connections WHERE id = ? AND kind = ?", (connection_id, IMPORT_KIND)
        ).fetchone()
        if row is None:
            raise ConnectionNotFound(f"CERS import connection {connection_id} no longer exists.")
        try:
            stored = _secrets(store, bytes(row[0]), name)
        except StoreUnreadable:
            stored = {}
        for key, value in stored.items():
            if key == "password" and not str(public.get("username") or "").strip():
                continue  # no user name any more: the password grant was dropped
            secrets.setdefault(key, value)
    try:
        checked = CersImportSettings.model_validate({**public, **secrets})
    except ValidationError as error:
        errors = {**field_messages(error), **errors}
    if errors:
        raise ConnectionInvalid(errors)
    return name, checked
