"""``Store``: the one object the app and the command line use, over the store's parts.

Each part is given the database and the vault and uses only their public methods
(:mod:`cers_core.store._database`). ``Store`` opens those two, holds one of each part, and
forwards each of its methods to a part's, whose signature and docstring it keeps: the contract
is written once, where the work is done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from cers_core.store._applications import CERS_APP_ID, Applications
from cers_core.store._bundles import BundleConnections, SavedBundleConnection
from cers_core.store._database import Database, Vault
from cers_core.store._downloads import DownloadLog
from cers_core.store._group_sets import GroupSets
from cers_core.store._held_files import HeldFiles
from cers_core.store._imports import ImportConnections
from cers_core.store._kept_files import KeptFiles
from cers_core.store._locks import Locks
from cers_core.store._oneroster import OneRosterConnections, SavedConnection
from cers_core.store._rotation import KeyRotation
from cers_core.store._runs import RunHistory
from cers_core.store._sync_targets import SyncTargets

__all__ = ["Store"]

P = ParamSpec("P")
R = TypeVar("R")
Part = TypeVar("Part")


def _forward(part: str, method: Callable[Concatenate[Part, P], R]) -> Callable[Concatenate[Store, P], R]:
    """A ``Store`` method that calls ``method`` on the part held in attribute ``part``, with the
    method's signature and docstring."""

    @functools.wraps(method)
    def forwarded(store: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(getattr(store, part), *args, **kwargs)

    return forwarded


class Store:
    """The app's saved applications, connections of every kind, download log and kept files; the
    connections' group sets, upload targets, run history and held files; locks between processes.

    Safe to share between threads: each call opens its own SQLite connection. Open it with
    ``Store.open(data_dir, keys=...)``.
    """

    def __init__(self, database: Database, vault: Vault) -> None:
        self._database = database
        self._applications = Applications(database)
        self._connections = OneRosterConnections(database, vault)
        self._imports = ImportConnections(database, vault)
        self._bundles = BundleConnections(database, vault)
        self._kept_files = KeptFiles(database, vault)
        self._downloads = DownloadLog(database)
        self._rotation = KeyRotation(database, vault)
        self._group_sets = GroupSets(database)
        self._sync_targets = SyncTargets(database)
        self._runs = RunHistory(database)
        self._held_files = HeldFiles(database, vault)
        self._locks = Locks(database)

    def __repr__(self) -> str:
        return f"Store(path={str(self.path)!r})"

    @property
    def path(self) -> Path:
        return self._database.path

    @classmethod
    def open(cls, data_dir: Path, *, keys: Sequence[str]) -> Store:
        """Open (creating if need be) the store in ``data_dir`` and check that ``keys`` fit it.

        Raises ``SecretKeyError`` when the keys are missing, malformed, or none of them
        decrypts what is stored; ``StoreUnreadable`` when the file is not a healthy store of
        this app. Neither changes the file.
        """
        vault = Vault(keys)
        return cls(Database.open(data_dir, vault), vault)

    applications = _forward("_applications", Applications.ids)
    add_application = _forward("_applications", Applications.add)
    remove_application = _forward("_applications", Applications.remove)

    connections = _forward("_connections", OneRosterConnections.all)
    connection = _forward("_connections", OneRosterConnections.get)
    settings = _forward("_connections", OneRosterConnections.settings)
    resolve_settings = _forward("_connections", OneRosterConnections.resolve)
    check_connection = _forward("_connections", OneRosterConnections.check)
    save_connection = _forward("_connections", OneRosterConnections.save)
    delete_connection = _forward("_connections", OneRosterConnections.delete)

    import_connections = _forward("_imports", ImportConnections.all)
    import_connection = _forward("_imports", ImportConnections.get)
    import_settings = _forward("_imports", ImportConnections.settings)
    resolve_import_settings = _forward("_imports", ImportConnections.resolve)
    check_import_connection = _forward("_imports", ImportConnections.check)
    save_import_connection = _forward("_imports", ImportConnections.save)

    def roster_connections(self, app_id: str = CERS_APP_ID) -> list[SavedConnection | SavedBundleConnection]:
        """The connections rosters are read from, of both kinds (OneRoster, CSV bundle), by name."""
        both = [*self.connections(app_id), *self.bundle_connections(app_id)]
        return sorted(both, key=lambda saved: saved.name.casefold())

    bundle_connections = _forward("_bundles", BundleConnections.all)
    bundle_connection = _forward("_bundles", BundleConnections.get)
    check_bundle_connection = _forward("_bundles", BundleConnections.check)
    save_bundle_connection = _forward("_bundles", BundleConnections.save)

    log_download = _forward("_downloads", DownloadLog.record)
    downloads = _forward("_downloads", DownloadLog.latest)
    keep_file = _forward("_kept_files", KeptFiles.keep)
    kept_file = _forward("_kept_files", KeptFiles.get)
    kept_schools = _forward("_kept_files", KeptFiles.schools)

    group_sets = _forward("_group_sets", GroupSets.all)
    save_group_set = _forward("_group_sets", GroupSets.save)
    delete_group_set = _forward("_group_sets", GroupSets.delete)

    sync_target = _forward("_sync_targets", SyncTargets.get)
    save_sync_target = _forward("_sync_targets", SyncTargets.save)

    record_run = _forward("_runs", RunHistory.record)
    runs = _forward("_runs", RunHistory.latest)

    hold_file = _forward("_held_files", HeldFiles.hold)
    held_files = _forward("_held_files", HeldFiles.all)
    drop_held_files = _forward("_held_files", HeldFiles.drop)

    take_lock = _forward("_locks", Locks.take)
    renew_lock = _forward("_locks", Locks.renew)
    release_lock = _forward("_locks", Locks.release)

    rotate = _forward("_rotation", KeyRotation.rotate)
