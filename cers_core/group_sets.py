"""Group sets: saved recipes for the groups a connection sends to CERS.

A district rarely wants one rule for every section: homerooms by teacher at the elementary
schools, and the secondary schools' math and English sections by course and period, say. A
**group set** is one such recipe: how its groups are named (fields and separator), which class
types, whether only primary teachers get access, the subject rule, which schools (all, or a
list) and, optionally, which sections (by course code, subject or grade). A connection has any
number of them; the rules that belong to the district (the SSID types, the CDS mapping,
splitting large sections) stay with the connection. A connection without group sets has one
implicit group set: its own group options, as before.

Several group sets of one connection make one file (see :mod:`cers_core.consolidate`).

Which sections a group set takes (:func:`sections_of`): every criterion given must match, and a
criterion matches when any of its values does:

- ``schools``: the section's school, by sourcedId or CDS code;
- ``course_codes``: the code of the section's course, ignoring case;
- ``subjects``: a number is the start of a SCED subject code of the section (else of its course):
  ``01`` is every English language arts code; anything else is a subject name of the section
  (else of its course), ignoring case;
- ``grades``: one of the section's grades, leading zeros ignored (``9`` is ``09``).

Example::

    >>> homerooms = GroupSet(name="Homerooms", fields=["teacher"], class_types="homeroom")
    >>> homerooms.group_options(GroupOptions(split_large=True)).fields
    (<GroupNameField.teacher: 'teacher'>,)
    >>> GroupSet(name="Math 9", sections=SectionFilter(subjects=["02"], grades=["9"])).sections.describe()
    'subjects 02; grades 9'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from cers_core.identifiers import cds_code
from cers_core.roster import Roster
from cers_core.settings import DEFAULT_FIELDS, ClassTypes, GroupNameField, GroupOptions

__all__ = ["GroupSet", "SectionFilter", "covers_school", "schools_covered", "sections_of"]

# What a group set decides; the rest of GroupOptions belongs to the connection.
_OWN_OPTIONS = ("fields", "separator", "class_types", "primary_teachers_only", "subject_from_course")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def _cleaned(values: tuple[str, ...]) -> tuple[str, ...]:
    """Values as typed, trimmed, blanks and repeats dropped, in their order."""
    return tuple(dict.fromkeys(value.strip() for value in values if value.strip()))


class SectionFilter(BaseModel):
    """Which sections of its schools a group set takes; empty takes them all (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    course_codes: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    grades: tuple[str, ...] = ()

    @field_validator("course_codes", "subjects", "grades")
    @classmethod
    def _values(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _cleaned(value)

    @property
    def empty(self) -> bool:
        return not (self.course_codes or self.subjects or self.grades)

    def describe(self) -> str:
        """The filter in a few words, e.g. ``course codes MA101, MA102; grades 9``."""
        parts = [
            f"{label} {', '.join(values)}"
            for label, values in (
                ("course codes", self.course_codes),
                ("subjects", self.subjects),
                ("grades", self.grades),
            )
            if values
        ]
        return "; ".join(parts) if parts else "every section"

    def keeps(self) -> pl.Expr:
        """True for the sections kept, over classes joined to their course (``course_code``,
        ``course_subjects``, ``course_subject_codes``)."""
        kept = pl.lit(True)
        if self.course_codes:
            wanted = [code.casefold() for code in self.course_codes]
            kept &= pl.col("course_code").str.strip_chars().str.to_lowercase().is_in(wanted).fill_null(False)
        if self.subjects:
            kept &= pl.any_horizontal(_subject_matches(value) for value in self.subjects)
        if self.grades:
            wanted = [grade.lstrip("0") or "0" for grade in self.grades]
            grades = pl.col("grades").list.eval(
                pl.element().str.strip_chars().str.strip_chars_start("0").replace("", "0")
            )
            kept &= grades.list.eval(pl.element().is_in(wanted)).list.any().fill_null(False)
        return kept


def _subject_matches(value: str) -> pl.Expr:
    code = value.isascii() and value.isdigit()  # a subject code (CALPADS: "02"), else a subject's name
    own = pl.col("subject_codes") if code else pl.col("subjects")
    course = pl.col("course_subject_codes") if code else pl.col("course_subjects")
    values = pl.when(own.list.len() > 0).then(own).otherwise(course)
    if code:
        test = pl.element().str.strip_chars().str.starts_with(value)
    else:
        test = pl.element().str.strip_chars().str.to_lowercase() == value.casefold()
    return values.list.eval(test).list.any().fill_null(False)


class GroupSet(BaseModel):
    """One recipe for groups: how they are named, which sections and schools, who gets access.

    Example::

        GroupSet(name="Secondary math", fields=["course_title", "teacher", "period"], class_types="scheduled",
                 subject_from_course=True, schools=["01612590130146"], sections=SectionFilter(subjects=["02"]))
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=100)]
    """What people call it ("Homerooms", "Secondary math"); unique in its connection, ignoring case."""
    fields: tuple[GroupNameField, ...] = DEFAULT_FIELDS
    separator: Annotated[str, Field(min_length=1, max_length=20)] = " - "
    class_types: ClassTypes = ClassTypes.all
    primary_teachers_only: bool = False
    subject_from_course: bool = False
    schools: tuple[str, ...] = ()
    """The schools it is for, by sourcedId or CDS code; empty for every school."""
    sections: SectionFilter = SectionFilter()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if _CONTROL_CHARS.search(value):
            raise ValueError("Remove the control characters (tabs, line breaks) from the name.")
        if not value.strip():
            raise ValueError("Enter a name for the group set.")
        return value.strip()

    @field_validator("fields", "separator")
    @classmethod
    def _as_group_options(cls, value: object, info: ValidationInfo) -> object:
        """The same rules as the connection's own fields and separator (``GroupOptions``)."""
        try:
            GroupOptions.model_validate({info.field_name: value})
        except ValidationError as error:
            raise ValueError(str(error.errors(include_input=False)[0]["msg"]).removeprefix("Value error, ")) from None
        return value

    @field_validator("schools")
    @classmethod
    def _schools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _cleaned(value)

    def group_options(self, connection: GroupOptions) -> GroupOptions:
        """The connection's group options with this group set's own choices in place."""
        return connection.model_copy(update={name: getattr(self, name) for name in _OWN_OPTIONS})

    def describe(self) -> str:
        """What the group set takes, in a line: ``every school; scheduled sections; subjects 02``."""
        schools = "every school" if not self.schools else f"schools {', '.join(self.schools)}"
        types = {ClassTypes.all: "every class type", ClassTypes.scheduled: "scheduled sections",
                 ClassTypes.homeroom: "homerooms"}[self.class_types]  # fmt: skip
        return f"{schools}; {types}; {self.sections.describe()}"


def covers_school(group_set: GroupSet, schools: pl.DataFrame) -> pl.Series:
    """For each school of ``schools`` (``sourced_id``, ``cds``), whether the group set is for it."""
    if not group_set.schools:
        return pl.Series([True] * schools.height, dtype=pl.Boolean)
    wanted = list(group_set.schools)
    return schools.select(pl.col("sourced_id").is_in(wanted) | pl.col("cds").is_in(wanted).fill_null(False)).to_series()


def schools_covered(group_sets: Sequence[GroupSet], schools: pl.DataFrame) -> pl.DataFrame:
    """The schools (``sourced_id``, ``cds``, …) that some group set is for; all of them without group sets."""
    if not group_sets:
        return schools
    return schools.filter(pl.any_horizontal(covers_school(group_set, schools) for group_set in group_sets))


def sections_of(roster: Roster, group_set: GroupSet, options: GroupOptions) -> Roster:
    """The roster as ``group_set`` sees it: only the sections it takes, and their enrollments.

    Enrollments that name a section the SIS did not return stay (they are reported, whichever
    group set reads them); users, courses and terms stay whole.
    """
    schools = roster.schools.select(
        "sourced_id", cds=cds_code(pl.col("identifier"), pl.col("sourced_id"), options.cds_map)
    )
    school_ids = schools.filter(covers_school(group_set, schools))["sourced_id"]
    courses = roster.courses.select(
        course_id="sourced_id",
        course_code="course_code",
        course_subjects="subjects",
        course_subject_codes="subject_codes",
    )
    kept = (
        roster.classes.join(courses, on="course_id", how="left", maintain_order="left")
        .filter(pl.col("school_id").is_in(school_ids.implode()) & group_set.sections.keeps())
        .select(roster.classes.columns)
    )
    dropped = roster.classes.filter(~pl.col("sourced_id").is_in(kept["sourced_id"].implode()))["sourced_id"]
    enrollments = roster.enrollments.filter(~pl.col("class_id").is_in(dropped.implode()))
    return Roster(
        schools=roster.schools,
        sessions=roster.sessions,
        courses=roster.courses,
        classes=kept,
        enrollments=enrollments,
        users=roster.users,
    )
