"""Writing a connection's row, for both kinds of connection (OneRoster and CERS import)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from cers_core.store._errors import StoreError

__all__ = ["ConnectionRow", "put_connection"]


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    """What is written for a connection of either kind."""

    app_id: str
    kind: str
    name: str
    settings_json: str
    secret_token: bytes
    options_json: str


def put_connection(
    db: sqlite3.Connection,
    row: ConnectionRow,
    connection_id: int | None,
    now: str,
    *,
    gone: Callable[[int], StoreError],
) -> int:
    """Add the connection (``connection_id`` None, its application too when missing) or replace
    the one of that id and kind (``gone(id)`` is raised when there is none); returns its id."""
    if connection_id is None:
        db.execute(
            "INSERT INTO applications (app_id, added_at) VALUES (?, ?) ON CONFLICT (app_id) DO NOTHING",
            (row.app_id, now),
        )
        cursor = db.execute(
            "INSERT INTO connections (app_id, name, kind, settings_json, secret_token, options_json,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row.app_id, row.name, row.kind, row.settings_json, row.secret_token, row.options_json, now, now),
        )
        return int(cursor.lastrowid or 0)
    updated = db.execute(
        "UPDATE connections SET name = ?, settings_json = ?, secret_token = ?, options_json = ?,"
        " updated_at = ? WHERE id = ? AND kind = ?",
        (row.name, row.settings_json, row.secret_token, row.options_json, now, connection_id, row.kind),
    )
    if not updated.rowcount:
        raise gone(connection_id)
    return connection_id
