"""The Coverage tab: at a glance, who will not see results in CERS, and why.

The numbers come from ``cers_core.coverage`` (the command line prints the same); the charts are
Altair's, which Streamlit ships. Names from the SIS only ever appear as chart text or grid cells,
never as Markdown.
"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from cers_app.frames import coverage_frame, not_in_group_frame
from cers_app.widgets import paged_grid
from cers_core import GroupExport
from cers_core.coverage import MAX_STUDENTS, group_sizes, problems_by_kind, reasons_left_out, school_coverage

__all__ = ["show_coverage"]

_SEVERITY_COLOURS = alt.Scale(domain=["error", "warning", "info"], range=["#d62728", "#ff9f0e", "#9e9e9e"])
_LEGEND = alt.Legend(orient="bottom", direction="vertical", labelLimit=0, title=None)
_LABELS = alt.Axis(labelLimit=320)


def show_coverage(export: GroupExport, key: str) -> None:
    """The coverage of an export: the totals, who is in no group and why, group sizes against
    CERS's limit, problems by kind, and (for several schools) one row per school."""
    schools = school_coverage(export)
    totals = {name: int(schools[name].sum()) for name in schools.columns if schools[name].dtype.is_integer()}
    numbers = st.columns(4)
    numbers[0].metric(
        "Students in no group", f"{totals['students_in_no_group']:,}", help="Enrolled on the day, in no group."
    )
    numbers[1].metric("Students enrolled", f"{totals['students']:,}")
    numbers[2].metric("Teachers in no group", f"{totals['teachers_in_no_group']:,}")
    numbers[3].metric("Groups without a teacher", f"{totals['groups_without_teacher']:,}")
    st.caption(
        "A teacher sees in CERS the results of the students in their groups: a student in no group is seen by "
        "no teacher, a teacher in no group sees nobody, and a group without a teacher is seen by administrators only."
    )
    st.markdown("**Who is in no group, and why**")
    _reasons_chart(export, several=schools.height > 1)
    st.markdown(f"**Group sizes** (CERS takes at most {MAX_STUDENTS} students in a group)")
    _sizes_chart(export)
    st.markdown("**Problems by kind**")
    _problems_chart(export)
    if schools.height > 1:
        st.markdown("**By school**")
        st.dataframe(coverage_frame(export), hide_index=True, key=f"{key}_coverage_schools", placeholder="none")
    people = not_in_group_frame(export)
    if people.height:
        st.markdown("**Everyone in no group**")
        paged_grid(people, f"{key}_not_in_group_page", "People")


def _reasons_chart(export: GroupExport, *, several: bool) -> None:
    reasons = reasons_left_out(export)
    if reasons.height == 0:
        st.caption("Every student and teacher enrolled on the day is in a group.")
        return
    people = alt.X("people:Q", title="people", axis=alt.Axis(tickMinStep=1))
    tooltip = ["school:N", "role:N", "why:N", "people:Q"]
    if several:
        chart = (
            alt.Chart(reasons)
            .mark_bar()
            .encode(
                y=alt.Y("school:N", title=None, axis=_LABELS),
                x=people,
                color=alt.Color("why:N", legend=_LEGEND),
                tooltip=tooltip,
            )
        )
    else:
        chart = (
            alt.Chart(reasons)
            .mark_bar()
            .encode(
                y=alt.Y("why:N", title=None, sort="-x", axis=_LABELS),
                x=people,
                color=alt.Color("role:N", legend=_LEGEND),
                tooltip=tooltip,
            )
        )
    st.altair_chart(chart.properties(height=alt.Step(28)), width="stretch")


def _sizes_chart(export: GroupExport) -> None:
    sizes = group_sizes(export).with_columns(end=pl.col("high") + 1)
    bars = (
        alt.Chart(sizes)
        .mark_bar()
        .encode(
            x=alt.X("low:Q", title="students in the group", bin="binned"),
            x2="end:Q",
            y=alt.Y("groups:Q", title="groups", axis=alt.Axis(tickMinStep=1)),
            tooltip=[alt.Tooltip("low:Q", title="from"), alt.Tooltip("high:Q", title="to"), "groups:Q"],
        )
    )
    limit = pl.DataFrame({"limit": [MAX_STUDENTS + 0.5], "label": [f"CERS's limit: {MAX_STUDENTS}"]})
    rule = alt.Chart(limit).mark_rule(color="#d62728", strokeDash=[4, 3], strokeWidth=2).encode(x="limit:Q")
    label = (
        alt.Chart(limit)
        .mark_text(align="right", dx=-4, dy=8, color="#d62728")
        .encode(x="limit:Q", y=alt.value(0), text="label:N")
    )
    st.altair_chart(alt.layer(bars, rule, label).properties(height=260), width="stretch")


def _problems_chart(export: GroupExport) -> None:
    kinds = problems_by_kind(export)
    if kinds.height == 0:
        st.caption("No problems.")
        return
    chart = (
        alt.Chart(kinds)
        .mark_bar()
        .encode(
            y=alt.Y("code:N", title=None, sort=None, axis=_LABELS),
            x=alt.X("problems:Q", title="problems", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("severity:N", scale=_SEVERITY_COLOURS, legend=_LEGEND),
            tooltip=["severity:N", "code:N", "problems:Q"],
        )
    )
    st.altair_chart(chart.properties(height=alt.Step(24)), width="stretch")
