"""Where the app keeps what a district sets up: applications, CERS connections, a download log.

One SQLite file (standard library) in a data folder that only its owner can read (folder
0700, files 0600). Every write is one ``BEGIN IMMEDIATE`` transaction on a fresh
connection in WAL mode with a busy timeout, so two browser sessions saving at once both
land. Client secrets are encrypted with ``cryptography``'s MultiFernet: the first key
encrypts, every key decrypts, and ``Store.rotate()`` re-encrypts every stored secret with the
first key, so a deployment can rotate by prepending a new key and dropping the old one after.

The download log keeps when, which connection, which school, how many rows and the file's
SHA-256, never the file. The only student data is the last file downloaded or sent per
connection and school (``keep_file``), kept encrypted like the secrets, to show what the next
one changes; it goes with its connection. CERS import connections (``save_import_connection``)
are the second kind of connection, stored like the first; OneRoster CSV bundle connections
(``save_bundle_connection``: where the bundle is, no secret) the third.

Inside, one module holds the file and the keys (``_database``: ``Database`` and ``Vault``), and
each part is a class given those two: ``Applications``, ``OneRosterConnections``,
``ImportConnections``, ``BundleConnections``, ``KeptFiles``, ``DownloadLog``, ``KeyRotation``, and
for scheduled syncs ``GroupSets``, ``SyncTargets``, ``RunHistory``, ``HeldFiles`` and ``Locks``
(their tables are added to an older store when it is opened). ``Store`` is the façade over them
that the app and the command line use.

Errors a person can meet here, all ``StoreError`` (a ``CersError``)::

    StoreError
    ├── SecretKeyError        the secret key is missing, malformed, or not the one the data was saved with
    ├── StoreUnreadable       the database file is damaged, or is not this app's database
    ├── ConnectionNotFound    no saved connection has that id (deleted in another session?)
    ├── ConnectionInvalid     a connection to save has fields that cannot be used (``field_errors``)
    └── GroupSetInvalid       a group set to save clashes with another of its connection (``field_errors``)

A saved connection carries its public settings typed (``SavedConnection.settings``, a
``OneRosterPublic``; ``SavedImportConnection.settings``, a ``CersImportPublic``), never a
plain secret. A secret left blank when editing keeps the saved one (``resolve_secret``), in
``save_connection`` and in ``resolve_settings``, which gives a form's settings to test.

Example (a new store in an empty folder; the app's is ``.cers/``)::

    >>> import tempfile
    >>> from pathlib import Path
    >>> from cers_core.settings import GroupOptions
    >>> scratch = tempfile.TemporaryDirectory()
    >>> folder = Path(scratch.name)
    >>> store = Store.open(folder, keys=resolve_secret_keys(folder, environment=None, secrets=None).keys)
    >>> store.add_application("CERS_int")
    >>> saved = store.save_connection(
    ...     name="District SIS",
    ...     settings={"base_url": "https://sis.example.org/ims/oneroster/rostering/v1p2",
    ...               "token_url": "https://sis.example.org/oauth2/token", "client_id": "abc"},
    ...     client_secret="s3cret",
    ...     options=GroupOptions(),
    ... )
    >>> saved.settings.base_url
    'https://sis.example.org/ims/oneroster/rostering/v1p2'
    >>> store.settings(saved).client_secret.get_secret_value()  # decrypted only when asked for
    's3cret'
    >>> scratch.cleanup()
"""

from cers_core.store._applications import CERS_APP_ID
from cers_core.store._bundles import SavedBundleConnection
from cers_core.store._downloads import DownloadRecord
from cers_core.store._errors import (
    ConnectionInvalid,
    ConnectionNotFound,
    GroupSetInvalid,
    SecretKeyError,
    StoreError,
    StoreUnreadable,
    field_messages,
)
from cers_core.store._folder import DB_FILE_NAME, KEY_FILE_NAME
from cers_core.store._group_sets import SavedGroupSet
from cers_core.store._held_files import HeldFile
from cers_core.store._imports import SavedImportConnection
from cers_core.store._kept_files import KeptFile
from cers_core.store._keys import KeySource, SecretKeys, resolve_secret_keys
from cers_core.store._locks import LockHolder
from cers_core.store._oneroster import SavedConnection
from cers_core.store._runs import Run, SchoolRun
from cers_core.store._store import Store
from cers_core.store._sync_targets import SyncTarget

RosterConnection = SavedConnection | SavedBundleConnection
"""A connection the rosters are read from: a OneRoster provider's, or a CSV bundle's."""

__all__ = [
    "CERS_APP_ID",
    "DB_FILE_NAME",
    "KEY_FILE_NAME",
    "ConnectionInvalid",
    "ConnectionNotFound",
    "DownloadRecord",
    "GroupSetInvalid",
    "HeldFile",
    "KeptFile",
    "KeySource",
    "LockHolder",
    "RosterConnection",
    "Run",
    "SavedBundleConnection",
    "SavedConnection",
    "SavedGroupSet",
    "SavedImportConnection",
    "SchoolRun",
    "SecretKeyError",
    "SecretKeys",
    "Store",
    "StoreError",
    "StoreUnreadable",
    "SyncTarget",
    "field_messages",
    "resolve_secret_keys",
]
