"""Group sets: a OneRoster connection's recipes for its groups (see ``cers_core.group_sets``).

Saving or deleting one counts as saving its connection: the connection's ``updated_at`` moves on,
so its ``version`` changes and whatever was made with the old recipes (an app session's preview)
is made again. Names are unique per connection, ignoring case.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from cers_core.group_sets import GroupSet
from cers_core.store._bundles import ROSTER_KINDS
from cers_core.store._database import Database, now
from cers_core.store._errors import ConnectionNotFound, GroupSetInvalid, StoreUnreadable, connection_gone

__all__ = ["GroupSets", "SavedGroupSet"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SavedGroupSet:
    """A group set as saved: its id, its connection and the recipe itself."""

    id: int
    connection_id: int
    group_set: GroupSet
    updated_at: datetime


class GroupSets:
    """The ``group_sets`` table, in each connection's order (the order they were added)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def all(self, connection_id: int) -> list[SavedGroupSet]:
        """The connection's group sets, first first (the first one's names and subjects win a clash)."""
        with self._database.connect() as db:
            rows = db.execute(
                "SELECT id, connection_id, definition_json, updated_at FROM group_sets WHERE connection_id = ?"
                " ORDER BY position, id",
                (connection_id,),
            ).fetchall()
        return [_saved(row) for row in rows]

    def save(self, connection_id: int, group_set: GroupSet, *, group_set_id: int | None = None) -> SavedGroupSet:
        """Add a group set to the connection (``group_set_id`` None, last in its order) or replace one.

        Raises ``GroupSetInvalid`` when the connection has another of that name (ignoring case), and
        ``ConnectionNotFound`` when the connection or the group set is gone.
        """
        definition = json.dumps(group_set.model_dump(mode="json"), sort_keys=True)
        written = now().isoformat()
        with self._database.write() as db:
            _touch_connection(db, connection_id)
            clash = db.execute(
                "SELECT 1 FROM group_sets WHERE connection_id = ? AND name = ? COLLATE NOCASE AND id IS NOT ?",
                (connection_id, group_set.name, group_set_id),
            ).fetchone()
            if clash:
                raise GroupSetInvalid({"name": f"This connection already has a group set named {group_set.name!r}."})
            if group_set_id is None:
                cursor = db.execute(
                    "INSERT INTO group_sets (connection_id, name, position, definition_json, updated_at)"
                    " SELECT ?, ?, coalesce(max(position), 0) + 1, ?, ? FROM group_sets WHERE connection_id = ?",
                    (connection_id, group_set.name, definition, written, connection_id),
                )
                group_set_id = int(cursor.lastrowid or 0)
            elif not db.execute(
                "UPDATE group_sets SET name = ?, definition_json = ?, updated_at = ?"
                " WHERE id = ? AND connection_id = ?",
                (group_set.name, definition, written, group_set_id, connection_id),
            ).rowcount:
                raise _gone(group_set_id)
            row = db.execute(
                "SELECT id, connection_id, definition_json, updated_at FROM group_sets WHERE id = ?", (group_set_id,)
            ).fetchone()
        return _saved(row)

    def delete(self, group_set_id: int) -> None:
        """Delete a group set; ``ConnectionNotFound`` when it is gone already."""
        with self._database.write() as db:
            found = db.execute("SELECT connection_id FROM group_sets WHERE id = ?", (group_set_id,)).fetchone()
            if found is None:
                raise _gone(group_set_id)
            _touch_connection(db, found[0])
            db.execute("DELETE FROM group_sets WHERE id = ?", (group_set_id,))


def _touch_connection(db: sqlite3.Connection, connection_id: int) -> None:
    """Move the connection's ``updated_at`` on (at least a second: it is kept to the second), so its
    ``version`` changes; ``ConnectionNotFound`` when there is no such connection rosters are read from."""
    row = db.execute(
        "SELECT updated_at FROM connections WHERE id = ? AND kind IN (?, ?)", (connection_id, *ROSTER_KINDS)
    ).fetchone()
    if row is None:
        raise connection_gone(connection_id)
    moved = max(now(), datetime.fromisoformat(row[0]) + timedelta(seconds=1))
    db.execute("UPDATE connections SET updated_at = ? WHERE id = ?", (moved.isoformat(), connection_id))


def _saved(row: tuple[int, int, str, str]) -> SavedGroupSet:
    group_set_id, connection_id, definition, updated = row
    try:
        group_set = GroupSet.model_validate_json(definition)
    except ValidationError:
        raise StoreUnreadable(
            f"Group set {group_set_id} of connection {connection_id} cannot be read.",
            hint="Delete it on the CERS Connections page and add it again.",
        ) from None
    return SavedGroupSet(
        id=group_set_id,
        connection_id=connection_id,
        group_set=group_set,
        updated_at=datetime.fromisoformat(updated),
    )


def _gone(group_set_id: int) -> ConnectionNotFound:
    return ConnectionNotFound(
        f"Group set {group_set_id} no longer exists; it may have been deleted in another window.",
        hint="Reload the page.",
    )
