"""Coverage: who will not see results in CERS, and why, school by school.

A teacher sees in CERS the results of the students in their groups, so a student enrolled at a
school on the day but in no group is a student no teacher will see, and a teacher of the school
in no group sees nobody. The builder keeps how many students and teachers each school has on the
day, and who of them ends in no group, with the reason (:mod:`cers_core.enrolled`).
:func:`school_coverage`, :func:`reasons_left_out`, :func:`group_sizes` and
:func:`problems_by_kind` turn an export into the numbers the app draws and the command line
prints; :func:`coverage_report` is all of them for a script (``export --report-json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from cers_core.enrolled import REASONS
from cers_core.groups import MAX_STUDENTS_PER_GROUP as MAX_STUDENTS
from cers_core.wording import count, shortened

if TYPE_CHECKING:
    from cers_core.export import GroupExport

__all__ = [
    "MAX_STUDENTS",
    "coverage_report",
    "group_sizes",
    "problems_by_kind",
    "reasons_left_out",
    "school_coverage",
    "summary_lines",
]


def school_coverage(export: GroupExport) -> pl.DataFrame:
    """One row per school of the export: students and teachers enrolled, how many are in no
    group, groups, sections kept without a teacher, the largest group; by school name.

    Columns: ``school, sourced_id, cds, students, students_in_no_group, teachers,
    teachers_in_no_group, groups, groups_without_teacher, largest_group``.
    """
    counts = export.enrolled.pivot("role", index="school_id", values="enrolled")
    outside = export.not_in_group.group_by("school_id").agg(
        students_in_no_group=(pl.col("role") == "student").sum(),
        teachers_in_no_group=(pl.col("role") == "teacher").sum(),
    )
    groups = export.groups.group_by("school_natural_id").agg(
        groups=pl.len(),
        groups_without_teacher=(pl.col("teachers") == 0).sum(),
        largest_group=pl.col("students").max(),
    )
    return (
        export.schools.select("sourced_id", "name", "cds")
        .join(counts, left_on="sourced_id", right_on="school_id", how="left")
        .join(outside, left_on="sourced_id", right_on="school_id", how="left")
        .join(groups, left_on="cds", right_on="school_natural_id", how="left")
        .select(
            school=pl.coalesce("name", "sourced_id"),
            sourced_id="sourced_id",
            cds="cds",
            students=_count_column(counts, "student"),
            students_in_no_group=pl.col("students_in_no_group").fill_null(0).cast(pl.UInt32),
            teachers=_count_column(counts, "teacher"),
            teachers_in_no_group=pl.col("teachers_in_no_group").fill_null(0).cast(pl.UInt32),
            groups=pl.col("groups").fill_null(0).cast(pl.UInt32),
            groups_without_teacher=pl.col("groups_without_teacher").fill_null(0).cast(pl.UInt32),
            largest_group=pl.col("largest_group").fill_null(0).cast(pl.UInt32),
        )
        .sort(pl.col("school").str.to_lowercase(), "sourced_id")
    )


def _count_column(counts: pl.DataFrame, role: str) -> pl.Expr:
    return (pl.col(role) if role in counts.columns else pl.lit(None)).fill_null(0).cast(pl.UInt32)


def reasons_left_out(export: GroupExport) -> pl.DataFrame:
    """How many students and teachers are in no group, by school and reason (``school, role,
    reason, why, people``), the most frequent reasons first within a school."""
    names = export.schools.select("sourced_id", school=pl.coalesce("name", "sourced_id"))
    return (
        export.not_in_group.group_by("school_id", "role", "reason")
        .agg(people=pl.len().cast(pl.UInt32))
        .join(names, left_on="school_id", right_on="sourced_id", how="left")
        .select(
            "school",
            "role",
            "reason",
            why=pl.col("reason").replace_strict(REASONS, default=pl.col("reason")),
            people="people",
        )
        .sort("school", "role", "people", "reason", descending=[False, False, True, False])
    )


def group_sizes(export: GroupExport, *, width: int = 10) -> pl.DataFrame:
    """How many groups have how many students, in bins of ``width`` (``low, high, groups``),
    from 0 up to the largest group (at least up to CERS's 200, so its limit is always in view).

    >>> from types import SimpleNamespace
    >>> group_sizes(SimpleNamespace(groups=pl.DataFrame({"students": [3, 12, 19, 205]})), width=100).rows()
    [(0, 99, 3), (100, 199, 0), (200, 299, 1)]
    """
    students = export.groups["students"].cast(pl.Int64)
    top = max(int(students.max() or 0), MAX_STUDENTS)
    lows = pl.DataFrame({"low": pl.int_range(0, top + 1, width, eager=True)})
    counted = pl.DataFrame({"low": (students // width) * width}).group_by("low").agg(groups=pl.len().cast(pl.UInt32))
    return (
        lows.join(counted, on="low", how="left")
        .select("low", high=pl.col("low") + width - 1, groups=pl.col("groups").fill_null(0))
        .sort("low")
    )


def problems_by_kind(export: GroupExport) -> pl.DataFrame:
    """The problem report counted by severity and kind (``severity, code, problems``), errors first."""
    order = {"error": 0, "warning": 1, "info": 2}
    return (
        export.problems.group_by("severity", "code")
        .agg(problems=pl.len().cast(pl.UInt32))
        .sort(pl.col("severity").replace_strict(order, default=3), -pl.col("problems").cast(pl.Int64), "code")
    )


def coverage_report(export: GroupExport) -> dict[str, Any]:
    """Everything above, and the verdict and the schools left out of the file, as plain JSON values."""
    schools = school_coverage(export)
    left = export.schools_left_out
    return {
        "file": export.file_name(),
        "verdict": export.validation.verdict.value,
        "verdict_words": export.validation.verdict.headline,
        "complete": export.accepted,
        "as_of": export.as_of.isoformat(),
        "rows": export.rows.height,
        "groups": export.groups.height,
        "schools_left_out": left.to_dicts(),
        "schools": schools.to_dicts(),
        "totals": {
            column: int(schools[column].sum())
            for column in ("students", "students_in_no_group", "teachers", "teachers_in_no_group", "groups")
        },
        "not_in_a_group": reasons_left_out(export).to_dicts(),
        "group_sizes": group_sizes(export).filter(pl.col("groups") > 0).to_dicts(),
        "problems_by_kind": problems_by_kind(export).to_dicts(),
    }


def summary_lines(export: GroupExport) -> list[str]:
    """The coverage in a few lines for the command line's report (a school's name cut when huge)."""
    schools = school_coverage(export)
    lines = []
    for row in schools.iter_rows(named=True):
        school = shortened(str(row["school"]))
        lines.append(
            f"{school}: {count(row['students_in_no_group'], 'student')} of {row['students']:,} and "
            f"{count(row['teachers_in_no_group'], 'teacher')} of {row['teachers']:,} in no group; "
            f"{count(row['groups_without_teacher'], 'group')} without a teacher."
        )
    for row in reasons_left_out(export).iter_rows(named=True):
        lines.append(
            f"  {shortened(str(row['school']))}: {count(row['people'], row['role'])} in no group: {row['why']}."
        )
    return lines
