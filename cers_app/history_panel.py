"""The History page: every scheduled run, download and upload, what each changed in CERS school by school,
each school's groups and students over time, and the uploads the safety brake holds, which an
administrator can release after a look at what they change in CERS.

Charts are Altair's, as on the Coverage tab; names from the SIS appear only as chart text or grid
cells, and as Markdown only escaped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import altair as alt
import polars as pl
import streamlit as st

from cers_app.access import Role
from cers_app.cers_panels import show_diff
from cers_app.context import AppContext
from cers_app.demo import import_connections
from cers_app.history_frames import KINDS, counts_over_time, held_frame, matching, runs_frame, schools_frame
from cers_app.markup import escape_markdown
from cers_app.widgets import paged_grid
from cers_core.errors import CersError
from cers_core.history import changes_if_released
from cers_core.store import HeldFile, RosterConnection
from cers_core.sync import SyncContext, release_held

__all__ = ["show_history"]

_PERIODS = {7: "the last 7 days", 30: "the last 30 days", 90: "the last 90 days", 365: "the last year", 0: "all kept"}
_RELEASED = "hist_released"  # (kind, sentence) of the last release, shown once
# A person watches the page while CERS processes: two minutes, then "check later" (the batch is shown).
_APP_WAIT_SECONDS = 120.0
_LEGEND = alt.Legend(orient="bottom", direction="vertical", labelLimit=0, title=None)
_RUNS_SHOWN = 2_000


def show_history(ctx: AppContext) -> None:
    """The filters, the uploads held, the chart, the runs and what each did per school."""
    connections = {saved.id: saved for saved in ctx.store.roster_connections()}
    filters = st.columns([3, 3, 2, 2])
    chosen = filters[0].multiselect(
        "Connections",
        list(connections),
        key="hist_connections",
        format_func=lambda cid: connections[cid].name,
        placeholder="Every connection",
    )
    kinds = filters[1].multiselect("What", list(KINDS), key="hist_kinds", format_func=KINDS.get,
                                   placeholder="Runs, downloads and uploads")  # fmt: skip
    school = filters[2].text_input("School", key="hist_school", placeholder="Name or CDS code")
    days = filters[3].selectbox("Over", list(_PERIODS), key="hist_days", index=2, format_func=_PERIODS.get)
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    ids = chosen or list(connections)
    _held_uploads(ctx, [connections[cid] for cid in ids])
    runs = matching(ctx.store.runs(connection_ids=ids, kinds=kinds or None, since=since, limit=_RUNS_SHOWN), school)
    if not runs:
        st.info("No run, download or upload recorded for these choices.", icon=":material/history:")
        return
    st.subheader("Groups and students over time")
    _chart(counts_over_time(runs))
    st.subheader("Runs")
    st.caption("Newest first. A scheduled sync sends only the schools whose file changed since the last one sent.")
    paged_grid(runs_frame(runs), "hist_runs_page", "Runs")
    st.subheader("What each run did, school by school")
    st.caption(
        "The groups of each school's file that change in CERS, by kind of change, against the last file sent "
        "(or downloaded) before; empty where there was nothing to compare with."
    )
    paged_grid(schools_frame(runs), "hist_schools_page", "Schools")


def _chart(counts: pl.DataFrame) -> None:
    columns = st.columns(2)
    for column, measure in zip(columns, ("groups", "students"), strict=True):
        points = counts.filter(pl.col("measure") == measure).with_columns(pl.col("at").dt.replace_time_zone("UTC"))
        chart = (
            alt.Chart(points)
            .mark_line(point=True)
            .encode(
                x=alt.X("at:T", title="when (UTC)", scale=alt.Scale(type="utc")),
                y=alt.Y("value:Q", title=measure, axis=alt.Axis(tickMinStep=1)),
                color=alt.Color("school:N", legend=_LEGEND),
                tooltip=[alt.Tooltip("at:T", title="when", format="%Y-%m-%d %H:%M"), "school:N",
                         alt.Tooltip("value:Q", title=measure)],
            )
            .properties(height=260)
        )  # fmt: skip
        column.altair_chart(chart, width="stretch")


def _held_uploads(ctx: AppContext, connections: list[RosterConnection]) -> None:
    """Each connection's held uploads: why, what releasing one changes in CERS, and the button."""
    released = st.session_state.pop(_RELEASED, None)
    if released is not None:
        (st.success if released[0] == "success" else st.error)(escape_markdown(released[1]))
    may_release = ctx.visitor.may(Role.administrator)
    for saved in connections:
        held = ctx.store.held_files(saved.id)
        if not held:
            continue
        st.subheader(f"Held uploads: {escape_markdown(saved.name)}")
        st.warning(
            "The safety brake held these schools' files: they shrink more than a roster does in a week, which is "
            "most often a problem in the SIS. CERS still has what was sent before. Look at what each changes in "
            "CERS; release it only if the change is real.",
            icon=":material/front_hand:",
        )
        st.dataframe(held_frame(held), hide_index=True, key=f"held_{saved.id}")
        if not may_release:
            st.caption("Only administrators release held uploads.")
        for item in held:
            _held_upload(ctx, saved, item, may_release=may_release)


def _held_upload(ctx: AppContext, saved: RosterConnection, item: HeldFile, *, may_release: bool) -> None:
    key = f"held_{saved.id}_{item.school}"
    with st.expander(f"What changes in CERS if {escape_markdown(item.school_name)} ({item.school}) is released"):
        try:
            diff = changes_if_released(ctx.store, item)
        except CersError as error:
            st.warning(f"The file last sent could not be compared: {escape_markdown(error)}")
            diff = None
        if diff is None:
            st.caption("No file of this school was sent from here before: everything in it is new to CERS.")
        else:
            show_diff(diff, key)
        if st.button("Release and send to CERS", key=f"release_{saved.id}_{item.school}", type="primary",
                     icon=":material/cloud_upload:", disabled=not may_release):  # fmt: skip
            with st.spinner(f"Sending {escape_markdown(item.school_name)}'s file to CERS…"):
                st.session_state[_RELEASED] = _release(ctx, saved, item)
            st.rerun()


def _release(ctx: AppContext, saved: RosterConnection, item: HeldFile) -> tuple[str, str]:
    import_connections(ctx.store, ctx.demo)  # the demo's fake CERS moves with each start of the app
    try:
        done = release_held(ctx.store, saved, [item.school], who=ctx.visitor.who,
                            context=SyncContext(upload_wait=_APP_WAIT_SECONDS))  # fmt: skip
    except CersError as error:
        return "error", str(error)
    return ("success" if done.exit_code == 0 else "error"), done.summary
