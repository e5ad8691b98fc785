"""The "Edit OneRoster Connection" form's controller: its widgets' values to and from the store,
Save, Test connection, and the example group name.

The widgets live in ``st.session_state`` under ``FORM_KEYS``; the page draws them, this module
reads and fills them. Messages for the fields (from the last Save or Test) are kept by field name.

The same form edits a OneRoster CSV bundle connection (``source`` is ``CSV_BUNDLE``): the group
name and advanced choices are the same; instead of a provider's address and credentials, it has
the path on the server of the bundle a nightly job refreshes (none: it is uploaded on Section
Groups), which must lie where the deployment lets the app read (``CERS_BUNDLE_FOLDERS``).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import streamlit as st
from pydantic import ValidationError

from cers_app.context import AppContext
from cers_app.loading import QUICK_CHECK, fetch_school_roster
from cers_app.session import session_data
from cers_core import ExportContext, example_group_name, list_bundle_schools, list_schools
from cers_core.errors import CersError, SettingsError
from cers_core.oneroster_csv.server_bundle import server_bundle_path
from cers_core.settings import (
    ClassTypes,
    GroupOptions,
    OneRosterPublic,
    OneRosterSettings,
    moved_urls,
    secret_moved_message,
)
from cers_core.store import (
    ConnectionInvalid,
    ConnectionNotFound,
    RosterConnection,
    SavedBundleConnection,
    SavedConnection,
    Store,
    field_messages,
)
from cers_core.wording import count

__all__ = [
    "CSV_BUNDLE",
    "FORM_KEYS",
    "PROVIDER",
    "example_name",
    "form_errors",
    "form_settings",
    "group_options_from_form",
    "is_bundle_form",
    "load_form",
    "save_form",
    "saved_for_form",
    "secret_origin_note",
    "test_bundle_form",
    "test_connection",
    "token_host_note",
]

# The form's widget keys, by the field they edit (settings, options, or the name).
FORM_KEYS: dict[str, str] = {
    name: f"conn_{name}"
    for name in (
        "name",
        "client_id",
        "client_secret",
        "base_url",
        "token_url",
        "scope",
        "page_size",
        "max_concurrency",
        "fields",
        "separator",
        "class_types",
        "primary_teachers_only",
        "subject_from_course",
        "ssid_types",
        "cds_map",
        "split_large",
        "source",
        "path",
    )
}
PROVIDER, CSV_BUNDLE = "provider", "csv_bundle"
"""What the form edits (``FORM_KEYS["source"]``): a OneRoster provider's connection, or a CSV bundle's."""
_OPTION_FIELDS = frozenset(GroupOptions.model_fields)
_SETTINGS_FIELDS = tuple(OneRosterPublic.model_fields)
# A new connection's form: the settings' defaults, blanks where a value is required.
_NEW_SETTINGS: dict[str, Any] = {
    name: "" if info.is_required() else info.default for name, info in OneRosterPublic.model_fields.items()
}
_ERRORS_KEY = "conn_errors"


def saved_for_form(store: Store, connection_id: int) -> RosterConnection:
    """The saved connection of that id the form edits, whichever of the two kinds it is."""
    try:
        return store.connection(connection_id)
    except ConnectionNotFound:
        return store.bundle_connection(connection_id)


def load_form(saved: RosterConnection | None, *, source: str = PROVIDER) -> None:
    """Fill the form's widgets from a saved connection (or defaults, for a new one of ``source``);
    the secret field stays blank."""
    options = saved.options if saved else GroupOptions()
    settings = saved.settings.model_dump() if isinstance(saved, SavedConnection) else _NEW_SETTINGS
    bundle = saved.settings.path if isinstance(saved, SavedBundleConnection) else None
    if saved is not None:
        source = CSV_BUNDLE if isinstance(saved, SavedBundleConnection) else PROVIDER
    values: dict[str, Any] = {
        "source": source,
        "path": bundle or "",
        "name": saved.name if saved else "",
        **{name: settings[name] for name in _SETTINGS_FIELDS},
        "client_secret": "",
        "fields": list(options.fields),
        "separator": options.separator,
        "class_types": options.class_types,
        "primary_teachers_only": options.primary_teachers_only,
        "subject_from_course": options.subject_from_course,
        "ssid_types": ", ".join(options.ssid_types),
        "cds_map": "\n".join(f"{school} = {cds}" for school, cds in options.cds_map.items()),
        "split_large": options.split_large,
    }
    for name, value in values.items():
        st.session_state[FORM_KEYS[name]] = value
    st.session_state[_ERRORS_KEY] = {}


def _form(name: str) -> Any:
    return st.session_state.get(FORM_KEYS[name])


def is_bundle_form() -> bool:
    """Whether the form edits a OneRoster CSV bundle connection."""
    return _form("source") == CSV_BUNDLE


def form_errors() -> dict[str, str]:
    """Messages to show beside the form's fields, by field name, from the last Save or Test."""
    return dict(st.session_state.get(_ERRORS_KEY, {}))


