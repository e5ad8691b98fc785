"""The data folder: private to its owner, it holds the store and, when no key is set, the key file.

Opening the store and finding its keys both need to know what is in the folder: whether a store
is there (a key file is made only for a new store), and what the files are called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["APPLICATION_ID", "DB_FILE_NAME", "KEY_FILE_NAME", "holds_a_store", "make_private_dir"]

DB_FILE_NAME: Final = "store.sqlite3"
KEY_FILE_NAME: Final = "secret.key"
APPLICATION_ID: Final = 0x43455253
""""CERS" in ASCII, in the SQLite header's application id: marks the file as ours, so another app's
SQLite file is refused, not altered."""
_SQLITE_HEADER: Final = b"SQLite format 3\x00"


def holds_a_store(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds a store of this app (an SQLite file with our application id), which
    may hold connections saved with a key; an empty, damaged or foreign file does not.

    >>> holds_a_store(Path("/nonexistent"))
    False
    """
    try:
        with (data_dir / DB_FILE_NAME).open("rb") as store:
            head = store.read(72)
    except OSError:
        return False
    return head.startswith(_SQLITE_HEADER) and head[68:72] == APPLICATION_ID.to_bytes(4, "big")


def make_private_dir(path: Path) -> None:
    """Create the data folder readable by its owner only; an existing folder is the deployer's to set."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)  # mkdir's mode is filtered by the umask
