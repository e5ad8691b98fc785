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
from typing import Any

from pydantic import ValidationError

from cers_core.settings import CersImportSettings
from cers_core.store._applications import CERS_APP_ID
from cers_core.store._connections import ConnectionRow, ConnectionTable, StoredConnection
from cers_core.store._database import Database, Vault
from cers_core.store._errors import (
    ConnectionInvalid,
    ConnectionNotFound,
    SecretKeyError,
    StoreUnreadable,
    field_messages,
    saved_settings,
)
from cers_core.store._names import connection_name_errors

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
    """The saved CERS import connections, their secrets encrypted by ``vault``."""

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault
        self._table = ConnectionTable(database, IMPORT_KIND)

    def all(self) -> list[SavedImportConnection]:
        """The saved CERS import connections, by name."""
        return [self._saved(row) for row in self._table.rows()]

    def get(self, connection_id: int) -> SavedImportConnection:
        """The connection of that id; ``ConnectionNotFound`` when there is none."""
        row = self._table.row(connection_id)
        if row is None:
            raise ConnectionNotFound(
                f"CERS import connection {connection_id} no longer exists; it may have been deleted in another window.",
                hint="Reload the page.",
            )
        return self._saved(row)

    def settings(self, saved: SavedImportConnection) -> CersImportSettings:
        """The connection's full settings, its secrets decrypted."""
        secrets = self._secrets(saved.secret_token, saved.name)
        return saved_settings(CersImportSettings, {**saved.public, **secrets}, f"CERS import connection {saved.name!r}")

    def check(
        self,
        *,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        password: str | None,
        connection_id: int | None = None,
    ) -> dict[str, str]:
        """What ``save_import_connection`` would say is wrong (empty when nothing), saving nothing."""
        with self._database.connect() as db:
            try:
                self._checked(db, name, settings, client_secret, password, connection_id)
            except ConnectionInvalid as invalid:
                return invalid.field_errors
        return {}

    def save(
        self,
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
        with self._database.write() as db:
            name, checked = self._checked(db, name, settings, client_secret, password, connection_id)
            public_json = json.dumps(checked.model_dump(mode="json", exclude=set(_SECRET_FIELDS)), sort_keys=True)
            plain = {
                key: getattr(checked, key).get_secret_value()
                for key in _SECRET_FIELDS
                if getattr(checked, key) is not None
            }
            token = self._vault.encrypt(json.dumps(plain).encode())
            row = ConnectionRow(CERS_APP_ID, name, public_json, token, "{}")  # no group options
            stored = self._table.put(
                db,
                row,
                connection_id,
                gone=lambda gone_id: ConnectionNotFound(f"CERS import connection {gone_id} no longer exists."),
            )
        return self._saved(stored)

    def _secrets(self, token: bytes, name: str) -> dict[str, str]:
        plain = self._vault.decrypt(token)
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

    def _saved(self, row: StoredConnection) -> SavedImportConnection:
        try:
            public = json.loads(row.settings_json)
        except ValueError:
            raise StoreUnreadable(
                f"The saved settings of CERS import connection {row.name!r} cannot be read."
            ) from None
        held = self._vault.decrypt(row.secret_token)
        stored = json.loads(held) if held else {}
        return SavedImportConnection(
            id=row.id,
            name=row.name,
            public=public,
            created_at=row.created_at,
            updated_at=row.updated_at,
            secret_token=row.secret_token,
            has_client_secret=bool(isinstance(stored, dict) and stored.get("client_secret")),
            has_password=bool(isinstance(stored, dict) and stored.get("password")),
        )

    def _checked(
        self,
        db: sqlite3.Connection,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        password: str | None,
        connection_id: int | None,
    ) -> tuple[str, CersImportSettings]:
        """The cleaned name and validated settings (stored secrets when none are typed), or ``ConnectionInvalid``."""
        name, errors = connection_name_errors(db, name, app_id=CERS_APP_ID, connection_id=connection_id)
        typed = {"client_secret": client_secret, "password": password}
        secrets = {key: value for key, value in typed.items() if value and value.strip()}
        public = {k: v for k, v in settings.items() if k not in _SECRET_FIELDS}
        if connection_id is not None and len(secrets) < len(_SECRET_FIELDS):
            token = self._table.secret_token(db, connection_id)
            if token is None:
                raise ConnectionNotFound(f"CERS import connection {connection_id} no longer exists.")
            try:
                stored = self._secrets(token, name)
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
