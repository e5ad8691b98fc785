"""The store's one SQLite file, and the vault that encrypts what the file keeps secret.

Every part of the store (applications, both kinds of connection, kept files, the download log,
key rotation, group sets, sync targets, the run history, held files, locks) works through the two
classes here and nothing else:

- :class:`Vault` encrypts and decrypts with ``cryptography``'s MultiFernet: the first key
  encrypts, every key decrypts, ``rotate`` re-encrypts with the first.
- :class:`Database` is the file: its schema and the migrations an older file needs, a fresh
  SQLite connection per call (``connect``), and write transactions that take the lock up front
  (``write``), so two browser sessions saving at once both land instead of one failing.

Opening proves the keys fit: a known plain text is encrypted into the ``meta`` table when the
file is created, and a file whose keys do not decrypt it is refused before anything is read.

A new file is made whole under another name and then linked into place, so that the store file
is never seen empty: an empty (zero-byte) or table-less store file is therefore one that was
truncated or damaged, and is refused with what to do, never silently made again: it held the
district's connections.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from cers_core.store._errors import SecretKeyError, StoreError, StoreUnreadable
from cers_core.store._folder import APPLICATION_ID, DB_FILE_NAME, KEY_FILE_NAME, make_private_dir
from cers_core.store._sync_tables import SYNC_TABLES

__all__ = ["Database", "Vault", "now"]

_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 15_000
# A known plain text encrypted at creation: proves at open time that the keys fit the data.
_KEY_CHECK = b"cers-store-key-check"

# The last file per school came after the first release: older files get this table when opened.
_KEPT_FILES_SCHEMA = """
CREATE TABLE IF NOT EXISTS kept_files (
    connection_id INTEGER NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    school TEXT NOT NULL,
    at TEXT NOT NULL,
    how TEXT NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    file_token BLOB NOT NULL,
    PRIMARY KEY (connection_id, school)
)
"""
_SCHEMA = (
    """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE applications (
    app_id TEXT PRIMARY KEY,
    added_at TEXT NOT NULL
);
CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL REFERENCES applications(app_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    settings_json TEXT NOT NULL,
    secret_token BLOB NOT NULL,
    options_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (app_id, name)
);
-- No foreign key to connections: the log outlives a deleted connection.
CREATE TABLE downloads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    connection_id INTEGER NOT NULL,
    connection_name TEXT NOT NULL,
    school TEXT NOT NULL,
    rows INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    who TEXT
);
"""
    + _KEPT_FILES_SCHEMA
    + ";"
)
# Tables every store has; what came later is added to older stores when opened (``_ADDITIONS``).
_TABLES = frozenset({"meta", "applications", "connections", "downloads"})


def _has_kept_files(db: sqlite3.Connection) -> bool:
    return "kept_files" in _tables(db)


def _has_table(name: str) -> Callable[[sqlite3.Connection], bool]:
    return lambda db: name in _tables(db)


def _has_download_who(db: sqlite3.Connection) -> bool:
    return any(row[1] == "who" for row in db.execute("PRAGMA table_info(downloads)"))


# What later versions added, each with the test that a store has it and the statement that adds
# it. Both only add (a table; a column that may be NULL), so an older version of the app still
# reads and writes a store that has them, and the schema version stays 1.
_ADDITIONS = (
    (_has_kept_files, _KEPT_FILES_SCHEMA),  # the last file per school
    (_has_download_who, "ALTER TABLE downloads ADD COLUMN who TEXT"),  # who let a file leave (sign-in)
    *((_has_table(name), statement) for name, statement in SYNC_TABLES),  # group sets, sync, history
)


def now() -> datetime:
    """The time the store writes: UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


class Vault:
    """Encrypts what the store keeps secret: the first key encrypts, every key decrypts.

    Raises ``SecretKeyError`` when no key is given or one is malformed; the message never
    quotes a key, since it is the secret that protects all the others.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretKeyError(
                "No secret key was given to encrypt the Client Secrets.",
                hint="Set CERS_SECRET_KEY, or [cers] secret_key in .streamlit/secrets.toml.",
            )
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"Secret key number {position} is not a valid key.",
                    hint="A key is 32 bytes in URL-safe base64 (44 characters), as made by "
                    "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`.",
                ) from None
        self._fernet = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "Vault(keys=…)"

    def encrypt(self, plain: bytes) -> bytes:
        """``plain`` encrypted with the first key (a new random IV each time, so never twice the same)."""
        return self._fernet.encrypt(plain)

    def decrypt(self, token: bytes) -> bytes | None:
        """The plain bytes, or None when no key given decrypts ``token``."""
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            return None

    def rotate(self, token: bytes) -> bytes | None:
        """``token`` re-encrypted with the first key, or None when no key given decrypts it."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            return None


