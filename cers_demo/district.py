"""A made-up California school district, generated as polars frames.

The demo provider serves it, the tests read it, and the app shows it to people who have
no OneRoster credentials yet. It has to look like a real district (CDS codes, SSIDs,
homerooms, scheduled secondary sections with periods, co-teachers, trimester and semester
terms, last year's classes) and it has to hold, in every scale, the awkward records that
real rosters contain (see ``DemoCases``). Everything is deterministic for
``(scale, seed, reference_date)``.

Storage is columnar, one frame per OneRoster collection, because the ``lausd`` scale has
about 2,000,000 enrollments: rows are never Python objects. Column names are the OneRoster
JSON paths, so that a filter field is a column name:

- scalar fields keep their name (``title``, ``classType``);
- a GUIDRef is stored as its sourcedId under the dotted path (``school.sourcedId``);
- a list of GUIDRefs is a list column (``terms.sourcedId``);
- the objects of ``roles`` and ``userIds`` are parallel list columns (``roles.role``,
  ``roles.roleType``, ``roles.org.sourcedId``; ``userIds.type``, ``userIds.identifier``);
- ``enabledUser`` and ``primary`` are booleans, dates are ``pl.Date``,
  ``dateLastModified`` is a UTC datetime; a missing optional field is null.

Every frame is sorted by ``sourcedId`` (the provider's default, stable paging order).
Enrollment ids follow (school, class) order, so one class's enrollments are contiguous.

>>> district = generate_district(scale="demo", seed=7, reference_date=date(2026, 11, 28))
>>> district.school_year  # the 2026-27 school year
'2027'
>>> district.cases.large_section  # a class with more than 200 students
'cls-000320'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import polars as pl

__all__ = ["DemoCases", "DemoDistrict", "Scale", "generate_district"]

Scale = Literal["demo", "district", "lausd"]

DISTRICT_NAME = "Sierra Vista Unified School District"
EMAIL_DOMAIN = "sierravista.example.org"
STUDENT_EMAIL_DOMAIN = "students.sierravista.example.org"
# A made-up county (San Bernardino is 36) and district code: CDS = county(2) + district(5) + school(7).
COUNTY_CODE = "36"
DISTRICT_CODE = "73957"

_STATUS = pl.Enum(["active", "tobedeleted"])
_STR_LIST = pl.List(pl.String)
_DATETIME = pl.Datetime("ms", "UTC")


@dataclass(frozen=True, slots=True)
class DemoCases:
    """The sourcedIds of hand-placed records that every scale holds, so tests can find them.

    Besides these, the generator spreads a few more of some kinds at random (students
    without an SSID, ended and ``tobedeleted`` enrollments); find those in the frames.
    """

    student_without_ssid: str
    """A high-school student whose ``userIds`` hold only a LocalId."""
    student_with_malformed_ssid: str
    """A high-school student whose SSID has 9 digits instead of 10."""
    disabled_student: str
    """A middle-school student with ``enabledUser`` false."""
    teacher_without_usable_login: str
    """No ``email``, and a ``username`` that is not an e-mail address: CERS cannot use them."""
    teacher_with_email_username: str
    """No ``email``, but an e-mail-shaped ``username``."""
    large_section: str
    """A physical education class with about 230 students (CERS groups hold at most 200)."""
    ended_enrollment: str
    """A student's enrollment in a current class whose ``endDate`` is before the reference date."""
    tobedeleted_enrollment: str
    """A student's enrollment with status ``tobedeleted``."""
    colliding_sections: tuple[str, str]
    """Two "Algebra I" classes in period 3, both taught by a teacher named Nguyen, both active."""
    title_with_comma: str
    """A class whose (course) title contains a comma."""
    title_with_quotes: str
    """A class whose (course) title contains double quotes."""
    title_with_formula: str
    """A class whose (course) title starts with ``=`` (a spreadsheet formula)."""
    class_without_type: str
    """A class with no ``classType``."""
    class_with_ext_type: str
    """A class whose ``classType`` is an ``ext:`` value."""
    co_taught_section: str
    """A class with two teachers: one ``primary`` true, one false."""
    homeroom: str
    """An elementary homeroom (classType homeroom, one teacher, the school year as term)."""
    last_year_class: str
    """A class of last school year, whose enrollments all ended."""


