"""CERS Connections: the OneRoster 1.2 connections of CERS_int, and the "Edit OneRoster Connection" form;
the CERS import (RDW API) connections that send files to CERS, and their form."""

import streamlit as st

from cers_core import app_cers, app_support
from cers_core.errors import CersError
from cers_core.settings import ClassTypes, GroupNameField
from cers_core.store import CERS_APP_ID, ConnectionInvalid

NEW = "new"
ONEROSTER, CERS_IMPORT = "OneRoster 1.2", "CERS import (RDW API)"

ctx = app_support.setup("CERS Connections")
st.session_state.setdefault("conns_choosing_type", False)
st.session_state.setdefault("conns_editing", None)  # None, NEW, or a connection id
st.session_state.setdefault("conns_confirm_delete", None)
st.session_state.setdefault("conns_test_result", None)
st.session_state.setdefault("conns_notice", None)
st.session_state.setdefault("conns_editing_import", None)  # None, NEW, or an import connection id
st.session_state.setdefault("conns_import_test_result", None)

st.title("CERS Connections")
st.caption("How this tool reaches your SIS's OneRoster 1.2 API, and how it names the groups it sends to CERS.")


@app_support.guarded
def _start_editing(connection_id: int | str) -> None:
    saved = None if connection_id == NEW else ctx.store.connection(int(connection_id))
    app_support.load_form(saved)
    st.session_state.conns_editing = connection_id
    st.session_state.conns_choosing_type = False
    st.session_state.conns_test_result = None


def _stop_editing() -> None:
    st.session_state.conns_editing = None
    st.session_state.conns_test_result = None


def _editing_id() -> int | None:
    editing = st.session_state.conns_editing
    return None if editing in (None, NEW) else int(editing)


@app_support.guarded
def _save() -> None:
    saved = app_support.save_form(ctx, _editing_id())
    if saved is not None:
        st.session_state.conns_notice = f"Saved “{saved.name}”."
        _stop_editing()


def _test() -> None:
    try:
        count = app_support.test_connection(ctx, _editing_id())
        st.session_state.conns_test_result = ("success", f"Connected: the provider lists {count} schools.")
    except ConnectionInvalid:
        st.session_state.conns_test_result = ("error", "Fix the fields marked above, then test again.")
    except CersError as error:
        st.session_state.conns_test_result = ("error", str(error))


@app_support.guarded
def _try_demo() -> None:
    saved = app_support.create_demo_connection(ctx)
    st.session_state.conns_notice = f"“{saved.name}” is ready: open Section Groups to preview its schools."


@app_support.guarded
def _delete(connection_id: int) -> None:
    ctx.store.delete_connection(connection_id)
    st.session_state.conns_confirm_delete = None
    if st.session_state.conns_editing == connection_id:
        _stop_editing()


def _open_section_groups(connection_id: int) -> None:
    st.session_state.sg_connection = connection_id


@st.dialog("Add CERS Connection")
def _choose_type() -> None:
    st.radio("Connection type", [ONEROSTER, CERS_IMPORT], key="conns_type")
    st.caption("The first reads the class rosters from your SIS; the second sends the group files to CERS.")
    st.button("Generate", key="generate_connection", type="primary", on_click=_generate)
    if NEW in (st.session_state.conns_editing, st.session_state.conns_editing_import):
        st.rerun()


def _generate() -> None:
    if st.session_state.get("conns_type") == CERS_IMPORT:
        _start_import_editing(NEW)
    else:
        _start_editing(NEW)


@app_support.guarded
def _start_import_editing(connection_id: int | str) -> None:
    saved = None if connection_id == NEW else ctx.store.import_connection(int(connection_id))
    app_cers.load_import_form(saved)
    st.session_state.conns_editing_import = connection_id
    st.session_state.conns_editing = None
    st.session_state.conns_choosing_type = False
    st.session_state.conns_import_test_result = None


def _stop_import_editing() -> None:
    st.session_state.conns_editing_import = None
    st.session_state.conns_import_test_result = None


def _import_editing_id() -> int | None:
    editing = st.session_state.conns_editing_import
    return None if editing in (None, NEW) else int(editing)