class Database:
    """The store's SQLite file. Safe to share between threads: each call opens its own connection."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def __repr__(self) -> str:
        return f"Database(path={str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    @classmethod
    def open(cls, data_dir: Path, vault: Vault) -> Database:
        """Open (creating if need be) the file in ``data_dir`` and check that ``vault``'s keys fit it.

        Raises ``SecretKeyError`` when none of the keys decrypts what is stored, and
        ``StoreUnreadable`` when the file is not a healthy store of this app. Neither changes the file.
        """
        make_private_dir(data_dir)
        path = data_dir / DB_FILE_NAME
        if not path.exists():
            _create_file(path, vault)
        database = cls(path)
        database._prepare(vault)
        return database

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call: SQLite's errors become ``StoreError`` s, except ``IntegrityError``
        (a constraint the caller chose to rely on)."""
        try:
            db = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as error:
            raise self._unreadable(error) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA foreign_keys = ON")
            yield db
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                raise StoreError(
                    "The app's data file stayed busy with other saves for too long; nothing was changed.",
                    hint="Try again in a moment.",
                ) from None
            raise self._unreadable(error) from None
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.IntegrityError):
                raise
            raise self._unreadable(error) from None
        finally:
            db.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock up front, so concurrent writers queue, not fail."""
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _unreadable(self, error: sqlite3.Error) -> StoreUnreadable:
        return StoreUnreadable(
            f"The app's data file {self._path} cannot be read ({error}).",
            hint="Restore it from a backup, or move it away and start again "
            "(you will need to add your connections again).",
        )

    def _prepare(self, vault: Vault) -> None:
        if self._path.stat().st_size == 0:
            raise self._emptied()
        with self.connect() as db:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            tables = _tables(db)
            if app_id == 0 and not tables:
                raise self._emptied()
            if app_id != APPLICATION_ID or not tables >= _TABLES:
                raise StoreUnreadable(
                    f"The file {self._path} is an SQLite database, but not this app's.",
                    hint="Point CERS_DATA_DIR at a folder of its own.",
                )
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise StoreUnreadable(
                    f"The data file {self._path} was written by a newer version of this app.",
                    hint="Run the newer version, or restore an older backup.",
                )
            row = db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()
            missing = [addition for addition in _ADDITIONS if not addition[0](db)]
        if row is None or vault.decrypt(row[0]) != _KEY_CHECK:
            raise SecretKeyError(
                "The secret key given is not the one the saved Client Secrets were encrypted with.",
                hint="Set CERS_SECRET_KEY (or [cers] secret_key) to that key; when rotating, list the "
                f"new key first and the old one after it, separated by a comma.{self._key_file_says(row)}",
            )
        if missing:  # a store made by an earlier version: add what it lacks
            with self.write() as db:
                for has, statement in missing:
                    if not has(db):  # another process may have added it since we looked
                        db.execute(statement)

    def _emptied(self) -> StoreUnreadable:
        return StoreUnreadable(
            f"The app's data file {self._path} is empty: it was cut short or damaged, and the saved "
            "connections are not in it.",
            hint="Restore it from a backup (nothing was changed), or move it away to start again (you will need "
            "to add your connections again).",
        )

    def _key_file_says(self, key_check: tuple[bytes] | None) -> str:
        """What the key file (when there is one) has to do with a key check the keys given failed."""
        key_file = self._path.parent / KEY_FILE_NAME
        try:
            keys = [key.strip() for key in key_file.read_text(encoding="ascii").split(",") if key.strip()]
            fits = key_check is not None and Vault(keys).decrypt(key_check[0]) == _KEY_CHECK
        except (OSError, UnicodeDecodeError, SecretKeyError):
            return ""
        if fits:
            return f" The key this app generated earlier, in {key_file}, fits: leave CERS_SECRET_KEY unset to use it."
        return f" The key in {key_file} does not fit either: restore the one the connections were saved with."


def _create_file(path: Path, vault: Vault) -> None:
    """A new store at ``path``, made whole under another name and then linked there (so never seen
    empty); if another session made one meanwhile, theirs is kept."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)  # mode 0600
    os.close(handle)
    making = Path(name)
    try:
        db = sqlite3.connect(making, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)", (vault.encrypt(_KEY_CHECK),))
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            db.execute("COMMIT")
        finally:
            db.close()  # the last connection: the log is folded into the file and removed
        try:
            os.link(making, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: a rename, unless a store came meanwhile
            if not path.exists():
                os.replace(making, path)
    finally:
        making.unlink(missing_ok=True)


def _tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
