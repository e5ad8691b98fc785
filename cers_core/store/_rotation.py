"""Key rotation: every encrypted value in the store re-encrypted with the first key, in one transaction.

A deployment rotates by listing ``new-key,old-key``: the app calls ``rotate()`` once, and the old
key can then be dropped. What is encrypted: each connection's secrets, each kept file, and the
key check that proves at open time that the keys fit. A file part that no key
decrypts (a kept or held file) is dropped.
"""

from __future__ import annotations

from cers_core.store._database import Database, Vault
from cers_core.store._errors import SecretKeyError

__all__ = ["KeyRotation"]

# The tables of encrypted file parts: the last sent or downloaded, and those the brake held.
_FILE_TABLES = ("kept_files", "held_files")


class KeyRotation:
    """Re-encrypts the store with the vault's first key."""

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._vault = vault

    def rotate(self) -> int:
        """Re-encrypt every stored secret with the first key; returns how many connections were re-encrypted.

        All in one transaction: if any connection's secret cannot be decrypted with the keys given,
        nothing changes and ``SecretKeyError`` names the connection. A kept or held file no key can
        read is of no use, so it is dropped rather than stopping the rotation.
        """
        with self._database.write() as db:
            rows = db.execute("SELECT id, name, secret_token FROM connections").fetchall()
            for connection_id, name, token in rows:
                rotated = self._vault.rotate(token)
                if rotated is None:
                    raise SecretKeyError(
                        f"The Client Secret of connection {name!r} cannot be decrypted with any key given; "
                        "nothing was re-encrypted.",
                        hint="Add the key it was saved with to the list (after the new one).",
                    )
                db.execute("UPDATE connections SET secret_token = ? WHERE id = ?", (rotated, connection_id))
            for table in _FILE_TABLES:
                kept = db.execute(f"SELECT connection_id, school, file_token FROM {table}").fetchall()
                for connection_id, school, token in kept:
                    rotated = self._vault.rotate(token)
                    where = "WHERE connection_id = ? AND school = ?"
                    if rotated is None:
                        db.execute(f"DELETE FROM {table} {where}", (connection_id, school))
                    else:
                        db.execute(f"UPDATE {table} SET file_token = ? {where}", (rotated, connection_id, school))
            check = db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()[0]
            db.execute("UPDATE meta SET value = ? WHERE key = 'key_check'", (self._vault.rotate(check),))
        return len(rows)
