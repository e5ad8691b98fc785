"""Section Groups: pick a connection and a school, check the groups and the problems, download the CSV."""

from datetime import date

import streamlit as st

from cers_app import cers_panels, context, frames, loading, progress, widgets
from cers_core import GroupExport, report_csv
from cers_core.errors import CersError

ONE_SCHOOL, DISTRICT = "One school", "Whole district"

ctx = context.setup("Section Groups")
st.title("Download a CERS Section Group")

connections = {saved.id: saved for saved in ctx.store.connections()}
if not connections:
    st.info("Add a CERS connection first (or try the demo district).")
    st.page_link("pages/2_CERS_Connections.py", label="CERS Connections", icon=":material/link:")
    st.stop()
if st.session_state.get("sg_connection") not in connections:
    st.session_state.sg_connection = next(iter(connections))
st.session_state.setdefault("sg_as_of", date.today())

top = st.columns([2, 1])
connection_id = top[0].selectbox(
    "CERS connection",
    list(connections),
    key="sg_connection",
    format_func=lambda cid: connections[cid].name,
)
as_of = top[1].date_input("Enrollments active on", key="sg_as_of", format="YYYY-MM-DD")
saved = connections[connection_id]

try:
    with st.spinner("Reading the district's schools…"):
        schools = loading.load_schools(ctx, saved)
except CersError as error:
    st.error(str(error), icon=":material/cloud_off:")
    st.stop()


def _show(export: GroupExport, label: str, key: str) -> None:
    """Metrics, preview, groups, problems and the download of one export."""
    summary = frames.export_summary(export)
    metrics = st.columns(4)
    for column, (name, value) in zip(metrics, summary.items(), strict=True):
        column.metric(name, f"{value:,}")
    preview, groups, problems = st.tabs(["Preview of the file", "Groups", f"Problems ({export.problems.height:,})"])
    with preview:
        st.caption("Exactly the rows the CSV holds, in file order.")
        widgets.paged_grid(export.rows, f"{key}_rows_page", "Rows")
    with groups:
        widgets.paged_grid(frames.group_summary(export), f"{key}_groups_page", "Groups")
    with problems:
        st.caption("Errors first: they make CERS reject the file. Warnings and notes explain who is left out and why.")
        report = frames.problem_report(export)
        widgets.paged_grid(report, f"{key}_problems_page", "Problems")
        st.download_button(
            "Download the problem report (CSV)",
            data=report_csv.problem_report_csv(report),
            file_name=export.file_name().replace("cers_section_groups_", "cers_problem_report_", 1),
            mime="text/csv",
            key=f"{key}_problems_download",
            icon=":material/download:",
            disabled=report.height == 0,
        )
    if not export.accepted:
        st.error(
            "CERS would reject this file, so it cannot be downloaded yet:  \n" + frames.rejection_reasons(export),
            icon=":material/block:",
        )
    cers_panels.show_changes(ctx, saved, export, key)
    st.download_button(
        "Download CSV",
        data=export.csv_bytes if export.accepted else b"",
        file_name=export.file_name(),
        mime="text/csv",
        key=f"{key}_download",
        type="primary",
        icon=":material/download:",
        disabled=not export.accepted,
        on_click=context.guarded(cers_panels.download_and_keep),
        args=(ctx, saved, label, export),
    )
    cers_panels.show_send(ctx, saved, export, label, key)


def _load(schools_wanted: tuple[str, ...] | None, label: str) -> GroupExport:
    status = st.status(f"Loading the rosters of {label}…", expanded=True)
    bar = status.progress(0.0, text="Getting a token and the first pages…")
    try:
        export = loading.load_section_groups(
            ctx,
            saved,
            schools=schools_wanted,
            as_of=as_of,
            show_progress=lambda snap: bar.progress(*progress.progress_summary(snap)),
        )
    except CersError as error:
        status.update(label=f"The rosters of {label} could not be loaded", state="error")
        st.error(str(error), icon=":material/cloud_off:")
        st.stop()
    status.update(label=f"Rosters of {label} loaded ({export.requests:,} requests).", state="complete", expanded=False)
    return export


st.subheader("School Selection")
scope = st.radio("Download for", [ONE_SCHOOL, DISTRICT], key="sg_scope", horizontal=True, label_visibility="collapsed")

if scope == ONE_SCHOOL:
    query = st.text_input("Search schools", key="sg_search", placeholder="Name or CDS code", icon=":material/search:")
    shown = frames.find_schools(schools, query)
    st.caption(f"{shown.height:,} of {schools.height:,} schools. Choose one in the table.")
    selected = st.dataframe(
        shown.select(School="name", **{"CDS code": "cds"}),
        key="sg_schools",
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        height=min(400, 38 + 35 * max(shown.height, 1)),
    ).selection.rows
    if selected and selected[0] < shown.height:
        school = shown.row(selected[0], named=True)
        st.subheader(school["name"])
        if school["cds"] is None:
            st.warning("This school has no CDS code: set one in the connection's advanced settings.")
        _show(_load((school["sourced_id"],), school["name"]), school["name"], "school")
else:
    st.caption("Every school in one file, ordered by school.")
    prepared = st.session_state.get("sg_district") == connection_id
    if prepared or st.button("Prepare the district-wide file", key="sg_prepare_district"):
        st.session_state.sg_district = connection_id
        _show(_load(None, "the whole district"), "district", "district")

st.subheader("What's next")
st.markdown(
    "1. Save the file where you keep CERS uploads; it holds student identifiers, so treat it as confidential.\n"
    "2. Sign in to CERS and open the student groups upload (see the CERS user guide for your role).\n"
    "3. Upload the file. CERS replaces the members of every group the file names, so upload one file per school "
    "(or the district file) rather than a part of one.\n\n"
    "Follow the instructions from CERS and/or the CDE for manually uploading the section group CSV to CERS. "
    "With a CERS import (RDW API) connection, **Send to CERS** above does steps 2 and 3 for you."
)
