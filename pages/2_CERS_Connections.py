"""CERS Connections: the OneRoster 1.2 connections of CERS_int, and the "Edit OneRoster Connection" form
(which also edits a OneRoster CSV bundle connection); the CERS import (RDW API) connections that send
files to CERS, and their form."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cers_app import context, form_drafts, group_sets_panel, import_form, oneroster_form, widgets
from cers_app import demo as app_demo
from cers_app.access import Role
from cers_app.bundle_panel import allowed_folders_text
from cers_app.context import AppContext
from cers_app.markup import escape_markdown, inline_code
from cers_core.errors import CersError
from cers_core.settings import GroupNameField
from cers_core.store import CERS_APP_ID, ConnectionInvalid, SavedBundleConnection, Store
from cers_core.wording import count

NEW = "new"
ONEROSTER, CSV_BUNDLE, CERS_IMPORT = "OneRoster 1.2", "OneRoster CSV bundle", "CERS import (RDW API)"

ctx = context.setup("CERS Connections", role=Role.administrator)
st.session_state.setdefault("conns_choosing_type", False)
st.session_state.setdefault("conns_editing", None)  # None, NEW, or a connection id
st.session_state.setdefault("conns_confirm_delete", None)
st.session_state.setdefault("conns_test_result", None)
st.session_state.setdefault("conns_notice", None)  # (kind, Markdown) shown once: success, warning or info
st.session_state.setdefault("conns_last_action", {})  # by form: "save" or "test", what its field messages are from
st.session_state.setdefault("conns_editing_import", None)  # None, NEW, or an import connection id
st.session_state.setdefault("conns_import_test_result", None)

st.title("CERS Connections")
st.caption(
    "How this tool reads your SIS's class rosters (its OneRoster 1.2 API, or the OneRoster CSV files it exports), "
    "and how it names the groups it sends to CERS."
)


def _test_oneroster(ctx: AppContext, connection_id: int | None) -> str:
    if oneroster_form.is_bundle_form():
        return oneroster_form.test_bundle_form(ctx, connection_id)
    schools = oneroster_form.test_connection(ctx, connection_id)
    return f"Connected: the provider lists {count(schools, 'school')}."


@dataclass(frozen=True, slots=True)
class _Form:
    """One kind of connection and its form: the session-state keys, the buttons' keys, and how the
    form is filled from a saved connection, saved, tested, and where its fields' messages are."""

    name: str  # in the URL of a draft (see cers_app.form_drafts)
    editing_key: str  # in st.session_state: None, NEW, or the id of the connection being edited
    result_key: str  # in st.session_state: the last "Test connection" result, (kind, message, fields tested)
    keys: tuple[str, ...]  # the widget keys of its fields
    secret_keys: tuple[str, ...]  # those of its secrets (never kept in a draft)
    button_keys: tuple[str, str, str]  # Save, Test connection, Cancel
    fetch: Callable[[Store, int], Any]  # the saved connection, from the store
    load: Callable[[Any], None]
    save: Callable[[AppContext, int | None], Any]
    test: Callable[[AppContext, int | None], str]  # the message when the test works
    errors: Callable[[], dict[str, str]]
    closes: str | None = None  # the other form's editing key, closed when this form opens


ONEROSTER_FORM = _Form(
    name="oneroster",
    editing_key="conns_editing",
    result_key="conns_test_result",
    keys=tuple(oneroster_form.FORM_KEYS.values()),
    secret_keys=(oneroster_form.FORM_KEYS["client_secret"],),
    button_keys=("save_connection", "test_connection", "cancel_edit"),
    fetch=oneroster_form.saved_for_form,
    load=oneroster_form.load_form,
    save=oneroster_form.save_form,
    test=_test_oneroster,
    errors=oneroster_form.form_errors,
)
IMPORT_FORM = _Form(
    name="import",
    editing_key="conns_editing_import",
    result_key="conns_import_test_result",
    keys=tuple(import_form.IMPORT_FORM_KEYS.values()),
    secret_keys=(import_form.IMPORT_FORM_KEYS["client_secret"], import_form.IMPORT_FORM_KEYS["password"]),
    button_keys=("save_import", "test_import", "cancel_import"),
    fetch=Store.import_connection,
    load=import_form.load_import_form,
    save=import_form.save_import_form,
    test=import_form.test_import_form,
    errors=import_form.import_form_errors,
    closes=ONEROSTER_FORM.editing_key,  # (opening the OneRoster form leaves this one open)
)


