"""The applications a district has added (the "Applications" page); CERS_int is the one set up here."""

from __future__ import annotations

from cers_core.store._database import Database, now

__all__ = ["CERS_APP_ID", "Applications"]

CERS_APP_ID = "CERS_int"


class Applications:
    """The applications added, in the order they were added; removing one removes its connections."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def ids(self) -> list[str]:
        """Ids of the applications added, in the order they were added."""
        with self._database.connect() as db:
            return [row[0] for row in db.execute("SELECT app_id FROM applications ORDER BY added_at, app_id")]

    def add(self, app_id: str) -> None:
        """Add an application; adding one that is already there changes nothing."""
        with self._database.write() as db:
            db.execute(
                "INSERT INTO applications (app_id, added_at) VALUES (?, ?) ON CONFLICT (app_id) DO NOTHING",
                (app_id, now().isoformat()),
            )

    def remove(self, app_id: str) -> None:
        """Remove an application and, with it, all of its connections (the log stays)."""
        with self._database.write() as db:
            db.execute("DELETE FROM applications WHERE app_id = ?", (app_id,))