@app_support.guarded
def _save_import() -> None:
    saved = app_cers.save_import_form(ctx, _import_editing_id())
    if saved is not None:
        st.session_state.conns_notice = f"Saved “{saved.name}”."
        _stop_import_editing()


def _test_import() -> None:
    try:
        message = app_cers.test_import_form(ctx, _import_editing_id())
        st.session_state.conns_import_test_result = ("success", message)
    except ConnectionInvalid:
        st.session_state.conns_import_test_result = ("error", "Fix the fields marked above, then test again.")
    except CersError as error:
        st.session_state.conns_import_test_result = ("error", str(error))


def _import_field_error(name: str) -> None:
    message = app_cers.import_form_errors().get(name)
    if message:
        st.error(message, icon=":material/error:")


def _import_panel(editing_id: int | None) -> None:
    """The "Edit CERS import connection" form."""
    with st.container(border=True, key="import_edit_panel"):
        st.subheader("Edit CERS Import Connection")
        st.caption(
            "CERS's import service (the RDW API). Use the credentials generated in TOMS for SIS integration: "
            "a Client ID and Client Secret, or a user name and password (password grant)."
        )
        st.text_input("Connection name", key="imp_name", max_chars=100, placeholder="e.g. CERS")
        _import_field_error("name")
        st.text_input("Import URL", key="imp_import_url", placeholder="https://import.cers.example.org")
        _import_field_error("import_url")
        st.text_input("Token URL", key="imp_token_url", placeholder="https://sso.cers.example.org/oauth2/token")
        _import_field_error("token_url")
        left, right = st.columns(2)
        with left:
            st.text_input("Client ID", key="imp_client_id")
            _import_field_error("client_id")
            st.text_input("User name (password grant only)", key="imp_username")
            _import_field_error("username")
        with right:
            saved_hint = "Saved: leave blank to keep it" if editing_id else ""
            st.text_input(
                "Client Secret",
                key="imp_client_secret",
                type="password",
                placeholder=saved_hint,
                help="Stored encrypted; never shown again.",
            )
            _import_field_error("client_secret")
            st.text_input(
                "Password",
                key="imp_password",
                type="password",
                placeholder=saved_hint,
                help="Only with a user name. Stored encrypted; never shown again.",
            )
            _import_field_error("password")
        with st.expander("Advanced settings"):
            st.text_input("Scope", key="imp_scope", placeholder="e.g. openid profile (most services need none)")
            _import_field_error("scope")
        actions = st.container(horizontal=True)
        actions.button("Save", key="save_import", type="primary", icon=":material/save:", on_click=_save_import)
        actions.button("Test connection", key="test_import", icon=":material/network_check:", on_click=_test_import)
        actions.button("Cancel", key="cancel_import", on_click=_stop_import_editing)
        if app_cers.import_form_errors():
            st.error("The connection was not saved: fix the fields marked above.")
        result = st.session_state.conns_import_test_result
        if result:
            (st.success if result[0] == "success" else st.error)(result[1])


@app_support.guarded
def _delete_import(connection_id: int) -> None:
    ctx.store.delete_connection(connection_id)
    st.session_state.conns_confirm_delete = None
    if st.session_state.conns_editing_import == connection_id:
        _stop_import_editing()


if CERS_APP_ID not in ctx.store.applications():
    st.info("Add the CERS_int application first, or try the demo district, which adds it for you.")
    st.page_link("pages/1_Applications.py", label="Applications", icon=":material/apps:")

buttons = st.container(horizontal=True)
if buttons.button("Add CERS Connection", key="add_connection", type="primary", icon=":material/add:"):
    st.session_state.conns_choosing_type = True
if ctx.demo is not None:
    buttons.button("Try the demo district", key="try_demo", icon=":material/school:", on_click=_try_demo)
if (
    st.session_state.conns_choosing_type
    and st.session_state.conns_editing is None
    and st.session_state.conns_editing_import is None
):
    st.session_state.conns_choosing_type = False
    _choose_type()

if st.session_state.conns_notice:
    st.success(st.session_state.conns_notice)
    st.session_state.conns_notice = None


def _field_error(name: str) -> None:
    message = app_support.form_errors().get(name)
    if message:
        st.error(message, icon=":material/error:")


connections = ctx.store.connections()
if _editing_id() is not None and _editing_id() not in {saved.id for saved in connections}:
    _stop_editing()  # deleted in another window; the message above says so