@dataclass(frozen=True, slots=True)
class DemoDistrict:
    """A generated district: one frame per OneRoster collection (see the module docstring)."""

    name: str
    scale: Scale
    seed: int
    reference_date: date
    school_year: str
    """The current school year as OneRoster writes it: the year it ends in, e.g. ``"2027"``."""
    orgs: pl.DataFrame
    academic_sessions: pl.DataFrame
    courses: pl.DataFrame
    classes: pl.DataFrame
    enrollments: pl.DataFrame
    users: pl.DataFrame
    cases: DemoCases

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames by OneRoster collection name."""
        return {
            "orgs": self.orgs,
            "academicSessions": self.academic_sessions,
            "courses": self.courses,
            "classes": self.classes,
            "enrollments": self.enrollments,
            "users": self.users,
        }

    def record_counts(self) -> dict[str, int]:
        return {name: frame.height for name, frame in self.frames().items()}


# ---------------------------------------------------------------------------------------
# Names. A mix that looks like a California roster; a few carry accents on purpose, so that
# encodings get exercised.

# Space-separated, as a roster clerk would type them; repeats make common names more likely.
_GIVEN_NAMES_TEXT = (
    "Sofia Mateo Isabella Santiago Camila Sebastian Valentina Leonardo Emily Daniel Mia Ethan "
    "Olivia Liam Emma Noah Ava Aiden Abigail Elijah Ximena Diego Natalie Gabriel Jasmine Angel "
    "Chloe Adrian Aaliyah Julian Madison Isaiah Victoria Christopher Genesis Joshua Leah Jayden "
    "Hannah Andrew Zoe Nathan Aria Kevin Layla Jonathan Penelope Brandon Nicole Alexander Vanessa "
    "Joseph Andrea Michael Daniela Anthony Stephanie David Jessica Jacob Ashley Ryan Brianna Luis "
    "Alondra Carlos Evelyn Jesus Samantha Juan Grace Miguel Lily Jose Kimberly Fernando Allison "
    "Javier Ariana Eduardo Priya Arjun Ananya Rohan Mei Wei Jun Min-jun Seo-yeon Ji-ho Linh Minh "
    "Thanh Bao Huong Tuan Nare Aram Armen Ani Tigran Maile Kai Leilani Malia Imani Jamal Aaliyah "
    "Darius Keisha Marcus Tiana Omar Layla Yusuf Amira Hiroshi Yuki Haruto Sakura Mateus Paolo "
    "Rafael Lucia Elena Marisol Ramon Guadalupe Rosa Alejandro Paola Ivan Tatiana Dmitri Katya "
    "Sophia Benjamin Charlotte Henry Amelia Owen Harper Lucas Ella Jack Scarlett Wyatt Nora Caleb "
    "Hazel Isaac Ruby Levi Stella Eli Violet Miles Aurora Jordan Taylor Morgan Riley Cameron"
)
_GIVEN_NAMES = [*_GIVEN_NAMES_TEXT.split(), "José", "María", "Sofía", "Inés", "Zoë", "Renée"]

_FAMILY_NAMES_TEXT = (
    "Garcia Garcia Garcia Rodriguez Rodriguez Hernandez Hernandez Lopez Lopez Martinez Martinez "
    "Gonzalez Gonzalez Perez Sanchez Ramirez Torres Flores Rivera Gomez Diaz Cruz Morales Reyes "
    "Gutierrez Ortiz Chavez Ramos Ruiz Alvarez Mendoza Castillo Jimenez Moreno Romero Herrera "
    "Medina Aguilar Vargas Castro Guzman Juarez Dominguez Vasquez Salazar Rojas Contreras Soto "
    "Delgado Estrada Nguyen Nguyen Nguyen Tran Tran Le Pham Huynh Vo Dang Bui Do Ho Kim Kim Lee "
    "Lee Park Choi Chen Chen Wang Li Zhang Liu Huang Wu Lin Yang Wong Chan Patel Patel Shah Singh "
    "Kumar Gupta Sharma Reddy Santos Reyes Dela-Cruz Bautista Villanueva Mendoza Aquino Tanaka "
    "Nakamura Yamamoto Sato Suzuki Sarkisian Petrosyan Hakobyan Grigoryan Avetisyan Smith Johnson "
    "Williams Brown Jones Miller Davis Wilson Anderson Thomas Taylor Moore Jackson Martin Thompson "
    "White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams Baker "
    "Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart "
    "Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Ward Cox "
    "Richardson Washington Washington Jefferson Brooks Coleman Jenkins Freeman Okafor Mensah "
    "Haile Tesfaye Ahmed Hassan Ali Khan Rahman Cohen Friedman Rossi Russo Kowalski Novak O'Brien "
    "O'Connor McCarthy Sullivan"
)
_FAMILY_NAMES = [*_FAMILY_NAMES_TEXT.split(), "Nuñez", "Peña", "Ibáñez", "Muñoz", "Ortíz-Rivera", "Van der Berg"]

# Plain-ASCII e-mail local parts: the letters people type.
_ACCENTS = {"á": "a", "é": "e", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ë": "e", "ü": "u", "Á": "A", "É": "E"}

_SCHOOL_NAMES_TEXT = (
    "Sierra Vista|Mission|Valley View|Cesar Chavez|Dolores Huerta|Sequoia|Redwood|Oak Grove|Madrone|"
    "Manzanita|Golden Poppy|Joshua Tree|Sycamore|Cottonwood|Live Oak|Arroyo|Mesa Verde|Canyon Crest|"
    "Vista del Mar|Rancho Alamitos|Buena Vista|Monte Verde|Pacific Heights|Bayview|Harbor|Coronado|"
    "Juniper|Desert Willow|Palo Verde|Citrus|Orange Grove|Walnut|Almond|Olive|Cypress|Laurel|Alder|"
    "Willow Creek|Eagle Rock|Foothill|Highland|Lakeside|Riverside|Brookside|Meadowbrook|Summit|"
    "Ridgecrest|Sunset|Sunrise|Twin Peaks|Three Rivers|Lincoln|Roosevelt|Kennedy|King|Jefferson|"
    "Washington|Franklin|Muir|Steinbeck|Earhart|Ride|Yamaguchi|Korematsu|Mendez|Tubman|Parks|"
    "Obama|Clemente|Huerta|Lange|Ochoa|Galarza|Wong|Fong|Chavez Ravine|Figueroa Street|"
    "Vermont Avenue|Hoover Street|Alvarado|Normandie|Western Avenue|Manchester|Crenshaw|Vernon|"
    "Florence|Slauson|Gage|Broadway|Main Street|Olympic|Pico|Venice|Sepulveda|Van Nuys|Reseda|"
    "Tarzana|Encino|Sherman Oaks|Sunland|Tujunga|Pacoima|Sylmar|Granada Hills|Chatsworth|Canoga|"
    "Topanga|Malibu|El Sereno|Lincoln Heights|Boyle Heights|Highland Park|Glassell Park|Atwater"
)
_SCHOOL_NAMES = _SCHOOL_NAMES_TEXT.split("|")
_SCHOOL_QUALIFIERS = ("", "North", "South", "East", "West", "Park", "Heights", "Hills", "Avenue", "Canyon", "Gardens")

_GRADE_LABELS = {"TK": "Transitional Kindergarten", "KG": "Kindergarten"} | {
    f"{g:02d}": f"Grade {g}" for g in range(1, 13)
}
_LEVEL_GRADES = {
    "elementary": ("TK", "KG", "01", "02", "03", "04", "05"),
    "middle": ("06", "07", "08"),
    "high": ("09", "10", "11", "12"),
}
_LEVEL_WORD = {"elementary": "Elementary School", "middle": "Middle School", "high": "High School"}


@dataclass(frozen=True, slots=True)
class _ScalePlan:
    elementary: int
    middle: int
    high: int
    students: tuple[int, int, int]
    """Typical enrollment of an elementary, a middle and a high school."""
    varies: bool
    """Whether school sizes vary around the typical one (not in the small demo)."""
    large_high: int = 0
    """How many of the high schools are comprehensive ones of about 4,000 students (the largest
    districts have a few such campuses beside many small high schools)."""


_SCALES: dict[str, _ScalePlan] = {
    "demo": _ScalePlan(1, 1, 1, (480, 450, 620), varies=False),
    "district": _ScalePlan(32, 10, 8, (430, 720, 1050), varies=True),
    "lausd": _ScalePlan(560, 190, 250, (360, 560, 280), varies=True, large_high=20),
}
_LARGE_HIGH_SCHOOL_STUDENTS = 4_000

# The first high school holds the hand-placed special sections; it needs enough students.
_SPECIAL_HIGH_SCHOOL_MIN_STUDENTS = 620
_MAX_SECTION_SIZE = 36
_HOMEROOM_SIZE = 26
_PERIODS = 6


# ---------------------------------------------------------------------------------------
# Course catalog: (level, grade, slot, part) -> course. A secondary student takes one course
# per slot, in a period that depends on the student (see _Generator._schedule). "part"
# splits a slot into classes of successive terms (two semesters, a trimester wheel).
# Term keys: Y = the school year, S = both semesters, S1/S2 = one semester, T1..T3 = trimesters.

_ELA = "English Language Arts"
_MATH = "Mathematics"
_SCI = "Science"
_HIST = "History-Social Science"
_PE = "Physical Education"
_ARTS = "Visual and Performing Arts"
_LANG = "World Languages"
_CS = "Computer Science"
_HEALTH = "Health"
_HIGH_COURSES = {
    # grade: one (title, courseCode, subject, SCED-like code) per slot
    "09": [
        ("English 9", "ENG9", _ELA, "01001"),
        ("Algebra I", "ALG1", _MATH, "02052"),
        ("Biology", "BIO", _SCI, "03051"),
        ("Ethnic Studies", "ETHST", _HIST, "04258"),
        ("Physical Education 9", "PE9", _PE, "08001"),
        ("Spanish I", "SPAN1", _LANG, "06101"),
    ],
    "10": [
        ("English 10", "ENG10", _ELA, "01002"),
        ("Geometry", "GEOM", _MATH, "02072"),
        ("Chemistry", "CHEM", _SCI, "03101"),
        ("World History", "WHIST", _HIST, "04051"),
        ("Physical Education 10", "PE10", _PE, "08001"),
        ("Art, Design, and Media", "ADM", _ARTS, "05154"),
    ],
    "11": [
        ("English 11", "ENG11", _ELA, "01003"),
        ("Algebra II", "ALG2", _MATH, "02056"),
        ("Physics", "PHYS", _SCI, "03151"),
        ("U.S. History", "USHIST", _HIST, "04101"),
        ("Spanish II", "SPAN2", _LANG, "06102"),
        ('Journalism: "The Vista Voice"', "JOURN", _ARTS, "11101"),
    ],
    "12": [
        ("English 12", "ENG12", _ELA, "01004"),
        ("Precalculus", "PRECALC", _MATH, "02110"),
        ("Environmental Science", "ENVSCI", _SCI, "03003"),
        None,
        ("Health and Wellness", "HEALTH", _HEALTH, "08051"),
        ("Computer Science Principles", "CSP", _CS, "10019"),
    ],
}
_MIDDLE_COURSES = [
    ("English Language Arts {g}", "ELA{g}", _ELA, "51036"),
    ("Mathematics {g}", "MATH{g}", _MATH, "52031"),
    ("Science {g}", "SCI{g}", _SCI, "53231"),
    ("History-Social Science {g}", "HSS{g}", _HIST, "54431"),
    ("Physical Education {g}", "PE{g}", _PE, "58031"),
]
# The first high school's hand-placed period-7 classes, by DemoCases key: the course (with
# its term), the classType, the grades, and which students take it as (grade, first k, count),
# chosen so that no student has two of them.
_SPECIAL_SLOT = 80
_SPECIALS = (
    (
        "large_section",
        ("Weight Training and Conditioning", "WTRAIN", _PE, "08009", "Y"),
        "scheduled",
        ["09", "10"],
        [("09", 0, 155), ("10", 0, 75)],
    ),
    ("title_with_formula", ("=SUM(1+1) Honors", "MATHH", _MATH, "02110", "S"), "scheduled", ["11"], [("11", 0, 18)]),
    (
        "class_with_ext_type",
        ("Reading Intervention", "READINT", _ELA, "01066", "S"),
        "ext:intervention",
        ["11"],
        [("11", 18, 12)],
    ),
    ("class_without_type", ("Independent Study", "INDSTUDY", _HIST, "22001", "S"), None, ["12"], [("12", 0, 8)]),
)


def _catalog() -> pl.DataFrame:
    rows: list[tuple[object, ...]] = []
    for grade in _LEVEL_GRADES["elementary"]:
        title = f"{_GRADE_LABELS[grade]} Self-Contained"
        rows.append(("elementary", grade, 0, 0, title, f"ELEM-{grade}", "Self-Contained Classroom", "51000", "Y"))
    for grade in _LEVEL_GRADES["middle"]:
        g = str(int(grade))
        for slot, (title, code, subject, sced) in enumerate(_MIDDLE_COURSES):
            rows.append(("middle", grade, slot, 0, title.format(g=g), code.format(g=g), subject, sced, "Y"))
        # The elective is a wheel: a different course each trimester.
        rows.append(("middle", grade, 5, 0, "Art Wheel", f"ARTW{g}", _ARTS, "55131", "T1"))
        rows.append(("middle", grade, 5, 1, "Computer Science Wheel", f"CSW{g}", _CS, "60131", "T2"))
        rows.append(("middle", grade, 5, 2, "Music Wheel", f"MUSW{g}", _ARTS, "55031", "T3"))
    for grade, courses in _HIGH_COURSES.items():
        for slot, course in enumerate(courses):
            if course is None:
                # Senior social studies: a semester of government, then one of economics.
                rows.append(("high", grade, slot, 0, "American Government", "GOVT", _HIST, "04151", "S1"))
                rows.append(("high", grade, slot, 1, "Economics", "ECON", _HIST, "04201", "S2"))
            else:
                rows.append(("high", grade, slot, 0, *course, "S"))
    for number, (_, (title, code, subject, sced, term), _, grades, _) in enumerate(_SPECIALS):
        rows.append(("special", grades[0], _SPECIAL_SLOT + number, 0, title, code, subject, sced, term))
    return pl.DataFrame(
        rows,
        schema={
            "level": pl.String,
            "grade": pl.String,
            "slot": pl.Int32,
            "part": pl.Int32,
            "title": pl.String,
            "courseCode": pl.String,
            "subject": pl.String,
            "subjectCode": pl.String,
            "term": pl.String,
        },
        orient="row",
    ).with_columns(pl.int_range(pl.len(), dtype=pl.Int32).alias("entry"))


# ---------------------------------------------------------------------------------------
# Deterministic mixing: splitmix64 in wrapping UInt64 arithmetic, vectorized, and stable
# across polars versions (unlike Expr.hash).

_U64 = (1 << 64) - 1


def _u64(value: int) -> pl.Expr:
    return pl.lit(value & _U64, dtype=pl.UInt64)


def _splitmix64(value: int) -> int:
    """The same mixing as ``_mix``, in Python, for salts."""
    x = (value * 0x9E3779B97F4A7C15) & _U64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _U64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _U64
    return x ^ (x >> 31)


def _mix(key: pl.Expr, salt: int) -> pl.Expr:
    x = key.cast(pl.UInt64) * _u64(0x9E3779B97F4A7C15) + _u64(salt)
    x = x.xor(x // _u64(1 << 30)) * _u64(0xBF58476D1CE4E5B9)
    x = x.xor(x // _u64(1 << 27)) * _u64(0x94D049BB133111EB)
    return x.xor(x // _u64(1 << 31))


def _bits(h: pl.Expr, shift: int, modulus: int) -> pl.Expr:
    """A number below ``modulus`` from the bits of hash ``h`` above ``shift``: one hash feeds
    several independent-looking choices (hashing is the costly part at 2M rows)."""
    return ((h // _u64(1 << shift)) % modulus).cast(pl.Int64)


def _pick(names: list[str], index: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(names)).gather(index)


def _id(prefix: str, width: int, number: pl.Expr) -> pl.Expr:
    """``prefix-000123`` for number 123: zero padding keeps string order equal to number order."""
    return pl.lit(f"{prefix}-") + (number + 10**width).cast(pl.String).str.slice(1)


def _str_list(*items: pl.Expr) -> pl.Expr:
    return pl.concat_list(*items).cast(_STR_LIST)


# ---------------------------------------------------------------------------------------
# Academic sessions.


@dataclass(frozen=True, slots=True)
class _Year:
    """One school year's sessions: records, and sourcedIds and [start, end) dates by term key."""

    school_year: str
    ids: dict[str, str]
    dates: dict[str, tuple[date, date]]
    rows: list[dict[str, object]]


