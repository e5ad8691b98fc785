"""The SQLite store itself: schema, transactions, and the encrypted Client Secrets."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import InvalidToken, MultiFernet
from pydantic import ValidationError

from cers_core.settings import GroupOptions, OneRosterSettings
from cers_core.store._connections import ConnectionRow, put_connection
from cers_core.store._errors import (
    ConnectionInvalid,
    ConnectionNotFound,
    SecretKeyError,
    StoreError,
    StoreUnreadable,
    field_messages,
    saved_settings,
)
from cers_core.store._imports import ImportConnections
from cers_core.store._kept_files import KEPT_FILES_SCHEMA, KeptFiles
from cers_core.store._keys import KEY_FILE_NAME, make_private_dir, multi_fernet
from cers_core.store._names import connection_name_errors

__all__ = ["CERS_APP_ID", "DB_FILE_NAME", "DownloadRecord", "SavedConnection", "Store"]

CERS_APP_ID = "CERS_int"
DB_FILE_NAME = "store.sqlite3"
# "CERS" in ASCII: marks the file as ours, so another app's SQLite file is refused, not altered.
_APPLICATION_ID = 0x43455253
_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 15_000
# A known plain text encrypted at creation: proves at open time that the keys fit the data.
_KEY_CHECK = b"cers-store-key-check"

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
    sha256 TEXT NOT NULL
);
"""
    + KEPT_FILES_SCHEMA
    + ";"
)
# Tables every store has; ``kept_files`` came later and is added to older stores when opened.
_TABLES = frozenset({"meta", "applications", "connections", "downloads"})
_ONEROSTER_KIND = "oneroster_1_2"


@dataclass(frozen=True, kw_only=True, slots=True)
class SavedConnection:
    """A CERS connection as saved: its public settings and group options, never the plain secret.

    ``public`` is ``OneRosterSettings`` without ``client_secret``; get the full settings with
    ``Store.settings(saved)``.
    """

    id: int
    name: str
    public: Mapping[str, Any]
    options: GroupOptions
    created_at: datetime
    updated_at: datetime
    secret_token: bytes = field(repr=False)

    @property
    def base_url(self) -> str:
        return str(self.public["base_url"])


