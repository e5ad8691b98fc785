"""CERS import (RDW API) connections: the second kind of CERS connection, stored like the first.

They live in the ``connections`` table with ``kind = 'rdw_import'`` (no group options), so
names stay unique across both kinds, deleting and key rotation work as for OneRoster
connections, and an existing store needs no new table. Both secrets (the client secret and
the password of the password grant) are encrypted together, as one JSON object. A secret box
left blank when editing keeps the saved secret (``resolve_secret``), the password only while a
user name is given.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from cers_core.settings import (
    CersImportPublic,
    CersImportSettings,
    moved_urls,
    resolve_secret,
    secret_moved_message,
)
from cers_core.store._applications import CERS_APP_ID
from cers_core.store._connections import (
    ConnectionRow,
    ConnectionTable,
    StoredConnection,
    as_stored,
    saved_settings_values,
)
from cers_core.store._database import Database, Vault
from cers_core.store._errors import (
    ConnectionInvalid,
    ConnectionNotFound,
    SecretKeyError,
    StoreUnreadable,
    saved_settings,
    validated,
)
from cers_core.store._names import connection_name_errors

__all__ = ["IMPORT_KIND", "ImportConnections", "SavedImportConnection"]

IMPORT_KIND = "rdw_import"
_SECRET_FIELDS = ("client_secret", "password")


@dataclass(frozen=True, kw_only=True, slots=True)
class SavedImportConnection:
    """A CERS import connection as saved: its public settings, never a plain secret, and which
    secrets are saved. Get the full settings with ``Store.import_settings(saved)``."""

    id: int
    name: str
    settings: CersImportPublic
    created_at: datetime
    updated_at: datetime
    version: str
    """Changes with every save, the secret included: key what is cached for the connection by it."""
    secret_token: bytes = field(repr=False)
    has_client_secret: bool = False
    has_password: bool = False


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
        values = {**saved.settings.model_dump(), **secrets}
        return saved_settings(CersImportSettings, values, f"CERS import connection {saved.name!r}")

    def resolve(
        self,
        *,
        settings: Mapping[str, Any] | CersImportPublic,
        client_secret: str | None,
        password: str | None,
        connection_id: int | None = None,
    ) -> CersImportSettings:
        """The settings a form means, to test them before saving: its fields, and each secret typed
        or, left blank when editing, the saved one. Raises ``ConnectionInvalid`` naming the fields
        to fix, ``ConnectionNotFound`` when the connection edited is gone."""
        with self._database.connect() as db:
            resolved, errors = self._resolved(db, settings, client_secret, password, connection_id)
        if resolved is None or errors:
            raise ConnectionInvalid(errors)
        return resolved

    def check(
        self,
        *,
        name: str,
        settings: Mapping[str, Any] | CersImportPublic,
        client_secret: str | None,
        password: str | None,
        connection_id: int | None = None,
    ) -> dict[str, str]:
        """What ``save_import_connection`` would say is wrong (empty when nothing), saving nothing."""
        with self._database.connect() as db:
            return self._checked(db, name, settings, client_secret, password, connection_id)[2]

    def save(
        self,
        *,
        name: str,
        settings: Mapping[str, Any] | CersImportPublic,
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
            name, checked, errors = self._checked(db, name, settings, client_secret, password, connection_id)
            if checked is None or errors:
                raise ConnectionInvalid(errors)
            plain = {
                key: secret.get_secret_value()
                for key in _SECRET_FIELDS
                if (secret := getattr(checked, key)) is not None
            }
            row = ConnectionRow(
                app_id=CERS_APP_ID,
                name=name,
                settings_json=json.dumps(checked.public.model_dump(mode="json"), sort_keys=True),
                secret_token=self._vault.encrypt(json.dumps(plain).encode()),
                options_json="{}",  # no group options
            )
            stored = self._table.put(
                db,
                row,
                connection_id,
                gone=lambda gone_id: ConnectionNotFound(f"CERS import connection {gone_id} no longer exists."),
            )
        return self._saved(stored)

    def _checked(
        self,
        db: sqlite3.Connection,
        name: str,
        settings: Mapping[str, Any] | CersImportPublic,
        client_secret: str | None,
        password: str | None,
        connection_id: int | None,
    ) -> tuple[str, CersImportSettings | None, dict[str, str]]:
        """The cleaned name, the resolved settings (None when not usable) and every field's message."""
        name, name_errors = connection_name_errors(db, name, app_id=CERS_APP_ID, connection_id=connection_id)
        resolved, errors = self._resolved(db, settings, client_secret, password, connection_id)
        return name, resolved, {**errors, **name_errors}

    def _resolved(
        self,
        db: sqlite3.Connection,
        settings: Mapping[str, Any] | CersImportPublic,
        client_secret: str | None,
        password: str | None,
        connection_id: int | None,
    ) -> tuple[CersImportSettings | None, dict[str, str]]:
        values = settings.model_dump() if isinstance(settings, CersImportPublic) else dict(settings)
        saved: dict[str, SecretStr] = {}
        urls = _urls(values)
        saved_urls = urls
        if connection_id is not None:
            row = self._table.row_in(db, connection_id)
            if row is None:
                raise ConnectionNotFound(f"CERS import connection {connection_id} no longer exists.")
            # Saved secrets that cannot be read count as none: entering them again is the way out.
            saved = {
                key: SecretStr(value) for key, value in (_parsed(self._vault.decrypt(row.secret_token)) or {}).items()
            }
            saved_urls = _urls(saved_settings_values(row))
        # No user name any more: the password grant was dropped, and its saved password with it.
        keeps_password = bool(str(values.get("username") or "").strip())
        typed = {"client_secret": client_secret, "password": password}
        kept = {
            "client_secret": saved.get("client_secret"),
            "password": saved.get("password") if keeps_password else None,
        }
        errors: dict[str, str] = {}
        for name, label in (("client_secret", "Client Secret"), ("password", "password")):
            values[name] = resolve_secret(typed[name], kept[name], urls=urls, saved_urls=saved_urls)
            if values[name] is None and kept[name] is not None:
                errors[name] = secret_moved_message(moved_urls(urls, saved_urls), label)
        return validated(CersImportSettings, values, errors)

    def _secrets(self, token: bytes, name: str) -> dict[str, str]:
        plain = self._vault.decrypt(token)
        if plain is None:
            raise SecretKeyError(
                f"The secrets of CERS import connection {name!r} cannot be decrypted with the secret key given.",
                hint="Set the key they were saved with, or edit the connection and enter them again.",
            )
        values = _parsed(plain)
        if values is None:
            raise StoreUnreadable(f"The saved secrets of CERS import connection {name!r} cannot be read.")
        return values

    def _saved(self, row: StoredConnection) -> SavedImportConnection:
        try:
            public = json.loads(row.settings_json)
        except ValueError:
            raise StoreUnreadable(
                f"The saved settings of CERS import connection {row.name!r} cannot be read."
            ) from None
        stored = _parsed(self._vault.decrypt(row.secret_token)) or {}
        return SavedImportConnection(
            id=row.id,
            name=row.name,
            settings=as_stored(CersImportPublic, public),
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
            secret_token=row.secret_token,
            has_client_secret="client_secret" in stored,
            has_password="password" in stored,
        )


def _parsed(plain: bytes | None) -> dict[str, str] | None:
    """The secrets in a decrypted token (those given), or None when there is no JSON object to read."""
    if plain is None:
        return None
    try:
        values = json.loads(plain)
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return {key: str(values[key]) for key in _SECRET_FIELDS if values.get(key)}


def _urls(settings: Mapping[str, Any]) -> dict[str, str]:
    """The URLs saved secrets are bound to (see ``resolve_secret``), by the form's names."""
    return {"Import URL": str(settings.get("import_url") or ""), "Token URL": str(settings.get("token_url") or "")}
