"""Home: what the tool does, the three steps of the flow, and the demo district."""

import streamlit as st

from cers_app import context, frames
from cers_app import demo as app_demo
from cers_app.access import Role
from cers_core.store import KeySource

ctx = context.setup("Home")
administrator = ctx.visitor.may(Role.administrator)

st.title("CERS Section Groups")
st.write(
    "Turn your district's OneRoster 1.2 class rosters into **section group** files for the "
    "California Educator Reporting System (CERS), so that teachers see their own students' "
    "CAASPP and ELPAC results. Check each file here, then upload it in CERS."
)

if ctx.key_source is KeySource.generated:
    st.warning(
        f"Client Secrets are encrypted with a key this app generated in `{context.data_folder()}`. "
        "A deployment should set its own: the `CERS_SECRET_KEY` environment variable, or "
        "`[cers] secret_key` in `.streamlit/secrets.toml` (see `.streamlit/secrets.toml.example`).",
        icon=":material/key:",
    )

steps = st.columns(3)
with steps[0], st.container(border=True):
    st.markdown("**1. Add an application**")
    st.caption("Add CERS_int in the Digital Learning Applications Configuration.")
    if administrator:
        st.page_link("pages/1_Applications.py", label="Applications", icon=":material/apps:")
with steps[1], st.container(border=True):
    st.markdown("**2. Add a CERS connection**")
    st.caption("Connect to your SIS's OneRoster 1.2 API and choose how groups are named.")
    if administrator:
        st.page_link("pages/2_CERS_Connections.py", label="CERS Connections", icon=":material/link:")
with steps[2], st.container(border=True):
    st.markdown("**3. Download section groups**")
    st.caption("Pick a school, check the preview and the problems, download the CSV.")
    st.page_link("pages/3_Section_Groups.py", label="Section Groups", icon=":material/download:")

if ctx.demo is not None and administrator:
    st.subheader("No SIS at hand?")
    st.write(
        "The demo district runs inside this app and answers like a real OneRoster 1.2 provider "
        "(over real HTTP), with made-up schools, teachers and students; or, the same district, as the "
        "OneRoster CSV bundle a SIS exports."
    )
    tries = st.container(horizontal=True)
    if tries.button("Try the demo district", key="try_demo", type="primary", icon=":material/school:"):
        app_demo.create_demo_connection(ctx.store, ctx.demo)
        st.switch_page("pages/2_CERS_Connections.py")
    if tries.button("Try the demo district as a CSV bundle", key="try_demo_bundle", icon=":material/folder_zip:"):
        app_demo.create_demo_bundle_connection(ctx.store, ctx.demo, context.data_folder())
        st.switch_page("pages/2_CERS_Connections.py")

downloads = ctx.store.downloads(limit=20)
if downloads:
    st.subheader("Recent downloads")
    st.caption(
        "What left the app: when, who let it, from which connection and school, how many rows, the file's SHA-256."
    )
    st.dataframe(frames.download_log_frame(downloads), hide_index=True)