@context.guarded
def _start_editing(form: _Form, connection_id: int | str) -> None:
    saved = None if connection_id == NEW else form.fetch(ctx.store, int(connection_id))
    form.load(saved)
    st.session_state[form.editing_key] = connection_id
    if form.closes is not None:
        st.session_state[form.closes] = None
    st.session_state.conns_choosing_type = False
    st.session_state[form.result_key] = None


def _stop_editing(form: _Form) -> None:
    st.session_state[form.editing_key] = None
    st.session_state[form.result_key] = None
    form_drafts.drop_draft()


def _fields_now(form: _Form) -> str:
    """A digest of the form's fields as they are (secrets included, never kept in the clear)."""
    values = repr([st.session_state.get(key) for key in form.keys])
    return hashlib.sha256(values.encode()).hexdigest()


def _editing_id(form: _Form) -> int | None:
    editing = st.session_state[form.editing_key]
    return None if editing in (None, NEW) else int(editing)


@context.guarded
def _save(form: _Form) -> None:
    st.session_state.conns_last_action[form.name] = "save"
    tested = st.session_state[form.result_key]
    fields = _fields_now(form)
    saved = form.save(ctx, _editing_id(form))
    if saved is None:
        return
    name = escape_markdown(saved.name)
    if tested is not None and tested[0] == "error":
        since = " (with the fields as they were then)" if tested[2] != fields else ""
        st.session_state.conns_notice = (
            "warning",
            f"Saved “{name}”, but its last test failed{since}: {escape_markdown(tested[1])} "
            "Test it again before using it.",
        )
    elif tested is None or tested[2] != fields:
        st.session_state.conns_notice = ("success", f"Saved “{name}”. It was not tested as saved: test it to be sure.")
    else:
        st.session_state.conns_notice = ("success", f"Saved “{name}”.")
    _stop_editing(form)


def _test(form: _Form) -> None:
    st.session_state.conns_last_action[form.name] = "test"
    fields = _fields_now(form)
    try:
        st.session_state[form.result_key] = ("success", form.test(ctx, _editing_id(form)), fields)
    except ConnectionInvalid:
        st.session_state[form.result_key] = ("error", "Fix the fields marked above, then test again.", fields)
    except CersError as error:
        st.session_state[form.result_key] = ("error", str(error), fields)


@context.guarded
def _delete(form: _Form, connection_id: int) -> None:
    ctx.store.delete_connection(connection_id)
    st.session_state.conns_confirm_delete = None
    if st.session_state[form.editing_key] == connection_id:
        _stop_editing(form)


def _stop_editing_if_deleted(form: _Form, saved_ids: set[int]) -> None:
    """Close a form whose connection was deleted in another window."""
    if _editing_id(form) is not None and _editing_id(form) not in saved_ids:
        _stop_editing(form)


def _field_error(form: _Form, name: str) -> None:
    message = form.errors().get(name)
    if message:
        st.error(escape_markdown(message), icon=":material/error:")


def _form_actions(form: _Form) -> DeltaGenerator:
    """The form's Save, Test connection and Cancel buttons, in a row that has room for more."""
    save, test, cancel = form.button_keys
    actions = st.container(horizontal=True)
    actions.button("Save", key=save, type="primary", icon=":material/save:", on_click=_save, args=(form,))
    actions.button("Test connection", key=test, icon=":material/network_check:", on_click=_test, args=(form,))
    actions.button("Cancel", key=cancel, on_click=_stop_editing, args=(form,))
    return actions


