"""The demo district generator: deterministic, the right size, Californian, and holding every awkward case."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date

import polars as pl
import pytest

from cers_demo import DemoDistrict, generate_district
from cers_demo.district import COUNTY_CODE, DISTRICT_CODE
from tests.support import DEMO_REFERENCE_DATE

EMAIL = re.compile(r"^[a-z0-9.]+@[a-z0-9.-]+\.example\.org$")


def current_classes(district: DemoDistrict) -> pl.DataFrame:
    """Classes whose terms all belong to the current school year."""
    current = district.academic_sessions.filter(pl.col("schoolYear") == district.school_year)["sourcedId"]
    return district.classes.filter(
        pl.col("terms.sourcedId").list.eval(pl.element().is_in(current.implode())).list.all()
    )


def students(district: DemoDistrict) -> pl.DataFrame:
    return district.users.filter(pl.col("roles.role").list.contains("student"))


def user(district: DemoDistrict, sourced_id: str) -> dict[str, object]:
    return district.users.filter(pl.col("sourcedId") == sourced_id).row(0, named=True)


def class_row(district: DemoDistrict, sourced_id: str) -> dict[str, object]:
    return district.classes.filter(pl.col("sourcedId") == sourced_id).row(0, named=True)


def enrollments_of(district: DemoDistrict, class_id: str, role: str) -> pl.DataFrame:
    return district.enrollments.filter(pl.col("class.sourcedId") == class_id, pl.col("role") == role)


@pytest.fixture(scope="module")
def district_scale() -> DemoDistrict:
    return generate_district(scale="district", seed=7, reference_date=DEMO_REFERENCE_DATE)


# -- determinism ---------------------------------------------------------------------------


def test_same_arguments_give_identical_frames(demo_district: DemoDistrict) -> None:
    again = generate_district(scale="demo", seed=7, reference_date=DEMO_REFERENCE_DATE)
    for name, frame in demo_district.frames().items():
        assert frame.equals(again.frames()[name]), name
    assert again.cases == demo_district.cases


def test_another_seed_gives_other_people_and_schools(demo_district: DemoDistrict) -> None:
    other = generate_district(scale="demo", seed=8, reference_date=DEMO_REFERENCE_DATE)
    assert not other.users.equals(demo_district.users)
    assert other.orgs["name"].to_list() != demo_district.orgs["name"].to_list()
    assert (
        other.users.select("givenName", "familyName").rows()
        != demo_district.users.select("givenName", "familyName").rows()
    )


@pytest.mark.parametrize(
    ("reference_date", "school_year", "year_title"),
    [
        (date(2026, 11, 28), "2027", "2026-2027 School Year"),
        (date(2027, 3, 1), "2027", "2026-2027 School Year"),
        (date(2026, 8, 20), "2027", "2026-2027 School Year"),
        (date(2026, 7, 15), "2027", "2026-2027 School Year"),  # summer: the coming year
        (date(2026, 6, 20), "2026", "2025-2026 School Year"),  # after the last day of school
        (date(2030, 1, 10), "2030", "2029-2030 School Year"),
    ],
)
def test_the_reference_date_picks_the_school_year_and_classes_are_active_on_it(
    reference_date: date, school_year: str, year_title: str
) -> None:
    district = generate_district(scale="demo", reference_date=reference_date)
    assert district.school_year == school_year
    year = district.academic_sessions.filter(pl.col("type") == "schoolYear", pl.col("schoolYear") == school_year)
    assert year["title"].to_list() == [year_title]
    active = district.enrollments.filter(
        pl.col("status") == "active",
        pl.col("beginDate") <= reference_date,
        pl.col("endDate") > reference_date,
    )
    # Even in the summer break the demo has classes "today": at least every homeroom and year-long class.
    assert active["class.sourcedId"].n_unique() > 150
    # Last year's sessions are there too, ending before this year's start.
    last = district.academic_sessions.filter(pl.col("schoolYear") == str(int(school_year) - 1))
    assert last.height == 10
    assert last["endDate"].max() <= year["startDate"].item()


def test_sessions_of_the_current_year(demo_district: DemoDistrict) -> None:
    sessions = demo_district.academic_sessions.filter(pl.col("schoolYear") == "2027")
    by_id = {row["sourcedId"]: row for row in sessions.iter_rows(named=True)}
    assert sorted(by_id) == [
        "as-2027", "as-2027-q1", "as-2027-q2", "as-2027-q3", "as-2027-q4",
        "as-2027-s1", "as-2027-s2", "as-2027-t1", "as-2027-t2", "as-2027-t3",
    ]  # fmt: skip
    assert by_id["as-2027"]["type"] == "schoolYear"
    assert (by_id["as-2027"]["startDate"], by_id["as-2027"]["endDate"]) == (date(2026, 8, 12), date(2027, 6, 12))
    assert by_id["as-2027-s1"]["type"] == "semester" and by_id["as-2027-s1"]["parent.sourcedId"] == "as-2027"
    assert by_id["as-2027-t2"]["type"] == "term"
    assert by_id["as-2027-q2"]["type"] == "gradingPeriod" and by_id["as-2027-q2"]["parent.sourcedId"] == "as-2027-s1"
    assert by_id["as-2027"]["children.sourcedId"] == [
        "as-2027-s1",
        "as-2027-s2",
        "as-2027-t1",
        "as-2027-t2",
        "as-2027-t3",
    ]


# -- sizes ---------------------------------------------------------------------------------


def test_demo_scale_is_three_schools_and_1550_students(demo_district: DemoDistrict) -> None:
    schools = demo_district.orgs.filter(pl.col("type") == "school")
    assert schools["name"].str.extract(r"(\w+ School)$").to_list() == [
        "Elementary School",
        "Middle School",
        "High School",
    ]
    assert students(demo_district).height == 480 + 450 + 620
    counts = students(demo_district).group_by("primaryOrg.sourcedId").len().sort("primaryOrg.sourcedId")
    assert counts["len"].to_list() == [480, 450, 620]
    assert demo_district.name == "Sierra Vista Unified School District"


def test_district_scale_is_about_50_schools_and_30000_students(district_scale: DemoDistrict) -> None:
    assert district_scale.orgs.filter(pl.col("type") == "school").height == 50
    assert 27_000 <= students(district_scale).height <= 33_000
    assert 120_000 <= district_scale.enrollments.height <= 160_000


def test_lausd_scale_generates_in_seconds() -> None:
    started = time.perf_counter()
    district = generate_district(scale="lausd", seed=7, reference_date=DEMO_REFERENCE_DATE)
    elapsed = time.perf_counter() - started
    counts = district.record_counts()
    assert counts["orgs"] == 1_001
    assert 430_000 <= students(district).height <= 470_000
    assert 1_900_000 <= counts["enrollments"] <= 2_200_000
    # Generous for a loaded CI machine; it takes about 2 s on two cores.
    assert elapsed < 20, f"lausd scale took {elapsed:.1f} s"
    assert district.cases.large_section in set(district.classes["sourcedId"])


# -- shape of the records ------------------------------------------------------------------


def test_every_frame_is_sorted_by_unique_sourced_ids(demo_district: DemoDistrict) -> None:
    for name, frame in demo_district.frames().items():
        ids = frame["sourcedId"]
        assert ids.is_sorted(), name
        assert ids.n_unique() == frame.height, name


def test_cds_codes(demo_district: DemoDistrict, district_scale: DemoDistrict) -> None:
    for district in (demo_district, district_scale):
        orgs = district.orgs
        assert orgs.filter(pl.col("type") == "district")["identifier"].to_list() == [
            COUNTY_CODE + DISTRICT_CODE + "0000000"
        ]
        schools = orgs.filter(pl.col("type") == "school")["identifier"]
        assert schools.str.contains(r"^\d{14}$").all()
        assert schools.str.starts_with(COUNTY_CODE + DISTRICT_CODE).all()
        assert not schools.str.ends_with("0000000").any()
        assert schools.n_unique() == schools.len()


def test_ssids_and_local_ids(district_scale: DemoDistrict) -> None:
    people = students(district_scale).select(
        pl.col("sourcedId"), pl.col("identifier"), pl.col("userIds.type"), pl.col("userIds.identifier")
    )
    assert people["identifier"].str.contains(r"^\d{6,7}$").all()
    assert (people["userIds.type"].list.first() == "LocalId").all()
    assert (people["userIds.identifier"].list.first() == people["identifier"]).all()
    with_ssid = people.filter(pl.col("userIds.type").list.contains("SSID"))
    ssids = with_ssid["userIds.identifier"].list.get(1)
    assert ssids.n_unique() == ssids.len()
    malformed = with_ssid.filter(~ssids.str.contains(r"^\d{10}$"))
    assert malformed["sourcedId"].to_list() == [district_scale.cases.student_with_malformed_ssid]
    # A few students wait for their SSID: more than the hand-placed one, but well under 1%.
    without = people.height - with_ssid.height
    assert 1 < without < people.height // 100


def test_teachers_have_district_logins(demo_district: DemoDistrict) -> None:
    teachers = demo_district.users.filter(pl.col("roles.role").list.contains("teacher"))
    with_email = teachers.filter(pl.col("email").is_not_null())
    assert with_email.height == teachers.height - 2
    assert with_email["email"].str.contains(EMAIL.pattern).all()
    assert with_email["email"].str.ends_with("@sierravista.example.org").all()
    assert with_email["email"].n_unique() == with_email.height
    assert (with_email["username"] == with_email["email"]).all()
    assert demo_district.users["email"].drop_nulls().str.ends_with(".example.org").all()


def test_nobody_is_in_two_rooms_at_once(demo_district: DemoDistrict) -> None:
    meetings = (
        demo_district.enrollments.join(
            current_classes(demo_district).select("sourcedId", "periods", "terms.sourcedId"),
            left_on="class.sourcedId",
            right_on="sourcedId",
        )
        .filter(pl.col("periods").is_not_null())
        .explode("periods")
        .explode("terms.sourcedId")
    )
    # Year-long classes meet in every semester and trimester: compare at the finest sessions.
    within = {
        "as-2027": ["as-2027-s1", "as-2027-s2"],
        "as-2027-t1": ["as-2027-s1"],
        "as-2027-t2": ["as-2027-s1", "as-2027-s2"],
        "as-2027-t3": ["as-2027-s2"],
    }
    meetings = meetings.with_columns(
        pl.col("terms.sourcedId").replace_strict(
            within, default=pl.concat_list("terms.sourcedId"), return_dtype=pl.List(pl.String)
        )
    ).explode("terms.sourcedId")
    clashes = meetings.group_by("user.sourcedId", "periods", "terms.sourcedId").agg(
        pl.col("class.sourcedId").n_unique().alias("classes"),
        pl.col("class.sourcedId").unique().alias("which"),
    )
    # Only the middle-school trimester wheel shares a period between its three classes.
    clashes = clashes.filter(pl.col("classes") > 1)
    titles = dict(zip(demo_district.classes["sourcedId"], demo_district.classes["title"], strict=True))
    clashing_titles = {titles[c] for which in clashes["which"] for c in which}
    assert clashing_titles <= {"Art Wheel", "Computer Science Wheel", "Music Wheel"}


def test_secondary_sections_have_periods_rooms_and_courses(demo_district: DemoDistrict) -> None:
    classes = current_classes(demo_district).filter(pl.col("classType") == "scheduled")
    assert classes["periods"].list.len().eq(1).all()
    assert set(classes["periods"].explode()) == {"1", "2", "3", "4", "5", "6", "7"}
    assert classes["location"].str.contains(r"^(Room \d+|Gym)$").all()
    algebra = demo_district.courses.filter(pl.col("title") == "Algebra I", pl.col("schoolYear.sourcedId") == "as-2027")
    assert algebra.select("courseCode", "grades", "subjects", "subjectCodes").rows() == [
        ("ALG1", ["09"], ["Mathematics"], ["02052"])
    ]


# -- the hand-placed cases, in every scale ---------------------------------------------------


@pytest.fixture(params=["demo", "district"])
def any_scale(
    request: pytest.FixtureRequest, demo_district: DemoDistrict, district_scale: DemoDistrict
) -> Iterator[DemoDistrict]:
    yield demo_district if request.param == "demo" else district_scale


def test_students_without_and_with_malformed_ssids(any_scale: DemoDistrict) -> None:
    cases = any_scale.cases
    assert "SSID" not in user(any_scale, cases.student_without_ssid)["userIds.type"]
    malformed = user(any_scale, cases.student_with_malformed_ssid)
    assert malformed["userIds.type"] == ["LocalId", "SSID"]
    assert re.fullmatch(r"\d{9}", malformed["userIds.identifier"][1])
    assert user(any_scale, cases.disabled_student)["enabledUser"] is False


def test_teachers_cers_cannot_or_can_only_just_use(any_scale: DemoDistrict) -> None:
    unusable = user(any_scale, any_scale.cases.teacher_without_usable_login)
    assert unusable["email"] is None and "@" not in unusable["username"]
    assert unusable["roles.role"] == ["teacher"]
    username_only = user(any_scale, any_scale.cases.teacher_with_email_username)
    assert username_only["email"] is None and EMAIL.match(username_only["username"])
    for teacher in (unusable, username_only):
        teaching = any_scale.enrollments.filter(pl.col("user.sourcedId") == teacher["sourcedId"])
        assert teaching.height >= 1  # they teach classes: their groups are the problem


def test_large_section_has_over_200_students(any_scale: DemoDistrict) -> None:
    section = class_row(any_scale, any_scale.cases.large_section)
    assert section["subjects"] == ["Physical Education"]
    assert enrollments_of(any_scale, section["sourcedId"], "student").height == 230


def test_ended_and_tobedeleted_enrollments(any_scale: DemoDistrict) -> None:
    enrollments = any_scale.enrollments
    ended = enrollments.filter(pl.col("sourcedId") == any_scale.cases.ended_enrollment).row(0, named=True)
    assert ended["endDate"] < DEMO_REFERENCE_DATE and ended["role"] == "student" and ended["status"] == "active"
    assert ended["class.sourcedId"] in set(current_classes(any_scale)["sourcedId"])
    gone = enrollments.filter(pl.col("sourcedId") == any_scale.cases.tobedeleted_enrollment)
    assert gone["status"].to_list() == ["tobedeleted"]
    # Besides the hand-placed ones, a few of each, as in a live SIS.
    assert enrollments.filter(pl.col("status") == "tobedeleted").height > 1
    dropped = enrollments.filter(pl.col("endDate") < DEMO_REFERENCE_DATE, pl.col("beginDate") >= date(2026, 8, 12))
    assert dropped.filter(pl.col("endDate") != date(2026, 11, 14)).height > 1  # not just trimester 1


def test_colliding_sections(any_scale: DemoDistrict) -> None:
    first, second = (class_row(any_scale, c) for c in any_scale.cases.colliding_sections)
    assert first["title"] == second["title"] == "Algebra I"
    assert first["periods"] == second["periods"] == ["3"]
    assert first["school.sourcedId"] == second["school.sourcedId"]
    assert first["terms.sourcedId"] == second["terms.sourcedId"] == ["as-2027-s1", "as-2027-s2"]
    teachers = [
        user(any_scale, enrollments_of(any_scale, c["sourcedId"], "teacher")["user.sourcedId"].item())
        for c in (first, second)
    ]
    assert [t["familyName"] for t in teachers] == ["Nguyen", "Nguyen"]
    assert teachers[0]["givenName"] != teachers[1]["givenName"]


@pytest.mark.parametrize(
    ("case", "check"),
    [
        ("title_with_comma", lambda title: "," in title),
        ("title_with_quotes", lambda title: '"' in title),
        ("title_with_formula", lambda title: title.startswith("=")),
    ],
)
def test_titles_that_break_naive_csv(any_scale: DemoDistrict, case: str, check: object) -> None:
    section = class_row(any_scale, getattr(any_scale.cases, case))
    course = any_scale.courses.filter(pl.col("sourcedId") == section["course.sourcedId"]).row(0, named=True)
    assert callable(check)
    assert check(section["title"]) and check(course["title"])


def test_class_types_missing_and_extended(any_scale: DemoDistrict) -> None:
    assert class_row(any_scale, any_scale.cases.class_without_type)["classType"] is None
    assert class_row(any_scale, any_scale.cases.class_with_ext_type)["classType"] == "ext:intervention"


def test_co_taught_section_has_a_primary_and_a_secondary_teacher(any_scale: DemoDistrict) -> None:
    teachers = enrollments_of(any_scale, any_scale.cases.co_taught_section, "teacher")
    assert sorted(teachers["primary"].to_list()) == [False, True]


def test_homeroom(any_scale: DemoDistrict) -> None:
    homeroom = class_row(any_scale, any_scale.cases.homeroom)
    assert homeroom["classType"] == "homeroom"
    assert homeroom["terms.sourcedId"] == ["as-2027"]
    assert homeroom["periods"] is None
    assert enrollments_of(any_scale, homeroom["sourcedId"], "teacher").height == 1
    assert 15 <= enrollments_of(any_scale, homeroom["sourcedId"], "student").height <= 26


def test_last_year_class_has_only_ended_enrollments(any_scale: DemoDistrict) -> None:
    section = class_row(any_scale, any_scale.cases.last_year_class)
    assert section["terms.sourcedId"] == ["as-2026-s1", "as-2026-s2"]
    enrolled = any_scale.enrollments.filter(pl.col("class.sourcedId") == section["sourcedId"])
    assert enrolled.height == 25  # a teacher and 24 students
    assert (enrolled["endDate"] == date(2026, 6, 12)).all()
