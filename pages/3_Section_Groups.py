"""Section Groups: pick a connection and a school (or the whole district), check the groups, who is
left out and the problems, download the CSV or send it to CERS. The view lives in the URL. A OneRoster
CSV bundle connection reads its bundle on the server, or a zip uploaded here."""

from typing import NoReturn

import polars as pl
import streamlit as st

from cers_app import (
    bundle_panel,
    cers_panels,
    context,
    coverage_panel,
    frames,
    group_sets_panel,
    loading,
    progress,
    quick_fixes,
    widgets,
)
from cers_app.groups_view import DISTRICT, KEYS, ONE_SCHOOL, remember_view, restore_view
from cers_app.markup import escape_markdown
from cers_app.school_choice import choose_school
from cers_core import GroupExport, report_csv
from cers_core.cers_csv import Verdict
from cers_core.errors import CersError, InvalidBundle
from cers_core.store import SavedBundleConnection
from cers_core.wording import count

ctx = context.setup("Section Groups")
st.title("Download a CERS Section Group")

# The file's own columns, each readable within the 820 pixels the page has at a width of 1280.
PREVIEW_COLUMNS = {
    "group_name": st.column_config.TextColumn(width=200),
    "school_natural_id": st.column_config.TextColumn(width=122),
    "school_year": st.column_config.NumberColumn(width=88, format="plain"),
    "subject_code": st.column_config.TextColumn(width=96),
    "student_ssid": st.column_config.TextColumn(width=94),
    "group_user_login": st.column_config.TextColumn(width=216),
}
SPLIT_CODES = ("group_over_200", "group_split")

connections = {
    saved.id: saved
    for saved in sorted([*ctx.store.connections(), *ctx.store.bundle_connections()], key=lambda c: c.name.casefold())
}
if not connections:
    st.info("Add a CERS connection first (or try the demo district).")
    st.page_link("pages/2_CERS_Connections.py", label="CERS Connections", icon=":material/link:")
    st.stop()
restore_view(connections)


def stop() -> NoReturn:
    remember_view()
    st.stop()


def _forget_school() -> None:
    st.session_state[KEYS["school"]] = None


top = st.columns([2, 1])
connection_id = top[0].selectbox(
    "CERS connection",
    list(connections),
    key=KEYS["connection"],
    format_func=lambda cid: connections[cid].name,
    on_change=_forget_school,
)
as_of = top[1].date_input("Enrollments active on", key=KEYS["day"], format="YYYY-MM-DD")
saved = connections[connection_id]
group_sets_panel.show_group_sets_note(ctx, saved)
bundle = bundle_panel.choose_bundle(ctx, saved) if isinstance(saved, SavedBundleConnection) else None
if isinstance(saved, SavedBundleConnection) and bundle is None:
    stop()

try:
    if isinstance(saved, SavedBundleConnection) and bundle is not None:
        with st.spinner("Reading the bundle's schools…"):
            schools = loading.load_bundle_schools(saved, bundle)
    else:
        with st.spinner("Reading the district's schools…"):
            schools = loading.load_schools(ctx, saved)
except InvalidBundle as error:
    bundle_panel.show_bundle_problems(error, "sg_bundle_problems")
    stop()
except CersError as error:
    st.error(escape_markdown(error), icon=":material/cloud_off:")
    stop()


def _show(export: GroupExport, label: str, key: str) -> None:
    """Metrics, the verdict, preview, groups, problems, coverage, what changes, download and send."""
    summary = frames.export_summary(export)
    metrics = st.columns(4)
    for column, (name, value) in zip(metrics, summary.items(), strict=True):
        column.metric(name, f"{value:,}")
    _verdict(export, key)
    if export.bundle is not None:
        bundle_panel.show_bundle_warnings(export.bundle, f"{key}_bundle_warnings")
    preview, groups, problems, coverage = st.tabs(
        ["Preview of the file", "Groups", f"Problems ({export.problems.height:,})", "Coverage"]
    )
    with preview:
        st.caption("Exactly the rows the CSV holds, in file order.")
        widgets.paged_grid(export.rows, f"{key}_rows_page", "Rows", column_config=PREVIEW_COLUMNS)
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
    with coverage:
        coverage_panel.show_coverage(export, key)
    cers_panels.show_changes(ctx, saved, export, key)
    st.download_button(
        "Download CSV",
        data=export.csv_bytes if export.file_accepted else b"",
        file_name=export.file_name(),
        mime="text/csv",
        key=f"{key}_download",
        type="primary",
        icon=":material/download:",
        disabled=not export.file_accepted,
        on_click=context.guarded(cers_panels.download_and_keep),
        args=(ctx, saved, label, export),
    )
    if export.file_accepted and export.schools_left_out.height:
        st.caption("The file holds the schools that could be exported; those left out above are not in it.")
    cers_panels.show_send(ctx, saved, export, label, key)


