"""The store's errors: each says what went wrong and what to do, and never quotes a secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cers_core.errors import CersError

__all__ = [
    "ConnectionInvalid",
    "ConnectionNotFound",
    "GroupSetInvalid",
    "SecretKeyError",
    "StoreError",
    "StoreUnreadable",
    "connection_gone",
    "field_messages",
    "saved_settings",
    "validated",
]

M = TypeVar("M", bound=BaseModel)


class StoreError(CersError):
    """The store cannot do what was asked; the message says why and what to do."""


class SecretKeyError(StoreError):
    """The secret key is missing, malformed, or cannot decrypt what was saved with another key."""


class StoreUnreadable(StoreError):
    """The database file is damaged or belongs to something else; nothing in it was changed."""


class ConnectionNotFound(StoreError):
    """No saved connection has this id (another session may have deleted it)."""


def connection_gone(connection_id: int) -> ConnectionNotFound:
    """The error for a connection rosters are read from (OneRoster or CSV bundle; its group sets and sync
    target too) that is not there any more."""
    return ConnectionNotFound(
        f"Connection {connection_id} no longer exists; it may have been deleted in another window.",
        hint="Reload the page.",
    )


class ConnectionInvalid(StoreError):
    """Fields of a connection to save cannot be used; ``field_errors`` maps each field to why.

    Messages never quote the values typed, so a secret pasted in the wrong box is not echoed.
    """

    def __init__(self, field_errors: Mapping[str, str]) -> None:
        self.field_errors = dict(field_errors)
        listed = "; ".join(f"{name}: {message}" for name, message in self.field_errors.items())
        super().__init__(f"The connection was not saved. {listed}")


class GroupSetInvalid(StoreError):
    """A group set to save cannot be saved as it is; ``field_errors`` maps each field to why."""

    def __init__(self, field_errors: Mapping[str, str]) -> None:
        self.field_errors = dict(field_errors)
        super().__init__("The group set was not saved. " + "; ".join(self.field_errors.values()))


def field_messages(error: ValidationError) -> dict[str, str]:
    """The first message per field of a pydantic error, without the values typed.

    ``str(ValidationError)`` quotes the input, which may be a secret; this never does.
    """
    messages: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]) if item["loc"] else "form"
        message = str(item["msg"]).removeprefix("Value error, ")
        messages.setdefault(name, message)
    return messages


def saved_settings(model: type[M], values: Mapping[str, Any], connection: str) -> M:
    """A saved connection's settings read back; ``StoreUnreadable`` when they no longer validate
    (``connection`` names it in the message, e.g. ``connection 'District SIS'``)."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise StoreUnreadable(
            f"The saved settings of {connection} are no longer valid: "
            + "; ".join(f"{k}: {v}" for k, v in field_messages(error).items()),
            hint="Edit the connection and save it again.",
        ) from None


def validated(model: type[M], values: Mapping[str, Any], errors: Mapping[str, str]) -> tuple[M | None, dict[str, str]]:
    """``model`` made from ``values`` (None when they do not validate), and every message for a form:
    the model's, one per field, then ``errors`` (the caller's own, which win for their field)."""
    try:
        return model.model_validate(values), dict(errors)
    except ValidationError as error:
        return None, {**field_messages(error), **errors}
