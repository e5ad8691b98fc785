"""Frames shaped for display: columns renamed and ordered for the analyst, nothing drawn.

No function here calls Streamlit, so each is tested with plain pytest.
"""

from __future__ import annotations

import polars as pl

from cers_core import GroupDiff, GroupExport
from cers_core.cers_csv import ValidationReport
from cers_core.cers_import import ImportResult
from cers_core.coverage import school_coverage
from cers_core.enrolled import REASONS
from cers_core.oneroster_csv import BundleReport
from cers_core.store import DownloadRecord

__all__ = [
    "bundle_problem_frame",
    "changes_groups_frame",
    "changes_people_frame",
    "coverage_frame",
    "download_log_frame",
    "export_summary",
    "failures_frame",
    "find_schools",
    "findings_frame",
    "group_summary",
    "not_in_group_frame",
    "page_of",
    "problem_report",
    "rejection_reasons",
]


def bundle_problem_frame(report: BundleReport) -> pl.DataFrame:
    """What a OneRoster CSV bundle's checks found, errors first: where (file, line as a text editor
    counts it, column) and the problem in plain words."""
    labels = {"severity": "Severity", "file": "File", "line": "Line", "column": "Column", "message": "Problem"}
    return report.frame().select(pl.col(name).alias(label) for name, label in labels.items())


def find_schools(schools: pl.DataFrame, query: str) -> pl.DataFrame:
    """Schools whose name or CDS code holds every word of ``query`` (case ignored)."""
    found = schools
    for word in query.split():
        needle = word.casefold()
        found = found.filter(
            pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("cds").fill_null("").str.contains(needle, literal=True)
        )
    return found


def export_summary(export: GroupExport) -> dict[str, int]:
    """The four numbers shown above a preview."""

    def distinct(column: str) -> int:  # the file writes "" where a row has no such member
        values = export.rows[column]
        return values.filter(values.is_not_null() & (values != "")).n_unique()

    return {
        "Groups": export.groups.height,
        "Teachers": distinct("group_user_login"),
        "Students": distinct("student_ssid"),
        "Problems": export.problems.height,
    }


def group_summary(export: GroupExport) -> pl.DataFrame:
    """Per group: name, subject, teachers, students (and the school, for a district file)."""
    columns = {"group_name": "Group", "subject_code": "Subject", "teachers": "Teachers", "students": "Students"}
    if export.groups["school_name"].n_unique() > 1:
        columns = {"school_name": "School", **columns}
    return export.groups.select(pl.col(name).alias(label) for name, label in columns.items())


def problem_report(export: GroupExport) -> pl.DataFrame:
    """The problem report with what to read first on the left: severity, the problem, who and where."""
    columns = {
        "severity": "Severity",
        "message": "Problem",
        "group_name": "Group",
        "person": "Person",
        "local_id": "Local ID",
        "school": "School",
        "school_id": "School sourcedId",
        "section": "Section",
        "code": "Code",
        "class_id": "Section sourcedId",
        "user_id": "User sourcedId",
    }
    return export.problems.select(pl.col(name).alias(label) for name, label in columns.items())


def rejection_reasons(export: GroupExport, *, limit: int = 5) -> list[str]:
    """Why CERS would not take the file as it is, one line each (plain text, at most ``limit``).

    The report's errors say it in the roster's terms (which group, what to do); the
    validator's findings are the fallback when the report has none. Schools left out for want
    of a CDS code are not here: the page names each with its sourcedId (``schools_left_out``).
    """
    errors = export.problems.filter((pl.col("severity") == "error") & (pl.col("code") != "school_without_cds"))
    reasons = [
        f"{group}: {message}" if group else message
        for group, message in errors.select("group_name", "message").iter_rows()
    ] or [f"{finding.message} {finding.fix}" for finding in export.validation.errors]
    distinct = list(dict.fromkeys(reasons))
    more = len(distinct) - limit
    return distinct[:limit] + ([f"… and {more:,} more in the problem report."] if more > 0 else [])


def coverage_frame(export: GroupExport) -> pl.DataFrame:
    """Per school: students and teachers enrolled and how many are in no group, groups, groups
    without a teacher, the largest group (``cers_core.coverage.school_coverage``, in the analyst's words)."""
    labels = {
        "school": "School",
        "sourced_id": "sourcedId",
        "cds": "CDS code",
        "students": "Students",
        "students_in_no_group": "Students in no group",
        "teachers": "Teachers",
        "teachers_in_no_group": "Teachers in no group",
        "groups": "Groups",
        "groups_without_teacher": "Groups without a teacher",
        "largest_group": "Largest group",
    }
    return school_coverage(export).select(pl.col(name).alias(label) for name, label in labels.items())


def not_in_group_frame(export: GroupExport) -> pl.DataFrame:
    """Who is in no group, and why: school, role, person, local id, the reason in words, sourcedId."""
    names = export.schools.select(school_id="sourced_id", School=pl.coalesce("name", "sourced_id"))
    return export.not_in_group.join(names, on="school_id", how="left").select(
        "School",
        Role="role",
        Person="person",
        **{"Local ID": "local_id"},
        Why=pl.col("reason").replace_strict(REASONS, default=pl.col("reason")),
        **{"User sourcedId": "user_id"},
    )


def download_log_frame(records: list[DownloadRecord]) -> pl.DataFrame:
    """The download log for the home page: when, who, connection, school, rows, the file's SHA-256."""
    return pl.DataFrame(
        {
            "When (UTC)": [r.at.strftime("%Y-%m-%d %H:%M") for r in records],
            "Who": [r.who or "not recorded" for r in records],
            "Connection": [r.connection_name for r in records],
            "School": [r.school for r in records],
            "Rows": [r.rows for r in records],
            "SHA-256": [r.sha256 for r in records],
        }
    )


def page_of(frame: pl.DataFrame, page: int, size: int) -> pl.DataFrame:
    """Rows of one page (1-based) of a frame, so a page never sends the browser more than it shows."""
    return frame.slice((max(page, 1) - 1) * size, size)


def changes_groups_frame(diff: GroupDiff) -> pl.DataFrame:
    """The groups a file changes in CERS, one row each, in the analyst's words."""
    labels = {
        "change": "Change",
        "group_name": "Group",
        "old_name": "Old name",
        "school_natural_id": "School",
        "teachers_added": "Teachers added",
        "teachers_removed": "Teachers removed",
        "students_added": "Students added",
        "students_removed": "Students removed",
        "teachers": "Teachers",
        "students": "Students",
        "subject_code": "Subject",
        "old_subject_code": "Old subject",
        "matched_by": "Renamed, found by",
    }
    names = {
        "added": "added",
        "disappears": "not in this file (CERS keeps it)",
        "renamed": "renamed",
        "changed": "changed",
    }
    return diff.groups.with_columns(pl.col("change").replace_strict(names, return_dtype=pl.String)).select(
        pl.col(name).alias(label) for name, label in labels.items()
    )


def changes_people_frame(diff: GroupDiff) -> pl.DataFrame:
    """The teachers and students a file adds to or removes from groups."""
    labels = {"group_name": "Group", "role": "Role", "person": "SSID or login", "change": "Change", "note": "Note"}
    return diff.members.select(pl.col(name).alias(label) for name, label in labels.items())


def failures_frame(result: ImportResult) -> pl.DataFrame:
    """CERS's failure lines mapped to the file: row, what CERS said, where, what to do."""
    labels = {"row": "Row", "failure": "CERS said", "where": "Where", "fix": "What to do"}
    return result.failures.select(pl.col(name).alias(label) for name, label in labels.items())


def findings_frame(report: ValidationReport) -> pl.DataFrame:
    """Every finding, blocking ones first: who found it (CERS or our check), where, what, and the fix."""
    blocking = report.errors
    rows = [
        {
            "Severity": "error",
            "From": "CERS" if finding.source == "cers" else "our check",
            "Row": "file" if finding.row == 0 else f"{finding.row:,}",
            "Message": finding.message,
            "Fix": finding.fix,
        }
        for finding in blocking
    ] + [
        {"Severity": "warning", "From": "our check", "Row": "file" if f.row == 0 else f"{f.row:,}",
         "Message": f.message, "Fix": f.fix}
        for f in report.warnings
    ]  # fmt: skip
    schema = dict.fromkeys(("Severity", "From", "Row", "Message", "Fix"), pl.String)
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
