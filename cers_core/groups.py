"""Section groups: a school's class sections, as of a date or for a school year, as CERS groups.

One section becomes one group: its teachers (by CERS login) and its students (by SSID).
Everything left out on the way is recorded in the problem report with the reason, so that
an analyst can see why a student is missing from a teacher's group before uploading.

The rules (as of a date ``D``, default today):

- sections: status active, at a school with a CDS code, with a term active on ``D``
  (``startDate <= D < endDate``, any session type), of the chosen class types;
- members: enrollments with status active, role teacher or student, active on ``D``
  (a missing date is open-ended), whose user is active and enabled;
- a whole school year ``YYYY`` instead: sections with any term of that year, members whose
  enrollment overlaps the year's ``schoolYear`` session (else July 1 to July 1).

"Active" means not ``tobedeleted``: a record without a status is taken as active, since
the spec requires the field and a provider that leaves it out means nothing by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from cers_core.enrolled import enrolled_people
from cers_core.group_names import casefold, clean_value, finish_name, join_values, with_suffix
from cers_core.identifiers import cds_code, login_flaw, ssids, teacher_login
from cers_core.problems import Problems
from cers_core.roster import Roster
from cers_core.settings import ClassTypes, GroupNameField, GroupOptions
from cers_core.wording import count, invisible_names, invisible_shown, shortened

__all__ = ["MAX_STUDENTS_PER_GROUP", "SectionGroups", "build_section_groups"]

MAX_STUDENTS_PER_GROUP = 200
_CERS_COLUMNS = ("group_name", "school_natural_id", "school_year", "subject_code", "student_ssid", "group_user_login")
_ELA_WORDS = r"(?i)english|\bela\b|reading|language arts"
_MATH_WORDS = r"(?i)math"


@dataclass(frozen=True, slots=True)
class SectionGroups:
    """What the builder made.

    - ``rows``: the CERS rows (the six CERS columns), not yet in file order;
    - ``groups``: one row per group: ``school_natural_id, school_name, school_year,
      group_name, subject_code, class_id, teachers, students``;
    - ``problems``: the report (see ``cers_core.problems``), errors first;
    - ``enrolled`` and ``not_in_group``: how many teachers and students each school has on the
      day, and who of them is in no group, and why (see ``cers_core.coverage``).
    """

    rows: pl.DataFrame
    groups: pl.DataFrame
    problems: pl.DataFrame
    enrolled: pl.DataFrame
    not_in_group: pl.DataFrame

    @property
    def has_errors(self) -> bool:
        return bool((self.problems["severity"] == "error").any())


def _active(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("status").is_null() | (pl.col("status") != "tobedeleted"))


def _session_years(sessions: pl.DataFrame) -> pl.DataFrame:
    """Each session's school year: its ``schoolYear`` when it is a year, else from its dates
    (a session starting in July or later belongs to the next calendar year's school year)."""
    start = pl.col("start_date")
    derived = pl.when(start.dt.month() >= 7).then(start.dt.year() + 1).otherwise(start.dt.year())
    stated = pl.col("school_year").str.strip_chars()
    year = pl.when(stated.str.contains(r"^[0-9]{4}$")).then(stated.cast(pl.Int32, strict=False)).otherwise(derived)
    return _active(sessions).with_columns(year=year.cast(pl.Int32))


def _school_year_window(sessions: pl.DataFrame, year: int) -> tuple[date, date]:
    """``[startDate, endDate)`` of the ``schoolYear`` session of that year, else July 1 to July 1."""
    match = sessions.filter(
        (pl.col("type") == "schoolyear")
        & (pl.col("year") == year)
        & pl.col("start_date").is_not_null()
        & pl.col("end_date").is_not_null()
    ).sort("start_date", "sourced_id")
    if match.height:
        return match["start_date"][0], match["end_date"][0]
    return date(year - 1, 7, 1), date(year, 7, 1)


def _selected_classes(
    roster: Roster, sessions: pl.DataFrame, options: GroupOptions, as_of: date, school_year: int | None
) -> pl.DataFrame:
    """Sections in scope, with their ``school_year`` and ``term_titles``."""
    classes = _active(roster.classes).with_row_index("class_order").filter(_class_type_kept(options))
    class_terms = (
        classes.select("sourced_id", "term_ids")
        .explode("term_ids")
        .with_columns(pl.int_range(pl.len()).over("sourced_id").alias("term_order"))
        .join(sessions, left_on="term_ids", right_on="sourced_id", how="inner", suffix="_term")
    )
    titles = (
        class_terms.sort("sourced_id", "term_order")
        .group_by("sourced_id", maintain_order=True)
        .agg(term_titles=pl.col("title").drop_nulls())
    )
    if school_year is None:
        current = class_terms.filter((pl.col("start_date") <= as_of) & (pl.col("end_date") > as_of))
    else:
        current = class_terms.filter(pl.col("year") == school_year)
    years = (
        current.sort("start_date", "term_ids")
        .group_by("sourced_id", maintain_order=True)
        .agg(school_year=pl.col("year").first())
    )
    if school_year is not None:
        years = years.with_columns(school_year=pl.lit(school_year, dtype=pl.Int32))
    return (
        classes.join(years, on="sourced_id", how="inner").join(titles, on="sourced_id", how="left").sort("class_order")
    )


def _class_type_kept(options: GroupOptions) -> pl.Expr:
    """True for the sections of the class types chosen (a missing or ``ext:`` type counts as scheduled)."""
    is_homeroom = pl.col("class_type").fill_null("") == "homeroom"
    if options.class_types is ClassTypes.scheduled:
        return ~is_homeroom
    if options.class_types is ClassTypes.homeroom:
        return is_homeroom
    return pl.lit(True)


def _people(roster: Roster) -> pl.DataFrame:
    """Who each user is, for the report and for group names: joined only where needed."""
    return roster.users.select("given_name", "family_name", user_id="sourced_id", local_id="identifier")


def _members(
    roster: Roster,
    classes: pl.DataFrame,
    options: GroupOptions,
    problems: Problems,
    window: tuple[date, date | None],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Current teacher and student enrollments of the sections, with login or SSID; the rest reported
    (and returned, with the reason each was left out, for :mod:`cers_core.coverage`).

    The reason an enrollment is left out is decided on narrow columns; names and the section's
    school are joined only to the enrollments left out. A district has two million enrollments:
    carrying every person's name through the join would double the build's peak memory.
    """
    current = _current(window)
    enrollments = roster.enrollments.select(
        "class_id", "user_id", "role", "status", "primary", "begin_date", "end_date"
    ).filter(pl.col("class_id").is_in(classes["sourced_id"].implode()))  # as a semi join, several times faster
    # Logins only for the users who teach here: the patterns over every student cost a fifth of a second.
    teaching = enrollments.filter(pl.col("role") == "teacher").get_column("user_id").implode()
    logins = roster.users.filter(pl.col("sourced_id").is_in(teaching)).select(
        user_id="sourced_id", login=teacher_login(pl.col("email"), pl.col("username"))
    )
    accounts = (
        roster.users.select(user_id="sourced_id", user_status="status", enabled="enabled", known=pl.lit(True))
        .join(logins, on="user_id", how="left", maintain_order="left")
        .join(ssids(roster.users, options.ssid_types), left_on="user_id", right_on="sourced_id", how="left")
    )
    # One reason per enrollment left out, the first that applies, in the order a person would
    # explain it; enrollments without a reason are the members.
    is_student, is_teacher = pl.col("role") == "student", pl.col("role") == "teacher"
    not_primary = is_teacher & ~pl.col("primary").fill_null(False) if options.primary_teachers_only else pl.lit(False)
    reason = (
        pl.when(pl.col("status") == "tobedeleted")
        .then(pl.lit("enrollment_tobedeleted"))
        .when(~current)
        .then(pl.lit("enrollment_not_current"))
        .when(~pl.col("role").is_in(["teacher", "student"]))
        .then(pl.lit("other_role"))
        .when(pl.col("known").is_null())
        .then(pl.lit("unknown_user"))
        .when((pl.col("user_status") == "tobedeleted") | (pl.col("enabled") == False))  # noqa: E712
        .then(pl.lit("user_inactive"))
        .when(is_student & pl.col("ssid").is_null() & ~pl.col("ssid_typed"))
        .then(pl.lit("student_without_ssid"))
        .when(is_student & pl.col("ssid").is_null())
        .then(pl.lit("student_invalid_ssid"))
        .when(not_primary)
        .then(pl.lit("not_primary"))  # the user asked for primary teachers only: not a problem
        .when(is_teacher & pl.col("login").is_null())
        .then(pl.lit("teacher_without_login"))
    )
    joined = enrollments.join(accounts, on="user_id", how="left", maintain_order="left").select(
        "class_id", "user_id", "role", "primary", "login", "ssid", "ssid_raw", reason=reason
    )
    del enrollments, accounts  # two million rows each: not kept alive through the rest
    context = classes.select(
        class_id="sourced_id", school_id="school_id", school_name="school_name", group_hint=pl.col("title")
    )
    without_login = joined.filter(pl.col("reason") == "teacher_without_login").get_column("user_id")
    left_out = (
        joined.filter(pl.col("reason").is_not_null())
        .join(context, on="class_id", how="left", maintain_order="left")
        .join(_people(roster), on="user_id", how="left", maintain_order="left")
        .join(_login_flaws(roster.users, without_login), on="user_id", how="left", maintain_order="left")
    )
    for code, severity, message in _exclusions(options):
        problems.add(left_out.filter(pl.col("reason") == code), severity, code, message)
    members = joined.filter(pl.col("reason").is_null()).select(
        "class_id",
        "role",
        "user_id",
        "primary",
        key=pl.when(is_student).then(pl.col("ssid")).otherwise(pl.col("login")),
    )
    return _distinct(members), left_out.select("class_id", "user_id", "role", "reason")


def _distinct(members: pl.DataFrame) -> pl.DataFrame:
    """A person enrolled twice in a section (or two records with one SSID) is one member. Such
    repeats are rare: when the members' keys hash to as many values as there are members, there is
    none, which is found in a fifth of the time that a ``unique`` over two million takes."""
    keys = ["class_id", "role", "key"]
    if members.select(pl.struct(keys).hash().n_unique()).item() == members.height:
        return members
    return members.unique(keys, keep="first")


def _login_flaws(users: pl.DataFrame, teachers: pl.Series) -> pl.DataFrame:
    """``user_id`` and ``login_flaw``, why the teacher's login is not one, for the ``teachers`` (left
    out for want of a login) whose e-mail or username would be a login but for an invisible
    character (a few, if any). Only those are looked at: the patterns over a district's half a
    million users took a third of a second."""
    flawed = (
        users.filter(pl.col("sourced_id").is_in(teachers.implode()))
        .select(user_id="sourced_id", value=login_flaw(pl.col("email"), pl.col("username")))
        .drop_nulls()
    )
    messages = [
        f"Teacher left out: the login on record, {shortened(invisible_shown(value))!r}, holds a character nobody "
        f"sees ({invisible_names(value)}): CERS would keep it and the login would match nobody's. Remove it in "
        "the SIS."
        for value in flawed.get_column("value").to_list()
    ]
    return flawed.select("user_id", login_flaw=pl.Series(messages, dtype=pl.String))


def _current(window: tuple[date, date | None]) -> pl.Expr:
    """An enrollment active on the day, or overlapping the school year (a missing date is open-ended)."""
    start, end = window
    begin, finish = pl.col("begin_date"), pl.col("end_date")
    if end is None:  # as of a day
        return (begin.is_null() | (begin <= start)) & (finish.is_null() | (finish > start))
    return (begin.is_null() | (begin < end)) & (finish.is_null() | (finish > start))


def _unknown_sections(roster: Roster, window: tuple[date, date | None], problems: Problems) -> None:
    """Report current enrollments that name a section the SIS did not return (a dangling reference)."""
    dangling = roster.enrollments.filter(
        ~pl.col("class_id").is_in(roster.classes["sourced_id"].implode())
        & pl.col("role").is_in(["teacher", "student"])
        & (pl.col("status").is_null() | (pl.col("status") != "tobedeleted"))
        & _current(window)
    )
    if dangling.height == 0:
        return
    schools = roster.schools.select(school_id="sourced_id", school_name="name")
    problems.add(
        dangling.join(_people(roster), on="user_id", how="left").join(schools, on="school_id", how="left"),
        "warning",
        "unknown_section",
        "Left out: the enrollment names a section the SIS did not return (see the section id).",
    )


def _exclusions(options: GroupOptions) -> list[tuple[str, str, str | pl.Expr]]:
    """Each reason an enrollment is left out, with its severity and the analyst's explanation."""
    types = ", ".join(options.ssid_types)
    return [
        ("enrollment_tobedeleted", "info", "Left out: the SIS marks this enrollment as to be deleted."),
        (
            "enrollment_not_current",
            "info",
            "Left out: the enrollment in this section is not current (it ended or has not started).",
        ),
        (
            "unknown_user",
            "warning",
            "Left out: the enrollment names a user that the SIS did not return (see the user id).",
        ),
        (
            "other_role",
            "info",
            pl.format(
                "Left out: the enrollment's role is {}, neither teacher nor student (CERS groups hold those two).",
                pl.col("role").fill_null("missing"),
            ),
        ),
        ("user_inactive", "info", "Left out: the person's account is disabled or to be deleted."),
        (
            "student_without_ssid",
            "warning",
            f"Student left out: no SSID on record (no userIds entry of type {types}, and the identifier "
            "is not a 10-digit SSID). CERS needs the state student ID.",
        ),
        ("student_invalid_ssid", "warning", _invalid_ssid_message(pl.col("ssid_raw").fill_null(""))),
        (
            "teacher_without_login",
            "warning",
            pl.col("login_flaw").fill_null(
                "Teacher left out: neither e-mail nor username is an e-mail address, so CERS has no login to give "
                "access to."
            ),
        ),
    ]


def _invalid_ssid_message(raw: pl.Expr) -> pl.Expr:
    """Why an SSID-typed value is not an SSID, with the likely cause; the value itself is not shown."""
    prefix = "Student left out: the SSID on record "
    return (
        pl.when(raw == "")
        .then(pl.lit(prefix + "is empty."))
        .when(raw.str.contains(r"^[0-9]{9}$"))
        .then(pl.lit(prefix + "has 9 digits, not 10: a spreadsheet program may have dropped a leading zero."))
        .when(raw.str.contains(r"^\d+$"))  # any script's digits: what is left is not 0-9
        .then(
            pl.lit(
                prefix + "is written with digits other than 0-9 (full-width, Arabic-Indic…); CERS needs the "
                "digits 0-9, or it would make a new student of it."
            )
        )
        .otherwise(pl.format(prefix + "has {} characters and is not 10 digits.", raw.str.len_chars()))
    )


def _name_teachers(members: pl.DataFrame, people: pl.DataFrame) -> pl.DataFrame:
    """Per section, the teacher a name describes: the first primary teacher, else the first,
    "first" by family name, then given name (casefolded), then sourcedId."""
    return (
        members.filter(pl.col("role") == "teacher")
        .join(people, on="user_id", how="left", maintain_order="left")
        .sort(
            pl.col("primary").fill_null(False),
            casefold(pl.col("family_name").fill_null("")),
            casefold(pl.col("given_name").fill_null("")),
            "user_id",
            descending=[True, False, False, False],
        )
        .group_by("class_id", maintain_order=True)
        .agg(
            teacher=pl.col("family_name").first(),
            teacher_full=pl.concat_str(
                [pl.col("given_name").fill_null(""), pl.col("family_name").fill_null("")], separator=" "
            ).first(),
        )
    )


def _subject(options: GroupOptions) -> pl.Expr:
    """``All``, or ``ELA``/``Math`` from the section's subjects (else its course's) when asked for."""
    if not options.subject_from_course:
        return pl.lit("All")
    own = pl.concat_list(pl.col("subject_codes"), pl.col("subjects"))
    course = pl.concat_list(pl.col("course_subject_codes"), pl.col("course_subjects"))
    values = pl.when(own.list.len() > 0).then(own).otherwise(course).list.join(" | ").fill_null("")
    codes = (
        pl.when(pl.col("subject_codes").list.len() > 0)
        .then(pl.col("subject_codes"))
        .otherwise(pl.col("course_subject_codes"))
    )
    ela = values.str.contains(_ELA_WORDS) | codes.list.eval(pl.element().str.starts_with("01")).list.any()
    math = values.str.contains(_MATH_WORDS) | codes.list.eval(pl.element().str.starts_with("02")).list.any()
    return pl.when(ela & ~math).then(pl.lit("ELA")).when(math & ~ela).then(pl.lit("Math")).otherwise(pl.lit("All"))


def _field_value(field: GroupNameField) -> pl.Expr:
    multi = {
        GroupNameField.period: "periods",
        GroupNameField.grades: "grades",
        GroupNameField.term: "term_titles",
    }
    single = {
        GroupNameField.course_title: "course_title",
        GroupNameField.course_code: "course_code",
        GroupNameField.class_title: "title",
        GroupNameField.class_code: "class_code",
        GroupNameField.location: "location",
        GroupNameField.school_name: "school_name",
        GroupNameField.teacher: "teacher",
        GroupNameField.teacher_full: "teacher_full",
    }
    if field in multi:
        return join_values(pl.col(multi[field]))
    if field is GroupNameField.subject:
        own = join_values(pl.col("subjects"))
        return pl.when(own.is_not_null()).then(own).otherwise(join_values(pl.col("course_subjects")))
    return pl.col(single[field])


def _with_group_names(sections: pl.DataFrame, options: GroupOptions) -> pl.DataFrame:
    """The fields' cleaned values joined by the separator (empty ones skipped), then finished.

    The joined text is a column of its own before it is finished: as an expression it would be
    worked out again for each of the several places ``finish_name`` uses it.
    """
    values = [clean_value(_field_value(f)) for f in options.fields]
    return (
        sections.with_columns(_joined=pl.concat_str(values, separator=options.separator, ignore_nulls=True))
        .with_columns(group_name=finish_name(pl.col("_joined"), pl.col("sourced_id")))
        .drop("_joined")
    )


def _make_unique(groups: pl.DataFrame, problems: Problems) -> pl.DataFrame:
    """Names unique per (school, year) ignoring case: colliding sections get their code appended;
    where that still collides (two sections share a code), their sourcedId."""
    own_id = pl.coalesce(clean_value(pl.col("sourced_id")), pl.lit("section"))
    for suffix in (pl.coalesce(clean_value(pl.col("class_code")), own_id), own_id):
        key = ["cds", "school_year", casefold(pl.col("group_name"))]
        clash = pl.len().over(key) > 1
        colliding = groups.filter(clash)
        if colliding.height == 0:
            break
        problems.add(
            colliding.with_columns(class_id="sourced_id"),
            "info",
            "name_collision",
            "Another section at this school would get the same group name; the section code was added to both.",
        )
        groups = groups.with_columns(
            group_name=pl.when(clash).then(with_suffix(pl.col("group_name"), suffix)).otherwise(pl.col("group_name"))
        )
    return groups


def build_section_groups(
    roster: Roster,
    options: GroupOptions | None = None,
    *,
    as_of: date | None = None,
    school_year: int | None = None,
) -> SectionGroups:
    """Turn rosters into CERS section groups, as of ``as_of`` (default today) or for ``school_year``.

    ``rows`` are the CERS rows, ready for :func:`cers_core.cers_csv.write_cers_csv`;
    ``problems`` says who was left out, and why. With the built-in sample section:

    >>> from cers_core.sample import sample_roster
    >>> built = build_section_groups(
    ...     sample_roster(), GroupOptions(fields=["course_title", "period"]), as_of=date(2026, 9, 15)
    ... )
    >>> for row in sorted(built.rows.rows()):  # in no order: the writer orders them
    ...     print(row)
    ('Algebra I - 3', '01612590130146', 2027, 'All', '', 'mgarcia@sample.example.org')
    ('Algebra I - 3', '01612590130146', 2027, 'All', '', 'slee@sample.example.org')
    ('Algebra I - 3', '01612590130146', 2027, 'All', '1234567890', '')
    >>> built.problems.height
    0
    """
    options = options or GroupOptions()
    if as_of is not None and school_year is not None:
        raise ValueError("give either as_of or school_year, not both")
    day = as_of or date.today()
    problems = Problems()
    sessions = _session_years(roster.sessions)

    schools = _active(roster.schools).select(
        school_id="sourced_id",
        school_name=pl.coalesce("name", "sourced_id"),
        cds=cds_code(pl.col("identifier"), pl.col("sourced_id"), options.cds_map),
    )
    classes = _selected_classes(roster, sessions, options, day, school_year).join(schools, on="school_id", how="inner")
    window = (day, None) if school_year is None else _school_year_window(sessions, school_year)
    members, left_out = _members(roster, classes, options, problems, window)
    _unknown_sections(roster, window, problems)

    counts = members.group_by("class_id").agg(
        students=(pl.col("role") == "student").sum(), teachers=(pl.col("role") == "teacher").sum()
    )
    courses = roster.courses.select(
        course_id="sourced_id",
        course_title="title",
        course_code="course_code",
        course_subjects="subjects",
        course_subject_codes="subject_codes",
    )
    sections = (
        classes.join(courses, on="course_id", how="left")
        .join(_name_teachers(members, _people(roster)), left_on="sourced_id", right_on="class_id", how="left")
        .join(counts, left_on="sourced_id", right_on="class_id", how="left")
        .with_columns(pl.col("students", "teachers").fill_null(0), term_titles=pl.col("term_titles").fill_null([]))
    )
    sections = _with_group_names(sections.with_columns(subject_code=_subject(options)), options)
    selected = sections.select("sourced_id", "students", "cds")
    empty = sections.filter(pl.col("students") == 0).with_columns(class_id="sourced_id").drop("group_name")
    problems.add(empty, "info", "no_students", "Section left out: it has no students with a valid SSID.")
    sections = sections.filter(pl.col("students") > 0)

    no_cds = sections.filter(pl.col("cds").is_null())
    for school in no_cds.group_by("school_id", "school_name", maintain_order=True).len().iter_rows(named=True):
        problems.add_school(
            school["school_id"],
            school["school_name"],
            "error",
            "school_without_cds",
            f"School left out of the file: its identifier is not a 14-digit CDS code and no CDS code was "
            f"mapped for it ({count(school['len'], 'section')} with students). Add its CDS code in the connection's "
            "advanced settings (CDS mapping).",
        )
    sections = _make_unique(sections.filter(pl.col("cds").is_not_null()), problems)
    no_teacher = sections.filter(pl.col("teachers") == 0).with_columns(class_id="sourced_id")
    problems.add(
        no_teacher,
        "warning",
        "no_teacher",
        "Group kept without a teacher: no teacher of this section has a usable login, so nobody will see it in CERS.",
    )

    enrolled, not_in_group = enrolled_people(
        enrollments=roster.enrollments.filter(
            pl.col("role").is_in(["teacher", "student"])
            & (pl.col("status").is_null() | (pl.col("status") != "tobedeleted"))
            & _current(window)
        ),
        classes=roster.classes,
        selected=selected,
        grouped=sections["sourced_id"],
        left_out=left_out,
        schools=schools["school_id"],
        people=_people(roster),
        class_type_kept=_class_type_kept(options),
    )
    group_members = members.join(
        sections.select("sourced_id", "group_name", "cds", "school_year", "subject_code", "students"),
        left_on="class_id",
        right_on="sourced_id",
        how="inner",
    )
    group_members, split_members = _handle_large(group_members, sections, options, problems)
    # Members are unique per section, role and key, and names per school and year: so are the rows.
    rows = group_members.select(
        "group_name",
        school_natural_id="cds",
        school_year="school_year",
        subject_code="subject_code",
        student_ssid=pl.when(pl.col("role") == "student").then(pl.col("key")).otherwise(pl.lit("")),
        group_user_login=pl.when(pl.col("role") == "teacher").then(pl.col("key")).otherwise(pl.lit("")),
    )
    summary = _group_summary(sections, split_members)
    names = summary.select("class_id", "group_name").unique("class_id", keep="first", maintain_order=True)
    return SectionGroups(
        rows=rows.select(_CERS_COLUMNS),
        groups=summary,
        problems=problems.frame(names),
        enrolled=enrolled,
        not_in_group=not_in_group,
    )


def _group_summary(sections: pl.DataFrame, split_members: pl.DataFrame) -> pl.DataFrame:
    """One row per group, in file order. A section is one group, and it has its counts already;
    only the members of the sections split into parts (``split_members``) are counted again."""
    whole = sections.select(
        "school_name",
        "school_year",
        "group_name",
        "subject_code",
        "teachers",
        "students",
        school_natural_id="cds",
        class_id="sourced_id",
    )
    split = (
        split_members.group_by("class_id", "group_name")
        .agg(teachers=(pl.col("role") == "teacher").sum(), students=(pl.col("role") == "student").sum())
        .join(whole.drop("group_name", "teachers", "students"), on="class_id", how="inner")
    )
    columns = ["school_natural_id", "school_name", "school_year", "group_name", "subject_code", "class_id"]
    return (
        pl.concat(
            [
                whole.join(split_members.select("class_id").unique(), on="class_id", how="anti"),
                split.select(whole.columns),
            ]
        )
        .select(*columns, "teachers", "students")
        .sort("school_natural_id", "school_year", casefold(pl.col("group_name")), "group_name")
    )


def _handle_large(
    members: pl.DataFrame, sections: pl.DataFrame, options: GroupOptions, problems: Problems
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Groups over 200 students: split into ``<name> (i of N)`` parts when asked, else reported as errors.

    Returns the members with their groups' names, and the members of the sections split (with
    their parts' names), which are the only ones whose groups need counting again.
    """
    large = sections.filter(pl.col("students") > MAX_STUDENTS_PER_GROUP).with_columns(class_id="sourced_id")
    if large.height == 0:
        return members, members.clear()
    if not options.split_large:
        problems.add(
            large,
            "error",
            "group_over_200",
            pl.format(
                "Group has {} students; CERS rejects the whole file when a group has over 200. "
                "Split large sections (the switch beside this message on the Section Groups page, or --split-large "
                "on the command line), or correct the roster.",
                pl.col("students"),
            ),
        )
        return members, members.clear()
    parts = (pl.col("students") + MAX_STUDENTS_PER_GROUP - 1) // MAX_STUDENTS_PER_GROUP
    # Only the members of large sections are touched: ranking two million members to split one
    # section would cost most of the build.
    large_ids = large["sourced_id"].implode()
    in_large = pl.col("class_id").is_in(large_ids)
    rank = pl.col("key").rank("ordinal").over("class_id") - 1
    students = members.filter(in_large & (pl.col("role") == "student")).with_columns(
        part=rank * parts // pl.col("students") + 1
    )
    teachers = (
        members.filter(in_large & (pl.col("role") == "teacher"))
        .join(large.select("sourced_id", n=parts), left_on="class_id", right_on="sourced_id", how="left")
        .with_columns(part=pl.int_ranges(1, pl.col("n") + 1))
        .explode("part")
        .drop("n")
    )
    split = pl.concat([students, teachers.cast({"part": students.schema["part"]})]).with_columns(
        group_name=with_suffix(pl.col("group_name"), pl.format("{} of {}", pl.col("part"), parts))
    )
    split = split.drop("part")
    problems.add(
        large,
        "info",
        "group_split",
        pl.format("Section has {} students, over CERS's 200: split into {} groups.", pl.col("students"), parts),
    )
    return pl.concat([members.filter(~in_large), split]), split
