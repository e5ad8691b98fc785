"""Group sets put together into one file: hand-written recipes that share sections, teachers and names,
on the hand-written Lincoln High roster, with the exact rows expected."""

from __future__ import annotations

import dataclasses
from datetime import date

import polars as pl
import pytest
from pydantic import ValidationError

from cers_core.cers_csv import order_cers_rows, validate_cers_csv, write_ordered_rows
from cers_core.consolidate import build_group_sets
from cers_core.group_sets import GroupSet, SectionFilter, sections_of
from cers_core.groups import build_section_groups
from cers_core.settings import GroupOptions
from tests.support.rosters import load_roster

AS_OF = date(2026, 11, 28)
CDS = "01612590130146"
ROSTER = load_roster("lincoln_high")

# Four recipes a district might write: every section by course and teacher; the math sections again
# for primary teachers with the Math subject (the same sections and names: shared groups); and two
# recipes that both name a section after its teacher alone (the same name for two sections: a clash).
EVERY_SECTION = GroupSet(name="Every section", fields=["course_title", "teacher"])
MATH = GroupSet(
    name="Math",
    fields=["course_title", "teacher"],
    subject_from_course=True,
    primary_teachers_only=True,
    sections=SectionFilter(subjects=["02"]),
)
ENGLISH_BY_TEACHER = GroupSet(name="English by teacher", fields=["teacher"], sections=SectionFilter(subjects=["01"]))
ART_BY_TEACHER = GroupSet(
    name="Art by teacher", fields=["teacher"], schools=[CDS], sections=SectionFilter(subjects=["Visual Arts"])
)


def file_rows(built) -> list[tuple]:
    return [tuple(row) for row in order_cers_rows(built.rows).iter_rows()]


def notes(built, code: str) -> list[tuple[str, str]]:
    found = built.problems.filter(pl.col("code") == code)
    return [(row["class_id"], row["group_name"]) for row in found.iter_rows(named=True)]