def _form_outcome(form: _Form) -> None:
    """Below the buttons: why the last Save did not save, or the last Test could not test, and the
    last test's result. The form's fields are kept across a reload of the page, its secrets are not."""
    if form.errors() and st.session_state.conns_last_action.get(form.name) == "save":
        st.error("The connection was not saved: fix the fields marked above.")
    result = st.session_state[form.result_key]
    if result:
        (st.success if result[0] == "success" else st.error)(escape_markdown(result[1]))
    st.caption("What you type here is kept if the page is reloaded, except secrets: those must be typed again.")
    form_drafts.keep_draft(
        form.name,
        str(st.session_state[form.editing_key]),
        [key for key in form.keys if key not in form.secret_keys],
    )


def _edit_button(form: _Form, saved_id: int, *, key: str, place: DeltaGenerator) -> None:
    """A saved connection's Edit button; ``key`` names it (``edit_<key>``)."""
    place.button("Edit", key=f"edit_{key}", icon=":material/edit:", on_click=_start_editing, args=(form, saved_id))


def _delete_button(
    form: _Form, saved_id: int, *, key: str, asking: int | str, question: str, place: DeltaGenerator
) -> None:
    """A saved connection's Delete button, asking first; ``key`` names the buttons (``delete_<key>``,
    ``confirm_delete_<key>``, ``cancel_delete_<key>``), ``asking`` marks the connection asked about."""
    widgets.ask_first_button(
        "Delete",
        key,
        state_key="conns_confirm_delete",
        asking=asking,
        question=question,
        on_confirm=_delete,
        args=(form, saved_id),
        place=place,
    )


@context.guarded
def _try_demo() -> None:
    saved = app_demo.create_demo_connection(ctx.store, ctx.demo)
    st.session_state.conns_notice = (
        "success",
        f"“{escape_markdown(saved.name)}” is ready: open Section Groups to preview its schools.",
    )


def _open_section_groups(connection_id: int) -> None:
    st.switch_page("pages/3_Section_Groups.py", query_params={"connection": str(connection_id)})


@context.guarded
def _try_demo_bundle() -> None:
    saved = app_demo.create_demo_bundle_connection(ctx.store, ctx.demo, context.data_folder())
    st.session_state.conns_notice = (
        "success",
        f"“{escape_markdown(saved.name)}” is ready: the demo district written as a OneRoster CSV bundle. "
        "Open Section Groups to preview its schools.",
    )


@st.dialog("Add CERS Connection")
def _choose_type() -> None:
    st.radio("Connection type", [ONEROSTER, CSV_BUNDLE, CERS_IMPORT], key="conns_type")
    st.caption(
        "The first two read the class rosters from your SIS: over its OneRoster API, or from the OneRoster CSV "
        "files it exports. The third sends the group files to CERS."
    )
    st.button("Generate", key="generate_connection", type="primary", on_click=_generate)
    if NEW in (st.session_state.conns_editing, st.session_state.conns_editing_import):
        st.rerun()


def _generate() -> None:
    if st.session_state.get("conns_type") == CERS_IMPORT:
        _start_editing(IMPORT_FORM, NEW)
    else:
        _start_editing(ONEROSTER_FORM, NEW)
        if st.session_state.get("conns_type") == CSV_BUNDLE:
            st.session_state[oneroster_form.FORM_KEYS["source"]] = oneroster_form.CSV_BUNDLE


