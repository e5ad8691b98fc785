"""Locks between processes that share a data folder: one row per lock, its owner and its expiry.

Two scheduled syncs started at once (a timer and someone's manual run, two replicas of a
cron job) must never both send. Taking a lock is one ``BEGIN IMMEDIATE`` transaction: it reads
the row and writes it while holding SQLite's write lock, so of two processes exactly one gets
it. A lock has an expiry, so a run that crashed (or a machine that lost power) does not block
the next ones for ever; a long run renews it as it goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cers_core.store._database import Database, now

__all__ = ["LockHolder", "Locks"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LockHolder:
    """Who holds a lock, since when and until when (unless renewed)."""

    name: str
    owner: str
    taken_at: datetime
    expires_at: datetime


class Locks:
    """The ``locks`` table."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def take(self, name: str, owner: str, *, seconds: float) -> LockHolder | None:
        """Take the lock ``name`` for ``seconds``: None when taken, else who holds it (nothing changed).

        A lock whose expiry has passed is taken over; one held by ``owner`` already is renewed.
        """
        taken = now()
        with self._database.write() as db:
            row = db.execute("SELECT owner, taken_at, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != owner and datetime.fromisoformat(row[2]) > taken:
                return LockHolder(
                    name=name,
                    owner=row[0],
                    taken_at=datetime.fromisoformat(row[1]),
                    expires_at=datetime.fromisoformat(row[2]),
                )
            db.execute(
                "INSERT INTO locks (name, owner, taken_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (name)"
                " DO UPDATE SET owner = excluded.owner, taken_at = excluded.taken_at, expires_at = excluded.expires_at",
                (name, owner, taken.isoformat(), (taken + timedelta(seconds=seconds)).isoformat()),
            )
        return None

    def renew(self, name: str, owner: str, *, seconds: float) -> bool:
        """Push the lock's expiry ``seconds`` from now; False when ``owner`` no longer holds it."""
        with self._database.write() as db:
            return (
                db.execute(
                    "UPDATE locks SET expires_at = ? WHERE name = ? AND owner = ?",
                    ((now() + timedelta(seconds=seconds)).isoformat(), name, owner),
                ).rowcount
                > 0
            )

    def release(self, name: str, owner: str) -> None:
        """Let go of the lock, if ``owner`` still holds it."""
        with self._database.write() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))
