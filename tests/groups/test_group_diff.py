"""What an upload changes in CERS: the difference between the file sent before and the new one."""

from __future__ import annotations

import polars as pl
import pytest

from cers_core import GroupExport, GroupOptions, export_section_groups, list_schools
from cers_core.group_diff import diff_group_files, group_file, name_key
from cers_core.settings import GroupNameField
from cers_demo import DemoProvider
from tests.support import DEMO_REFERENCE_DATE, context_reaching

HEADER = "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
SCHOOL = "01612590130146"
KIDS = [str(1_000_000_000 + i) for i in range(60)]


def group_csv(*groups: tuple[str, list[str], list[str]], subject: str = "All", school: str = SCHOOL) -> bytes:
    """A file with one row per teacher and per student of each (name, teachers, students)."""
    lines = [HEADER]
    for name, teachers, students in groups:
        lines += [f"{name},{school},2027,{subject},,{login}\r\n" for login in teachers]
        lines += [f"{name},{school},2027,{subject},{ssid},\r\n" for ssid in students]
    return "".join(lines).encode()


def diff(old: bytes, new: bytes, *, sections: tuple[pl.DataFrame, pl.DataFrame] | None = None):
    old_sections, new_sections = sections or (None, None)
    return diff_group_files(group_file(old, sections=old_sections), group_file(new, sections=new_sections))


def changes(result) -> list[tuple[str, str, str | None]]:
    return result.groups.select("change", "group_name", "old_name").rows()


def test_the_same_file_changes_nothing():
    data = group_csv(("Algebra - Lee - 3", ["lee@x.org"], KIDS[:25]))
    result = diff(data, data)
    assert not result.has_changes and result.unchanged == 1 and result.members.height == 0
    assert "Nothing changes in CERS" in result.to_text()


@pytest.mark.parametrize(
    "spelling", ["ALGEBRA - LEE - 3", "Algebra - Lee - 3  ", "  algebra - lee - 3", "Álgebra - Lee - 3"]
)
def test_names_compare_as_cers_compares_them(spelling):
    old = group_csv(("Algebra - Lee - 3", ["lee@x.org"], KIDS[:25]))
    new = group_csv((spelling, ["LEE@x.org"], KIDS[:25]))
    assert not diff(old, new).has_changes
    assert name_key(spelling) == name_key("algebra - lee - 3")


def test_a_student_who_moved_sections():
    old = group_csv(("Algebra - Lee - 3", ["lee@x.org"], KIDS[:25]), ("Algebra - Lee - 5", ["lee@x.org"], KIDS[25:50]))
    new = group_csv(("Algebra - Lee - 3", ["lee@x.org"], KIDS[:24]), ("Algebra - Lee - 5", ["lee@x.org"], KIDS[24:50]))
    result = diff(old, new)
    assert changes(result) == [("changed", "Algebra - Lee - 3", None), ("changed", "Algebra - Lee - 5", None)]
    assert result.members.select("group_name", "role", "person", "change", "note").rows() == [
        ("Algebra - Lee - 3", "student", KIDS[24], "removed", "moved to “Algebra - Lee - 5”"),
        ("Algebra - Lee - 5", "student", KIDS[24], "added", "moved from “Algebra - Lee - 3”"),
    ]
    assert "1 student moved from one group to another." in result.summary()
    text = result.to_text()
    assert f"- student {KIDS[24]} (moved to “Algebra - Lee - 5”)" in text


def test_a_teacher_who_left_and_one_who_only_changed_sections():
    old = group_csv(
        ("Biology - Park - 1", ["park@x.org", "aide@x.org"], KIDS[:20]),
        ("Biology - Park - 2", ["park@x.org"], KIDS[20:40]),
        ("Chemistry - Diaz - 4", ["diaz@x.org"], KIDS[40:60]),
    )
    new = group_csv(
        ("Biology - Park - 1", ["park@x.org"], KIDS[:20]),
        ("Biology - Park - 2", ["park@x.org", "diaz@x.org"], KIDS[20:40]),
        ("Chemistry - Diaz - 4", ["park@x.org"], KIDS[40:60]),
    )
    result = diff(old, new)
    members = result.members.filter(pl.col("role") == "teacher").select("group_name", "person", "change", "note")
    assert members.rows() == [
        ("Biology - Park - 1", "aide@x.org", "removed", "in no group of this school any more"),
        ("Biology - Park - 2", "diaz@x.org", "added", None),
        ("Chemistry - Diaz - 4", "park@x.org", "added", None),
        ("Chemistry - Diaz - 4", "diaz@x.org", "removed", None),
    ]
    assert any("1 teacher is in no group of their school any more" in line for line in result.summary())


def test_a_group_that_disappears_stays_in_cers_and_the_summary_says_how_to_remove_it():
    old = group_csv(("Art - Kim - 2", ["kim@x.org"], KIDS[:10]), ("Band - Cho - 6", ["cho@x.org"], KIDS[10:30]))
    new = group_csv(("Band - Cho - 6", ["cho@x.org"], KIDS[10:30]))
    result = diff(old, new)
    row = result.groups.row(0, named=True)
    assert (row["change"], row["group_name"], row["teachers"], row["students"]) == (
        "disappears",
        "Art - Kim - 2",
        1,
        10,
    )
    assert result.members.height == 0  # CERS removes nobody from a group that is not in the file
    summary = " ".join(result.summary())
    assert "CERS keeps such groups" in summary and "Manage Student Groups" in summary
    assert "teacher rows only" in summary
    assert "NOT IN THIS FILE “Art - Kim - 2” (1 teacher, 10 students)" in result.to_text()