def _parse_cds_map(text: str) -> dict[str, str]:
    """``sourcedId = CDS`` per line (``:`` or a comma also separate); blank lines are skipped."""
    mapping: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        for separator in ("=", ":", ","):
            if separator in line:
                school, cds = line.split(separator, 1)
                mapping[school.strip()] = cds.strip()
                break
        else:
            raise ValueError(f"Line {number}: write the school's sourcedId, then =, then its 14-digit CDS code.")
    return mapping


def group_options_from_form() -> GroupOptions:
    """The form's "Include in Group Name" and advanced choices as ``GroupOptions``.

    Raises ``ConnectionInvalid`` whose ``field_errors`` name the fields to fix.
    """
    try:
        cds_map = _parse_cds_map(_form("cds_map") or "")
    except ValueError as error:
        raise ConnectionInvalid({"cds_map": str(error)}) from None
    try:
        return GroupOptions(
            fields=tuple(_form("fields") or ()),
            separator=_form("separator") or "",
            class_types=_form("class_types") or ClassTypes.all,
            primary_teachers_only=bool(_form("primary_teachers_only")),
            subject_from_course=bool(_form("subject_from_course")),
            ssid_types=tuple((_form("ssid_types") or "").split(",")),
            cds_map=cds_map,
            split_large=bool(_form("split_large")),
        )
    except ValidationError as error:
        raise ConnectionInvalid(field_messages(error)) from None


def _public_from_form() -> dict[str, Any]:
    return {name: _form(name) for name in _SETTINGS_FIELDS}


def token_host_note() -> str | None:
    """A note when the form's Token URL is on another host than its Base URL: allowed, but worth a look."""
    base, token = (urlsplit(str(_form(name) or "").strip()).hostname for name in ("base_url", "token_url"))
    if base and token and base != token:
        return (
            f"The Token URL is on {token}, not on the Base URL's host {base}. That is allowed; check it is your SIS's."
        )
    return None


def secret_origin_note(ctx: AppContext, connection_id: int | None) -> str | None:
    """Why the saved Client Secret will not be used, when the form's URLs now point to another
    server than when it was saved and the secret box is blank (``resolve_secret``'s rule)."""
    if connection_id is None or str(_form("client_secret") or "").strip():
        return None
    saved = ctx.store.connection(connection_id).settings
    moved = moved_urls(
        {"Base URL": str(_form("base_url") or ""), "Token URL": str(_form("token_url") or "")},
        {"Base URL": saved.base_url, "Token URL": saved.token_url},
    )
    return secret_moved_message(moved, "Client Secret") if moved else None


def form_settings(ctx: AppContext, connection_id: int | None) -> OneRosterSettings:
    """The form's connection settings; a blank secret when editing means the saved one.

    Raises ``ConnectionInvalid`` with the fields to fix.
    """
    return ctx.store.resolve_settings(
        settings=_public_from_form(), client_secret=_form("client_secret"), connection_id=connection_id
    )


def save_form(ctx: AppContext, connection_id: int | None) -> RosterConnection | None:
    """Validate every field and save; on a problem, keep every field's message for the form and save nothing."""
    if is_bundle_form():
        return _save_bundle_form(ctx, connection_id)
    fields = {"name": _form("name") or "", "settings": _public_from_form(), "client_secret": _form("client_secret")}
    try:
        options = group_options_from_form()
        saved = ctx.store.save_connection(connection_id=connection_id, options=options, **fields)
    except ConnectionInvalid as invalid:
        errors = invalid.field_errors
        if not errors.keys().isdisjoint(_OPTION_FIELDS):
            # The options failed first: also say what is wrong with the connection fields.
            errors = {**ctx.store.check_connection(connection_id=connection_id, **fields), **errors}
        st.session_state[_ERRORS_KEY] = errors
        return None
    st.session_state[_ERRORS_KEY] = {}
    st.session_state[FORM_KEYS["client_secret"]] = ""
    return saved


