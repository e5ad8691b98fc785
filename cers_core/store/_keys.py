"""The keys that encrypt Client Secrets: where they come from.

Without a key set, the key file in the data folder holds it. A key file is made only for a new
store: once a store exists, a missing key file is refused, never replaced, since a new key cannot
read what the old one encrypted (and would be taken later for the key "generated earlier").
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography.fernet import Fernet

from cers_core.store._errors import SecretKeyError
from cers_core.store._folder import DB_FILE_NAME, KEY_FILE_NAME, holds_a_store, make_private_dir

__all__ = ["KeySource", "SecretKeys", "resolve_secret_keys"]


class KeySource(StrEnum):
    """Where the secret keys came from; ``generated`` means a deployment should set its own."""

    environment = "environment"
    secrets = "secrets"
    generated = "generated"


@dataclass(frozen=True, slots=True)
class SecretKeys:
    """The Fernet keys to use (first encrypts, all decrypt) and where they came from."""

    keys: tuple[str, ...] = field(repr=False)
    source: KeySource


def resolve_secret_keys(data_dir: Path, *, environment: str | None, secrets: str | None) -> SecretKeys:
    """The keys to open the store with: ``CERS_SECRET_KEY``, else the app's secrets, else a key file.

    ``environment`` and ``secrets`` may hold several keys separated by commas (first encrypts).
    Without either, the key file in ``data_dir`` is used, and created (mode 0600) when there is
    no store yet; the caller should then tell the person that a deployment should set its own key.
    Raises ``SecretKeyError`` when there is a store but no key file (deleted, or never made because
    a key was set and is not any more). A store file that is no store (empty, damaged, another
    app's) gets a key for this once, written nowhere: opening it then says what is wrong with it.
    """
    for value, source in ((environment, KeySource.environment), (secrets, KeySource.secrets)):
        keys = tuple(k.strip() for k in (value or "").split(",") if k.strip())
        if keys:
            return SecretKeys(keys, source)
    make_private_dir(data_dir)
    key_file = data_dir / KEY_FILE_NAME
    store = data_dir / DB_FILE_NAME
    if not key_file.exists() and holds_a_store(data_dir):
        raise SecretKeyError(
            f"No secret key was given and the key file {key_file} is missing, but the app's data file {store} "
            "holds connections saved with a key.",
            hint=f"Restore {KEY_FILE_NAME} from a backup into that folder, or set CERS_SECRET_KEY to the key the "
            "connections were saved with. To start again without them instead, move the data file away (the "
            "connections will have to be added again).",
        )
    if not key_file.exists() and store.exists():
        return SecretKeys((Fernet.generate_key().decode(),), KeySource.generated)
    if not key_file.exists():
        with contextlib.suppress(FileExistsError):  # another session wrote it first: use theirs
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(Fernet.generate_key())
    keys = tuple(k.strip() for k in key_file.read_text(encoding="ascii").split(",") if k.strip())
    return SecretKeys(keys, KeySource.generated)