def _import_panel(editing_id: int | None) -> None:
    """The "Edit CERS import connection" form."""
    with st.container(border=True, key="import_edit_panel"):
        st.subheader("Edit CERS Import Connection")
        st.caption(
            "CERS's import service (the RDW API). Use the credentials generated in TOMS for SIS integration: "
            "a Client ID and Client Secret, or a user name and password (password grant)."
        )
        st.text_input("Connection name", key="imp_name", max_chars=100, placeholder="e.g. CERS")
        _field_error(IMPORT_FORM, "name")
        st.text_input("Import URL", key="imp_import_url", placeholder="https://import.cers.example.org")
        _field_error(IMPORT_FORM, "import_url")
        st.text_input("Token URL", key="imp_token_url", placeholder="https://sso.cers.example.org/oauth2/token")
        _field_error(IMPORT_FORM, "token_url")
        left, right = st.columns(2)
        with left:
            st.text_input("Client ID", key="imp_client_id")
            _field_error(IMPORT_FORM, "client_id")
            st.text_input("User name (password grant only)", key="imp_username")
            _field_error(IMPORT_FORM, "username")
        with right:
            saved_hint = "Saved: leave blank to keep it" if editing_id else ""
            st.text_input(
                "Client Secret",
                key="imp_client_secret",
                type="password",
                placeholder=saved_hint,
                help="Stored encrypted; never shown again.",
            )
            _field_error(IMPORT_FORM, "client_secret")
            st.text_input(
                "Password",
                key="imp_password",
                type="password",
                placeholder=saved_hint,
                help="Only with a user name. Stored encrypted; never shown again.",
            )
            _field_error(IMPORT_FORM, "password")
        moved = import_form.secret_origin_note(ctx, editing_id)
        if moved:
            st.warning(escape_markdown(moved), icon=":material/key_off:")
        with st.expander("Advanced settings"):
            st.text_input("Scope", key="imp_scope", placeholder="e.g. openid profile (most services need none)")
            _field_error(IMPORT_FORM, "scope")
        _form_actions(IMPORT_FORM)
        _form_outcome(IMPORT_FORM)


if CERS_APP_ID not in ctx.store.applications():
    st.info("Add the CERS_int application first, or try the demo district, which adds it for you.")
    st.page_link("pages/1_Applications.py", label="Applications", icon=":material/apps:")

buttons = st.container(horizontal=True)
if buttons.button("Add CERS Connection", key="add_connection", type="primary", icon=":material/add:"):
    st.session_state.conns_choosing_type = True
if ctx.demo is not None:
    buttons.button("Try the demo district", key="try_demo", icon=":material/school:", on_click=_try_demo)
    buttons.button(
        "Try the demo district as a CSV bundle",
        key="try_demo_bundle",
        icon=":material/folder_zip:",
        on_click=_try_demo_bundle,
    )
if (
    st.session_state.conns_choosing_type
    and st.session_state.conns_editing is None
    and st.session_state.conns_editing_import is None
):
    st.session_state.conns_choosing_type = False
    _choose_type()

draft = form_drafts.restored_draft()
if draft is not None and st.session_state.conns_editing is None and st.session_state.conns_editing_import is None:
    form = ONEROSTER_FORM if draft.form == ONEROSTER_FORM.name else IMPORT_FORM
    _start_editing(form, NEW if draft.editing == NEW else int(draft.editing))
    if st.session_state[form.editing_key] is not None:
        st.session_state.update(draft.values)
        st.session_state.conns_notice = (
            "info",
            "Restored what you typed before the page was reloaded. Secrets are never kept: type the "
            + ("Client Secret" if form is ONEROSTER_FORM else "Client Secret or password")
            + " again.",
        )

if st.session_state.conns_notice:
    kind, text = st.session_state.conns_notice
    {"success": st.success, "warning": st.warning, "info": st.info}[kind](text)
    st.session_state.conns_notice = None


connections = ctx.store.roster_connections()
_stop_editing_if_deleted(ONEROSTER_FORM, {saved.id for saved in connections})  # the message above says so


