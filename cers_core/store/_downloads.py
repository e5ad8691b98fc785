"""The download log: what left the app, when, who let it leave, from which connection and school,
and nothing of the file but its size and SHA-256 (no student data). It outlives the connection it
names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cers_core.store._bundles import SavedBundleConnection
from cers_core.store._database import Database, now
from cers_core.store._oneroster import SavedConnection

__all__ = ["DownloadLog", "DownloadRecord"]


@dataclass(frozen=True, kw_only=True, slots=True)
class DownloadRecord:
    """One line of the download log: enough to audit what left the app, and no student data."""

    at: datetime
    connection_id: int
    connection_name: str
    school: str
    rows: int
    sha256: str
    who: str | None
    """Who downloaded or sent it (the signed-in e-mail address, or how the app was reached
    without sign-in); None for lines logged before the app recorded it."""


class DownloadLog:
    """The ``downloads`` table: appended to, read newest first."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record(
        self, *, connection: SavedConnection | SavedBundleConnection, school: str, rows: int, sha256: str, who: str
    ) -> None:
        """Record that a file left the app: when, who let it, from which connection, which school,
        its size and hash."""
        with self._database.write() as db:
            db.execute(
                "INSERT INTO downloads (at, connection_id, connection_name, school, rows, sha256, who)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (now().isoformat(), connection.id, connection.name, school, rows, sha256, who),
            )

    def latest(self, *, limit: int = 100) -> list[DownloadRecord]:
        """The latest downloads, newest first."""
        with self._database.connect() as db:
            rows = db.execute(
                "SELECT at, connection_id, connection_name, school, rows, sha256, who FROM downloads"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            DownloadRecord(
                at=datetime.fromisoformat(at),
                connection_id=cid,
                connection_name=cname,
                school=school,
                rows=count,
                sha256=digest,
                who=who,
            )
            for at, cid, cname, school, count, digest, who in rows
        ]