def _bundle_path_errors(ctx: AppContext) -> dict[str, str]:
    """Why the app may not read the form's bundle path (empty when it may, or there is none)."""
    path = str(_form("path") or "").strip()
    try:
        if path:
            server_bundle_path(path, allowed=ctx.bundle_folders)
    except SettingsError as error:
        return {"path": str(error)}
    return {}


def _save_bundle_form(ctx: AppContext, connection_id: int | None) -> SavedBundleConnection | None:
    fields = {"name": _form("name") or "", "settings": {"path": _form("path") or None}}
    errors = ctx.store.check_bundle_connection(connection_id=connection_id, **fields)
    errors.update(_bundle_path_errors(ctx))
    try:
        options = group_options_from_form()
    except ConnectionInvalid as invalid:
        errors.update(invalid.field_errors)
    if errors:
        st.session_state[_ERRORS_KEY] = errors
        return None
    st.session_state[_ERRORS_KEY] = {}
    return ctx.store.save_bundle_connection(connection_id=connection_id, options=options, **fields)


def test_bundle_form(ctx: AppContext, connection_id: int | None) -> str:
    """Read the schools of the bundle at the form's path, saying how many there are. Raises
    ``ConnectionInvalid`` for a path the app may not read, ``InvalidBundle`` for a bundle with problems."""
    errors = _bundle_path_errors(ctx)
    st.session_state[_ERRORS_KEY] = errors
    if errors:
        raise ConnectionInvalid(errors)
    path = str(_form("path") or "").strip()
    if not path:
        return "Nothing to test here: without a path on the server, the zip is uploaded and checked on Section Groups."
    schools = list_bundle_schools(server_bundle_path(path, allowed=ctx.bundle_folders))
    return f"Read the bundle: it lists {count(schools.height, 'school')}."


def test_connection(ctx: AppContext, connection_id: int | None) -> int:
    """Get a token and count the district's schools with the form's settings.

    When it works, one school's rosters are read too, so that the example group name comes
    from the district's own data. Raises ``ConnectionInvalid`` for fields to fix, and a
    ``OneRosterError`` (its message is for the analyst) when the provider says no.
    """
    try:
        settings = form_settings(ctx, connection_id)
    except ConnectionInvalid as invalid:
        st.session_state[_ERRORS_KEY] = invalid.field_errors
        raise
    st.session_state[_ERRORS_KEY] = {}
    schools = list_schools(settings, context=ExportContext(retry=QUICK_CHECK))
    with_cds = schools.filter(pl.col("cds").is_not_null())
    if with_cds.height:
        try:
            roster = fetch_school_roster(settings, with_cds["sourced_id"][0])
        except CersError:
            pass  # the connection works; the example just stays on the sample section
        else:
            session_data().example_rosters[_example_key(ctx, connection_id, settings)] = roster
    return schools.height


def _example_key(
    ctx: AppContext, connection_id: int | None, settings: OneRosterSettings
) -> tuple[int | None, str, str]:
    """Where the rosters read with the form's settings are kept: by the connection as saved (its
    version, which any save changes, a new secret included) and the form's settings as typed."""
    version = ctx.store.connection(connection_id).version if connection_id is not None else ""
    return connection_id, version, settings.fingerprint()


def example_name(ctx: AppContext, connection_id: int | None) -> tuple[str, bool]:
    """The group name the form's choices give, and whether it comes from the district's data.

    From the rosters read by the last successful "Test connection" of these settings, else
    from the built-in sample. Raises ``ConnectionInvalid`` when the choices are not usable.
    """
    options = group_options_from_form()
    try:
        roster = (
            None  # a bundle's rosters are read whole: the sample will do
            if is_bundle_form()
            else session_data().example_rosters.get(_example_key(ctx, connection_id, form_settings(ctx, connection_id)))
        )
    except CersError:  # fields still being typed, or the connection is gone: the sample will do
        roster = None
    if roster is not None:
        name = example_group_name(options, roster, as_of=date.today())
        if name:
            return name, True
    return example_group_name(options), False
