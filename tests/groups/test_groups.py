"""The section-group builder on a small hand-written roster, with exact expected rows."""

from __future__ import annotations

import copy
from datetime import date

import polars as pl
import pytest

from cers_core.groups import build_section_groups
from cers_core.settings import ClassTypes, GroupOptions
from tests.support.rosters import load_records, load_roster, roster_from_records

AS_OF = date(2026, 11, 28)
CDS = "01612590130146"


def file_rows(result) -> list[tuple]:
    """The rows in file order, as tuples, so a test reads like the CSV it pins."""
    from cers_core.cers_csv import order_cers_rows

    return [tuple(r) for r in order_cers_rows(result.rows).iter_rows()]


def codes(result, severity: str) -> list[tuple[str, str | None]]:
    rows = result.problems.filter(pl.col("severity") == severity)
    return sorted((r["code"], r["user_id"] or r["class_id"] or r["school"]) for r in rows.iter_rows(named=True))


def test_default_options_pin_every_row():
    result = build_section_groups(load_roster("lincoln_high"), as_of=AS_OF)
    assert file_rows(result) == [
        ("Algebra I - Nguyen - 3 (ALG-3A)", CDS, 2027, "All", "", "anguyen@lincoln.example.org"),
        ("Algebra I - Nguyen - 3 (ALG-3A)", CDS, 2027, "All", "1234567890", ""),
        ("Algebra I - Nguyen - 3 (ALG-3A)", CDS, 2027, "All", "2000000002", ""),
        ("Algebra I - Nguyen - 3 (ALG-3B)", CDS, 2027, "All", "", "BNguyen@Lincoln.example.org"),
        ("Algebra I - Nguyen - 3 (ALG-3B)", CDS, 2027, "All", "0700000007", ""),
        ("Art Studio - Adams - 5", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("Art Studio - Adams - 5", CDS, 2027, "All", "4000000004", ""),
        ("English 9 Honors - Adams - 1/2", CDS, 2027, "All", "", "cadams@lincoln.example.org"),
        ("English 9 Honors - Adams - 1/2", CDS, 2027, "All", "1234567890", ""),
        ("English 9 Honors - Adams - 1/2", CDS, 2027, "All", "4000000004", ""),
    ]


def test_every_left_out_person_and_section_is_reported_with_the_reason():
    result = build_section_groups(load_roster("lincoln_high"), as_of=AS_OF)
    assert codes(result, "error") == [("school_without_cds", "Annex")]
    assert codes(result, "warning") == [
        ("student_invalid_ssid", "s-3"),  # first SSID-typed entry (CALPADS) is 9 digits: no fall-back
        ("student_invalid_ssid", "s-3"),
        ("teacher_without_login", "t-zed"),
        ("teacher_without_login", "t-zed"),
        ("unknown_section", "s-1"),  # an enrollment naming a section the SIS did not return
        ("unknown_user", "s-ghost"),
    ]
    assert codes(result, "info") == [
        ("enrollment_not_current", "s-2"),
        ("enrollment_tobedeleted", "s-3"),
        ("name_collision", "cls-alg-3a"),
        ("name_collision", "cls-alg-3b"),
        ("no_students", "cls-hr"),
        ("other_role", "t-zed"),  # ext:coteacher: neither teacher nor student
        ("user_inactive", "s-5"),
    ]
    assert result.problems["severity"].to_list()[0] == "error"
    ssid = result.problems.filter(pl.col("code") == "student_invalid_ssid").row(0, named=True)
    assert (ssid["person"], ssid["local_id"]) == ("Cy Diaz", "100003")
    assert "9 digits, not 10" in ssid["message"]
    other = result.problems.filter(pl.col("code") == "other_role").row(0, named=True)
    assert "ext:coteacher" in other["message"] and other["person"] == "Zoe Zed"
    ghost = result.problems.filter(pl.col("code") == "unknown_section").row(0, named=True)
    assert (ghost["person"], ghost["school"]) == ("Ana Lopez", "Lincoln High")


def test_group_summary_counts_teachers_and_students():
    result = build_section_groups(load_roster("lincoln_high"), as_of=AS_OF)
    assert result.groups.select("group_name", "class_id", "teachers", "students").rows() == [
        ("Algebra I - Nguyen - 3 (ALG-3A)", "cls-alg-3a", 1, 2),
        ("Algebra I - Nguyen - 3 (ALG-3B)", "cls-alg-3b", 1, 1),
        ("Art Studio - Adams - 5", "cls-art", 1, 1),
        ("English 9 Honors - Adams - 1/2", "cls-eng-1", 1, 2),
    ]


def test_cds_mapping_brings_a_school_without_cds_into_the_file():
    options = GroupOptions(cds_map={"sch-nocds": "01612590199999"})
    result = build_section_groups(load_roster("lincoln_high"), options, as_of=AS_OF)
    assert ("English 9 Honors", "01612590199999", 2027, "All", "6000000006", "") in file_rows(result)
    assert codes(result, "error") == []
    assert ("no_teacher", "cls-annex") in codes(result, "warning")


@pytest.mark.parametrize(
    ("options", "expected_names"),
    [
        (
            GroupOptions(fields=("class_code", "period"), separator=" | "),
            ["ALG-3A | 3", "ALG-3B | 3", "ART-5 | 5", "ENG-1 | 1/2"],
        ),
        (
            GroupOptions(fields=("teacher_full", "course_code", "term")),
            [
                "Anh Nguyen - MA101 - Fall 2026",
                "Bao Nguyen - MA101 - 2026-27",
                "Carla Adams - AR1 - Fall 2026",
                "Carla Adams - EN109 - Fall 2026/Spring 2027",
            ],
        ),
        (
            GroupOptions(fields=("school_name", "subject", "location")),
            [
                "Lincoln High - English Language Arts",
                "Lincoln High - Mathematics",
                "Lincoln High - Mathematics - Room 12",
                "Lincoln High - Visual Arts",
            ],
        ),
    ],
)
def test_group_name_fields_in_the_chosen_order(options, expected_names):
    result = build_section_groups(load_roster("lincoln_high"), options, as_of=AS_OF)
    assert sorted(result.groups["group_name"].to_list()) == sorted(expected_names)


def test_subject_from_course_maps_sced_areas_and_names():
    result = build_section_groups(load_roster("lincoln_high"), GroupOptions(subject_from_course=True), as_of=AS_OF)
    subjects = dict(result.groups.select("class_id", "subject_code").iter_rows())
    assert subjects == {"cls-alg-3a": "Math", "cls-alg-3b": "Math", "cls-art": "All", "cls-eng-1": "ELA"}


def test_primary_teachers_only_keeps_a_group_without_teacher_and_warns():
    result = build_section_groups(load_roster("lincoln_high"), GroupOptions(primary_teachers_only=True), as_of=AS_OF)
    english = result.groups.filter(pl.col("class_id") == "cls-eng-1").row(0, named=True)
    assert (english["group_name"], english["teachers"], english["students"]) == ("English 9 Honors - 1/2", 0, 2)
    assert ("no_teacher", "cls-eng-1") in codes(result, "warning")


def test_class_types_homeroom_only():
    records = load_records("lincoln_high")
    records["users"][6]["userIds"][0]["identifier"] = "3000000003"  # give s-3 a valid SSID
    result = build_section_groups(
        roster_from_records(records), GroupOptions(class_types=ClassTypes.homeroom), as_of=AS_OF
    )
    assert file_rows(result) == [("English 9 Honors", CDS, 2027, "All", "3000000003", "")]
    assert ("teacher_without_login", "t-zed") in codes(result, "warning")
    assert ("no_teacher", "cls-hr") in codes(result, "warning")


def test_as_of_a_date_in_spring_uses_spring_sections_and_enrollments():
    result = build_section_groups(load_roster("lincoln_high"), as_of=date(2027, 2, 1))
    assert sorted(result.groups["class_id"].to_list()) == ["cls-alg-3b", "cls-eng-1"]
    english = result.rows.filter(pl.col("group_name").str.starts_with("English"))
    assert sorted(english["student_ssid"].to_list()) == ["", "1234567890", "4000000004"]


def test_school_year_mode_takes_every_section_and_member_of_that_year():
    result = build_section_groups(load_roster("lincoln_high"), school_year=2027)
    english = result.rows.filter(pl.col("group_name").str.starts_with("English"))
    # Ben Kim left English on 2026-10-01: still a member during the 2026-27 school year.
    assert sorted(english["student_ssid"].to_list()) == ["", "1234567890", "2000000002", "4000000004"]
    assert set(result.rows["school_year"].to_list()) == {2027}
    # 2025-26 has no schoolYear session: July 1 to July 1, and the year comes from the term's dates.
    last_year = build_section_groups(load_roster("lincoln_high"), school_year=2026)
    assert file_rows(last_year) == [("Algebra I - 4", CDS, 2026, "All", "1234567890", "")]
    assert ("no_teacher", "cls-old") in codes(last_year, "warning")


def _big_section(students: int) -> dict:
    records = copy.deepcopy(load_records("lincoln_high"))
    template = records["users"][4]
    for n in range(students):
        user = copy.deepcopy(template)
        user["sourcedId"] = f"big-{n:03d}"
        user["userIds"] = [{"type": "SSID", "identifier": f"9{n:09d}"}]
        records["users"].append(user)
        records["enrollments"].append(
            {
                "sourcedId": f"e-big-{n}",
                "status": "active",
                "role": "student",
                "user": {"href": "x", "sourcedId": user["sourcedId"], "type": "user"},
                "class": {"href": "x", "sourcedId": "cls-art", "type": "class"},
                "school": {"href": "x", "sourcedId": "sch-lhs", "type": "org"},
            }
        )
    return records


def test_a_group_over_200_students_is_an_error_unless_split():
    records = _big_section(230)
    result = build_section_groups(roster_from_records(records), as_of=AS_OF)
    over = result.problems.filter(pl.col("code") == "group_over_200").row(0, named=True)
    assert (over["severity"], over["group_name"]) == ("error", "Art Studio - Adams - 5")
    assert "231 students" in over["message"]

    split = build_section_groups(roster_from_records(records), GroupOptions(split_large=True), as_of=AS_OF)
    parts = split.groups.filter(pl.col("class_id") == "cls-art")
    assert parts.select("group_name", "teachers", "students").rows() == [
        ("Art Studio - Adams - 5 (1 of 2)", 1, 116),
        ("Art Studio - Adams - 5 (2 of 2)", 1, 115),
    ]
    assert codes(split, "error") == [("school_without_cds", "Annex")]


def test_names_are_cut_to_255_characters_with_the_collision_suffix_kept():
    records = load_records("lincoln_high")
    records["courses"][0]["title"] = "A" * 300
    result = build_section_groups(roster_from_records(records), GroupOptions(fields=("course_title",)), as_of=AS_OF)
    names = sorted(n for n in result.groups["group_name"].to_list() if n.startswith("AAA"))
    assert [len(n) for n in names] == [255, 255]
    assert [n[-9:] for n in names] == [" (ALG-3A)", " (ALG-3B)"]


def test_options_reject_a_separator_cers_cannot_read():
    with pytest.raises(ValueError, match="separator"):
        GroupOptions(separator=", ")


def test_identifiers_in_other_digits_or_with_invisible_characters_are_left_out_and_said_so():
    """Issue 11: a Unicode ``\\d`` took full-width and Arabic-Indic SSIDs and CDS codes, and a login
    holding a zero-width space or a NUL was written as it was."""
    records = copy.deepcopy(load_records("lincoln_high"))
    users = {user["sourcedId"]: user for user in records["users"]}
    users["s-4"]["userIds"][0]["identifier"] = "４００００００００４"  # full-width
    users["s-7"]["userIds"][0]["identifier"] = "٠٧٠٠٠٠٠٠٠٧"  # Arabic-Indic
    users["t-nguyen-a"]["email"] = "anguyen\u200b@lincoln.example.org"  # username "anguyen" is no login
    users["t-adams"]["username"] = "cad\x00ams@lincoln.example.org"
    records["orgs"][1]["identifier"] = "０１６１２５９０１９９９９９"  # the Annex, full-width
    result = build_section_groups(roster_from_records(records), as_of=AS_OF)

    # Left: Nguyen A's and Adams's sections without their teacher, Art and Algebra B without students.
    assert file_rows(result) == [
        ("Algebra I - 3", CDS, 2027, "All", "1234567890", ""),
        ("Algebra I - 3", CDS, 2027, "All", "2000000002", ""),
        ("English 9 Honors - 1/2", CDS, 2027, "All", "1234567890", ""),
    ]
    problems = result.problems.filter(pl.col("code").is_in(["student_invalid_ssid", "teacher_without_login"]))
    said = {(row["user_id"], row["message"]) for row in problems.iter_rows(named=True)}
    other_digits = (
        "Student left out: the SSID on record is written with digits other than 0-9 (full-width, Arabic-Indic…); "
        "CERS needs the digits 0-9, or it would make a new student of it."
    )
    assert ("s-4", other_digits) in said and ("s-7", other_digits) in said
    assert (
        "t-nguyen-a",
        "Teacher left out: the login on record, 'anguyen<U+200B>@lincoln.example.org', holds a character nobody "
        "sees (U+200B ZERO WIDTH SPACE): CERS would keep it and the login would match nobody's. Remove it in the SIS.",
    ) in said
    assert (
        "t-adams",
        "Teacher left out: the login on record, 'cad<U+0000>ams@lincoln.example.org', holds a character nobody "
        "sees (U+0000 (a control character)): CERS would keep it and the login would match nobody's. Remove it in "
        "the SIS.",
    ) in said
    assert all("\u200b" not in message and "\x00" not in message for _, message in said)
    nguyen = problems.filter(pl.col("user_id") == "t-nguyen-a").row(0, named=True)
    assert (nguyen["severity"], nguyen["person"]) == ("warning", "Anh Nguyen")
    assert ("school_without_cds", "Annex") in codes(result, "error")  # its full-width code is no CDS code


def test_a_school_year_in_other_digits_is_read_from_the_session_dates():
    records = copy.deepcopy(load_records("lincoln_high"))
    for session in records["academicSessions"]:
        if "schoolYear" in session:
            session["schoolYear"] = "２０２７"
    result = build_section_groups(roster_from_records(records), as_of=AS_OF)
    assert file_rows(result) == file_rows(build_section_groups(load_roster("lincoln_high"), as_of=AS_OF))
