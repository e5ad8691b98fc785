"""Connections saved straight into a store, as the store's own tests need them (no provider behind)."""

from __future__ import annotations

from cers_core.settings import GroupOptions
from cers_core.store import SavedConnection, Store

__all__ = ["save_sis_connection"]


def save_sis_connection(store: Store, name: str = "District SIS") -> SavedConnection:
    """A OneRoster connection ``name`` to a provider nobody reaches (``sis.example.org``), secret ``s``."""
    return store.save_connection(
        name=name,
        settings={
            "base_url": "https://sis.example.org/v1p2",
            "token_url": "https://sis.example.org/t",
            "client_id": "c",
        },
        client_secret="s",
        options=GroupOptions(),
    )
