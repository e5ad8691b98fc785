"""Connections saved straight into a store, as the store's and the app's tests need them (no service behind)."""

from __future__ import annotations

from cers_core.settings import GroupOptions
from cers_core.store import SavedConnection, SavedImportConnection, Store

__all__ = ["save_import_connection", "save_sis_connection"]


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


def save_import_connection(store: Store, name: str = "CERS") -> SavedImportConnection:
    """A CERS import connection ``name`` to a service nobody reaches (``import.example.org``), secret ``x``."""
    return store.save_import_connection(
        name=name,
        settings={
            "import_url": "https://import.example.org",
            "token_url": "https://sso.example.org/t",
            "client_id": "r",
        },
        client_secret="x",
        password=None,
    )
