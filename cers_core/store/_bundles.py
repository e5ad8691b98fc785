"""OneRoster CSV bundle connections: rosters from the zip (or folder) a SIS exports, instead of its API.

The third kind of connection, stored like the others in the ``connections`` table (``kind =
'oneroster_csv'``), so names stay unique across kinds and deleting and key rotation need nothing
new. A row holds where the bundle is (``BundleSettings``: a path on the server, or none when a
person uploads the zip each time) and the group options, as for a OneRoster connection. It has no
secret: its secret token holds an encrypted empty value, so that key rotation treats every row alike.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cers_core.settings import BundleSettings, GroupOptions
from cers_core.store._applications import CERS_APP_ID
from cers_core.store._connections import (
    ConnectionRow,
    ConnectionTable,
    StoredConnection,
    as_stored,
    options_and_settings,
)
from cers_core.store._database import Database, Vault
from cers_core.store._errors import ConnectionInvalid, connection_gone, validated
from cers_core.store._names import connection_name_errors
from cers_core.store._oneroster import ONEROSTER_KIND

__all__ = ["BUNDLE_KIND", "ROSTER_KINDS", "BundleConnections", "SavedBundleConnection"]

BUNDLE_KIND = "oneroster_csv"
ROSTER_KINDS = (ONEROSTER_KIND, BUNDLE_KIND)
"""The kinds of connection rosters are read from, which may have group sets and a sync target."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SavedBundleConnection:
    """A OneRoster CSV bundle connection as saved: where its bundle is, and its group options."""

    id: int
    name: str
    settings: BundleSettings
    options: GroupOptions
    created_at: datetime
    updated_at: datetime
    version: str
    """Changes with every save: key what is cached for the connection by it."""


class BundleConnections:
    """The saved OneRoster CSV bundle connections."""

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault
        self._table = ConnectionTable(database, BUNDLE_KIND)

    def all(self, app_id: str = CERS_APP_ID) -> list[SavedBundleConnection]:
        """The saved CSV bundle connections of an application, by name."""
        return [_saved(row) for row in self._table.rows(app_id)]

    def get(self, connection_id: int) -> SavedBundleConnection:
        """The connection of that id; ``ConnectionNotFound`` when there is none."""
        row = self._table.row(connection_id)
        if row is None:
            raise connection_gone(connection_id)
        return _saved(row)

    def check(
        self,
        *,
        name: str,
        settings: Mapping[str, Any] | BundleSettings,
        connection_id: int | None = None,
        app_id: str = CERS_APP_ID,
    ) -> dict[str, str]:
        """What ``save_bundle_connection`` would say is wrong with these fields (empty when nothing), saving nothing."""
        with self._database.connect() as db:
            return self._checked(db, name, settings, connection_id, app_id)[2]

    def save(
        self,
        *,
        name: str,
        settings: Mapping[str, Any] | BundleSettings,
        options: GroupOptions,
        connection_id: int | None = None,
        app_id: str = CERS_APP_ID,
    ) -> SavedBundleConnection:
        """Add a connection (``connection_id`` None) or replace one, in a single transaction.

        Raises ``ConnectionInvalid`` (with ``field_errors``) and saves nothing when a field is not
        usable, ``ConnectionNotFound`` when the connection to edit is gone. Whether the app may read
        the path is the caller's to ask first (``server_bundle_path``): it depends on the deployment.
        """
        with self._database.write() as db:
            name, checked, errors = self._checked(db, name, settings, connection_id, app_id)
            if checked is None or errors:
                raise ConnectionInvalid(errors)
            row = ConnectionRow(
                app_id=app_id,
                name=name,
                settings_json=json.dumps(checked.model_dump(mode="json"), sort_keys=True),
                secret_token=self._vault.encrypt(b""),
                options_json=json.dumps(options.model_dump(mode="json"), sort_keys=True),
            )
            return _saved(self._table.put(db, row, connection_id, gone=connection_gone))

    def _checked(
        self,
        db: sqlite3.Connection,
        name: str,
        settings: Mapping[str, Any] | BundleSettings,
        connection_id: int | None,
        app_id: str,
    ) -> tuple[str, BundleSettings | None, dict[str, str]]:
        name, name_errors = connection_name_errors(db, name, app_id=app_id, connection_id=connection_id)
        if connection_id is not None and self._table.row_in(db, connection_id) is None:
            raise connection_gone(connection_id)
        values = settings.model_dump() if isinstance(settings, BundleSettings) else dict(settings)
        checked, errors = validated(BundleSettings, values, {})
        return name, checked, {**errors, **name_errors}


def _saved(row: StoredConnection) -> SavedBundleConnection:
    options, settings = options_and_settings(row)
    return SavedBundleConnection(
        id=row.id,
        name=row.name,
        settings=as_stored(BundleSettings, settings),
        options=options,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )
