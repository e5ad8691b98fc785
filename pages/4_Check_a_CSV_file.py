"""Check a CSV file: any CERS group file, however it was made, judged as CERS would, with fixes."""

import streamlit as st

from cers_app import context
from cers_app.cers_panels import show_diff
from cers_app.check_file import check_uploaded_file, parse_schools, parse_years
from cers_app.frames import findings_frame
from cers_app.markup import escape_markdown
from cers_core.cers_csv import Verdict
from cers_core.errors import CersError
from cers_core.group_diff import diff_group_files, group_file
from cers_core.wording import count

ctx = context.setup("Check a CSV file")
st.title("Check a CSV file")
st.write(
    "Drop any CERS student-group file, made by this tool, another one or a spreadsheet, to see what CERS "
    "would answer, word for word, what else is worth fixing, and how. The file stays on this server and is "
    "not kept."
)

uploaded = st.file_uploader("CERS group file", key="check_file", help="Read as a stream: large files are fine.")
with st.expander("What CERS knows (optional)"):
    st.caption("CERS rejects school years it is not set up for, and schools your account may not upload for.")
    years_text = st.text_input("School years CERS knows (end years)", key="check_years", placeholder="2026, 2027")
    schools_text = st.text_area("Schools you may upload for (CDS codes)", key="check_schools", height=80)

if uploaded is None:
    st.stop()
try:
    years, schools = parse_years(years_text), parse_schools(schools_text)
except ValueError as problem:
    st.error(escape_markdown(problem))
    st.stop()
try:
    report = check_uploaded_file(uploaded, school_years=years, schools=schools)
except CersError as error:
    st.error(escape_markdown(error), icon=":material/error:")
    st.stop()

errors, warnings = count(len(report.errors), "error"), count(len(report.warnings), "warning")
verdict = report.verdict
if verdict is Verdict.accepted:
    st.success(f"**{verdict.headline}.** {warnings} worth a look.", icon=":material/check_circle:")
elif verdict is Verdict.not_as_meant:
    st.error(
        f"**{verdict.headline}** ({errors}, {warnings}): what it would store differs from what the file means. "
        "Fix the errors below before uploading it.",
        icon=":material/report:",
    )
else:
    st.error(f"**{verdict.headline}** ({errors}, {warnings}). Fix the errors below.", icon=":material/block:")
numbers = st.columns(4)
numbers[0].metric("Rows", f"{report.rows:,}")
numbers[1].metric("Groups", f"{report.groups:,}")
numbers[2].metric("Schools", f"{report.schools:,}")
numbers[3].metric("Most students in a group", f"{report.max_students_per_group:,}")

st.subheader("What CERS would answer")
st.caption("CERS's own report, as its import would give it (at most 100 lines, as CERS writes).")
st.code(report.cers_message() or "(nothing)", language=None)

st.subheader("Findings and fixes")
findings = findings_frame(report)
if findings.height:
    st.dataframe(findings, hide_index=True, key="check_findings")
else:
    st.caption("Nothing to fix.")

st.subheader("Compare with an earlier file")
earlier = st.file_uploader(
    "The file sent (or downloaded) before, to see what sending this one changes", key="check_earlier"
)
if earlier is not None:
    try:
        show_diff(diff_group_files(group_file(earlier), group_file(uploaded)), "check")
    except CersError as error:
        st.error(escape_markdown(error), icon=":material/error:")
