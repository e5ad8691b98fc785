"""The "Edit CERS Import Connection" form's controller: its widgets' values to and from the store,
Save, and Test connection (a token and a batch listing; nothing is sent)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from cers_app.context import AppContext
from cers_core.cers_import import check_import_connection
from cers_core.settings import CersImportPublic, CersImportSettings, moved_urls, secret_moved_message
from cers_core.store import ConnectionInvalid, SavedImportConnection

__all__ = [
    "IMPORT_FORM_KEYS",
    "import_form_errors",
    "load_import_form",
    "save_import_form",
    "secret_origin_note",
    "test_import_form",
]

IMPORT_FORM_KEYS: dict[str, str] = {
    name: f"imp_{name}"
    for name in ("name", "import_url", "token_url", "client_id", "client_secret", "username", "password", "scope")
}
_PUBLIC_FIELDS = tuple(CersImportPublic.model_fields)
_ERRORS_KEY = "imp_errors"


def load_import_form(saved: SavedImportConnection | None) -> None:
    """Fill the form's widgets from a saved connection (or blanks); secrets stay blank."""
    settings = saved.settings.model_dump() if saved else dict.fromkeys(_PUBLIC_FIELDS, "")
    st.session_state[IMPORT_FORM_KEYS["name"]] = saved.name if saved else ""
    for name in _PUBLIC_FIELDS:
        st.session_state[IMPORT_FORM_KEYS[name]] = settings[name]
    st.session_state[IMPORT_FORM_KEYS["client_secret"]] = ""
    st.session_state[IMPORT_FORM_KEYS["password"]] = ""
    st.session_state[_ERRORS_KEY] = {}


def _form(name: str) -> str:
    return str(st.session_state.get(IMPORT_FORM_KEYS[name]) or "")


def import_form_errors() -> dict[str, str]:
    """Messages to show beside the form's fields, by field name, from the last Save or Test."""
    return dict(st.session_state.get(_ERRORS_KEY, {}))


def _form_fields() -> dict[str, Any]:
    return {
        "name": _form("name"),
        "settings": {name: _form(name) for name in _PUBLIC_FIELDS},
        "client_secret": _form("client_secret"),
        "password": _form("password"),
    }


def save_import_form(ctx: AppContext, connection_id: int | None) -> SavedImportConnection | None:
    """Validate every field and save; on a problem keep each field's message for the form, save nothing."""
    try:
        saved = ctx.store.save_import_connection(connection_id=connection_id, **_form_fields())
    except ConnectionInvalid as invalid:
        st.session_state[_ERRORS_KEY] = invalid.field_errors
        return None
    st.session_state[_ERRORS_KEY] = {}
    st.session_state[IMPORT_FORM_KEYS["client_secret"]] = ""
    st.session_state[IMPORT_FORM_KEYS["password"]] = ""
    return saved


def secret_origin_note(ctx: AppContext, connection_id: int | None) -> str | None:
    """Why the saved secrets will not be used, when the form's URLs now point to another server
    than when they were saved and their boxes are blank (``resolve_secret``'s rule)."""
    if connection_id is None:
        return None
    saved = ctx.store.import_connection(connection_id)
    moved = moved_urls(
        {"Import URL": _form("import_url"), "Token URL": _form("token_url")},
        {"Import URL": saved.settings.import_url, "Token URL": saved.settings.token_url},
    )
    dropped = [
        label
        for label, name, kept in (("Client Secret", "client_secret", saved.has_client_secret),
                                  ("password", "password", saved.has_password))
        if kept and not _form(name).strip()
    ]  # fmt: skip
    return secret_moved_message(moved, " and the ".join(dropped)) if moved and dropped else None


def _form_settings(ctx: AppContext, connection_id: int | None) -> CersImportSettings:
    """The form's settings, a blank secret when editing meaning the saved one; ``ConnectionInvalid``
    (its messages kept for the form) when a field is not usable."""
    fields = _form_fields()
    del fields["name"]  # a test does not need one
    try:
        return ctx.store.resolve_import_settings(connection_id=connection_id, **fields)
    except ConnectionInvalid as invalid:
        st.session_state[_ERRORS_KEY] = invalid.field_errors
        raise


def test_import_form(ctx: AppContext, connection_id: int | None) -> str:
    """Get a token and list an unused batch with the form's settings; nothing is sent.

    Raises ``ConnectionInvalid`` for fields to fix, an ``UploadError`` when CERS says no.
    """
    settings = _form_settings(ctx, connection_id)
    st.session_state[_ERRORS_KEY] = {}
    return check_import_connection(settings)