def _provider_fields(editing_id: int | None) -> None:
    """A OneRoster provider's address and credentials."""
    left, right = st.columns(2)
    with left:
        st.text_input("Client ID", key="conn_client_id")
        _field_error(ONEROSTER_FORM, "client_id")
    with right:
        st.text_input(
            "Client Secret",
            key="conn_client_secret",
            type="password",
            placeholder="Saved: leave blank to keep it" if editing_id else "",
            help="Stored encrypted; never shown again.",
        )
        _field_error(ONEROSTER_FORM, "client_secret")
    st.text_input("Base URL", key="conn_base_url", placeholder="https://sis.example.org/ims/oneroster/rostering/v1p2")
    _field_error(ONEROSTER_FORM, "base_url")
    st.text_input("Token URL", key="conn_token_url", placeholder="https://sis.example.org/oauth2/token")
    _field_error(ONEROSTER_FORM, "token_url")
    note = oneroster_form.token_host_note()
    if note:
        st.info(escape_markdown(note), icon=":material/info:")
    moved = oneroster_form.secret_origin_note(ctx, editing_id)
    if moved:
        st.warning(escape_markdown(moved), icon=":material/key_off:")


def _bundle_path_field() -> None:
    """A CSV bundle connection's one setting of its own: where on the server its bundle is, if anywhere."""
    st.text_input(
        "Path on the server (optional)",
        key="conn_path",
        placeholder="/srv/sis-exports/oneroster.zip",
        help="A folder or .zip file that a nightly job refreshes; the app only reads it. Leave it blank to "
        "upload the zip on the Section Groups page instead.",
    )
    _field_error(ONEROSTER_FORM, "path")
    st.caption(f"The app may read bundles on the server only in: {allowed_folders_text(ctx)}.")


if st.session_state.conns_editing is not None:
    editing_id = _editing_id(ONEROSTER_FORM)
    bundle_form = oneroster_form.is_bundle_form()
    with st.container(border=True, key="edit_panel"):
        st.subheader("Edit OneRoster CSV Bundle Connection" if bundle_form else "Edit OneRoster Connection")
        st.caption(
            "The OneRoster 1.1 or 1.2 CSV files your SIS exports (a zip, or a folder of them)."
            if bundle_form
            else "Use the same values as in your CAASPP Configuration."
        )
        st.text_input("Connection name", key="conn_name", max_chars=100, placeholder="e.g. District SIS")
        _field_error(ONEROSTER_FORM, "name")
        if bundle_form:
            _bundle_path_field()
        else:
            _provider_fields(editing_id)

        st.markdown("**Include in Group Name**")
        st.multiselect(
            "Fields, in the order they appear in the name",
            list(GroupNameField),
            key="conn_fields",
            format_func=lambda f: f.label,
        )
        _field_error(ONEROSTER_FORM, "fields")
        st.text_input("Separator", key="conn_separator", max_chars=20)
        _field_error(ONEROSTER_FORM, "separator")
        try:
            example, from_district = oneroster_form.example_name(ctx, editing_id)
            source = (
                "from your district's data"
                if from_district
                else "from a sample section"
                if bundle_form
                else "from a sample section; test the connection to use yours"
            )
            st.markdown(f"Example group name: {inline_code(example)}  \n:gray[{source}]")
        except ConnectionInvalid:
            st.caption("Choose the fields above to see an example group name.")

        with st.expander("Advanced settings"):
            widgets.teachers_choice("conn_primary_teachers_only")
            widgets.class_types_choice("Class types that become groups", "conn_class_types")
            widgets.subject_choice("conn_subject_from_course")
            st.checkbox("Split sections over 200 students into groups of at most 200", key="conn_split_large")
            st.text_input("userIds types that hold the SSID (comma-separated)", key="conn_ssid_types")
            _field_error(ONEROSTER_FORM, "ssid_types")
            if not bundle_form:
                st.text_input("Scope", key="conn_scope")
                _field_error(ONEROSTER_FORM, "scope")
                numbers = st.columns(2)
                numbers[0].number_input("Page size", key="conn_page_size", min_value=1, max_value=100_000, step=100)
                numbers[1].number_input("Requests at once", key="conn_max_concurrency", min_value=1, max_value=16)
            st.text_area(
                "CDS codes for schools whose identifier is not one",
                key="conn_cds_map",
                placeholder="school-sourcedId = 19647331930924",
                help="One school per line: its sourcedId, =, its 14-digit CDS code.",
            )
            _field_error(ONEROSTER_FORM, "cds_map")

        actions = _form_actions(ONEROSTER_FORM)
        if editing_id is not None and actions.button(
            "School Selection",
            key="school_selection",
            icon=":material/download:",
            help="Preview and download this connection's section groups (as saved).",
        ):
            _open_section_groups(editing_id)
        _form_outcome(ONEROSTER_FORM)

