"""The store's errors: each says what went wrong and what to do, and never quotes a secret."""

from __future__ import annotations

from collections.abc import Mapping

from cers_core.errors import CersError

__all__ = ["ConnectionInvalid", "ConnectionNotFound", "SecretKeyError", "StoreError", "StoreUnreadable"]


class StoreError(CersError):
    """The store cannot do what was asked; the message says why and what to do."""


class SecretKeyError(StoreError):
    """The secret key is missing, malformed, or cannot decrypt what was saved with another key."""


class StoreUnreadable(StoreError):
    """The database file is damaged or belongs to something else; nothing in it was changed."""


class ConnectionNotFound(StoreError):
    """No saved connection has this id (another session may have deleted it)."""


class ConnectionInvalid(StoreError):
    """Fields of a connection to save cannot be used; ``field_errors`` maps each field to why.

    Messages never quote the values typed, so a secret pasted in the wrong box is not echoed.
    """

    def __init__(self, field_errors: Mapping[str, str]) -> None:
        self.field_errors = dict(field_errors)
        listed = "; ".join(f"{name}: {message}" for name, message in self.field_errors.items())
        super().__init__(f"The connection was not saved. {listed}")
