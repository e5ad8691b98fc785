"""One file from several group sets: no duplicate rows, no two groups of one name, one subject a group.

Peer products that run several "profiles" into one file get it rejected by CERS when two profiles
share a teacher or a section: the same (group, member) row twice, or two groups of one name with
different members, which CERS would merge. :func:`build_group_sets` builds each group set of a
connection from the same rosters (:func:`cers_core.group_sets.sections_of`, then the usual
builder) and puts the results together under CERS's rules:

- **the same section under the same name** (ignoring case) in two group sets is one group, its
  members those of both (a primary-teachers-only set and an all-teachers set give all teachers),
  its name as the first group set spells it;
- **two sections under one name** (ignoring case, per school and year) from different group sets
  are a clash: each gets `` (<section code>)`` appended, as the builder does for two sections of
  one group set, and the report says so (``name_collision``);
- **one subject a group**: where two group sets give a shared group different subjects, the first
  group set's is used and the report says so (``subject_differs``);
- no (group, member) row is written twice.

The first group set is the first in the connection's order. The problem report holds each
group set's problems once (a student without SSID is one problem, whichever sets name their
section), for the schools the group sets are for; coverage counts who ends in no group of any
set: the reasons are the builder's, and ``not_in_group_sets`` for people whose sections no group
set takes (see :mod:`cers_core.enrolled`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from cers_core.enrolled import NOT_IN_GROUP_COLUMNS, REASONS
from cers_core.group_names import casefold, clean_value, with_suffix
from cers_core.group_sets import GroupSet, covers_school, sections_of
from cers_core.groups import SectionGroups, build_section_groups
from cers_core.identifiers import cds_code, ssids, teacher_login
from cers_core.problems import PROBLEM_COLUMNS, SEVERITIES
from cers_core.roster import Roster
from cers_core.settings import ClassTypes, GroupOptions

__all__ = ["build_group_sets"]

_GROUP_KEY = ["school_natural_id", "school_year", "fold"]
_RANK = pl.Enum(list(REASONS))


def build_group_sets(
    roster: Roster,
    options: GroupOptions,
    group_sets: Sequence[GroupSet],
    *,
    as_of: date | None = None,
    school_year: int | None = None,
) -> SectionGroups:
    """The section groups of every group set, as one file's (see the module docstring); with no
    group set, the connection's own options are the one implicit set (the builder's result as is)."""
    if not group_sets:
        return build_section_groups(roster, options, as_of=as_of, school_year=school_year)
    built = [
        build_section_groups(sections_of(roster, group_set, options), group_set.group_options(options),
                             as_of=as_of, school_year=school_year)
        for group_set in group_sets
    ]  # fmt: skip
    schools = roster.schools.select(
        school_id="sourced_id", cds=cds_code(pl.col("identifier"), pl.col("sourced_id"), options.cds_map)
    )
    covered = pl.concat(
        [schools.filter(covers_school(s, schools.rename({"school_id": "sourced_id"}))) for s in group_sets]
    )["school_id"].unique()
    groups, naming, notes = _merged_groups(built, roster, schools, group_sets)
    rows = _merged_rows(built, naming)
    counts = rows.group_by("school_natural_id", "school_year", "group_name").agg(
        teachers=(pl.col("group_user_login") != "").sum(), students=(pl.col("student_ssid") != "").sum()
    )
    summary = (
        groups.join(counts, on=["school_natural_id", "school_year", "group_name"], how="left")
        .select(
            "school_natural_id", "school_name", "school_year", "group_name", "subject_code", "class_id",
            pl.col("teachers").fill_null(0).cast(pl.UInt32), pl.col("students").fill_null(0).cast(pl.UInt32),
        )
        .sort("school_natural_id", "school_year", casefold(pl.col("group_name")), "group_name")
    )  # fmt: skip
    # Everyone in a group of some set is in a group of a build of every class type and teacher (the
    # sets only take fewer sections and members): its coverage, less who no set kept, is the file's.
    everyone = build_section_groups(
        roster,
        options.model_copy(update={"class_types": ClassTypes.all, "primary_teachers_only": False}),
        as_of=as_of,
        school_year=school_year,
    )
    in_covered = pl.col("school_id").is_in(covered.implode())
    return SectionGroups(
        rows=rows,
        groups=summary,
        problems=_merged_problems(built, naming, notes, covered),
        enrolled=everyone.enrolled.filter(in_covered),
        not_in_group=_not_in_any_group(everyone, built, rows, roster, schools, options).filter(in_covered),
    )


def _merged_groups(
    built: list[SectionGroups], roster: Roster, schools: pl.DataFrame, group_sets: Sequence[GroupSet]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The file's groups (one per section and name), how each set's group is named in the file
    (``naming``: set, school, year, its own name -> ``final_name``, ``final_subject``), and the
    report's lines about clashes and subjects."""
    every = pl.concat(
        [result.groups.with_columns(set_order=pl.lit(order, pl.UInt32)) for order, result in enumerate(built)]
    ).with_columns(fold=casefold(pl.col("group_name")))
    shared = ["school_natural_id", "school_year", "fold", "class_id"]
    subjects = every.group_by(shared).agg(differs=pl.col("subject_code").n_unique() > 1)
    groups = (
        every.unique(shared, keep="first", maintain_order=True)
        .join(subjects, on=shared, how="left", maintain_order="left")
        .with_columns(own_fold="fold")
    )
    sections = roster.classes.select(class_id="sourced_id", class_code="class_code", title="title")
    groups = groups.join(sections, on="class_id", how="left", maintain_order="left")
    own_id = pl.coalesce(clean_value(pl.col("class_id")), pl.lit("section"))
    clashing = []
    for suffix in (pl.coalesce(clean_value(pl.col("class_code")), own_id), own_id):
        clash = pl.len().over(_GROUP_KEY) > 1
        found = groups.filter(clash)
        if found.height == 0:
            break
        clashing.append(found.select("class_id", "set_order"))
        groups = groups.with_columns(
            group_name=pl.when(clash).then(with_suffix(pl.col("group_name"), suffix)).otherwise(pl.col("group_name"))
        ).with_columns(fold=casefold(pl.col("group_name")))
    named = ["school_natural_id", "school_year", "own_fold", "class_id"]
    naming = every.rename({"fold": "own_fold"}).join(
        groups.select(*named, final_name="group_name", final_subject="subject_code"), on=named, how="left"
    )
    set_names = pl.DataFrame({"set_order": range(len(group_sets)), "group_set": [s.name for s in group_sets]},
                             schema={"set_order": pl.UInt32, "group_set": pl.String})  # fmt: skip
    context = groups.join(schools.rename({"cds": "school_natural_id"}), on="school_natural_id", how="left").join(
        set_names, on="set_order", how="left"
    )
    notes = pl.concat(
        [
            context.join(pl.concat(clashing).unique(), on=["class_id", "set_order"], how="semi").select(
                severity=pl.lit("info"),
                code=pl.lit("name_collision"),
                message=pl.format(
                    "Another group set gives a group of this school the same name; the section code was added to "
                    "both (this one is from group set “{}”).",
                    pl.col("group_set"),
                ),
                **_where(),
            )
            if clashing
            else pl.DataFrame(schema=PROBLEM_COLUMNS),
            context.filter("differs").select(
                severity=pl.lit("info"),
                code=pl.lit("subject_differs"),
                message=pl.format(
                    "Group sets give this group different subjects; a group has one subject in CERS, so the first "
                    "group set's is used ({}, from “{}”).",
                    pl.col("subject_code"),
                    pl.col("group_set"),
                ),
                **_where(),
            ),
        ],
        how="diagonal",
    ).select(PROBLEM_COLUMNS.names())
    kept = ("school_natural_id", "school_name", "school_year", "group_name", "subject_code", "class_id")
    return groups.select(kept), naming, notes


