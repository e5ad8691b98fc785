"""The ``connections`` table, for both kinds of connection (OneRoster and CERS import).

Both kinds share one table, so names stay unique across them, deleting and key rotation work
the same for both, and a store needs no new table for a new kind. A row's settings and options
are JSON, its secrets one encrypted token; what they mean is the business of each kind's part.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cers_core.settings import GroupOptions
from cers_core.store._database import Database, now
from cers_core.store._errors import StoreError, StoreUnreadable

__all__ = [
    "ConnectionRow",
    "ConnectionTable",
    "StoredConnection",
    "as_stored",
    "delete_connection",
    "options_and_settings",
    "saved_settings_values",
]

M = TypeVar("M", bound=BaseModel)

_COLUMNS = "id, name, settings_json, secret_token, options_json, created_at, updated_at"


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionRow:
    """What is written for a connection of either kind."""

    app_id: str
    name: str
    settings_json: str
    secret_token: bytes
    options_json: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredConnection:
    """A connection's row as read, before its kind's part gives it meaning."""

    id: int
    name: str
    settings_json: str
    secret_token: bytes = field(repr=False)
    options_json: str
    created_at: datetime
    updated_at: datetime

    @property
    def version(self) -> str:
        """What changes with every save of the connection, its secret included, for keying caches.

        A hash of the row as stored: its encrypted secrets are new at every save (Fernet encrypts
        with a fresh random IV), so saving only a new secret changes it too, without it ever
        being a hash of a plain secret. Key rotation changes it as well (caches then start afresh).
        """
        digest = hashlib.sha256()
        for part in (self.name, self.settings_json, self.options_json, self.updated_at.isoformat()):
            digest.update(part.encode() + b"\0")
        digest.update(self.secret_token)
        return digest.hexdigest()[:16]


def saved_settings_values(row: StoredConnection) -> dict[str, Any]:
    """A row's public settings as stored (empty when they cannot be read): what its secrets were saved with."""
    try:
        values = json.loads(row.settings_json)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


class ConnectionTable:
    """The rows of one kind of connection (``kind``) in the ``connections`` table."""

    def __init__(self, database: Database, kind: str) -> None:
        self._database = database
        self._kind = kind

    def rows(self, app_id: str | None = None) -> list[StoredConnection]:
        """This kind's rows (of one application, when given), by name."""
        with self._database.connect() as db:
            found = db.execute(
                f"SELECT {_COLUMNS} FROM connections WHERE kind = ? AND app_id = coalesce(?, app_id)"
                " ORDER BY name COLLATE NOCASE, id",
                (self._kind, app_id),
            ).fetchall()
        return [_stored(row) for row in found]

    def row(self, connection_id: int) -> StoredConnection | None:
        """The row of this kind with that id, or None."""
        with self._database.connect() as db:
            return self._row(db, connection_id)

    def row_in(self, db: sqlite3.Connection, connection_id: int) -> StoredConnection | None:
        """The row of this kind with that id (None when there is none), read inside the caller's
        transaction: its secrets, and the settings they were saved with."""
        return self._row(db, connection_id)

    def put(
        self,
        db: sqlite3.Connection,
        row: ConnectionRow,
        connection_id: int | None,
        *,
        gone: Callable[[int], StoreError],
    ) -> StoredConnection:
        """Add the connection (``connection_id`` None, its application too when missing) or replace
        the one of that id and kind (``gone(id)`` is raised when there is none), inside the caller's
        transaction; returns the row as written."""
        written = now().isoformat()
        if connection_id is None:
            db.execute(
                "INSERT INTO applications (app_id, added_at) VALUES (?, ?) ON CONFLICT (app_id) DO NOTHING",
                (row.app_id, written),
            )
            cursor = db.execute(
                "INSERT INTO connections (app_id, name, kind, settings_json, secret_token, options_json,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (row.app_id, row.name, self._kind, row.settings_json, row.secret_token, row.options_json, written,
                 written),
            )  # fmt: skip
            connection_id = int(cursor.lastrowid or 0)
        else:
            updated = db.execute(
                "UPDATE connections SET name = ?, settings_json = ?, secret_token = ?, options_json = ?,"
                " updated_at = ? WHERE id = ? AND kind = ?",
                (row.name, row.settings_json, row.secret_token, row.options_json, written, connection_id, self._kind),
            )
            if not updated.rowcount:
                raise gone(connection_id)
        stored = self._row(db, connection_id)
        assert stored is not None  # written just above, in this transaction
        return stored

    def _row(self, db: sqlite3.Connection, connection_id: int) -> StoredConnection | None:
        found = db.execute(
            f"SELECT {_COLUMNS} FROM connections WHERE id = ? AND kind = ?", (connection_id, self._kind)
        ).fetchone()
        return None if found is None else _stored(found)


def delete_connection(database: Database, connection_id: int) -> bool:
    """Delete the connection of that id, whichever its kind (ids are unique across both), with its
    kept files; False when there was none."""
    with database.write() as db:
        return db.execute("DELETE FROM connections WHERE id = ?", (connection_id,)).rowcount > 0


def _stored(row: tuple[Any, ...]) -> StoredConnection:
    connection_id, name, settings_json, token, options_json, created, updated = row
    return StoredConnection(
        id=connection_id,
        name=name,
        settings_json=settings_json,
        secret_token=bytes(token),
        options_json=options_json,
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
    )


def options_and_settings(row: StoredConnection) -> tuple[GroupOptions, dict[str, Any]]:
    """A row's group options and its public settings as stored (a kind of connection that makes
    groups: OneRoster or CSV bundle); ``StoreUnreadable`` when they cannot be read."""
    try:
        return GroupOptions.model_validate(json.loads(row.options_json)), json.loads(row.settings_json)
    except (ValueError, ValidationError):
        raise StoreUnreadable(
            f"The saved group options of connection {row.name!r} cannot be read.",
            hint="Delete the connection and add it again.",
        ) from None


def as_stored(model: type[M], values: dict[str, Any]) -> M:
    """A saved connection's public settings, validated. Settings that a later version's rules refuse
    are kept as stored, unchecked, so that the connection is still listed and can be edited or
    deleted; reading its full settings (``Store.settings``) says what to fix."""
    try:
        return model.model_validate(values)
    except ValidationError:
        return model.model_construct(**values)
