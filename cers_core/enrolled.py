"""Who is enrolled at each school on the day, and who of them ends in no group, with the reason.

The builder (:func:`cers_core.groups.build_section_groups`) calls :func:`enrolled_people` once,
while it still has the rosters, and keeps the two small frames it returns; the numbers an
analyst reads are made from them in :mod:`cers_core.coverage`.

Who counts as enrolled: a teacher or student with an enrollment current on the day (or in the
school year), not marked ``tobedeleted``, in a section of the school, whatever became of that
section. A person with several such enrollments is in a group when any of them made them a
member of one; otherwise the first reason of :data:`REASONS` that applies to one of them is given.
"""

from __future__ import annotations

import polars as pl

__all__ = ["ENROLLED_COLUMNS", "NOT_IN_GROUP_COLUMNS", "REASONS", "enrolled_people"]

REASONS: dict[str, str] = {
    "unknown_user": "the SIS did not return this person",
    "user_inactive": "account disabled or to be deleted",
    "student_without_ssid": "no SSID on record",
    "student_invalid_ssid": "the SSID on record is not a valid SSID",
    "teacher_without_login": "no e-mail address to use as CERS login",
    "not_primary": "not a primary teacher (only primary teachers are given access)",
    "school_without_cds": "the school has no CDS code",
    "section_without_students": "their sections have no students with an SSID",
    "class_type_excluded": "their sections are of a class type left out",
    # Only in a file made of group sets (cers_core.consolidate): sections no group set takes.
    "not_in_group_sets": "their sections are in no group set (its schools, or its course, subject or grade filter)",
    "no_current_term": "their sections have no term active on the day",
    "section_deleted": "their sections are marked to be deleted",
    "section_not_returned": "the SIS did not return their sections",
}
"""Why a person enrolled at a school is in no group, in the order the first that applies is given."""

ENROLLED_COLUMNS = pl.Schema({"school_id": pl.String, "role": pl.String, "enrolled": pl.UInt32})
NOT_IN_GROUP_COLUMNS = pl.Schema(
    {
        "school_id": pl.String,
        "role": pl.String,
        "user_id": pl.String,
        "person": pl.String,
        "local_id": pl.String,
        "reason": pl.String,
    }
)
_RANK = pl.Enum(list(REASONS))


def enrolled_people(
    *,
    enrollments: pl.DataFrame,
    classes: pl.DataFrame,
    selected: pl.DataFrame,
    grouped: pl.Series,
    left_out: pl.DataFrame,
    schools: pl.Series,
    people: pl.DataFrame,
    class_type_kept: pl.Expr,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """How many teachers and students each school has on the day, and who of them is in no group.

    The builder gives its own steps: ``enrollments`` current on the day (teacher and student
    roles, not ``tobedeleted``: ``class_id, user_id, role, school_id``); the roster's
    ``classes``; the sections it ``selected`` (``sourced_id, students, cds``); the ids of the
    sections that became groups (``grouped``); the enrollments it ``left_out`` of the selected
    sections with their reason (``class_id, user_id, role, reason``), the others being members;
    the ids of the ``schools`` to count; ``people`` (``user_id, given_name, family_name,
    local_id``); and the expression that keeps the chosen class types.

    Returns ``enrolled`` (:data:`ENROLLED_COLUMNS`) and ``not_in_group`` (:data:`NOT_IN_GROUP_COLUMNS`).
    """
    # Why a section's people are in no group, joined only to the people in no group: the two
    # million enrollments carry just their ids (three more text columns on each would add a
    # tenth to the builder's peak memory).
    sections = classes.select(
        class_id="sourced_id",
        section_reason=pl.when(pl.col("status") == "tobedeleted")
        .then(pl.lit("section_deleted"))
        .when(~class_type_kept)
        .then(pl.lit("class_type_excluded"))
        .otherwise(pl.lit("no_current_term")),
    ).join(
        selected.select(
            class_id="sourced_id",
            in_scope_reason=pl.when(pl.col("cds").is_null())
            .then(pl.lit("school_without_cds"))
            .when(pl.col("students") == 0)
            .then(pl.lit("section_without_students")),
        ),
        on="class_id",
        how="left",
    )
    found = (
        enrollments.select("class_id", "user_id", "role", "school_id")
        .join(classes.select(class_id="sourced_id", class_school="school_id"), on="class_id", how="left")
        .with_columns(school_id=pl.coalesce("class_school", "school_id"), returned=pl.col("class_school").is_not_null())
        .drop("class_school")
        .filter(pl.col("school_id").is_in(schools.implode()))
    )
    enrolled = found.group_by("school_id", "role").agg(enrolled=pl.col("user_id").n_unique().cast(pl.UInt32))
    reasons = left_out.select("class_id", "user_id", "role", member_reason="reason")
    # Only a person with an enrollment that made no member (left out, or in a section that is no
    # group) can be in no group; they are few, and only their own enrollments are looked at
    # (working out who is in a group for all two million took half a second).
    grouped_section = pl.col("class_id").is_in(grouped.implode())
    missed = pl.concat([reasons.get_column("user_id"), found.filter(~grouped_section).get_column("user_id")])
    found = found.filter(pl.col("user_id").is_in(missed.implode(), nulls_equal=True))  # no user: still missed
    in_group = (
        found.filter(grouped_section)
        .join(reasons, on=["class_id", "user_id", "role"], how="anti")
        .select("school_id", "user_id", "role")
        .unique()
    )
    reason = pl.coalesce(
        "member_reason",
        "in_scope_reason",
        pl.when(~pl.col("returned")).then(pl.lit("section_not_returned")),
        "section_reason",
    )
    not_in_group = (
        found.join(in_group, on=["school_id", "user_id", "role"], how="anti")
        .join(reasons, on=["class_id", "user_id", "role"], how="left")
        .join(sections, on="class_id", how="left")
        .with_columns(reason=reason.cast(_RANK))
        .group_by("school_id", "role", "user_id")
        .agg(pl.col("reason").min())
        .join(people, on="user_id", how="left")
        .select(
            "school_id",
            "role",
            "user_id",
            person=pl.concat_str(
                [pl.col("given_name").fill_null(""), pl.col("family_name").fill_null("")], separator=" "
            )
            .str.strip_chars()
            .replace("", None),
            local_id="local_id",
            reason=pl.col("reason").cast(pl.String),
        )
        .sort("school_id", "role", pl.col("reason").cast(_RANK), "person", "user_id", nulls_last=True)
    )
    return enrolled.select(ENROLLED_COLUMNS.names()).sort("school_id", "role"), not_in_group