def _where() -> dict[str, pl.Expr]:
    """The report's columns that say where a group is (for a line about a whole group)."""
    return {
        "school": pl.col("school_name"),
        "school_id": pl.col("school_id"),
        "section": pl.col("title"),
        "class_id": pl.col("class_id"),
        "group_name": pl.col("group_name"),
        "user_id": pl.lit(None, pl.String),
        "person": pl.lit(None, pl.String),
        "local_id": pl.lit(None, pl.String),
    }


def _merged_rows(built: list[SectionGroups], naming: pl.DataFrame) -> pl.DataFrame:
    """Every set's rows under their group's name and subject in the file, each row once."""
    key = ["set_order", "school_natural_id", "school_year", "group_name"]
    rows = pl.concat(
        [result.rows.with_columns(set_order=pl.lit(order, pl.UInt32)) for order, result in enumerate(built)]
    ).join(naming.select(*key, "final_name", "final_subject"), on=key, how="left", maintain_order="left")
    return rows.select(
        group_name="final_name",
        school_natural_id="school_natural_id",
        school_year="school_year",
        subject_code="final_subject",
        student_ssid="student_ssid",
        group_user_login="group_user_login",
    ).unique(maintain_order=True)


def _merged_problems(
    built: list[SectionGroups], naming: pl.DataFrame, notes: pl.DataFrame, covered: pl.Series
) -> pl.DataFrame:
    """Each set's problems once (by what they are about, not the set's name for the group), named
    as in the file, for the schools the sets are for; errors first."""
    names = naming.select("set_order", "class_id", "group_name", "final_name")
    every = pl.concat(
        [result.problems.with_columns(set_order=pl.lit(order, pl.UInt32)) for order, result in enumerate(built)]
    )
    every = (
        every.join(names, on=["set_order", "class_id", "group_name"], how="left", maintain_order="left")
        .with_columns(group_name=pl.coalesce("final_name", "group_name"))
        .select(PROBLEM_COLUMNS.names())
    )
    report = pl.concat([every, notes]).filter(
        pl.col("school_id").is_null() | pl.col("school_id").is_in(covered.implode())
    )
    report = report.unique(["severity", "code", "school_id", "class_id", "user_id"], keep="first", maintain_order=True)
    rank = pl.col("severity").replace_strict(list(SEVERITIES), list(range(len(SEVERITIES))))
    return report.with_row_index("_order").sort(rank, "_order").drop("_order")