if st.session_state.conns_editing is not None:
    editing_id = _editing_id()
    with st.container(border=True, key="edit_panel"):
        st.subheader("Edit OneRoster Connection")
        st.caption("Use the same values as in your CAASPP Configuration.")
        st.text_input("Connection name", key="conn_name", max_chars=100, placeholder="e.g. District SIS")
        _field_error("name")
        left, right = st.columns(2)
        with left:
            st.text_input("Client ID", key="conn_client_id")
            _field_error("client_id")
        with right:
            st.text_input(
                "Client Secret",
                key="conn_client_secret",
                type="password",
                placeholder="Saved: leave blank to keep it" if editing_id else "",
                help="Stored encrypted; never shown again.",
            )
            _field_error("client_secret")
        st.text_input(
            "Base URL", key="conn_base_url", placeholder="https://sis.example.org/ims/oneroster/rostering/v1p2"
        )
        _field_error("base_url")
        st.text_input("Token URL", key="conn_token_url", placeholder="https://sis.example.org/oauth2/token")
        _field_error("token_url")
        note = app_support.token_host_note()
        if note:
            st.info(note, icon=":material/info:")

        st.markdown("**Include in Group Name**")
        st.multiselect(
            "Fields, in the order they appear in the name",
            list(GroupNameField),
            key="conn_fields",
            format_func=lambda f: f.label,
        )
        _field_error("fields")
        st.text_input("Separator", key="conn_separator", max_chars=20)
        _field_error("separator")
        try:
            example, from_district = app_support.example_name(ctx, editing_id)
            source = (
                "from your district's data"
                if from_district
                else "from a sample section; test the connection to use yours"
            )
            st.markdown(f"Example group name: `{example}`  \n:gray[{source}]")
        except ConnectionInvalid:
            st.caption("Choose the fields above to see an example group name.")

        with st.expander("Advanced settings"):
            st.radio(
                "Teachers given access",
                [False, True],
                key="conn_primary_teachers_only",
                format_func=lambda primary: "Primary teachers only" if primary else "All teachers of the section",
                horizontal=True,
            )
            st.selectbox(
                "Class types that become groups",
                list(ClassTypes),
                key="conn_class_types",
                format_func=lambda t: {"all": "All", "scheduled": "Scheduled only", "homeroom": "Homeroom only"}[t],
            )
            st.radio(
                "Group subject",
                [False, True],
                key="conn_subject_from_course",
                format_func=lambda mapped: "ELA or Math from the section's subjects" if mapped else "All",
                horizontal=True,
            )
            st.checkbox("Split sections over 200 students into groups of at most 200", key="conn_split_large")
            st.text_input("userIds types that hold the SSID (comma-separated)", key="conn_ssid_types")
            _field_error("ssid_types")
            st.text_input("Scope", key="conn_scope")
            _field_error("scope")
            numbers = st.columns(2)
            numbers[0].number_input("Page size", key="conn_page_size", min_value=1, max_value=100_000, step=100)
            numbers[1].number_input("Requests at once", key="conn_max_concurrency", min_value=1, max_value=16)
            st.text_area(
                "CDS codes for schools whose identifier is not one",
                key="conn_cds_map",
                placeholder="school-sourcedId = 19647331930924",
                help="One school per line: its sourcedId, =, its 14-digit CDS code.",
            )
            _field_error("cds_map")

        actions = st.container(horizontal=True)
        actions.button("Save", key="save_connection", type="primary", icon=":material/save:", on_click=_save)
        actions.button("Test connection", key="test_connection", icon=":material/network_check:", on_click=_test)
        actions.button("Cancel", key="cancel_edit", on_click=_stop_editing)
        if editing_id is not None and actions.button(
            "School Selection",
            key="school_selection",
            icon=":material/download:",
            on_click=_open_section_groups,
            args=(editing_id,),
            help="Preview and download this connection's section groups (as saved).",
        ):
            st.switch_page("pages/3_Section_Groups.py")
        if app_support.form_errors():
            st.error("The connection was not saved: fix the fields marked above.")
        result = st.session_state.conns_test_result
        if result:
            (st.success if result[0] == "success" else st.error)(result[1])

