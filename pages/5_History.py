"""History: every scheduled run, download and upload, what each changed in CERS, the counts over time,
and the uploads the safety brake holds (released by an administrator)."""

import streamlit as st

from cers_app import context, history_panel

ctx = context.setup("History")
st.title("History")
st.caption(
    "What was sent to CERS and downloaded, by whom and when, and what it changed; the nightly sync "
    "(`python -m cers_core sync`) records its runs here too."
)
history_panel.show_history(ctx)