def _not_in_any_group(
    everyone: SectionGroups,
    built: list[SectionGroups],
    rows: pl.DataFrame,
    roster: Roster,
    schools: pl.DataFrame,
    options: GroupOptions,
) -> pl.DataFrame:
    """Who ends in no group of the file: those in no group of any section (with the builder's
    reason), and those whose groups no set kept (with a set's reason, else ``not_in_group_sets``)."""

    def members(frame: pl.DataFrame) -> pl.DataFrame:
        student = pl.col("student_ssid") != ""
        return frame.select(
            cds="school_natural_id",
            role=pl.when(student).then(pl.lit("student")).otherwise(pl.lit("teacher")),
            key=pl.when(student).then("student_ssid").otherwise("group_user_login"),
        ).unique()

    lost = members(everyone.rows).join(members(rows), on=["cds", "role", "key"], how="anti")
    keys = pl.concat(
        [
            ssids(roster.users, options.ssid_types).select("sourced_id", role=pl.lit("student"), key="ssid"),
            roster.users.select(
                "sourced_id", role=pl.lit("teacher"), key=teacher_login(pl.col("email"), pl.col("username"))
            ),
        ]
    ).drop_nulls("key")
    at_school = (
        roster.enrollments.join(
            roster.classes.select(class_id="sourced_id", class_school="school_id"), on="class_id", how="left"
        )
        .select(user_id="user_id", role="role", school_id=pl.coalesce("class_school", "school_id"))
        .unique()
        .join(schools, on="school_id", how="inner")
    )
    reasons = (
        pl.concat([result.not_in_group for result in built])
        .group_by("school_id", "role", "user_id")
        .agg(set_reason=pl.col("reason").cast(_RANK).min())
    )
    people = roster.users.select(
        user_id="sourced_id",
        person=pl.concat_str([pl.col("given_name").fill_null(""), pl.col("family_name").fill_null("")], separator=" ")
        .str.strip_chars()
        .replace("", None),
        local_id="identifier",
    )
    left = (
        lost.join(keys, on=["role", "key"], how="inner")
        .rename({"sourced_id": "user_id"})
        .join(at_school, on=["user_id", "role", "cds"], how="inner")
        .join(reasons, on=["school_id", "role", "user_id"], how="left")
        .join(people, on="user_id", how="left")
        .select(
            "school_id",
            "role",
            "user_id",
            "person",
            "local_id",
            reason=pl.coalesce(pl.col("set_reason").cast(pl.String), pl.lit("not_in_group_sets")),
        )
    )
    return (
        pl.concat([everyone.not_in_group, left.select(NOT_IN_GROUP_COLUMNS.names())])
        .unique(["school_id", "role", "user_id"], keep="first")
        .sort("school_id", "role", pl.col("reason").cast(_RANK), "person", "user_id", nulls_last=True)
    )
