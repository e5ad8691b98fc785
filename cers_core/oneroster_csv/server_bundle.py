"""A OneRoster CSV bundle on the server: where the app may read one, and whether it is there.

A district's nightly job can drop its SIS's bundle (a zip, or a folder of CSV files) on the
server; an administrator points a CSV-bundle connection at it, and every load reads it afresh.
Whoever sets that path chooses what the app reads, so a path is refused unless it is:

- absolute, and inside one of the folders the deployment lists (``CERS_BUNDLE_FOLDERS``), once
  every link in it is followed (a link inside an allowed folder that leads to ``/etc`` is refused);
  with no folder listed, the app reads no path on the server at all;
- there, and a folder or a ``.zip`` file, that the app's account may read.

The app only ever reads there, and so do the scheduled sync and ``export --connection``, which read
a saved connection's bundle. The command line's ``--oneroster-csv`` is not limited: whoever runs it
reads what their own account may.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     bundle = Path(folder, "oneroster.zip")
    ...     _ = bundle.write_bytes(b"PK")
    ...     server_bundle_path(str(bundle), allowed=[Path(folder)]) == bundle.resolve()
    True
    >>> server_bundle_path("/etc", allowed=[])
    Traceback (most recent call last):
    ...
    cers_core.errors.SettingsError: The app reads no bundle on the server: no folder is allowed for it. ...
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cers_core.errors import SettingsError

__all__ = ["bundle_stamp", "refreshed_at", "saved_bundle_path", "server_bundle_path"]


def server_bundle_path(path: str, *, allowed: Sequence[Path]) -> Path:
    """The bundle at ``path``, links followed, when the app may read it there; else ``SettingsError``
    (``field="path"``) saying what is wrong and what to do."""
    if not allowed:
        raise _refused(
            "The app reads no bundle on the server: no folder is allowed for it.",
            "Set CERS_BUNDLE_FOLDERS to the folders the nightly job writes bundles to, or upload the zip on the "
            "Section Groups page.",
        )
    given = Path(path)
    if not given.is_absolute():
        raise _refused("Give the full path on the server, starting with /.")
    found = given.resolve()
    folders = [Path(folder).resolve() for folder in allowed]
    if not any(found == folder or found.is_relative_to(folder) for folder in folders):
        listed = ", ".join(str(folder) for folder in allowed)
        raise _refused(
            f"The app may read bundles only inside {listed} (CERS_BUNDLE_FOLDERS), and {given} is not there"
            + (" once its links are followed." if found != given else "."),
            "Have the nightly job write the bundle there, or ask whoever deploys the app to add its folder.",
        )
    if not found.exists():
        raise _refused(f"There is nothing at {given} (yet).", "Check the path, and that the nightly job has run.")
    if found.is_dir():
        readable = os.access(found, os.R_OK | os.X_OK)
    elif found.is_file() and found.suffix.lower() == ".zip":
        readable = os.access(found, os.R_OK)
    else:
        raise _refused(f"{given} is neither a folder nor a .zip file.", "Give the bundle's zip file or its folder.")
    if not readable:
        raise _refused(
            f"The app's account may not read {given}.", "Let the account the app runs as read it (and its files)."
        )
    return found


def bundle_stamp(path: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when the bundle at ``path`` is refreshed: the name, size and modification time of
    the zip, or of each file of the folder. A load kept for one stamp is not used for another."""
    files = sorted(entry for entry in path.iterdir() if entry.is_file()) if path.is_dir() else [path]
    return tuple((file.name, (status := file.stat()).st_size, status.st_mtime_ns) for file in files)


def refreshed_at(path: Path) -> datetime:
    """When the bundle at ``path`` last changed (its newest file), in UTC."""
    newest = max((mtime for _, _, mtime in bundle_stamp(path)), default=0)
    return datetime.fromtimestamp(newest / 1e9, tz=UTC)


def saved_bundle_path(path: str | None, *, allowed: Sequence[Path]) -> Path:
    """The bundle a saved CSV-bundle connection reads on the server, for a run with nobody to
    upload one (the scheduled sync, ``export --connection``): as :func:`server_bundle_path`, and
    ``SettingsError`` when the connection's bundle is uploaded by hand (``path`` None)."""
    if path is None:
        raise _refused(
            "This connection's bundle is uploaded on the Section Groups page each time: there is none on the server "
            "to read.",
            "Set where on the server the nightly job writes the bundle (CERS Connections, Edit).",
        )
    return server_bundle_path(path, allowed=allowed)


def _refused(message: str, hint: str = "") -> SettingsError:
    return SettingsError(message, field="path", hint=hint)