if not connections and st.session_state.conns_editing is None:
    st.info("No CERS connection yet. Click **Add CERS Connection**, or try the demo district.")
for saved in connections:
    with st.expander(saved.name, expanded=len(connections) == 1, icon=":material/link:"):
        st.markdown(f"**OneRoster 1.2** · Base URL `{saved.base_url}` · Client ID `{saved.public['client_id']}`")
        fields = " + ".join(GroupNameField(f).label for f in saved.options.fields)
        st.caption(f"Group name: {fields} · last saved {saved.updated_at:%Y-%m-%d %H:%M} UTC")
        if app_support.is_demo(ctx, saved) and ctx.demo is not None:
            st.info(
                "Demo credentials (not secret: the demo district is made up and runs inside this app):  \n"
                f"Client ID `{ctx.demo.client_id}` · Client Secret `{ctx.demo.client_secret}`  \n"
                f"Base URL `{ctx.demo.base_url}`  \nToken URL `{ctx.demo.token_url}`"
            )
        row = st.container(horizontal=True)
        row.button("Edit", key=f"edit_{saved.id}", icon=":material/edit:", on_click=_start_editing, args=(saved.id,))
        if row.button(
            "Section Groups",
            key=f"groups_{saved.id}",
            icon=":material/download:",
            type="primary",
            on_click=_open_section_groups,
            args=(saved.id,),
        ):
            st.switch_page("pages/3_Section_Groups.py")
        if st.session_state.conns_confirm_delete == saved.id:
            st.warning(f"Delete “{saved.name}” and its saved secret? This cannot be undone.")
            confirm = st.container(horizontal=True)
            confirm.button(
                "Yes, delete", key=f"confirm_delete_{saved.id}", type="primary", on_click=_delete, args=(saved.id,)
            )
            confirm.button(
                "Cancel",
                key=f"cancel_delete_{saved.id}",
                on_click=st.session_state.update,
                kwargs={"conns_confirm_delete": None},
            )
        else:
            row.button(
                "Delete",
                key=f"delete_{saved.id}",
                icon=":material/delete:",
                on_click=st.session_state.update,
                kwargs={"conns_confirm_delete": saved.id},
            )

imports = app_cers.import_connections(ctx)
if _import_editing_id() is not None and _import_editing_id() not in {saved.id for saved in imports}:
    _stop_import_editing()  # deleted in another window
if st.session_state.conns_editing_import is not None:
    _import_panel(_import_editing_id())
for target in imports:
    with st.expander(target.name, expanded=len(imports) == 1, icon=":material/cloud_upload:"):
        who = f"user name `{target.public['username']}`" if target.public.get("username") else "client credentials"
        st.markdown(
            f"**CERS import (RDW API)** · Import URL `{target.import_url}` · Client ID `{target.public['client_id']}`"
            f" · {who}"
        )
        st.caption(f"Sends files from Section Groups to CERS · last saved {target.updated_at:%Y-%m-%d %H:%M} UTC")
        if app_cers.is_demo_import(ctx, target):
            credentials = " · ".join(f"{k} `{v}`" for k, v in app_cers.demo_import_credentials().items())
            st.info(f"The demo's fake CERS import service (made up, runs inside this app):  \n{credentials}")
        row = st.container(horizontal=True)
        row.button(
            "Edit",
            key=f"edit_import_{target.id}",
            icon=":material/edit:",
            on_click=_start_import_editing,
            args=(target.id,),
        )
        if st.session_state.conns_confirm_delete == f"import_{target.id}":
            st.warning(f"Delete “{target.name}” and its saved secrets? This cannot be undone.")
            confirm = st.container(horizontal=True)
            confirm.button(
                "Yes, delete",
                key=f"confirm_delete_import_{target.id}",
                type="primary",
                on_click=_delete_import,
                args=(target.id,),
            )
            confirm.button(
                "Cancel",
                key=f"cancel_delete_import_{target.id}",
                on_click=st.session_state.update,
                kwargs={"conns_confirm_delete": None},
            )
        else:
            row.button(
                "Delete",
                key=f"delete_import_{target.id}",
                icon=":material/delete:",
                on_click=st.session_state.update,
                kwargs={"conns_confirm_delete": f"import_{target.id}"},
            )