@dataclass(frozen=True, kw_only=True, slots=True)
class DownloadRecord:
    """One line of the download log: enough to audit what left the app, and no student data."""

    at: datetime
    connection_id: int
    connection_name: str
    school: str
    rows: int
    sha256: str


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class Store(ImportConnections, KeptFiles):
    """The app's SQLite store. Safe to share between threads: each call opens its own connection.

    OneRoster connections are here; CERS import connections (``ImportConnections``) and the
    last file per school (``KeptFiles``) are in their own modules.
    """

    def __init__(self, path: Path, fernet: MultiFernet) -> None:
        self._path = path
        self._fernet = fernet

    def __repr__(self) -> str:
        return f"Store(path={str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    @classmethod
    def open(cls, data_dir: Path, *, keys: Sequence[str]) -> Store:
        """Open (creating if need be) the store in ``data_dir`` and check that ``keys`` fit it.

        Raises ``SecretKeyError`` when the keys are missing, malformed, or none of them
        decrypts what is stored; ``StoreUnreadable`` when the file is not a healthy store of
        this app. Neither changes the file.
        """
        fernet = multi_fernet(keys)
        make_private_dir(data_dir)
        path = data_dir / DB_FILE_NAME
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        store = cls(path, fernet)
        store._prepare()
        return store

    # -- connections to SQLite ------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
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
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that takes the write lock up front, so concurrent writers queue, not fail."""
        with self._connect() as db:
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

    def _prepare(self) -> None:
        with self._connect() as db:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if app_id == 0 and not tables:
                self._create(db)
                app_id = db.execute("PRAGMA application_id").fetchone()[0]
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if app_id != _APPLICATION_ID or not tables >= _TABLES:
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
            older = "kept_files" not in tables
        if row is None or self._decrypt_or_none(row[0]) != _KEY_CHECK:
            key_file = self._path.parent / KEY_FILE_NAME
            generated = f" A key this app generated earlier is in {key_file}." if key_file.exists() else ""
            raise SecretKeyError(
                "The secret key given is not the one the saved Client Secrets were encrypted with.",
                hint="Set CERS_SECRET_KEY (or [cers] secret_key) to that key; when rotating, list the "
                f"new key first and the old one after it, separated by a comma.{generated}",
            )
        if older:  # a store made before files were kept: add the table (other versions ignore it)
            with self._write() as db:
                db.execute(KEPT_FILES_SCHEMA)

    def _create(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("BEGIN IMMEDIATE")
        # Another session may have created it between our look and the lock: then leave it be.
        if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            db.execute("ROLLBACK")
            return
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT INTO meta (key, value) VALUES ('key_check', ?)", (self._fernet.encrypt(_KEY_CHECK),))
        db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        db.execute("COMMIT")

    def _decrypt_or_none(self, token: bytes) -> bytes | None:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            return None

    # -- applications ---------------------------------------------------------------------

    def applications(self) -> list[str]:
        """Ids of the applications added, in the order they were added."""
        with self._connect() as db:
            return [row[0] for row in db.execute("SELECT app_id FROM applications ORDER BY added_at, app_id")]

    def add_application(self, app_id: str) -> None:
        """Add an application; adding one that is already there changes nothing."""
        with self._write() as db:
            db.execute(
                "INSERT INTO applications (app_id, added_at) VALUES (?, ?) ON CONFLICT (app_id) DO NOTHING",
                (app_id, _now().isoformat()),
            )

    def remove_application(self, app_id: str) -> None:
        """Remove an application and, with it, all of its connections (the log stays)."""
        with self._write() as db:
            db.execute("DELETE FROM applications WHERE app_id = ?", (app_id,))

    # -- connections ----------------------------------------------------------------------

    def connections(self, app_id: str = CERS_APP_ID) -> list[SavedConnection]:
        """The saved connections of an application, by name."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM connections WHERE app_id = ? AND kind = ? ORDER BY name COLLATE NOCASE, id",
                (app_id, _ONEROSTER_KIND),
            ).fetchall()
        return [self._saved(row) for row in rows]

    def connection(self, connection_id: int) -> SavedConnection:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM connections WHERE id = ? AND kind = ?", (connection_id, _ONEROSTER_KIND)
            ).fetchone()
        if row is None:
            raise _not_found(connection_id)
        return self._saved(row)

    def settings(self, saved: SavedConnection) -> OneRosterSettings:
        """The connection's full settings, its Client Secret decrypted."""
        plain = self._decrypt_or_none(saved.secret_token)
        if plain is None:
            raise SecretKeyError(
                f"The Client Secret of connection {saved.name!r} cannot be decrypted with the secret key given.",
                hint="Set the key it was saved with, or edit the connection and enter the Client Secret again.",
            )
        values = {**saved.public, "client_secret": plain.decode()}
        return saved_settings(OneRosterSettings, values, f"connection {saved.name!r}")

    def check_connection(
        self,
        *,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        connection_id: int | None = None,
        app_id: str = CERS_APP_ID,
    ) -> dict[str, str]:
        """What ``save_connection`` would say is wrong with these fields (empty when nothing), saving nothing.

        For a form that found problems of its own and wants every message at once.
        """
        with self._connect() as db:
            try:
                self._checked(db, name, settings, client_secret, connection_id, app_id)
            except ConnectionInvalid as invalid:
                return invalid.field_errors
        return {}

    def save_connection(
        self,
        *,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        options: GroupOptions,
        connection_id: int | None = None,
        app_id: str = CERS_APP_ID,
    ) -> SavedConnection:
        """Add a connection (``connection_id`` None) or replace one, in a single transaction.

        ``settings`` holds the ``OneRosterSettings`` fields except ``client_secret``. A blank
        ``client_secret`` when editing keeps the one stored; a new connection needs one.
        Raises ``ConnectionInvalid`` (with ``field_errors``) and saves nothing when a field is
        not usable, and ``ConnectionNotFound`` when the connection to edit is gone.
        """
        now = _now().isoformat()
        with self._write() as db:
            name, checked = self._checked(db, name, settings, client_secret, connection_id, app_id)
            public_json = json.dumps(checked.model_dump(mode="json", exclude={"client_secret"}), sort_keys=True)
            options_json = json.dumps(options.model_dump(mode="json"), sort_keys=True)
            token = self._fernet.encrypt(checked.client_secret.get_secret_value().encode())
            connection_id = put_connection(
                db,
                ConnectionRow(app_id, _ONEROSTER_KIND, name, public_json, token, options_json),
                connection_id,
                now,
                gone=_not_found,
            )
            row = db.execute("SELECT * FROM connections WHERE id = ?", (connection_id,)).fetchone()
        return self._saved(row)

    def _checked(
        self,
        db: sqlite3.Connection,
        name: str,
        settings: Mapping[str, Any],
        client_secret: str | None,
        connection_id: int | None,
        app_id: str,
    ) -> tuple[str, OneRosterSettings]:
        """The cleaned name and validated settings (the stored secret when none is given), or ``ConnectionInvalid``."""
        name, errors = connection_name_errors(db, name, app_id=app_id, connection_id=connection_id)
        secret = client_secret if client_secret and client_secret.strip() else None
        if secret is None and connection_id is not None:
            row = db.execute("SELECT secret_token FROM connections WHERE id = ?", (connection_id,)).fetchone()
            if row is None:
                raise _not_found(connection_id)
            plain = self._decrypt_or_none(row[0])
            if plain is None:
                errors["client_secret"] = "The stored Client Secret cannot be decrypted; enter it again."
            secret = plain.decode() if plain is not None else None
        public = {k: v for k, v in settings.items() if k != "client_secret"}
        try:
            checked = OneRosterSettings.model_validate({**public, "client_secret": secret or ""})
        except ValidationError as error:
            errors = {**field_messages(error), **errors}
        if errors:
            raise ConnectionInvalid(errors)
        return name, checked

    def delete_connection(self, connection_id: int) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM connections WHERE id = ?", (connection_id,)).rowcount == 0:
                raise _not_found(connection_id)

    def _saved(self, row: tuple[Any, ...]) -> SavedConnection:
        (connection_id, _app_id, name, _kind, public_json, token, options_json, created, updated) = row
        try:
            options = GroupOptions.model_validate(json.loads(options_json))
            public = json.loads(public_json)
        except (ValueError, ValidationError):
            raise StoreUnreadable(
                f"The saved group options of connection {name!r} cannot be read.",
                hint="Delete the connection and add it again.",
            ) from None
        return SavedConnection(
            id=connection_id,
            name=name,
            public=public,
            options=options,
            created_at=datetime.fromisoformat(created),
            updated_at=datetime.fromisoformat(updated),
            secret_token=bytes(token),
        )

    # -- keys -------------------------------------------------------------------------------

    def rotate(self) -> int:
        """Re-encrypt every stored secret with the first key; returns how many were re-encrypted.

        All in one transaction: if any secret cannot be decrypted with the keys given, nothing
        changes and ``SecretKeyError`` names the connection.
        """
        with self._write() as db:
            rows = db.execute("SELECT id, name, secret_token FROM connections").fetchall()
            check = db.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()[0]
            for connection_id, name, token in rows:
                try:
                    db.execute(
                        "UPDATE connections SET secret_token = ? WHERE id = ?",
                        (self._fernet.rotate(token), connection_id),
                    )
                except InvalidToken:
                    raise SecretKeyError(
                        f"The Client Secret of connection {name!r} cannot be decrypted with any key given; "
                        "nothing was re-encrypted.",
                        hint="Add the key it was saved with to the list (after the new one).",
                    ) from None
            kept = db.execute("SELECT connection_id, school, file_token FROM kept_files").fetchall()
            for connection_id, school, token in kept:
                try:
                    rotated = self._fernet.rotate(token)
                except InvalidToken:  # a file no key can read is of no use: drop it, not the rotation
                    db.execute("DELETE FROM kept_files WHERE connection_id = ? AND school = ?", (connection_id, school))
                    continue
                db.execute(
                    "UPDATE kept_files SET file_token = ? WHERE connection_id = ? AND school = ?",
                    (rotated, connection_id, school),
                )
            db.execute("UPDATE meta SET value = ? WHERE key = 'key_check'", (self._fernet.rotate(check),))
        return len(rows)

    # -- download log -----------------------------------------------------------------------

    def log_download(self, *, connection: SavedConnection, school: str, rows: int, sha256: str) -> None:
        """Record that a file left the app: when, from which connection, which school, its size and hash."""
        with self._write() as db:
            db.execute(
                "INSERT INTO downloads (at, connection_id, connection_name, school, rows, sha256)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (_now().isoformat(), connection.id, connection.name, school, rows, sha256),
            )

    def downloads(self, *, limit: int = 100) -> list[DownloadRecord]:
        """The latest downloads, newest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT at, connection_id, connection_name, school, rows, sha256 FROM downloads"
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
            )
            for at, cid, cname, school, count, digest in rows
        ]


def _not_found(connection_id: int) -> ConnectionNotFound:
    return ConnectionNotFound(
        f"Connection {connection_id} no longer exists; it may have been deleted in another window.",
        hint="Reload the page.",
    )