def _verdict(export: GroupExport, key: str) -> None:
    """What CERS would say of the file, in one of three verdicts; the schools left out, each with a
    box for its CDS code; the switch that splits large sections, beside the message that needs it."""
    left_out = export.schools_left_out
    verdict = export.validation.verdict
    if export.groups.height == 0:
        if left_out.height == 0:
            st.info("No groups: no section has students enrolled on this day.", icon=":material/event_busy:")
    elif verdict is Verdict.rejected:
        reasons = "\n".join(f"- {escape_markdown(reason)}" for reason in frames.rejection_reasons(export))
        st.error(f"**{verdict.headline}**, so it cannot be downloaded yet:\n\n{reasons}", icon=":material/block:")
    elif verdict is Verdict.not_as_meant:
        reasons = "\n".join(f"- {escape_markdown(reason)}" for reason in frames.rejection_reasons(export))
        st.error(
            f"**{verdict.headline}**: what it would store differs from what the file means.\n\n{reasons}",
            icon=":material/report:",
        )
    else:
        holds = f" It holds {count(export.schools.height - left_out.height, 'school')}." if left_out.height else ""
        st.success(f"**{verdict.headline}.**{holds}", icon=":material/check_circle:")
    if export.problems["code"].is_in(SPLIT_CODES).any():
        quick_fixes.split_switch(ctx, saved, key)
    if left_out.height:
        what = "this file" if export.groups.height else "the file"
        st.warning(
            f"{count(left_out.height, 'school')} left out of {what}: no CDS code (its identifier in the SIS is not "
            "one). Enter the CDS code below, or in the connection's advanced settings.",
            icon=":material/domain_disabled:",
        )
        quick_fixes.cds_inputs(ctx, saved, left_out)


def _load(schools_wanted: tuple[str, ...] | None, label: str) -> GroupExport:
    status = st.status(f"Loading the rosters of {escape_markdown(label)}…", expanded=True)
    if bundle is not None:  # read from a file: nothing to count while it runs
        status.write("Reading the OneRoster CSV bundle…")
    bar = status.progress(0.0, text="Getting a token and the first pages…") if bundle is None else None
    try:
        export = loading.load_section_groups(
            ctx,
            saved,
            schools=schools_wanted,
            as_of=as_of,
            show_progress=lambda snap: bar.progress(*progress.progress_summary(snap)) if bar is not None else None,
            bundle=bundle,
        )
    except InvalidBundle as error:
        status.update(label=f"The bundle cannot be used for {escape_markdown(label)}", state="error")
        bundle_panel.show_bundle_problems(error, "sg_bundle_problems")
        stop()
    except CersError as error:
        status.update(label=f"The rosters of {escape_markdown(label)} could not be loaded", state="error")
        st.error(escape_markdown(error), icon=":material/cloud_off:")
        stop()
    status.update(
        label=f"Rosters of {escape_markdown(label)} loaded ({export.read_from}).", state="complete", expanded=False
    )
    return export


st.subheader("School Selection")
scope = st.radio(
    "Download for", [ONE_SCHOOL, DISTRICT], key=KEYS["mode"], horizontal=True, label_visibility="collapsed"
)

if scope == ONE_SCHOOL:
    query = st.text_input("Search schools", key="sg_search", placeholder="Name or CDS code", icon=":material/search:")
    chosen = choose_school(schools, chosen=st.session_state[KEYS["school"]], query=query)
    if chosen is not None and chosen not in schools["sourced_id"]:
        st.info(
            f"The school chosen before (sourcedId {escape_markdown(chosen)}) is not one of this connection's "
            "schools: choose one in the table.",
            icon=":material/info:",
        )
        chosen = None
    st.session_state[KEYS["school"]] = chosen
    remember_view()
    if chosen is not None:
        name = schools.filter(pl.col("sourced_id") == chosen)["name"][0]
        st.subheader(escape_markdown(name), anchor=False)
        _show(_load((chosen,), name), name, "school")
else:
    remember_view()
    st.caption("Every school in one file, ordered by school.")
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