def _year_sessions(start_year: int, reference_date: date, *, stretch: bool) -> _Year:
    """The sessions of the school year that starts in August of ``start_year``.

    With ``stretch``, the first sessions start no later than, and the last ones end after,
    the reference date: in the summer break the demo would otherwise have no class active
    "today", which is the thing it exists to show.
    """
    y0, y1 = start_year, start_year + 1
    school_year = str(y1)
    short = f"{y0}-{str(y1)[2:]}"
    start, end = date(y0, 8, 12), date(y1, 6, 12)
    first = min(start, reference_date) if stretch else start
    last = max(end, reference_date + timedelta(days=1)) if stretch else end
    plan = [
        ("Y", f"{y0}-{y1} School Year", "schoolYear", first, last, None),
        ("S1", f"Fall Semester {short}", "semester", first, date(y1, 1, 15), "Y"),
        ("S2", f"Spring Semester {short}", "semester", date(y1, 1, 19), last, "Y"),
        ("T1", f"Trimester 1 {short}", "term", first, date(y0, 11, 14), "Y"),
        ("T2", f"Trimester 2 {short}", "term", date(y0, 11, 16), date(y1, 2, 27), "Y"),
        ("T3", f"Trimester 3 {short}", "term", date(y1, 3, 1), last, "Y"),
        ("Q1", f"Quarter 1 {short}", "gradingPeriod", first, date(y0, 10, 17), "S1"),
        ("Q2", f"Quarter 2 {short}", "gradingPeriod", date(y0, 10, 19), date(y1, 1, 15), "S1"),
        ("Q3", f"Quarter 3 {short}", "gradingPeriod", date(y1, 1, 19), date(y1, 3, 27), "S2"),
        ("Q4", f"Quarter 4 {short}", "gradingPeriod", date(y1, 3, 29), last, "S2"),
    ]
    ids = {key: f"as-{school_year}" + ("" if key == "Y" else f"-{key.lower()}") for key, *_ in plan}
    children: dict[str, list[str]] = {}
    for key, *_, parent in plan:
        if parent:
            children.setdefault(parent, []).append(ids[key])
    rows: list[dict[str, object]] = [
        {
            "sourcedId": ids[key],
            "title": title,
            "type": kind,
            "startDate": begin,
            "endDate": finish,
            "parent.sourcedId": ids[parent] if parent else None,
            "children.sourcedId": children.get(key),
            "schoolYear": school_year,
        }
        for key, title, kind, begin, finish, parent in plan
    ]
    dates = {key: (begin, finish) for key, _, _, begin, finish, _ in plan}
    return _Year(school_year, ids, dates, rows)