if not connections and st.session_state.conns_editing is None:
    st.info("No CERS connection yet. Click **Add CERS Connection**, or try the demo district.")
for saved in connections:
    bundled = isinstance(saved, SavedBundleConnection)
    icon = ":material/folder_zip:" if bundled else ":material/link:"
    with st.expander(escape_markdown(saved.name), expanded=len(connections) == 1, icon=icon):
        if isinstance(saved, SavedBundleConnection):
            path = saved.settings.path
            where = f"read on the server at {inline_code(path)}" if path else "uploaded on Section Groups"
            st.markdown(f"**OneRoster CSV bundle** · {where}")
        else:
            st.markdown(
                f"**OneRoster 1.2** · Base URL {inline_code(saved.settings.base_url)} · "
                f"Client ID {inline_code(saved.settings.client_id)}"
            )
        fields = " + ".join(GroupNameField(f).label for f in saved.options.fields)
        st.caption(f"Group name: {fields} · last saved {saved.updated_at:%Y-%m-%d %H:%M} UTC")
        if not bundled and app_demo.is_demo(saved, ctx.demo) and ctx.demo is not None:
            st.info(
                "Demo credentials (not secret: the demo district is made up and runs inside this app):  \n"
                f"Client ID `{ctx.demo.client_id}` · Client Secret `{ctx.demo.client_secret}`  \n"
                f"Base URL `{ctx.demo.base_url}`  \nToken URL `{ctx.demo.token_url}`"
            )
        row = st.container(horizontal=True)
        _edit_button(ONEROSTER_FORM, saved.id, key=str(saved.id), place=row)
        if row.button("Section Groups", key=f"groups_{saved.id}", icon=":material/download:", type="primary"):
            _open_section_groups(saved.id)
        what = "" if bundled else " and its saved secret"
        question = f"Delete “{escape_markdown(saved.name)}”{what}? This cannot be undone."
        _delete_button(ONEROSTER_FORM, saved.id, key=str(saved.id), asking=saved.id, question=question, place=row)
        group_sets_panel.show_group_sets(ctx, saved)
        group_sets_panel.show_sync_target(ctx, saved)

imports = app_demo.import_connections(ctx.store, ctx.demo)
_stop_editing_if_deleted(IMPORT_FORM, {saved.id for saved in imports})
if st.session_state.conns_editing_import is not None:
    _import_panel(_editing_id(IMPORT_FORM))
for target in imports:
    with st.expander(escape_markdown(target.name), expanded=len(imports) == 1, icon=":material/cloud_upload:"):
        public = target.settings
        who = f"user name {inline_code(public.username)}" if public.username else "client credentials"
        st.markdown(
            f"**CERS import (RDW API)** · Import URL {inline_code(public.import_url)} · "
            f"Client ID {inline_code(public.client_id)} · {who}"
        )
        st.caption(f"Sends files from Section Groups to CERS · last saved {target.updated_at:%Y-%m-%d %H:%M} UTC")
        if app_demo.is_demo_import(target, ctx.demo):
            credentials = " · ".join(f"{k} `{v}`" for k, v in app_demo.demo_import_credentials().items())
            st.info(f"The demo's fake CERS import service (made up, runs inside this app):  \n{credentials}")
        row = st.container(horizontal=True)
        _edit_button(IMPORT_FORM, target.id, key=f"import_{target.id}", place=row)
        question = f"Delete “{escape_markdown(target.name)}” and its saved secrets? This cannot be undone."
        _delete_button(
            IMPORT_FORM,
            target.id,
            key=f"import_{target.id}",
            asking=f"import_{target.id}",
            question=question,
            place=row,
        )
