"""Where a OneRoster connection's scheduled sync sends its file, and when its brake holds it.

The upload target is a CERS import connection (the store's second kind of connection). Deleting
that import connection unlinks it (the sync then has nowhere to send, and says so); deleting the
OneRoster connection deletes its row. A connection never linked has no target and the default brake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from cers_core.brake import BrakeSettings
from cers_core.store._bundles import ROSTER_KINDS
from cers_core.store._database import Database, now
from cers_core.store._errors import ConnectionNotFound, StoreUnreadable, connection_gone
from cers_core.store._imports import IMPORT_KIND

__all__ = ["SyncTarget", "SyncTargets"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncTarget:
    """A OneRoster connection's scheduled upload: the import connection it sends to (None: it is
    not sent anywhere) and its brake."""

    connection_id: int
    import_connection_id: int | None
    brake: BrakeSettings
    updated_at: datetime | None = None


class SyncTargets:
    """The ``sync_targets`` table: one row per OneRoster connection that was given one."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def get(self, connection_id: int) -> SyncTarget:
        """The connection's upload target and brake (no target and the default brake when never set)."""
        with self._database.connect() as db:
            row = db.execute(
                "SELECT import_connection_id, brake_json, updated_at FROM sync_targets WHERE connection_id = ?",
                (connection_id,),
            ).fetchone()
        if row is None:
            return SyncTarget(connection_id=connection_id, import_connection_id=None, brake=BrakeSettings())
        import_id, brake_json, updated = row
        try:
            brake = BrakeSettings.model_validate_json(brake_json)
        except ValidationError:
            raise StoreUnreadable(
                f"The brake settings of connection {connection_id} cannot be read.",
                hint="Set them again on the CERS Connections page.",
            ) from None
        return SyncTarget(
            connection_id=connection_id,
            import_connection_id=import_id,
            brake=brake,
            updated_at=datetime.fromisoformat(updated),
        )

    def save(self, connection_id: int, *, import_connection_id: int | None, brake: BrakeSettings) -> SyncTarget:
        """Link the connection to a CERS import connection (None: unlink) and set its brake.

        ``ConnectionNotFound`` when either connection is gone (or is not of its kind).
        """
        with self._database.write() as db:
            kinds = {
                row[0]: row[1]
                for row in db.execute(
                    "SELECT id, kind FROM connections WHERE id IN (?, ?)", (connection_id, import_connection_id)
                )
            }
            if kinds.get(connection_id) not in ROSTER_KINDS:
                raise connection_gone(connection_id)
            if import_connection_id is not None and kinds.get(import_connection_id) != IMPORT_KIND:
                raise ConnectionNotFound(
                    f"CERS import connection {import_connection_id} no longer exists.", hint="Reload the page."
                )
            db.execute(
                "INSERT INTO sync_targets (connection_id, import_connection_id, brake_json, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET"
                " import_connection_id = excluded.import_connection_id, brake_json = excluded.brake_json,"
                " updated_at = excluded.updated_at",
                (connection_id, import_connection_id, brake.model_dump_json(), now().isoformat()),
            )
        return self.get(connection_id)