# ---------------------------------------------------------------------------------------
# The generator.


def generate_district(*, scale: Scale = "demo", seed: int = 7, reference_date: date | None = None) -> DemoDistrict:
    """Generate the demo district; the same arguments always give the same frames.

    ``reference_date`` (default: today) picks the current school year, one that runs from
    August to June: on 2026-11-28 it is 2026-27, whose OneRoster ``schoolYear`` is
    ``"2027"``. Last year's sessions and a few of last year's classes are there too.

    ``scale``: ``demo`` is three schools (an elementary with homerooms, a middle and a high
    school) and about 1,550 students; ``district`` about 50 schools and 30,000 students;
    ``lausd`` about 1,000 schools, 450,000 students and 2,000,000 enrollments, with twenty
    comprehensive high schools of about 4,000 students among many small ones.
    """
    if scale not in _SCALES:
        raise ValueError(f"unknown scale {scale!r}; use one of {sorted(_SCALES)}")
    return _Generator(scale=scale, seed=seed, reference_date=reference_date or date.today()).run()


_KIND_REGULAR, _KIND_SPECIAL, _KIND_LAST_YEAR = 0, 1, 2
# One integer per regular section, for cheap joins of 1.5M seats: (school, grade, slot, period, section).
_SECTION_KEY = (
    ((pl.col("school_no").cast(pl.Int64) * 16 + pl.col("grade_pos")) * 8 + pl.col("slot")) * 8 + pl.col("period")
) * 64 + pl.col("section")


def _grade_order() -> pl.Expr:
    """Grades in school order: TK and KG before 01 (as plain strings they sort after it)."""
    return pl.col("grade").replace({"TK": "00a", "KG": "00b"})


_COTEACHER_SLOT = 90