def test_recipes_that_share_sections_teachers_and_names_make_one_file_cers_accepts():
    built = build_group_sets(ROSTER, GroupOptions(), [EVERY_SECTION, MATH, ENGLISH_BY_TEACHER, ART_BY_TEACHER],
                             as_of=AS_OF)  # fmt: skip
    assert file_rows(built) == [
        # Two sections named "Adams" by two recipes: each gets its section code.
        ("Adams (ART-5)", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("Adams (ART-5)", CDS, 2027, "All", "4000000004", ""),
        ("Adams (ENG-1)", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("Adams (ENG-1)", CDS, 2027, "All", "1234567890", ""),
        ("Adams (ENG-1)", CDS, 2027, "All", "4000000004", ""),
        # The math sections are in two recipes under the same names: one group each, its rows once,
        # and the first recipe's subject (All), though the second says Math.
        ("Algebra I - Nguyen (ALG-3A)", CDS, 2027, "All", "", "anguyen@lincoln.example.org"),
        ("Algebra I - Nguyen (ALG-3A)", CDS, 2027, "All", "1234567890", ""),
        ("Algebra I - Nguyen (ALG-3A)", CDS, 2027, "All", "2000000002", ""),
        ("Algebra I - Nguyen (ALG-3B)", CDS, 2027, "All", "", "BNguyen@Lincoln.example.org"),
        ("Algebra I - Nguyen (ALG-3B)", CDS, 2027, "All", "0700000007", ""),
        # The same section under another name is another group (Adams teaches it in both).
        ("Art Studio - Adams", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("Art Studio - Adams", CDS, 2027, "All", "4000000004", ""),
        ("English 9 Honors - Adams", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("English 9 Honors - Adams", CDS, 2027, "All", "1234567890", ""),
        ("English 9 Honors - Adams", CDS, 2027, "All", "4000000004", ""),
    ]
    assert validate_cers_csv(write_ordered_rows(order_cers_rows(built.rows))).accepted
    assert notes(built, "name_collision") == [
        ("cls-alg-3a", "Algebra I - Nguyen"),  # within the first recipe, as the builder says
        ("cls-alg-3b", "Algebra I - Nguyen"),
        ("cls-eng-1", "Adams (ENG-1)"),  # across recipes
        ("cls-art", "Adams (ART-5)"),
    ]
    clash = built.problems.filter(pl.col("code") == "name_collision")["message"].to_list()[2:]
    assert clash == [
        "Another group set gives a group of this school the same name; the section code was added to both "
        f"(this one is from group set “{name}”)."
        for name in ("English by teacher", "Art by teacher")
    ]
    assert notes(built, "subject_differs") == [
        ("cls-alg-3a", "Algebra I - Nguyen (ALG-3A)"),
        ("cls-alg-3b", "Algebra I - Nguyen (ALG-3B)"),
    ]
    assert built.groups.select("group_name", "class_id", "teachers", "students").rows() == [
        ("Adams (ART-5)", "cls-art", 1, 1),
        ("Adams (ENG-1)", "cls-eng-1", 1, 2),
        ("Algebra I - Nguyen (ALG-3A)", "cls-alg-3a", 1, 2),
        ("Algebra I - Nguyen (ALG-3B)", "cls-alg-3b", 1, 1),
        ("Art Studio - Adams", "cls-art", 1, 1),
        ("English 9 Honors - Adams", "cls-eng-1", 1, 2),
    ]


def test_a_shared_group_has_the_members_of_every_recipe_that_names_it():
    """All teachers in one recipe, primary teachers only in another: the shared group has all of them."""
    everyone = GroupSet(name="All teachers", fields=["course_title"], sections=SectionFilter(course_codes=["en109"]))
    primary = everyone.model_copy(update={"name": "Primary only", "primary_teachers_only": True})
    alone = build_group_sets(ROSTER, GroupOptions(), [primary], as_of=AS_OF)
    both = build_group_sets(ROSTER, GroupOptions(), [primary, everyone], as_of=AS_OF)
    assert file_rows(alone) == [
        ("English 9 Honors", CDS, 2027, "All", "1234567890", ""),
        ("English 9 Honors", CDS, 2027, "All", "4000000004", ""),
    ]
    assert file_rows(both) == [
        ("English 9 Honors", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("English 9 Honors", CDS, 2027, "All", "1234567890", ""),
        ("English 9 Honors", CDS, 2027, "All", "4000000004", ""),
    ]


def test_each_problem_is_reported_once_whatever_recipes_name_its_section():
    built = build_group_sets(ROSTER, GroupOptions(), [EVERY_SECTION, MATH], as_of=AS_OF)
    single = build_section_groups(ROSTER, EVERY_SECTION.group_options(GroupOptions()), as_of=AS_OF)
    people = ["student_invalid_ssid", "teacher_without_login", "unknown_user", "unknown_section", "user_inactive"]
    for code in people:
        assert (
            built.problems.filter(pl.col("code") == code).height
            == single.problems.filter(pl.col("code") == code).height
        ), code
    assert built.problems["severity"].to_list()[0] == "error"  # the Annex has no CDS code
    assert built.problems.filter(pl.col("code") == "school_without_cds")["school_id"].to_list() == ["sch-nocds"]


def test_who_is_in_no_group_counts_the_sections_no_recipe_takes():
    """Math only: Park takes English and Art, which no recipe takes; she is in no group, and why."""
    built = build_group_sets(ROSTER, GroupOptions(), [MATH], as_of=AS_OF)
    assert built.not_in_group.filter(pl.col("school_id") == "sch-lhs").select("user_id", "reason").sort(
        "user_id"
    ).rows() == [
        ("s-3", "student_invalid_ssid"),
        ("s-4", "not_in_group_sets"),
        ("s-5", "user_inactive"),
        ("s-ghost", "unknown_user"),
        ("t-adams", "not_in_group_sets"),
        ("t-zed", "teacher_without_login"),
    ]
    everyone = build_section_groups(ROSTER, GroupOptions(), as_of=AS_OF)
    assert built.enrolled.equals(everyone.enrolled)


def test_recipes_for_some_schools_leave_the_others_out_of_the_file_and_the_report():
    built = build_group_sets(ROSTER, GroupOptions(), [ART_BY_TEACHER], as_of=AS_OF)
    assert [row[0] for row in file_rows(built)] == ["Adams", "Adams"]
    assert "sch-nocds" not in built.problems["school_id"].to_list()  # the Annex is no recipe's school
    assert set(built.enrolled["school_id"]) == {"sch-lhs"}


def test_without_group_sets_the_connection_options_are_the_one_implicit_set():
    options = GroupOptions(fields=["course_title", "period"], primary_teachers_only=True)
    implicit = build_group_sets(ROSTER, options, [], as_of=AS_OF)
    today = build_section_groups(ROSTER, options, as_of=AS_OF)
    assert file_rows(implicit) == file_rows(today)  # the builder's rows come in no set order
    for name in ("groups", "problems", "enrolled", "not_in_group"):
        assert getattr(implicit, name).equals(getattr(today, name)), name


@pytest.mark.parametrize(
    ("sections", "kept"),
    [
        (SectionFilter(), ["cls-alg-3a", "cls-alg-3b", "cls-eng-1", "cls-art", "cls-hr", "cls-old", "cls-annex"]),
        (SectionFilter(course_codes=["ma101"]), ["cls-alg-3a", "cls-alg-3b", "cls-old"]),
        (SectionFilter(subjects=["01"]), ["cls-eng-1", "cls-hr", "cls-annex"]),  # SCED 01: from the course
        (SectionFilter(subjects=["english language arts"]), ["cls-eng-1", "cls-hr", "cls-annex"]),
        (SectionFilter(subjects=["01", "visual arts"]), ["cls-eng-1", "cls-art", "cls-hr", "cls-annex"]),
        (SectionFilter(course_codes=["EN109"], subjects=["02"]), []),  # every criterion must match
        (SectionFilter(grades=["9"]), []),  # no section of this roster has grades
    ],
)
def test_which_sections_a_recipe_takes(sections: SectionFilter, kept: list[str]):
    taken = sections_of(ROSTER, GroupSet(name="x", sections=sections), GroupOptions())
    assert taken.classes["sourced_id"].to_list() == kept
    # The enrollments of sections left out go too (they are not this recipe's to report).
    assert set(taken.enrollments["class_id"]) <= set(kept) | {"cls-ghost"}


def test_grades_match_with_or_without_leading_zeros():
    graded = ROSTER.classes.with_columns(
        grades=pl.when(pl.col("sourced_id") == "cls-art").then(pl.lit(["09", "10"])).otherwise(pl.lit([]))
    )
    roster = dataclasses.replace(ROSTER, classes=graded)
    taken = sections_of(roster, GroupSet(name="Grade 9", sections=SectionFilter(grades=["9"])), GroupOptions())
    assert taken.classes["sourced_id"].to_list() == ["cls-art"]


def test_a_recipe_is_checked_like_the_connection_group_options():
    with pytest.raises(ValidationError, match="The separator may not hold ','"):
        GroupSet(name="Bad", separator=", ")
    with pytest.raises(ValidationError, match="Choose at least one field"):
        GroupSet(name="Bad", fields=[])
    with pytest.raises(ValidationError, match="control characters"):
        GroupSet(name="Two\nlines")
    with pytest.raises(ValidationError, match="Enter a name for the group set"):
        GroupSet(name="   ")
    kept = GroupSet(name="  Homerooms ", separator=" / ", schools=[" 105 ", "", "105"])
    assert (kept.name, kept.separator, kept.schools) == ("Homerooms", " / ", ("105",))  # the separator's spaces count