def test_a_renamed_section_is_found_by_its_members_when_no_section_ids_are_known():
    old = group_csv(("Biology - Park - 1", ["park@x.org"], KIDS[:30]), ("Art - Kim - 2", ["kim@x.org"], KIDS[30:40]))
    new = group_csv(
        ("Biology - Okafor - 1", ["okafor@x.org"], [*KIDS[:29], KIDS[59]]),
        ("Ceramics - Kim - 2", ["kim@x.org"], KIDS[30:33]),  # too different: a new group
    )
    result = diff(old, new)
    assert changes(result) == [
        ("disappears", "Art - Kim - 2", None),
        ("renamed", "Biology - Okafor - 1", "Biology - Park - 1"),
        ("added", "Ceramics - Kim - 2", None),
    ]
    renamed = result.groups.filter(pl.col("change") == "renamed").row(0, named=True)
    assert renamed["matched_by"] == "members"
    assert (renamed["teachers_added"], renamed["teachers_removed"]) == (1, 1)
    assert (renamed["students_added"], renamed["students_removed"]) == (1, 1)
    assert "CERS will create each new name as a new group and keep the old one" in " ".join(result.summary())


def test_section_ids_find_a_rename_even_when_the_members_changed():
    old = group_csv(("Period 3 Math", ["lee@x.org"], KIDS[:10]))
    new = group_csv(("Math 8 - Lee - 3", ["lee@x.org"], KIDS[20:30]))
    sections = (
        pl.DataFrame(
            {
                "school_natural_id": [SCHOOL],
                "school_year": [2027],
                "group_name": ["Period 3 Math"],
                "class_id": ["class-17"],
            }
        ),
        pl.DataFrame(
            {
                "school_natural_id": [SCHOOL],
                "school_year": [2027],
                "group_name": ["Math 8 - Lee - 3"],
                "class_id": ["class-17"],
            }
        ),
    )
    result = diff(old, new, sections=sections)
    assert changes(result) == [("renamed", "Math 8 - Lee - 3", "Period 3 Math")]
    assert result.groups["matched_by"][0] == "section"
    assert result.groups.select("students_added", "students_removed").row(0) == (10, 10)
    assert changes(diff(old, new)) == [("disappears", "Period 3 Math", None), ("added", "Math 8 - Lee - 3", None)]


def test_a_subject_change_is_a_change():
    old = group_csv(("Algebra - Lee - 3", ["lee@x.org"], KIDS[:5]), subject="All")
    new = group_csv(("Algebra - Lee - 3", ["lee@x.org"], KIDS[:5]), subject="Math")
    result = diff(old, new)
    assert changes(result) == [("changed", "Algebra - Lee - 3", None)]
    assert "subject All -> Math" in result.to_text()


def test_rows_without_a_key_are_counted_not_compared():
    old = group_csv(("Algebra", ["lee@x.org"], KIDS[:3]))
    new = old + f"Algebra,{SCHOOL},twenty,All,{KIDS[9]},\r\n,{SCHOOL},2027,All,{KIDS[8]},\r\n".encode()
    result = diff(old, new)
    assert not result.has_changes and result.skipped_rows == 2
    assert "2 rows without a group name, school or numeric year" in result.summary()[-1]


def demo_export(provider: DemoProvider, fields: tuple[GroupNameField, ...]) -> GroupExport:
    settings, context = provider.settings(), context_reaching(provider)
    school = list_schools(settings, context=context).drop_nulls("cds")["sourced_id"][0]
    options = GroupOptions(fields=fields, split_large=True)
    return export_section_groups(settings, options, schools=[school], as_of=DEMO_REFERENCE_DATE, context=context)


def test_new_group_name_fields_rename_every_section_of_a_demo_school(demo_provider, tmp_path):
    before = demo_export(demo_provider, (GroupNameField.course_title, GroupNameField.teacher, GroupNameField.period))
    after = demo_export(demo_provider, (GroupNameField.course_code, GroupNameField.period))
    path = tmp_path / "before.csv"
    path.write_bytes(before.csv_bytes)
    by_section = diff_group_files(
        group_file(path, sections=before.groups), group_file(after.rows, sections=after.groups)
    )
    assert by_section.counts()["renamed"] == before.groups.height == after.groups.height
    assert set(by_section.groups["matched_by"]) == {"section"} and by_section.members.height == 0
    by_members = diff_group_files(group_file(before.csv_bytes), group_file(after.csv_bytes))
    # Without section ids, groups with the same members are matched by them.
    renamed = by_members.groups.filter(pl.col("change") == "renamed")
    assert renamed.height >= 0.9 * before.groups.height
    assert set(renamed["matched_by"]) == {"members"}