class _Generator:
    """One run of the generator. Works on integer keys; sourcedIds are made at the end."""

    def __init__(self, *, scale: Scale, seed: int, reference_date: date) -> None:
        self.plan = _SCALES[scale]
        self.scale: Scale = scale
        self.seed = seed
        self.ref = reference_date
        self.ref_time = datetime(reference_date.year, reference_date.month, reference_date.day, 6, tzinfo=UTC)
        self._salt_base = _splitmix64(seed)
        start_year = reference_date.year if reference_date.month >= 7 else reference_date.year - 1
        self.year = _year_sessions(start_year, reference_date, stretch=True)
        self.last_year = _year_sessions(start_year - 1, reference_date, stretch=False)
        self.catalog = _catalog()

    def _h(self, key: pl.Expr, purpose: int) -> pl.Expr:
        """A pseudo-random UInt64 per key; each purpose (names, SSIDs, ...) draws independently."""
        return _mix(key, _splitmix64(self._salt_base ^ purpose))

    def _modified(self, h: pl.Expr, *, days: int = 100) -> pl.Expr:
        """A dateLastModified within ``days`` before the reference date, from bits 32+ of hash ``h``."""
        return pl.lit(self.ref_time, dtype=_DATETIME) - pl.duration(seconds=_bits(h, 32, days * 86400))

    def run(self) -> DemoDistrict:
        schools = self._schools()
        students = self._students(schools)
        classes, seats = self._classes(students)
        classes, teachers, teaching = self._staff(classes)
        courses = self._courses(classes)
        placed = self._placement(students, classes, teachers, seats)
        enrollments, cases = self._place_enrollment_cases(
            self._enrollments(classes, seats, teaching, students, teachers), placed
        )
        return DemoDistrict(
            name=DISTRICT_NAME,
            scale=self.scale,
            seed=self.seed,
            reference_date=self.ref,
            school_year=self.year.school_year,
            orgs=self._orgs(schools).rechunk(),
            academic_sessions=self._sessions(),
            courses=courses.drop("school_no", "entry", "is_current"),
            classes=self._class_records(classes, courses),
            enrollments=enrollments,
            # One chunk per column: gathering a page of rows from a chunked frame is far slower.
            users=self._users(students, teachers, placed).rechunk(),
            cases=cases,
        )

    # -- schools and students ---------------------------------------------------------------

    def _schools(self) -> pl.DataFrame:
        rng = random.Random(f"schools-{self.seed}")
        plan = self.plan
        levels = ["elementary"] * plan.elementary + ["middle"] * plan.middle + ["high"] * plan.high
        typical = dict(zip(("elementary", "middle", "high"), plan.students, strict=True))
        names = list(_SCHOOL_NAMES)
        rng.shuffle(names)
        codes = rng.sample(range(100_000, 1_000_000), len(levels))
        used: set[str] = set()
        rows = []
        first_high = plan.elementary + plan.middle
        for number, level in enumerate(levels):
            factor = rng.uniform(0.7, 1.3) if plan.varies else 1.0
            size = round(typical[level] * factor)
            if number >= len(levels) - plan.large_high:  # the last high schools (the first holds special cases)
                size = round(_LARGE_HIGH_SCHOOL_STUDENTS * (1 + (factor - 0.7) / 4))  # 4,000 to 4,150
            if number == first_high:
                size = max(size, _SPECIAL_HIGH_SCHOOL_MIN_STUDENTS)
            # Real CDS school codes of elementary and middle schools mostly start with 6, those
            # of high schools with 1 or 3; a school code is never 0000000 (that is the district).
            school_code = ("3" if level == "high" else "6") + f"{codes[number]:06d}"
            rows.append(
                {
                    "school_no": number,
                    "level": level,
                    "students": size,
                    "name": _school_name(names, number, level, used),
                    "identifier": COUNTY_CODE + DISTRICT_CODE + school_code,
                }
            )
        return pl.DataFrame(rows).with_columns(
            _id("org", 4, pl.col("school_no") + 1).alias("sourcedId"),
            self._modified(self._h(pl.col("school_no"), 1), days=300).alias("dateLastModified"),
        )

    def _students(self, schools: pl.DataFrame) -> pl.DataFrame:
        """One row per student: school, level, grade, k (rank within the grade), a global number."""
        rows = []
        for school_no, level, size in schools.select("school_no", "level", "students").iter_rows():
            grades = _LEVEL_GRADES[level]
            # Transitional kindergarten is a half-size grade.
            weights = [0.5 if g == "TK" else 1.0 for g in grades]
            counts = [int(size * w / sum(weights)) for w in weights]
            counts[-1] += size - sum(counts)
            rows.extend(
                {"school_no": school_no, "level": level, "grade": g, "grade_pos": pos, "n": n}
                for pos, (g, n) in enumerate(zip(grades, counts, strict=True))
            )
        return (
            pl.DataFrame(rows)
            .with_columns(pl.int_ranges(0, pl.col("n"), dtype=pl.Int32).alias("k"))
            .explode("k")
            .drop("n")
            .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("student_no"))
        )

    # -- classes ----------------------------------------------------------------------------

    def _schedule(self, students: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """This year's regular classes and the students' seats in their sections.

        Secondary: a student takes slot s in period ``(s - k) mod 6 + 1``, so nobody has two
        classes in one period. The students of one (grade, slot, period) are those with the
        same ``k mod 6``; they are split into sections of at most 36, student k going to
        section ``(k // 6) mod sections``. Elementary: homerooms of at most 26 per grade
        (period 0 stands for none). All of it is arithmetic on k: no grouping of 1.5M rows.
        """
        first_high = self.plan.elementary + self.plan.middle
        cap = pl.when(pl.col("level") == "elementary").then(_HOMEROOM_SIZE).otherwise(_MAX_SECTION_SIZE)
        # The colliding pair: at least two Algebra I sections in period 3 at the first high school.
        pair = (
            (pl.col("school_no") == first_high)
            & (pl.col("grade") == "09")
            & (pl.col("slot") == 1)
            & (pl.col("period") == 3)
        )
        sections = pl.max_horizontal((pl.col("size") + cap - 1) // cap, pl.when(pair).then(2).otherwise(1)).cast(
            pl.Int32
        )
        slots = pl.DataFrame({"slot": range(_PERIODS)}, schema={"slot": pl.Int32})
        period = (pl.col("slot") + _PERIODS - pl.col("c")) % _PERIODS + 1

        grades = students.group_by("school_no", "level", "grade", "grade_pos").agg(pl.len().cast(pl.Int64).alias("n"))
        groups = pl.concat(
            [
                grades.filter(pl.col("level") == "elementary").with_columns(
                    pl.lit(0, dtype=pl.Int32).alias("slot"),
                    pl.lit(0, dtype=pl.Int32).alias("period"),
                    pl.col("n").alias("size"),
                ),
                grades.filter(pl.col("level") != "elementary")
                .join(slots, how="cross")
                .join(pl.DataFrame({"c": range(_PERIODS)}, schema={"c": pl.Int32}), how="cross")
                .with_columns(
                    period.cast(pl.Int32).alias("period"),
                    ((pl.col("n") - pl.col("c") + _PERIODS - 1) // _PERIODS).alias("size"),
                )
                .filter(pl.col("size") > 0)
                .drop("c"),
            ]
        )
        classes = (
            groups.with_columns(pl.int_ranges(0, sections, dtype=pl.Int32).alias("section"))
            .explode("section")
            .join(self.catalog.select("level", "grade", "slot", "part", "entry", "term"), on=["level", "grade", "slot"])
            .sort(pl.col("school_no"), pl.col("slot"), _grade_order(), "period", "section", "part")
            .select(
                "school_no",
                "level",
                "grade",
                "slot",
                "period",
                "section",
                "part",
                "entry",
                "term",
                _SECTION_KEY.alias("section_key"),
                pl.lit(_KIND_REGULAR).alias("kind"),
                pl.lit(True).alias("is_current"),
                pl.concat_list(pl.col("grade")).alias("grades"),
                pl.when(pl.col("level") == "elementary")
                .then(pl.lit("homeroom"))
                .otherwise(pl.lit("scheduled"))
                .alias("classType"),
            )
        )
        per_student = students.with_columns(pl.len().over("school_no", "grade").cast(pl.Int64).alias("n"))
        elementary = (
            per_student.filter(pl.col("level") == "elementary")
            .with_columns(
                pl.lit(0, dtype=pl.Int32).alias("slot"),
                pl.lit(0, dtype=pl.Int32).alias("period"),
                (pl.col("k") % ((pl.col("n") + _HOMEROOM_SIZE - 1) // _HOMEROOM_SIZE)).cast(pl.Int32).alias("section"),
            )
            .select("student_no", _SECTION_KEY.alias("section_key"))
        )
        secondary = (
            per_student.lazy()
            .filter(pl.col("level") != "elementary")
            .join(slots.lazy(), how="cross")
            .with_columns((pl.col("k") % _PERIODS).alias("c"))
            .with_columns(
                period.cast(pl.Int32).alias("period"),
                ((pl.col("n") - pl.col("c") + _PERIODS - 1) // _PERIODS).alias("size"),
            )
            .with_columns(((pl.col("k") // _PERIODS) % sections).cast(pl.Int32).alias("section"))
            .select("student_no", _SECTION_KEY.alias("section_key"))
            .collect()
        )
        return classes, pl.concat([elementary, secondary])

    def _assign_teachers(self, classes: pl.DataFrame) -> pl.DataFrame:
        """Give every regular class a teacher key (school, slot, teacher_local) and mark co-teaching.

        Secondary teachers teach one slot (subject). Within (school, slot), the j-th class of
        period p goes to teacher ``(j + p) mod T``, with T enough teachers for the busiest period
        and for five classes each: no teacher is ever in two rooms at once.
        """
        j = pl.int_range(pl.len()).over("school_no", "slot", "period")
        teachers_needed = pl.max_horizontal(
            pl.len().over("school_no", "slot", "period").max().over("school_no", "slot"),
            (pl.len().over("school_no", "slot") + 4) // 5,
        )
        secondary_teacher = (j + pl.col("period")) % teachers_needed
        homeroom_teacher = pl.int_range(pl.len()).over("school_no")
        # A special-education co-teacher per secondary school joins the first section of each
        # period's lowest-grade English class: at most one class per period.
        co_taught = (
            (pl.col("level") != "elementary")
            & (pl.col("slot") == 0)
            & (_grade_order() == _grade_order().min().over("school_no"))
            & (pl.col("section") == 0)
        )
        return classes.with_columns(
            pl.when(pl.col("level") == "elementary")
            .then(homeroom_teacher)
            .otherwise(secondary_teacher)
            .cast(pl.Int32)
            .alias("teacher_local"),
            co_taught.alias("co_taught"),
        )

    def _special_classes(self) -> pl.DataFrame:
        specials = self.catalog.filter(pl.col("level") == "special")
        rows = [
            {"slot": _SPECIAL_SLOT + number, "grades": grades, "classType": class_type}
            for number, (_, _, class_type, grades, _) in enumerate(_SPECIALS)
        ]
        return (
            pl.DataFrame(rows, schema={"slot": pl.Int32, "grades": _STR_LIST, "classType": pl.String})
            .join(specials.select("level", "grade", "slot", "part", "entry", "term"), on="slot")
            .with_columns(
                pl.lit(self.plan.elementary + self.plan.middle).alias("school_no"),
                pl.lit(7, dtype=pl.Int32).alias("period"),
                pl.lit(0, dtype=pl.Int32).alias("section"),
                pl.lit(_KIND_SPECIAL).alias("kind"),
                pl.lit(True).alias("is_current"),
                pl.lit(0, dtype=pl.Int32).alias("teacher_local"),
                pl.lit(False).alias("co_taught"),
            )
        )

    @staticmethod
    def _last_year_classes(classes: pl.DataFrame) -> pl.DataFrame:
        """Last year's first lowest-grade English (or homeroom) and math class of every school,
        taught by the same teachers as this year's."""
        firsts = (
            classes.filter(
                pl.col("part") == 0, pl.col("slot") <= 1, _grade_order() == _grade_order().min().over("school_no")
            )
            .group_by("school_no", "slot", maintain_order=True)
            .first()
        )
        return firsts.with_columns(
            pl.lit(_KIND_LAST_YEAR).alias("kind"), pl.lit(False).alias("is_current"), pl.lit(False).alias("co_taught")
        )

    def _classes(self, students: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """All classes, numbered in sourcedId order (school first), and their student seats."""
        regular, sections = self._schedule(students)
        regular = self._assign_teachers(regular)
        classes = (
            pl.concat([regular, self._special_classes(), self._last_year_classes(regular)], how="diagonal_relaxed")
            .sort(pl.col("school_no"), pl.col("kind"), pl.col("slot"), _grade_order(), "period", "section", "part")
            .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("class_no"))
        )
        regular_seats = sections.join(
            classes.filter(pl.col("kind") == _KIND_REGULAR).select("section_key", "class_no"), on="section_key"
        ).select("student_no", "class_no")
        picks = []
        first_high = self.plan.elementary + self.plan.middle
        for number, (*_, choice) in enumerate(_SPECIALS):
            for grade, first, count in choice:
                picks.append((first_high, grade, first, count, _SPECIAL_SLOT + number, _KIND_SPECIAL))
        # Last year's classes hold some of this year's second-grade-of-the-school students.
        for school_no, level in students.select("school_no", "level").unique(maintain_order=True).iter_rows():
            for slot in (0, 1):
                picks.append((school_no, _LEVEL_GRADES[level][1], 0, 24, slot, _KIND_LAST_YEAR))
        pick_frame = pl.DataFrame(
            picks, schema=["school_no", "grade", "first", "count", "slot", "kind"], orient="row"
        ).with_columns(pl.col("slot").cast(pl.Int32))
        other_seats = (
            students.join(pick_frame, on=["school_no", "grade"])
            .filter(pl.col("k") >= pl.col("first"), pl.col("k") < pl.col("first") + pl.col("count"))
            .join(classes.select("school_no", "slot", "kind", "class_no"), on=["school_no", "slot", "kind"])
            .select("student_no", "class_no")
        )
        return classes, pl.concat([regular_seats, other_seats])

    @staticmethod
    def _staff(classes: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Teachers (one per teacher key, plus a co-teacher per secondary school) and who teaches what."""
        coteachers = (
            classes.filter(pl.col("co_taught"))
            .select("school_no")
            .unique()
            .with_columns(
                pl.lit(_COTEACHER_SLOT, dtype=pl.Int32).alias("slot"), pl.lit(0, dtype=pl.Int32).alias("teacher_local")
            )
        )
        teachers = (
            pl.concat([classes.select("school_no", "slot", "teacher_local").unique(), coteachers])
            .sort("school_no", "slot", "teacher_local")
            .with_columns(
                pl.int_range(pl.len(), dtype=pl.Int64).alias("teacher_no"),
                (pl.int_range(pl.len()).over("school_no") + 1).alias("room"),
            )
        )
        classes = classes.join(teachers, on=["school_no", "slot", "teacher_local"], how="left", maintain_order="left")
        co_teaching = (
            classes.filter(pl.col("co_taught"))
            .select("class_no", "school_no")
            .join(teachers.filter(pl.col("slot") == _COTEACHER_SLOT).select("school_no", "teacher_no"), on="school_no")
        )
        teaching = pl.concat(
            [
                classes.select("class_no", "teacher_no", pl.lit(True).alias("primary")),
                co_teaching.select("class_no", "teacher_no", pl.lit(False).alias("primary")),
            ]
        )
        return classes, teachers.select("teacher_no", "school_no", "slot", "teacher_local"), teaching

    def _terms(self) -> pl.DataFrame:
        """(is_current, term key) -> terms.sourcedId, beginDate, endDate."""
        rows = []
        for is_current, year in ((True, self.year), (False, self.last_year)):
            for key in ("Y", "S1", "S2", "T1", "T2", "T3", "S"):
                keys = ("S1", "S2") if key == "S" else (key,)
                rows.append(
                    {
                        "is_current": is_current,
                        "term": key,
                        "terms.sourcedId": [year.ids[k] for k in keys],
                        "beginDate": year.dates[keys[0]][0],
                        "endDate": year.dates[keys[-1]][1],
                    }
                )
        return pl.DataFrame(rows)

    def _courses(self, classes: pl.DataFrame) -> pl.DataFrame:
        """One course per (school, catalog entry, school year) that has classes."""
        year_ids = (
            pl.when(pl.col("is_current")).then(pl.lit(self.year.ids["Y"])).otherwise(pl.lit(self.last_year.ids["Y"]))
        )
        return (
            classes.group_by("school_no", "entry", "is_current")
            .agg(pl.col("grades").first())
            .join(self.catalog.select("entry", "title", "courseCode", "subject", "subjectCode"), on="entry")
            .sort("school_no", pl.col("is_current").not_(), "entry")
            .select(
                _id("crs", 6, pl.int_range(1, pl.len() + 1)).alias("sourcedId"),
                pl.lit("active", dtype=_STATUS).alias("status"),
                self._modified(self._h(pl.int_range(pl.len()), 2), days=200).alias("dateLastModified"),
                "title",
                year_ids.alias("schoolYear.sourcedId"),
                "courseCode",
                "grades",
                pl.concat_list("subject").alias("subjects"),
                _id("org", 4, pl.col("school_no") + 1).alias("org.sourcedId"),
                pl.concat_list("subjectCode").alias("subjectCodes"),
                "school_no",
                "entry",
                "is_current",
            )
        )

    def _class_records(self, classes: pl.DataFrame, courses: pl.DataFrame) -> pl.DataFrame:
        catalog = self.catalog.select("entry", "title", "courseCode", "subject", "subjectCode")
        letters = pl.lit(pl.Series(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))).gather(pl.col("section"))
        homeroom = pl.col("classType") == "homeroom"
        grade_label = pl.col("grade").replace_strict(_GRADE_LABELS, return_dtype=pl.String)
        room = pl.col("room").cast(pl.String)
        return (
            classes.join(catalog, on="entry")
            .join(
                courses.select("school_no", "entry", "is_current", pl.col("sourcedId").alias("course.sourcedId")),
                on=["school_no", "entry", "is_current"],
            )
            .join(self._terms(), on=["is_current", "term"])
            .sort("class_no")
            .select(
                _id("cls", 6, pl.col("class_no") + 1).alias("sourcedId"),
                pl.lit("active", dtype=_STATUS).alias("status"),
                self._modified(self._h(pl.col("class_no"), 3), days=120).alias("dateLastModified"),
                pl.when(homeroom)
                .then(grade_label + " Homeroom - Room " + room)
                .otherwise(pl.col("title"))
                .alias("title"),
                pl.when(homeroom)
                .then(pl.lit("HR-") + pl.col("grade") + "-" + room)
                .otherwise(pl.col("courseCode") + "-" + pl.col("period").cast(pl.String) + letters)
                .alias("classCode"),
                "classType",
                pl.when(pl.col("subject") == _PE).then(pl.lit("Gym")).otherwise("Room " + room).alias("location"),
                "grades",
                pl.concat_list("subject").alias("subjects"),
                "course.sourcedId",
                _id("org", 4, pl.col("school_no") + 1).alias("school.sourcedId"),
                "terms.sourcedId",
                pl.concat_list("subjectCode").alias("subjectCodes"),
                pl.when(pl.col("period") > 0).then(pl.concat_list(pl.col("period").cast(pl.String))).alias("periods"),
            )
        )

    def _enrollments(
        self,
        classes: pl.DataFrame,
        seats: pl.DataFrame,
        teaching: pl.DataFrame,
        students: pl.DataFrame,
        teachers: pl.DataFrame,
    ) -> pl.DataFrame:
        """Teachers first in each class, then students; a few students' enrollments ended or
        are to be deleted, as in any live SIS."""
        people = pl.concat(
            [
                teaching.select(
                    "class_no", pl.lit(0).alias("role_order"), pl.col("teacher_no").alias("user_no"), "primary"
                ),
                seats.select(
                    "class_no",
                    pl.lit(1).alias("role_order"),
                    pl.col("student_no").alias("user_no"),
                    pl.lit(False).alias("primary"),
                ),
            ]
        )
        class_terms = (
            classes.select("class_no", "school_no", "is_current", "term")
            .join(self._terms().select("is_current", "term", "beginDate", "endDate"), on=["is_current", "term"])
            .drop("term")
        )
        # Within a class: teachers (the primary one first), then students, each by number. One
        # integer sort key is much lighter than a four-column sort of 2M rows.
        order = ((pl.col("class_no") * 2 + pl.col("role_order")) * 2 + pl.col("primary").not_().cast(pl.Int64)) * (
            1 << 31
        ) + pl.col("user_no")
        rows = (
            people.sort(order)
            .join(class_terms, on="class_no", how="left", maintain_order="left")
            .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("enrollment_no"))
        )
        h = pl.col("h")
        ref = pl.lit(self.ref)
        may_change = (pl.col("role_order") == 1) & pl.col("is_current")
        # Only enrollments that began a few days ago can have ended before the reference date.
        ended = may_change & (_bits(h, 0, 1000) < 6) & (pl.col("beginDate") <= ref - pl.duration(days=3))
        to_be_deleted = may_change & _bits(h, 0, 1000).is_between(6, 7)
        left_on = pl.max_horizontal(
            pl.col("beginDate") + pl.duration(days=1), ref - pl.duration(days=1 + _bits(h, 16, 30))
        )
        student = pl.col("role_order") == 1
        # Ids by gathering from the (small) id lists: much cheaper than formatting 2M strings each.
        user_ids = pl.concat(
            [
                students.select(_id("stu", 7, pl.col("student_no") + 1)).to_series(),
                teachers.select(_id("tch", 6, pl.col("teacher_no") + 1)).to_series(),
            ]
        )
        user_index = pl.when(student).then(pl.col("user_no")).otherwise(pl.col("user_no") + students.height)
        class_ids = classes.select(_id("cls", 6, pl.col("class_no") + 1)).to_series()
        school_ids = pl.Series([f"org-{n + 1:04d}" for n in range(int(classes["school_no"].max()) + 1)])  # type: ignore[arg-type]
        return rows.with_columns(self._h(pl.col("enrollment_no"), 4).alias("h")).select(
            _id("enr", 7, pl.col("enrollment_no") + 1).alias("sourcedId"),
            pl.when(to_be_deleted)
            .then(pl.lit("tobedeleted"))
            .otherwise(pl.lit("active"))
            .cast(_STATUS)
            .alias("status"),
            self._modified(h, days=100).alias("dateLastModified"),
            pl.lit(user_ids).gather(user_index).alias("user.sourcedId"),
            pl.lit(class_ids).gather(pl.col("class_no")).alias("class.sourcedId"),
            pl.lit(school_ids).gather(pl.col("school_no")).alias("school.sourcedId"),
            pl.when(student).then(pl.lit("student")).otherwise(pl.lit("teacher")).alias("role"),
            "primary",
            "beginDate",
            pl.when(ended).then(left_on).otherwise(pl.col("endDate")).alias("endDate"),
        )

    # -- people -------------------------------------------------------------------------------

    def _users(self, students: pl.DataFrame, teachers: pl.DataFrame, placed: _Placement) -> pl.DataFrame:
        n = pl.col("student_no")
        local_id = (100_000 + (n * 7919) % 900_000).cast(pl.String)
        # A bijection onto 10-digit numbers, so SSIDs never repeat.
        ssid = (
            1_000_000_000 + ((n * 2_654_435_761) % 9_000_000_000 + self._salt_base % 9_000_000_000) % 9_000_000_000
        ).cast(pl.String)
        h = pl.col("h")
        no_ssid = (_bits(h, 48, 1000) < 4) | n.is_in(placed.students_without_ssid)
        malformed = n == placed.student_with_malformed_ssid
        ssid = pl.when(malformed).then(ssid.str.slice(1)).otherwise(ssid)
        school = _id("org", 4, pl.col("school_no") + 1)
        student_rows = students.with_columns(self._h(n, 7).alias("h")).select(
            _id("stu", 7, n + 1).alias("sourcedId"),
            pl.lit("active", dtype=_STATUS).alias("status"),
            self._modified(h, days=100).alias("dateLastModified"),
            (n != placed.disabled_student).alias("enabledUser"),
            local_id.alias("username"),
            pl.when(no_ssid)
            .then(_str_list(pl.lit("LocalId")))
            .otherwise(_str_list(pl.lit("LocalId"), pl.lit("SSID")))
            .alias("userIds.type"),
            pl.when(no_ssid).then(_str_list(local_id)).otherwise(_str_list(local_id, ssid)).alias("userIds.identifier"),
            _pick(_GIVEN_NAMES, _bits(h, 0, len(_GIVEN_NAMES))).alias("givenName"),
            _pick(_FAMILY_NAMES, _bits(h, 8, len(_FAMILY_NAMES))).alias("familyName"),
            pl.when(_bits(h, 24, 10) < 3)
            .then(_pick(_GIVEN_NAMES, _bits(h, 16, len(_GIVEN_NAMES))))
            .alias("middleName"),
            _str_list(pl.lit("primary")).alias("roles.roleType"),
            _str_list(pl.lit("student")).alias("roles.role"),
            _str_list(school).alias("roles.org.sourcedId"),
            school.alias("primaryOrg.sourcedId"),
            local_id.alias("identifier"),
            (local_id + "@" + STUDENT_EMAIL_DOMAIN).alias("email"),
            _str_list(pl.col("grade")).alias("grades"),
        )

        t = pl.col("teacher_no")
        given = _pick(_GIVEN_NAMES, _bits(self._h(t, 21), 0, len(_GIVEN_NAMES)))
        family = _pick(_FAMILY_NAMES, _bits(self._h(t, 21), 16, len(_FAMILY_NAMES)))
        for teacher_no, given_name in zip(placed.nguyen_teachers, ("Linh", "Thanh"), strict=True):
            given = pl.when(t == teacher_no).then(pl.lit(given_name)).otherwise(given)
            family = pl.when(t == teacher_no).then(pl.lit("Nguyen")).otherwise(family)
        named = teachers.with_columns(given.alias("givenName"), family.alias("familyName"))
        login = (
            (pl.col("givenName").str.slice(0, 1) + pl.col("familyName"))
            .str.replace_many(_ACCENTS)
            .str.to_lowercase()
            .str.replace_all("[^a-z]", "")
        )
        # mgarcia, mgarcia2, mgarcia3, ... in teacher order.
        login = login + pl.when(pl.int_range(pl.len()).over(login) > 0).then(
            (pl.int_range(pl.len()).over(login) + 1).cast(pl.String)
        ).otherwise(pl.lit(""))
        email = login + "@" + EMAIL_DOMAIN
        employee_id = (800_000 + t).cast(pl.String)
        seid = (1_000_000 + (t * 7_654_321) % 9_000_000).cast(pl.String)
        school = _id("org", 4, pl.col("school_no") + 1)
        no_login = t == placed.teacher_without_usable_login
        no_email = no_login | (t == placed.teacher_with_email_username)
        teacher_rows = named.select(
            _id("tch", 6, t + 1).alias("sourcedId"),
            pl.lit("active", dtype=_STATUS).alias("status"),
            self._modified(self._h(t, 21), days=150).alias("dateLastModified"),
            pl.lit(True).alias("enabledUser"),
            pl.when(no_login).then(login).otherwise(email).alias("username"),
            _str_list(pl.lit("LocalId"), pl.lit("SEID")).alias("userIds.type"),
            _str_list(employee_id, seid).alias("userIds.identifier"),
            "givenName",
            "familyName",
            pl.lit(None, dtype=pl.String).alias("middleName"),
            _str_list(pl.lit("primary")).alias("roles.roleType"),
            _str_list(pl.lit("teacher")).alias("roles.role"),
            _str_list(school).alias("roles.org.sourcedId"),
            school.alias("primaryOrg.sourcedId"),
            employee_id.alias("identifier"),
            pl.when(no_email).then(pl.lit(None, dtype=pl.String)).otherwise(email).alias("email"),
            pl.lit(None, dtype=_STR_LIST).alias("grades"),
        )
        return pl.concat([student_rows, teacher_rows])

    # -- the hand-placed cases ------------------------------------------------------------------

    def _placement(
        self, students: pl.DataFrame, classes: pl.DataFrame, teachers: pl.DataFrame, seats: pl.DataFrame
    ) -> _Placement:
        high = self.plan.elementary + self.plan.middle
        middle = self.plan.elementary

        def student(school_no: int, grade: str, k: int) -> int:
            return int(
                students.filter(pl.col("school_no") == school_no, pl.col("grade") == grade, pl.col("k") == k)[
                    "student_no"
                ].item()
            )

        def teacher(slot: int) -> int:
            return int(
                teachers.filter(pl.col("school_no") == high, pl.col("slot") == slot, pl.col("teacher_local") == 0)[
                    "teacher_no"
                ].item()
            )

        def first_class(*predicates: pl.Expr) -> int:
            return int(classes.filter(pl.col("school_no") == high, *predicates)["class_no"].min())  # type: ignore[arg-type]

        def entry(title: str) -> pl.Expr:
            return pl.col("entry") == self.catalog.filter(pl.col("title") == title)["entry"].item()

        def english_seat(student_no: int) -> tuple[int, int]:
            english = classes.filter(pl.col("kind") == _KIND_REGULAR, pl.col("slot") == 0)["class_no"]
            seat = seats.filter(pl.col("student_no") == student_no, pl.col("class_no").is_in(english.implode()))
            return student_no, int(seat["class_no"].item())

        regular = pl.col("kind") == _KIND_REGULAR
        pair = classes.filter(
            pl.col("school_no") == high, regular, pl.col("grade") == "09", pl.col("slot") == 1, pl.col("period") == 3
        ).sort("section")
        specials = {
            key: first_class(pl.col("slot") == _SPECIAL_SLOT + number) for number, (key, *_) in enumerate(_SPECIALS)
        }
        return _Placement(
            students_without_ssid=(student(high, "11", 40),),
            student_with_malformed_ssid=student(high, "11", 41),
            disabled_student=student(middle, "07", 5),
            nguyen_teachers=(int(pair["teacher_no"][0]), int(pair["teacher_no"][1])),
            teacher_without_usable_login=teacher(2),
            teacher_with_email_username=teacher(3),
            ended_seat=english_seat(student(high, "10", 50)),
            tobedeleted_seat=english_seat(student(high, "10", 51)),
            classes={
                "colliding_sections": (int(pair["class_no"][0]), int(pair["class_no"][1])),
                "title_with_comma": first_class(regular, entry("Art, Design, and Media")),
                "title_with_quotes": first_class(regular, entry('Journalism: "The Vista Voice"')),
                "co_taught_section": first_class(pl.col("co_taught")),
                "homeroom": int(classes.filter(pl.col("classType") == "homeroom")["class_no"].min()),  # type: ignore[arg-type]
                "last_year_class": first_class(pl.col("kind") == _KIND_LAST_YEAR),
                **specials,
            },
        )

    def _place_enrollment_cases(self, enrollments: pl.DataFrame, placed: _Placement) -> tuple[pl.DataFrame, DemoCases]:
        def enrollment_of(seat: tuple[int, int]) -> str:
            student_no, class_no = seat
            match = enrollments.filter(
                pl.col("user.sourcedId") == _student_id(student_no), pl.col("class.sourcedId") == _class_id(class_no)
            )
            return str(match["sourcedId"].item())

        ended, tobedeleted = enrollment_of(placed.ended_seat), enrollment_of(placed.tobedeleted_seat)
        ref = pl.lit(self.ref)
        is_ended = pl.col("sourcedId") == ended
        enrollments = enrollments.with_columns(
            pl.when(is_ended)
            .then(pl.min_horizontal("beginDate", ref - pl.duration(days=30)))
            .otherwise("beginDate")
            .alias("beginDate"),
            pl.when(is_ended).then(ref - pl.duration(days=7)).otherwise("endDate").alias("endDate"),
            pl.when(pl.col("sourcedId") == tobedeleted)
            .then(pl.lit("tobedeleted", dtype=_STATUS))
            .otherwise("status")
            .alias("status"),
        )
        classes = {
            key: tuple(map(_class_id, value)) if isinstance(value, tuple) else _class_id(value)
            for key, value in placed.classes.items()
        }
        cases = DemoCases(
            student_without_ssid=_student_id(placed.students_without_ssid[0]),
            student_with_malformed_ssid=_student_id(placed.student_with_malformed_ssid),
            disabled_student=_student_id(placed.disabled_student),
            teacher_without_usable_login=_teacher_id(placed.teacher_without_usable_login),
            teacher_with_email_username=_teacher_id(placed.teacher_with_email_username),
            ended_enrollment=ended,
            tobedeleted_enrollment=tobedeleted,
            **classes,  # type: ignore[arg-type]
        )
        return enrollments, cases

    # -- orgs and sessions ----------------------------------------------------------------------

    def _orgs(self, schools: pl.DataFrame) -> pl.DataFrame:
        district = pl.DataFrame(
            {
                "sourcedId": ["org-0000"],
                "name": [DISTRICT_NAME],
                "type": ["district"],
                "identifier": [COUNTY_CODE + DISTRICT_CODE + "0000000"],
                "parent.sourcedId": [None],
                "children.sourcedId": [schools["sourcedId"].to_list()],
                "dateLastModified": [datetime(self.ref.year - 3, 7, 1, 12, tzinfo=UTC)],
            },
            schema_overrides={"parent.sourcedId": pl.String, "dateLastModified": _DATETIME},
        )
        school_rows = schools.select(
            "sourcedId",
            "name",
            pl.lit("school").alias("type"),
            "identifier",
            pl.lit("org-0000").alias("parent.sourcedId"),
            pl.lit(None, dtype=_STR_LIST).alias("children.sourcedId"),
            "dateLastModified",
        )
        return pl.concat([district, school_rows]).select(
            "sourcedId",
            pl.lit("active", dtype=_STATUS).alias("status"),
            "dateLastModified",
            "name",
            "type",
            "identifier",
            "parent.sourcedId",
            "children.sourcedId",
        )

    def _sessions(self) -> pl.DataFrame:
        rows = self.last_year.rows + self.year.rows
        frame = pl.DataFrame(
            rows,
            schema={
                "sourcedId": pl.String,
                "title": pl.String,
                "type": pl.String,
                "startDate": pl.Date,
                "endDate": pl.Date,
                "parent.sourcedId": pl.String,
                "children.sourcedId": _STR_LIST,
                "schoolYear": pl.String,
            },
        )
        return frame.select(
            "sourcedId",
            pl.lit("active", dtype=_STATUS).alias("status"),
            self._modified(self._h(pl.int_range(pl.len()), 9), days=60).alias("dateLastModified"),
            "title",
            "type",
            "startDate",
            "endDate",
            "parent.sourcedId",
            "children.sourcedId",
            "schoolYear",
        ).sort("sourcedId")


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where the hand-placed cases are, as generator numbers (student_no, teacher_no, class_no)."""

    students_without_ssid: tuple[int, ...]
    student_with_malformed_ssid: int
    disabled_student: int
    nguyen_teachers: tuple[int, int]
    teacher_without_usable_login: int
    teacher_with_email_username: int
    ended_seat: tuple[int, int]
    tobedeleted_seat: tuple[int, int]
    classes: dict[str, int | tuple[int, int]]


def _student_id(number: int) -> str:
    return f"stu-{number + 1:07d}"


def _teacher_id(number: int) -> str:
    return f"tch-{number + 1:06d}"


def _class_id(number: int) -> str:
    return f"cls-{number + 1:06d}"


def _school_name(names: list[str], number: int, level: str, used: set[str]) -> str:
    base = names[number % len(names)]
    qualifier = _SCHOOL_QUALIFIERS[(number // len(names)) % len(_SCHOOL_QUALIFIERS)]
    stem = " ".join(part for part in (base, qualifier, _LEVEL_WORD[level]) if part)
    name, serial = stem, 2
    while name in used:
        name, serial = f"{stem} No. {serial}", serial + 1
    used.add(name)
    return name
