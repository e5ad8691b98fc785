"""The parts of a scheduled upload that the brake held, per (connection, school), until released.

A held part holds SSIDs, so it is kept as a kept file is: compressed, encrypted with the vault,
with the sections its groups were made from, and deleted with its connection. A later run
replaces it (only the latest held part of a school can be released), and a run that sends the
school, or a release, removes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cers_core.store._database import Database, Vault, now
from cers_core.store._kept_files import Sections, pack_file, unpack_file

__all__ = ["HeldFile", "HeldFiles"]


@dataclass(frozen=True, kw_only=True, slots=True)
class HeldFile:
    """One school's part of a scheduled upload that the brake held, and why."""

    connection_id: int
    school: str
    school_name: str
    at: datetime
    reason: str
    rows: int
    sha256: str
    csv_bytes: bytes
    sections: Sections


class HeldFiles:
    """The ``held_files`` table."""

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault

    def hold(
        self,
        *,
        connection_id: int,
        school: str,
        school_name: str,
        reason: str,
        csv_bytes: bytes,
        rows: int,
        sha256: str,
        sections: Sections,
    ) -> None:
        """Keep a school's held part (replacing the one held before), encrypted, with why it was held."""
        token = self._vault.encrypt(pack_file(csv_bytes, sections))
        with self._database.write() as db:
            db.execute(
                "INSERT INTO held_files (connection_id, school, school_name, at, reason, rows, sha256, file_token)"
                " SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?)"
                " ON CONFLICT (connection_id, school) DO UPDATE SET school_name = excluded.school_name,"
                " at = excluded.at, reason = excluded.reason, rows = excluded.rows, sha256 = excluded.sha256,"
                " file_token = excluded.file_token",
                (connection_id, school, school_name, now().isoformat(), reason, rows, sha256, token, connection_id),
            )

    def all(self, connection_id: int) -> list[HeldFile]:
        """The connection's held parts, by school, decrypted (those no key given decrypts are left out)."""
        with self._database.connect() as db:
            rows = db.execute(
                "SELECT school, school_name, at, reason, rows, sha256, file_token FROM held_files"
                " WHERE connection_id = ? ORDER BY school",
                (connection_id,),
            ).fetchall()
        held = []
        for school, name, at, reason, count, sha256, token in rows:
            plain = self._vault.decrypt(bytes(token))
            if plain is None:
                continue
            csv_bytes, sections = unpack_file(plain)
            held.append(
                HeldFile(
                    connection_id=connection_id,
                    school=school,
                    school_name=name,
                    at=datetime.fromisoformat(at),
                    reason=reason,
                    rows=count,
                    sha256=sha256,
                    csv_bytes=csv_bytes,
                    sections=sections,
                )
            )
        return held

    def drop(self, connection_id: int, schools: Sequence[str]) -> None:
        """Forget the held parts of these schools (sent since, or released)."""
        with self._database.write() as db:
            db.executemany(
                "DELETE FROM held_files WHERE connection_id = ? AND school = ?",
                [(connection_id, school) for school in schools],
            )
