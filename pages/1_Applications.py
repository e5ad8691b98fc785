"""Applications: the applications added so far, and "Add Application" to browse the catalogue."""

import streamlit as st

from cers_app import context, widgets
from cers_app.access import Role
from cers_core.applications import browse, get_application
from cers_core.store import CERS_APP_ID
from cers_core.wording import count

ctx = context.setup("Applications", role=Role.administrator)
st.session_state.setdefault("apps_browsing", False)
st.session_state.setdefault("apps_just_added", None)
st.session_state.setdefault("apps_confirm_remove", None)

st.title("Digital Learning Applications Configuration")
st.caption("The applications your district uses with its rosters. Add CERS_int to send section groups to CERS.")


def _open_browser() -> None:
    st.session_state.apps_browsing = True
    st.session_state.apps_just_added = None


def _close_browser() -> None:
    st.session_state.apps_browsing = False
    st.session_state.apps_just_added = None


@context.guarded
def _add(app_id: str) -> None:
    ctx.store.add_application(app_id)
    st.session_state.apps_just_added = app_id


@context.guarded
def _remove(app_id: str) -> None:
    ctx.store.remove_application(app_id)
    st.session_state.apps_confirm_remove = None


st.button("Add Application", key="add_application", type="primary", icon=":material/add:", on_click=_open_browser)

if st.session_state.apps_browsing:
    with st.container(border=True, key="browse_panel"):
        st.subheader("Browse Applications")
        added = set(ctx.store.applications())
        query = st.text_input(
            "Search applications", key="app_search", placeholder="e.g. CERS", icon=":material/search:"
        )
        found = browse(query)
        if not found:
            st.info("No application matches that search.")
        for app in found:
            row = st.columns([5, 1], vertical_alignment="center")
            row[0].markdown(f"**{app.name}**  \n{app.description}")
            if app.app_id in added:
                row[1].button("Added", key=f"select_{app.app_id}", disabled=True)
            elif app.available:
                row[1].button("Select", key=f"select_{app.app_id}", type="primary", on_click=_add, args=(app.app_id,))
            else:
                row[1].button("Select", key=f"select_{app.app_id}", disabled=True, help="Not set up in this tool.")
        just_added = st.session_state.apps_just_added
        if just_added:
            st.success(f"{get_application(just_added).name} has been added, but there is no connection to CERS yet.")
        actions = st.container(horizontal=True)
        actions.button("Close", key="close_browse", on_click=_close_browser)
        if just_added == CERS_APP_ID and actions.button("Add CERS Connection", key="go_add_connection", type="primary"):
            _close_browser()
            st.session_state.conns_choosing_type = True
            st.switch_page("pages/2_CERS_Connections.py")

added = ctx.store.applications()
if not added:
    st.info("No application added yet. Click **Add Application** and choose **CERS_int**.")
for app_id in added:
    app = get_application(app_id)
    connections = ctx.store.connections(app_id)
    with st.container(border=True, key=f"app_card_{app_id}"):
        st.subheader(app.name)
        st.write(app.description)
        with st.expander(f"CERS Connections ({len(connections)})", expanded=bool(connections)):
            for saved in connections:
                st.markdown(f"**{saved.name}** · `{saved.settings.base_url}`")
            if not connections:
                st.caption("No connection yet.")
            st.page_link("pages/2_CERS_Connections.py", label="Manage CERS Connections", icon=":material/link:")
        widgets.ask_first_button(
            "Remove",
            app_id,
            state_key="apps_confirm_remove",
            asking=app_id,
            question=(
                f"Remove {app.name}? Its {count(len(connections), 'connection')} and their saved secrets are "
                "deleted too; the download log stays."
            ),
            on_confirm=_remove,
            args=(app_id,),
        )
