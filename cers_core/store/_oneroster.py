"""OneRoster connections: how to reach a district's provider, and how its sections become groups.

A row holds the public settings (``OneRosterPublic``) and the group options as JSON, and the
Client Secret encrypted by the vault. A secret box left blank when editing keeps the saved
secret (``resolve_secret``), for a save and for a form's "Test connection" alike.
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
    GroupOptions,
    OneRosterPublic,
    OneRosterSettings,
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
    delete_connection,
    options_and_settings,
    saved_settings_values,
)
from cers_core.store._database import Database, Vault
from cers_core.store._errors import (
    ConnectionInvalid,
    SecretKeyError,
    connection_gone,
    saved_settings,
    validated,
)
from cers_core.store._names import connection_name_errors

__all__ = ["ONEROSTER_KIND", "OneRosterConnections", "SavedConnection"]

ONEROSTER_KIND = "oneroster_1_2"


@dataclass(frozen=True, kw_only=True, slots=True)
class SavedConnection:
    """A CERS connection as saved: its public settings and group options, never the plain secret.

    Get the full settings, the secret decrypted, with ``Store.settings(saved)``.
    """

    id: int
    name: str
    settings: OneRosterPublic
    options: GroupOptions
    created_at: datetime
    updated_at: datetime
    version: str
    """Changes with every save, the secret included: key what is cached for the connection by it."""
    secret_token: bytes = field(repr=False)


class OneRosterConnections:
    """The saved OneRoster connections, their Client Secrets encrypted by ``vault``."""

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault
        self._table = ConnectionTable(database, ONEROSTER_KIND)

    def all(self, app_id: str = CERS_APP_ID) -> list[SavedConnection]:
        """The saved connections of an application, by name."""
        return [_saved(row) for row in self._table.rows(app_id)]

    def get(self, connection_id: int) -> SavedConnection:
        """The connection of that id; ``ConnectionNotFound`` when there is none."""
        row = self._table.row(connection_id)
        if row is None:
            raise connection_gone(connection_id)
        return _saved(row)

    def settings(self, saved: SavedConnection) -> OneRosterSettings:
        """The connection's full settings, its Client Secret decrypted."""
        plain = self._vault.decrypt(saved.secret_token)
        if plain is None:
            raise SecretKeyError(
                f"The Client Secret of connection {saved.name!r} cannot be decrypted with the secret key given.",
                hint="Set the key it was saved with, or edit the connection and enter the Client Secret again.",
            )
        values = {**saved.settings.model_dump(), "client_secret": plain.decode()}
        return saved_settings(OneRosterSettings, values, f"connection {saved.name!r}")

    def resolve(
        self,
        *,
        settings: Mapping[str, Any] | OneRosterPublic,
        client_secret: str | None,
        connection_id: int | None = None,
    ) -> OneRosterSettings:
        """The settings a form means, to test them before saving: its fields, and the Client Secret
        typed or, left blank when editing, the saved one. Raises ``ConnectionInvalid`` naming the
        fields to fix, ``ConnectionNotFound`` when the connection edited is gone."""
        with self._database.connect() as db:
            resolved, errors = self._resolved(db, settings, client_secret, connection_id)
        if resolved is None or errors:
            raise ConnectionInvalid(errors)
        return resolved

    def check(
        self,
        *,
        name: str,
        settings: Mapping[str, Any] | OneRosterPublic,
        client_secret: str | None,
        connection_id: int | None = None,
        app_id: str = CERS_APP_ID,
    ) -> dict[str, str]:
        """What ``save_connection`` would say is wrong with these fields (empty when nothing), saving nothing.

        For a form that found problems of its own and wants every message at once.
        """
        with self._database.connect() as db:
            return self._checked(db, name, settings, client_secret, connection_id, app_id)[2]

    def save(
        self,
        *,
        name: str,
        settings: Mapping[str, Any] | OneRosterPublic,
        client_secret: str | None,
        options: GroupOptions,
        connection_id: int | None = None,
        app_id: str = CERS_APP_ID,
    ) -> SavedConnection:
        """Add a connection (``connection_id`` None) or replace one, in a single transaction.

        ``settings`` holds the ``OneRosterSettings`` fields except ``client_secret``. A blank
        ``client_secret`` when editing keeps the one stored; a new connection needs one.
        Raises ``ConnectionInvalid`` (with ``field_errors``) and saves nothing when a field is
        not usable, and ``ConnectionNotFound`` when the connection to edit is gone.
        """
        with self._database.write() as db:
            name, checked, errors = self._checked(db, name, settings, client_secret, connection_id, app_id)
            if checked is None or errors:
                raise ConnectionInvalid(errors)
            row = ConnectionRow(
                app_id=app_id,
                name=name,
                settings_json=json.dumps(checked.public.model_dump(mode="json"), sort_keys=True),
                secret_token=self._vault.encrypt(checked.client_secret.get_secret_value().encode()),
                options_json=json.dumps(options.model_dump(mode="json"), sort_keys=True),
            )
            return _saved(self._table.put(db, row, connection_id, gone=connection_gone))

    def delete(self, connection_id: int) -> None:
        """Delete a connection of either kind (ids are unique across both), with its kept files;
        the download log stays. ``ConnectionNotFound`` when there is none."""
        if not delete_connection(self._database, connection_id):
            raise connection_gone(connection_id)

    def _checked(
        self,
        db: sqlite3.Connection,
        name: str,
        settings: Mapping[str, Any] | OneRosterPublic,
        client_secret: str | None,
        connection_id: int | None,
        app_id: str,
    ) -> tuple[str, OneRosterSettings | None, dict[str, str]]:
        """The cleaned name, the resolved settings (None when not usable) and every field's message."""
        name, name_errors = connection_name_errors(db, name, app_id=app_id, connection_id=connection_id)
        resolved, errors = self._resolved(db, settings, client_secret, connection_id)
        return name, resolved, {**errors, **name_errors}

    def _resolved(
        self,
        db: sqlite3.Connection,
        settings: Mapping[str, Any] | OneRosterPublic,
        client_secret: str | None,
        connection_id: int | None,
    ) -> tuple[OneRosterSettings | None, dict[str, str]]:
        errors: dict[str, str] = {}
        saved: SecretStr | None = None
        values = settings.model_dump() if isinstance(settings, OneRosterPublic) else dict(settings)
        urls = _urls(values)
        saved_urls = urls
        if connection_id is not None:
            row = self._table.row_in(db, connection_id)
            if row is None:
                raise connection_gone(connection_id)
            plain = self._vault.decrypt(row.secret_token)
            saved = None if plain is None else SecretStr(plain.decode())
            saved_urls = _urls(saved_settings_values(row))
        secret = resolve_secret(client_secret, saved, urls=urls, saved_urls=saved_urls)
        if secret is None and saved is not None:
            errors["client_secret"] = secret_moved_message(moved_urls(urls, saved_urls), "Client Secret")
        elif secret is None and connection_id is not None:
            errors["client_secret"] = "The stored Client Secret cannot be decrypted; enter it again."
        values["client_secret"] = secret if secret is not None else ""
        return validated(OneRosterSettings, values, errors)


def _urls(settings: Mapping[str, Any]) -> dict[str, str]:
    """The URLs a saved Client Secret is bound to (see ``resolve_secret``), by the form's names."""
    return {"Base URL": str(settings.get("base_url") or ""), "Token URL": str(settings.get("token_url") or "")}


def _saved(row: StoredConnection) -> SavedConnection:
    options, public = options_and_settings(row)
    return SavedConnection(
        id=row.id,
        name=row.name,
        settings=as_stored(OneRosterPublic, public),
        options=options,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        secret_token=row.secret_token,
    )
