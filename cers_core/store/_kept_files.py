"""The last group file sent to CERS per (connection, school), else the last downloaded: kept to show
what the next one changes.

What matters for "what changes in CERS" is what CERS last received, so a download never replaces a
file that was sent: it is kept only while no file of that school was sent (``how`` says which).

A group file holds SSIDs, so it is kept encrypted (the same MultiFernet as the secrets,
re-encrypted by ``Store.rotate()``), compressed first, one row per school (a district file is
kept school by school, so a later file for one school compares with the same school's part),
and deleted with its connection. Along with the file go the sections its groups were made
from (``class_id``), so that a renamed group can be told by its section.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime

from cers_core.store._database import Database, Vault, now

__all__ = ["KeptFile", "KeptFiles", "Sections", "pack_file", "unpack_file"]


@dataclass(frozen=True, kw_only=True, slots=True)
class KeptFile:
    """One school's part of the last file sent to CERS for a connection, else of the last downloaded.

    ``how`` is ``download`` or ``upload``; ``sections`` are ``(group_name, school_year, class_id)``.
    """

    connection_id: int
    school: str
    at: datetime
    how: str
    rows: int
    sha256: str
    csv_bytes: bytes
    sections: list[tuple[str, int, str | None]]


class KeptFiles:
    """The ``kept_files`` table: one encrypted file part per (connection, school)."""

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault

    def keep(
        self,
        *,
        connection_id: int,
        school: str,
        how: str,
        csv_bytes: bytes,
        rows: int,
        sha256: str,
        sections: list[tuple[str, int, str | None]],
    ) -> None:
        """Keep a school's part of a file that was sent (``how="upload"``: it replaces the one before) or
        downloaded (``how="download"``: it replaces only a download, never a file that was sent)."""
        token = self._vault.encrypt(pack_file(csv_bytes, sections))
        with self._database.write() as db:
            db.execute(
                "INSERT INTO kept_files (connection_id, school, at, how, rows, sha256, file_token)"
                " SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?)"
                " ON CONFLICT (connection_id, school) DO UPDATE SET at = excluded.at, how = excluded.how,"
                " rows = excluded.rows, sha256 = excluded.sha256, file_token = excluded.file_token"
                " WHERE excluded.how = 'upload' OR kept_files.how = 'download'",
                (connection_id, school, now().isoformat(), how, rows, sha256, token, connection_id),
            )

    def get(self, connection_id: int, school: str) -> KeptFile | None:
        """A school's part of the last file of a connection, decrypted; None when there is none
        (or it cannot be decrypted with the keys given: then it is as if none was kept)."""
        with self._database.connect() as db:
            row = db.execute(
                "SELECT at, how, rows, sha256, file_token FROM kept_files WHERE connection_id = ? AND school = ?",
                (connection_id, school),
            ).fetchone()
        if row is None:
            return None
        at, how, rows, sha256, token = row
        plain = self._vault.decrypt(bytes(token))
        if plain is None:
            return None
        csv_bytes, sections = unpack_file(plain)
        return KeptFile(
            connection_id=connection_id,
            school=school,
            at=datetime.fromisoformat(at),
            how=how,
            rows=rows,
            sha256=sha256,
            csv_bytes=csv_bytes,
            sections=sections,
        )

    def schools(self, connection_id: int, *, how: str | None = None) -> list[str]:
        """The schools that have a file kept for the connection (only those sent, with ``how="upload"``)."""
        with self._database.connect() as db:
            found = db.execute(
                "SELECT school FROM kept_files WHERE connection_id = ? AND how = coalesce(?, how) ORDER BY school",
                (connection_id, how),
            ).fetchall()
        return [school for (school,) in found]


Sections = list[tuple[str, int, str | None]]


def pack_file(csv_bytes: bytes, sections: Sections) -> bytes:
    """A file part and its sections as one compressed payload, ready to encrypt."""
    return zlib.compress(json.dumps({"csv": csv_bytes.decode("utf-8"), "sections": sections}).encode("utf-8"), 6)


def unpack_file(plain: bytes) -> tuple[bytes, Sections]:
    """The file part and its sections from a decrypted payload of :func:`pack_file`."""
    content = json.loads(zlib.decompress(plain))
    sections = [(str(n), int(y), None if c is None else str(c)) for n, y, c in content["sections"]]
    return str(content["csv"]).encode("utf-8"), sections
