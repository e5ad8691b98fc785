"""Check a file our writer made, from the rows it wrote: the streaming validator's report, by columns.

:func:`validate_cers_csv` reads any file as CERS would, record by record, in Python: a district's
file of two million rows takes seconds. The file an export has just written needs no such
reading: its rows are in memory, and the writer (:func:`write_ordered_rows`) decides by
construction most of what the reading would find. :func:`check_written_rows` takes those rows
and returns the very :class:`ValidationReport` the streaming validator gives for the written
bytes (the same verdict, findings, rows, fixes, order, counts, success lines and caps), computed
with polars over runs of rows. The streaming validator stays the reference, and the checker for
every file made elsewhere.

What we rely on, from ``write_ordered_rows`` (polars ``write_csv``, checked here or by the tests):

- the header line is the frame's column names, joined by commas: exactly CERS's when the frame
  has the six :data:`CERS_COLUMNS` in that order;
- each row is one line, its values joined by commas, ``CRLF`` after every line; ``""`` and null
  are written as nothing; a value is quoted only when it holds a comma, a double quote, CR or LF
  (``quote_style="necessary"``); the text is UTF-8 (polars strings are) without a BOM;
  ``school_year`` integers are written in decimal.

And from polars: a text cast to ``UInt64`` (not strictly) reads ASCII digits after an optional
``+`` and nothing else, so that an SSID is ten ASCII digits when it has ten bytes and reads as a
number of ten digits, or starts with ``0`` and reads as one (the tests hold this against the
streaming check's own rule).

So for a frame whose values hold no comma, quote, CR or LF, the Commons CSV reader reads back
exactly the frame's rows, six values each: the checks on the file as such (encoding, byte order
mark, blank lines, line endings, header, count of values, huge values, CSV syntax) find nothing,
and CERS's header checks pass. What is left is computed on the values:

- by runs: rows with the same school, group name, year and subject are neighbours in a written
  file, so CERS's contiguity and subject rules, the 200 rule (rows with a non-blank SSID per
  group, reported when the next group starts, under the next group's school) and our per-group
  checks are decided once per run; the rows counted per run (with a login, without an SSID…)
  are few, and counted by searching the runs' ends;
- by distinct values: what Java or Python would say of a value (``fold_case`` for CERS's
  ``equalsIgnoreCase``, ``is_blank``, ``strip_to_null``, ``str.strip``/``casefold`` for our
  group identity, the e-mail and SSID rules, every message and fix) is asked of the very
  functions the streaming validator uses (:mod:`.java_text`, :mod:`.cers_rules`, :mod:`.checks`),
  once per distinct value; only printable ASCII values without outer spaces (what almost every
  name is) are lower-cased by polars instead, where all those rules reduce to that;
- repeated members: the writer's students of a group are neighbours with strictly increasing
  SSIDs, which is checked on neighbours; only groups where that does not hold (students under
  several spellings of one group, rows with both an SSID and a login, repeated or unsorted
  SSIDs) are searched for repeats value by value, and teachers (a few rows a group) always are;
- findings are then given to the validator's own :class:`~.checks.FindingLog` and kept as
  CERS keeps failures, in the order the streaming pass would find them.

When the rows are not such a frame, the written file is checked by the streaming validator
instead (same answer, its time): columns not the six in order or a ``school_year`` that is not
an integer column; no rows; a missing school year or one beyond Java's ``int``; a value holding
a comma, double quote, CR or LF (quoted in the file: the two readers may part ways there), or
longer than :data:`~.commons_csv.MAX_FIELD_CHARS`; a blank school or group name (CERS reports
those on every row; the writer refuses them); more than :data:`~.checks.SUBJECT_LIMIT` distinct
subjects or a group of more than :data:`~.checks.SET_LIMIT` rows (where the streaming checks
stop remembering); ``csv_bytes`` that are not these rows' file. :func:`why_not_by_columns` says
which.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Final

import polars as pl

from cers_core.cers_csv.cers_rules import (
    KEPT,
    MAX_STUDENTS,
    group_out_of_order,
    invalid_subject,
    invalid_year,
    school_out_of_order,
    subject_codes,
    subject_redefined,
    success,
    too_many_students,
    unknown_school,
)
from cers_core.cers_csv.checks import (
    PER_CHECK,
    SET_LIMIT,
    SUBJECT_LIMIT,
    FindingLog,
    Problem,
    block_problems,
    cross_product_problem,
    group_name_problems,
    group_split_problem,
    is_email,
    login_problem,
    school_id_problem,
    school_year_problem,
    ssid_problem,
    subject_problem,
)
from cers_core.cers_csv.commons_csv import MAX_FIELD_CHARS
from cers_core.cers_csv.java_text import JAVA_WHITESPACE, fold_case, is_blank, strip_to_null
from cers_core.cers_csv.report import Finding, ValidationReport
from cers_core.cers_csv.validator import validate_cers_csv
from cers_core.cers_csv.writer import CERS_COLUMNS, write_ordered_rows

__all__ = ["check_written_rows", "why_not_by_columns"]

_TEXT_COLUMNS: Final = ("group_name", "school_natural_id", "subject_code", "student_ssid", "group_user_login")
_HEADER: Final = (",".join(CERS_COLUMNS) + "\r\n").encode()
_QUOTED: Final = (",", '"', "\r", "\n")  # what makes polars quote a value
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# Printable ASCII but for the comma, the double quote and the backslash, no space at either end:
# Java and Python agree such a name is not blank, its own strip, and lower-cased by fold_case and
# casefold alike; and no group-name check finds anything in it (up to 255 characters).
_END = r"[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]"
_PLAIN_NAME: Final = rf"^{_END}(?:[\x20\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]*{_END})?$"
# An address _EMAIL surely matches (only characters it allows, dots only between labels).
_PLAIN_EMAIL: Final = r"^[A-Za-z0-9._%+'\-]+@[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)+$"
# Where each finding of ours is made while a record is read (checks.PreflightChecks.record):
# the previous group's findings, then the new group's school, year, spelling and name, then the
# record's subject, SSID and login; at the end of the file, the last group's, then cross rows.
_AT_GROUP_END, _AT_SCHOOL, _AT_YEAR, _AT_SPLIT, _AT_NAME, _AT_SUBJECT, _AT_SSID, _AT_LOGIN, _AT_CROSS = range(9)
# Where each CERS failure is made while a record is read (cers_rules.CersRules._checked).
_AT_BAD_YEAR, _AT_BAD_SUBJECT, _AT_UNKNOWN_SCHOOL, _AT_SCHOOL_ORDER, _AT_200, _AT_GROUP_ORDER, _AT_REDEFINED = range(7)
_EVENTS: Final = {
    "pos": pl.Int64,
    "seq": pl.Int32,
    "sub": pl.Int32,
    "row": pl.Int64,
    "check": pl.String,
    "problem": pl.Int64,
}


class _Unfit(Exception):
    """The rows are not a frame this check covers; the message says why."""


def check_written_rows(
    rows: pl.DataFrame,
    csv_bytes: bytes | None = None,
    *,
    school_years: Collection[int] | None = None,
    schools: Collection[str] | None = None,
    subjects: Collection[str] = ("ELA", "Math"),
) -> ValidationReport:
    """What :func:`validate_cers_csv` answers for ``write_ordered_rows(rows)``, computed from ``rows``.

    ``rows`` are the rows as written (``order_cers_rows``' result: the six columns in file
    order, in file order); ``csv_bytes``, when given, the file written from them (it is checked
    to be, and is what the streaming validator reads should the rows not suit this check).
    The options are :func:`validate_cers_csv`'s.

    >>> from cers_core.cers_csv import order_cers_rows
    >>> rows = order_cers_rows(pl.DataFrame({
    ...     "group_name": ["Algebra", "Algebra"], "school_natural_id": ["01612590130146"] * 2,
    ...     "school_year": [2025] * 2, "subject_code": ["Math"] * 2,
    ...     "student_ssid": ["1234567890", ""], "group_user_login": ["", "t@example.org"]}))
    >>> report = check_written_rows(rows)
    >>> report.cers_message(), report.accepted
    ('1 group accepted for 01612590130146.', True)
    >>> report == validate_cers_csv(write_ordered_rows(rows))
    True
    """
    try:
        written = _Written.of(rows, csv_bytes)
    except _Unfit:
        data = csv_bytes if csv_bytes is not None else write_ordered_rows(rows)
        return validate_cers_csv(data, school_years=school_years, schools=schools, subjects=subjects)
    failures, failure_count, accepted, accepted_count = _cers_answer(written, school_years, schools, subjects)
    ours = _OurChecks(written, schools=schools, years_given=school_years is not None)
    blocks = written.blocks
    return ValidationReport(
        cers_failures=failures,
        cers_failure_count=failure_count,
        cers_accepted=accepted,
        cers_accepted_count=accepted_count,
        cers_crash=None,
        extra_findings=ours.findings(),
        rows=written.rows,
        groups=blocks.height,
        schools=blocks.get_column("school_natural_id").n_unique(),
        max_students_per_group=int(blocks.get_column("students").max()),  # type: ignore[arg-type]
    )


def why_not_by_columns(rows: pl.DataFrame, csv_bytes: bytes | None = None) -> str | None:
    """Why :func:`check_written_rows` would hand ``rows`` to the streaming validator; None when it would not.

    >>> why_not_by_columns(pl.DataFrame({"group_name": ["A"]}))
    "the columns are not CERS's six, in order"
    """
    try:
        _Written.of(rows, csv_bytes)
    except _Unfit as unfit:
        return str(unfit)
    return None


# -- the rows, in runs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Written:
    """The written rows, in runs and blocks, with the few rows that need a look of their own."""

    frame: pl.DataFrame
    """The six columns, text never null, ``school_year`` as ``Int64``."""
    runs: pl.DataFrame
    """A row per run of rows with the same group name, school, year and subject: its values, ``start``
    and ``end`` (row numbers), ``_raw`` (a name, school or year starts here), its counts of rows
    with an SSID, with a login, with both, with a non-blank SSID to Java, and ``_breaks`` (student
    rows that do not follow a student with a smaller SSID in the same name, school and year); and
    what its values are to Java and to our checks (``_name_fold``, ``_school_ident``…)."""
    blocks: pl.DataFrame
    """A row per block, a group as our checks see it (neighbouring runs whose school and year,
    stripped, and name, stripped and case-folded, are the same): rows, counts, students, repeats."""
    logins: pl.DataFrame
    """Every row with a login: ``row``, ``login``, ``crossed`` (an SSID too)."""
    odd_ssids: pl.DataFrame
    """Every row with an SSID that is not ten digits: ``row``, ``ssid``."""
    ssid_problems: dict[str, Problem]
    """What the checks say of each SSID that is not ten digits."""
    bad_logins: dict[str, Problem]
    """What the checks say of each login that is not an e-mail address."""
    name_problems: dict[str, list[Problem]]
    """What the checks say of each group name that is not plain ASCII."""

    @property
    def rows(self) -> int:
        return self.frame.height

    @classmethod
    def of(cls, rows: pl.DataFrame, csv_bytes: bytes | None) -> _Written:
        if rows.columns != list(CERS_COLUMNS):
            raise _Unfit("the columns are not CERS's six, in order")
        if any(rows.schema[name] != pl.String for name in _TEXT_COLUMNS) or not rows.schema["school_year"].is_integer():
            raise _Unfit("the columns are not text, and an integer school_year")
        if rows.is_empty():
            raise _Unfit("there are no rows")
        years = rows.get_column("school_year")
        if years.null_count():
            raise _Unfit("a school year is missing")
        if int(years.min()) < _INT_MIN or int(years.max()) > _INT_MAX:  # type: ignore[arg-type]
            raise _Unfit("a school year is beyond what CERS reads as a number")
        frame = rows.with_columns(pl.col(_TEXT_COLUMNS).fill_null(""), pl.col("school_year").cast(pl.Int64))
        runs, logins, odd_ssids = _runs(frame)
        ssids = _refuse_quoted(odd_ssids.get_column("ssid").unique(), "an SSID")
        ssid_problems = {ssid: ssid_problem(ssid) for ssid in ssids.to_list()}
        runs, name_problems = _with_values(runs)
        addresses = logins.get_column("login").unique()
        plain = addresses.str.contains(_PLAIN_EMAIL) & (addresses.str.len_bytes() <= 320)
        odd = _refuse_quoted(addresses.filter(~plain), "a login")
        bad_logins = {login: login_problem(login) for login in odd.to_list() if not is_email(login)}
        if csv_bytes is not None:
            _check_bytes(runs, logins, odd_ssids, csv_bytes)
        blocks = _blocks(runs)
        if blocks.select((pl.col("last_row") - pl.col("first_row")).max()).item() >= SET_LIMIT:
            raise _Unfit("a group has more rows than the streaming checks remember")
        return cls(
            frame=frame,
            runs=runs,
            blocks=_with_members(blocks, frame, logins),
            logins=logins,
            odd_ssids=odd_ssids,
            ssid_problems=ssid_problems,
            bad_logins=bad_logins,
            name_problems=name_problems,
        )


def _runs(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The runs, the rows with a login, and the rows with an SSID that is not ten digits.

    The only work on every row: comparisons with the row before, and the SSID's form. What is
    counted per run is a sparse set of rows, counted by searching the runs' ends.
    """
    group, school, year, subject = (pl.col(name) for name in CERS_COLUMNS[:4])
    ssid, login = pl.col("student_ssid"), pl.col("group_user_login")
    number = ssid.cast(pl.UInt64, strict=False)  # digits, after an optional "+"
    flags = (
        frame.lazy()
        .select(
            same_raw=((group == group.shift(1)) & (school == school.shift(1)) & (year == year.shift(1))).fill_null(
                False
            ),
            same_subject=(subject == subject.shift(1)).fill_null(False),
            ssid=ssid != "",
            login=login != "",
            # ten ASCII digits: ten characters that read as a number of ten digits, or else start
            # with a zero (not with a "+")
            valid=(ssid.str.len_bytes() == 10)
            & pl.when(ssid.str.starts_with("0"))
            .then(number.is_not_null())
            .otherwise(number >= 1_000_000_000)
            .fill_null(False),
            rising=(ssid > ssid.shift(1)).fill_null(False),
        )
        .collect()
    )
    same_raw, has_ssid, has_login = (flags.get_column(name) for name in ("same_raw", "ssid", "login"))
    first = ~(same_raw & flags.get_column("same_subject"))
    starts = first.arg_true()
    ends = pl.concat([starts.slice(1) - 1, pl.Series([frame.height - 1], dtype=starts.dtype)])
    student = has_ssid & ~has_login
    # a student row that does not follow a student row of the same name, school and year with a smaller SSID
    breaks = student & ~(student.shift(1, fill_value=False) & same_raw & flags.get_column("rising"))
    at_login = has_login.arg_true()
    crossed = has_ssid.gather(at_login)
    logins = pl.DataFrame(
        {
            "row": at_login.cast(pl.Int64) + 1,
            "login": frame.get_column("group_user_login").gather(at_login),
            "crossed": crossed,
        }
    ).with_columns(_compact("login"))
    at_odd = (has_ssid & ~flags.get_column("valid")).arg_true()
    odd_ssids = pl.DataFrame(
        {"row": at_odd.cast(pl.Int64) + 1, "ssid": frame.get_column("student_ssid").gather(at_odd)}
    )
    blank = odd_ssids.filter(pl.col("ssid").str.strip_chars(JAVA_WHITESPACE) == "").get_column("row") - 1

    def per_run(rows: pl.Series) -> pl.Series:
        upto = rows.search_sorted(ends, side="right")
        return (upto - upto.shift(1, fill_value=0)).cast(pl.Int64)

    ssid_rows = pl.col("end") - pl.col("start") + 1 - per_run((~has_ssid).arg_true())
    runs = (
        frame.select(CERS_COLUMNS[:4])
        .filter(first)
        .with_columns(_compact("group_name"), _compact("school_natural_id"))
        .with_columns(start=starts.cast(pl.Int64) + 1, end=ends.cast(pl.Int64) + 1, _raw=~same_raw.gather(starts))
        .with_columns(
            _ssid_rows=ssid_rows,
            _login_rows=per_run(at_login),
            _cross_rows=per_run(at_login.filter(crossed)),
            _nonblank_rows=ssid_rows - per_run(blank.cast(starts.dtype)),
            _breaks=per_run(breaks.arg_true()),
            _year=pl.col("school_year").cast(pl.String),
        )
    )
    return runs, logins, odd_ssids


def _compact(name: str) -> pl.Expr:
    """The column's text copied into memory of its own, in row order: the writer's sorted rows point
    into text scattered in memory, and each later step would read it again, a cache miss a value."""
    return pl.concat_str(pl.col(name), pl.lit("")).alias(name)


def _refuse_quoted(values: pl.Series, what: str) -> pl.Series:
    """``values``, unless one would be quoted in the file, or kept by the streaming reader as a digest."""
    if values.str.contains(r'[,"\r\n]').any():
        raise _Unfit(f"{what} holds a comma, double quote or line break (the file quotes it)")
    if (values.str.len_chars().max() or 0) > MAX_FIELD_CHARS:  # type: ignore[operator]
        raise _Unfit(f"{what} is longer than the streaming reader keeps whole")
    return values


def _with_values(runs: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, list[Problem]]]:
    """The runs with what their values are to Java and to our checks (``_name_fold``, ``_name_ident``,
    ``_named``, ``_school_fold``, ``_school_ident``, ``_subject``, ``_subject_fold``), and the
    problems of each group name that is not plain."""
    schools = _refuse_quoted(runs.get_column("school_natural_id").unique(), "a school id").to_list()
    if any(is_blank(school) for school in schools):
        raise _Unfit("a school id is blank")
    subjects = _refuse_quoted(runs.get_column("subject_code").unique(), "a subject").to_list()
    if len(subjects) > SUBJECT_LIMIT:
        raise _Unfit("there are more distinct subjects than the streaming checks remember")
    names = runs.get_column("group_name").unique()
    plain = names.str.contains(_PLAIN_NAME) & (names.str.len_bytes() <= 255)
    odd = _refuse_quoted(names.filter(~plain), "a group name").to_list()
    if any(is_blank(name) for name in odd):
        raise _Unfit("a group name is blank")
    told = pl.DataFrame(
        {
            "group_name": odd,
            "_odd_fold": _fold_each(odd),
            "_odd_ident": [name.strip().casefold() for name in odd],
            "_named": [bool(name.strip()) for name in odd],
        },
        schema={"group_name": pl.String, "_odd_fold": pl.String, "_odd_ident": pl.String, "_named": pl.Boolean},
    )
    school = pl.col("school_natural_id")
    lower = pl.col("group_name").str.to_lowercase()
    stripped = [strip_to_null(text) for text in subjects]
    given = sorted({text for text in stripped if text is not None})
    runs = (
        runs.join(told, on="group_name", how="left", maintain_order="left")
        .with_columns(
            _name_fold=pl.col("_odd_fold").fill_null(lower),
            _name_ident=pl.col("_odd_ident").fill_null(lower),
            _named=pl.col("_named").fill_null(True),
            _school_fold=school.replace_strict(schools, _fold_each(schools)),
            _school_ident=school.replace_strict(schools, [text.strip() for text in schools]),
            _subject=pl.col("subject_code").replace_strict(subjects, stripped, return_dtype=pl.String),
        )
        .with_columns(
            _subject_fold=pl.col("_subject").replace_strict(
                given, _fold_each(given), default=None, return_dtype=pl.String
            )
        )
        .drop("_odd_fold", "_odd_ident")
    )
    return runs, {name: group_name_problems(name) for name in odd}


def _fold_each(texts: list[str]) -> list[str]:
    """:func:`fold_case` of each text, a character at a time as it works (each distinct character once)."""
    table = {ord(char): fold_case(char) for char in set().union(*texts)}
    return [text.translate(table) for text in texts]


def _check_bytes(runs: pl.DataFrame, logins: pl.DataFrame, odd_ssids: pl.DataFrame, csv_bytes: bytes) -> None:
    """``csv_bytes`` are these rows' file: its header, and as many bytes as the rows make unquoted."""
    keys = ("group_name", "school_natural_id", "subject_code", "_year")
    per_run = runs.select(
        (pl.sum_horizontal(pl.col(keys).str.len_bytes().cast(pl.Int64)) * (pl.col("end") - pl.col("start") + 1)).sum(),
        pl.col("_ssid_rows").sum(),
        pl.col("end").last(),
    ).row(0)
    text, ssid_rows, rows = per_run
    odd = odd_ssids.get_column("ssid").str.len_bytes().sum() - 10 * odd_ssids.height
    text += 10 * ssid_rows + odd + logins.get_column("login").str.len_bytes().sum()
    if not csv_bytes.startswith(_HEADER) or len(csv_bytes) != len(_HEADER) + text + 7 * rows:
        raise _Unfit("the bytes given are not the file of these rows")


def _blocks(runs: pl.DataFrame) -> pl.DataFrame:
    """Neighbouring runs of one group as our checks see it, with their counts."""
    identity = ("_school_ident", "_name_ident", "_year")
    changed = pl.any_horizontal(pl.col(name).ne(pl.col(name).shift(1)) for name in identity).fill_null(True)
    return (
        runs.with_columns(_block=changed.cum_sum())
        .group_by("_block", maintain_order=True)
        .agg(
            pl.col("group_name", "school_natural_id", *identity, "_named").first(),
            first_row=pl.col("start").first(),
            last_row=pl.col("end").last(),
            ssid_rows=pl.col("_ssid_rows").sum(),
            teachers=pl.col("_login_rows").sum(),
            breaks=pl.col("_breaks").sum(),
            cross_rows=pl.col("_cross_rows").sum(),
        )
        .drop("_block")
    )


def _with_members(blocks: pl.DataFrame, frame: pl.DataFrame, logins: pl.DataFrame) -> pl.DataFrame:
    """Each block's distinct ``students``, and its ``repeats`` (rows of a member listed before) from ``first_repeat``.

    A block without rows holding both an SSID and a login, whose student rows form one chain (each
    right after the one before, in the same name, school and year, with a greater SSID), has as
    many students as student rows and no repeated student; only other blocks are searched value
    by value. Teachers (a few rows a group) always are.
    """
    first_rows = blocks.get_column("first_row")
    repeats = [_repeated(logins.filter(~pl.col("crossed")), first_rows, ["login"])]
    blocks = blocks.with_columns(
        students=pl.col("ssid_rows"),  # for a regular block (no rows with both an SSID and a login)
        # every student row but the first continues a chain of increasing SSIDs within one name, school and year
        _regular=(pl.col("cross_rows") == 0) & (pl.col("breaks") <= 1),
    ).with_row_index("_index")
    irregular = blocks.filter(~pl.col("_regular"))
    if not irregular.is_empty():
        at = irregular.select(pl.int_ranges(pl.col("first_row") - 1, pl.col("last_row"))).to_series().explode()
        rows = (
            frame.select(
                ssid=pl.col("student_ssid").gather(at),
                login=pl.col("group_user_login").gather(at),
            )
            .with_columns(row=at.cast(pl.Int64) + 1, crossed=pl.col("login") != "")
            .filter(pl.col("ssid") != "")
        )
        rows = rows.with_columns(_index=_block_of(rows.get_column("row"), first_rows))
        distinct = rows.group_by("_index").agg(_distinct=pl.col("ssid").n_unique())
        blocks = blocks.join(distinct, on="_index", how="left").with_columns(
            students=pl.when("_regular").then("students").otherwise(pl.col("_distinct").fill_null(0))
        )
        firsts = rows.group_by("_index", "ssid").agg(_first=pl.col("row").min())
        students = rows.filter(~pl.col("crossed")).join(firsts, on=["_index", "ssid"])
        repeats.append(students.filter(pl.col("row") > pl.col("_first")).select("_index", "row"))
        repeats.append(_repeated(rows.filter("crossed"), first_rows, ["ssid", "login"]))
    found = pl.concat(repeats).group_by("_index").agg(repeats=pl.len(), first_repeat=pl.col("row").min())
    return (
        blocks.join(found, on="_index", how="left")
        .with_columns(pl.col("repeats", "first_repeat").fill_null(0))
        .sort("_index")
        .select(pl.exclude("_index", "_regular", "_distinct"))
    )


def _block_of(rows: pl.Series, first_rows: pl.Series) -> pl.Series:
    return (first_rows.search_sorted(rows, side="right").cast(pl.Int64) - 1).cast(pl.UInt32).alias("_index")


def _repeated(rows: pl.DataFrame, first_rows: pl.Series, key: list[str]) -> pl.DataFrame:
    """``(_index, row)`` of each of ``rows`` whose ``key`` an earlier one of its block had."""
    rows = rows.with_columns(_index=_block_of(rows.get_column("row"), first_rows))
    return rows.filter(~pl.struct("_index", *key).is_first_distinct()).select("_index", "row")


# -- CERS's answer ---------------------------------------------------------------------------------


def _cers_answer(
    written: _Written,
    school_years: Collection[int] | None,
    schools: Collection[str] | None,
    subjects: Collection[str],
) -> tuple[list[Finding], int, list[str], int]:
    """Failures (kept, and how many) or success lines (kept, and how many), as ``CersRules.outcome``.

    A run of one school is *live* when CERS reads its groups: its school is known and it is the
    school's first run. CERS skips every row of other runs (a later run is out of order), so they
    count no students; the group before them is judged when the next live group starts.
    """
    school, name = pl.col("school_natural_id"), pl.col("group_name")
    known = pl.lit(True) if schools is None else school.is_in(list(schools))
    key_fold = pl.col("_school_fold") + pl.col("_name_fold") + pl.col("_year")
    runs = (
        written.runs.with_columns(_school_start=school.ne(school.shift(1)).fill_null(True))
        .with_columns(_school_run=pl.col("_school_start").cum_sum(), _known=known)
        .with_columns(_live=pl.col("_known") & (pl.col("_school_run") == pl.col("_school_run").min().over(school)))
        .with_columns(
            # a group starts where its school does, or where the key differs from the run before ignoring case
            _group_start=pl.col("_live") & (pl.col("_school_start") | key_fold.ne(key_fold.shift(1)).fill_null(True))
        )
        .with_columns(_group=pl.col("_group_start").cum_sum(), _key=school + name + pl.col("_year"))
    )
    found: list[tuple[int, int, Finding]] = []
    if school_years is not None:
        years = frozenset(school_years)
        unknown = runs.filter(~pl.col("school_year").is_in(list(years))).unique("school_year", maintain_order=True)
        for start, year in unknown.select("start", "school_year").iter_rows():
            found.append((start, _AT_BAD_YEAR, invalid_year(start, year, years)))
    codes = subject_codes(subjects)
    given = runs.get_column("_subject").drop_nulls().unique().to_list()
    wrong = runs.filter(pl.col("_subject").is_in([subject for subject in given if subject.lower() not in codes]))
    for start, subject in wrong.unique("_subject", maintain_order=True).select("start", "_subject").iter_rows():
        found.append((start, _AT_BAD_SUBJECT, invalid_subject(start, subject, subjects)))
    dead = runs.filter(pl.col("_school_start") & ~pl.col("_live")).unique("school_natural_id", maintain_order=True)
    for start, text, is_known in dead.select("start", "school_natural_id", "_known").iter_rows():
        if is_known:
            found.append((start, _AT_SCHOOL_ORDER, school_out_of_order(start, text)))
        else:
            found.append((start, _AT_UNKNOWN_SCHOOL, unknown_school(start, text)))

    live = runs.filter(pl.col("_live"))
    groups = live.group_by("_group", maintain_order=True).agg(
        pl.col("start", "group_name", "school_natural_id", "school_year", "_key", "_school_run").first(),
        students=pl.col("_nonblank_rows").sum(),
    )
    last_school = runs.get_column("school_natural_id")[-1] if runs.get_column("_live")[-1] else None
    found += _too_many_students(groups, written.rows, last_school)
    again = groups.filter(~pl.struct("_school_run", "_key").is_first_distinct()).head(1)
    for start, group, year, text in again.select("start", "group_name", "school_year", "school_natural_id").rows():
        found.append((start, _AT_GROUP_ORDER, group_out_of_order(start, group, year, text)))
    found += _subjects_redefined(live)

    failures: list[Finding] = []
    reported: set[str] = set()
    for _, _, failure in sorted(found, key=lambda item: item[:2]):
        if failure.message not in reported:  # addUniqueFailure
            reported.add(failure.message)
            failures.append(failure)
    if failures:
        return failures[:KEPT], len(failures), [], 0
    per_school = runs.group_by("_school_run", maintain_order=True).agg(school.first(), pl.col("_group_start").sum())
    lines = [success(0, count, text).message for _, text, count in per_school.iter_rows()]
    return [], 0, lines[:KEPT], len(lines)


def _too_many_students(groups: pl.DataFrame, rows: int, last_school: str | None) -> list[tuple[int, int, Finding]]:
    """The 200 rule: judged when the next group starts (at its row - 1, under its school) or at the
    end of the file (under the school CERS is in then, none if it skipped the last rows)."""
    big = groups.with_columns(
        _at=pl.col("start").shift(-1).fill_null(rows + 1), _school=pl.col("school_natural_id").shift(-1)
    ).filter(pl.col("students") > MAX_STUDENTS)
    found = []
    for at, text, group, students in big.select("_at", "_school", "group_name", "students").iter_rows():
        school = last_school if at == rows + 1 else text
        found.append((at, _AT_200, too_many_students(at - 1, school, group, students)))
    return found


def _subjects_redefined(live: pl.DataFrame) -> list[tuple[int, int, Finding]]:
    """A group's subject changing (ignoring case) from one run to a later one, followed as CERS does."""
    given = live.filter(pl.col("_subject").is_not_null())
    same_group = pl.col("_group") == pl.col("_group").shift(1)
    changed = given.filter(same_group & pl.col("_subject_fold").ne(pl.col("_subject_fold").shift(1)))
    found: list[tuple[int, int, Finding]] = []
    if changed.is_empty():
        return found
    current, group_seen = "", None
    replayed = given.filter(pl.col("_group").is_in(changed.get_column("_group").unique().implode()))
    for start, number, group, subject in replayed.select("start", "_group", "group_name", "_subject").iter_rows():
        if number != group_seen:
            group_seen, current = number, subject
        elif fold_case(subject) != fold_case(current):
            found.append((start, _AT_REDEFINED, subject_redefined(start, group, current, subject)))
            current = subject
    return found


# -- our own checks --------------------------------------------------------------------------------


class _OurChecks:
    """``PreflightChecks``' findings from the blocks and runs, given to a :class:`FindingLog` in the
    order a streaming pass finds them: ``(pos, seq, sub)``, the record being read, the step of
    ``record`` (``_AT_…``), and the place in the step's list."""

    def __init__(self, written: _Written, *, schools: Collection[str] | None, years_given: bool) -> None:
        self._written = written
        self._known = frozenset(schools) if schools is not None else frozenset()
        self._years_given = years_given
        self._problems: list[Problem] = []

    def findings(self) -> list[Finding]:
        written = self._written
        events = pl.concat(
            [
                self._group_ends(),
                self._firsts("school_natural_id", _AT_SCHOOL, lambda text: school_id_problem(text, self._known)),
                self._firsts("_year", _AT_YEAR, lambda text: school_year_problem(text, years_given=self._years_given)),
                self._splits(),
                self._names(),
                self._subjects(),
                self._value_rows(written.odd_ssids, "ssid", _AT_SSID, written.ssid_problems),
                self._value_rows(written.logins, "login", _AT_LOGIN, written.bad_logins),
                self._cross(),
            ]
        ).sort("pos", "seq", "sub")
        log = FindingLog()
        told = events.filter(pl.int_range(pl.len()).over("check") <= PER_CHECK)  # and the first untold
        for row, problem in told.select("row", "problem").iter_rows():
            log.found(row, self._problems[problem])
        for check, count in events.group_by("check").len().iter_rows():
            if count > PER_CHECK + 1:
                log.count_more(check, count - PER_CHECK - 1)
        return log.report()

    def _events(self, found: Iterable[tuple[int, int, int, int, Problem]]) -> pl.DataFrame:
        records = []
        for pos, seq, sub, row, problem in found:
            records.append((pos, seq, sub, row, problem.check, len(self._problems)))
            self._problems.append(problem)
        return pl.DataFrame(records, schema=_EVENTS, orient="row")

    def _group_ends(self) -> pl.DataFrame:
        """A block's findings, made when the next block starts (or at the end of the file)."""
        blocks = self._written.blocks.with_columns(
            pos=pl.col("first_row").shift(-1).fill_null(self._written.rows + 1)
        ).filter(  # a superset of the blocks block_problems finds something in
            (pl.col("students") > 200)
            | (pl.col("ssid_rows") > 200)
            | (pl.col("repeats") > 0)
            | (pl.col("teachers") == 0)
            | (pl.col("ssid_rows") == 0)
        )
        counts = ("students", "ssid_rows", "teachers", "repeats", "first_row", "last_row", "first_repeat")
        found = []
        for pos, name, *values in blocks.select("pos", "group_name", *counts).iter_rows():
            problems = block_problems(name, **dict(zip(counts, values, strict=True)))
            found += [(pos, _AT_GROUP_END, sub, row, problem) for sub, (row, problem) in enumerate(problems)]
        return self._events(found)

    def _firsts(self, column: str, seq: int, check: Callable[[str], Problem | None]) -> pl.DataFrame:
        """A check made at the first block with each distinct value of ``column``."""
        firsts = self._written.blocks.unique(column, keep="first", maintain_order=True)
        return self._events(
            (row, seq, 0, row, problem)
            for row, value in firsts.select("first_row", column).iter_rows()
            if (problem := check(value)) is not None
        )

    def _splits(self) -> pl.DataFrame:
        """One group in blocks apart at one school, replayed as the streaming checks do (the
        spelling named is the first one written)."""
        school = pl.col("school_natural_id")
        identity = ("_school_ident", "_name_ident", "_year")
        blocks = self._written.blocks.with_columns(_segment=school.ne(school.shift(1)).fill_null(True).cum_sum())
        again = blocks.filter(pl.len().over("_segment", *identity) > 1)
        found = []
        spellings: dict[tuple[object, ...], dict[tuple[str, str], None]] = {}
        for row, group, *key in again.select("first_row", "group_name", "_segment", *identity).iter_rows():
            year = key[-1]  # the year as written: its identity is itself
            seen = spellings.setdefault(tuple(key), {})  # in the order first seen, as the streaming check
            if seen and (group, year) not in seen:
                found.append((row, _AT_SPLIT, 0, row, group_split_problem(group, next(iter(seen))[0])))
            seen[(group, year)] = None
        return self._events(found)

    def _names(self) -> pl.DataFrame:
        odd = self._written.name_problems
        named = self._written.blocks.filter(pl.col("group_name").is_in(list(odd)) & pl.col("_named"))
        return self._events(
            (row, _AT_NAME, sub, row, problem)
            for row, name in named.select("first_row", "group_name").iter_rows()
            for sub, problem in enumerate(odd[name])
        )

    def _subjects(self) -> pl.DataFrame:
        firsts = self._written.runs.unique("subject_code", keep="first", maintain_order=True)
        return self._events(
            (row, _AT_SUBJECT, 0, row, problem)
            for row, subject in firsts.select("start", "subject_code").iter_rows()
            if (problem := subject_problem(subject)) is not None
        )

    def _value_rows(self, rows: pl.DataFrame, column: str, seq: int, problems: dict[str, Problem]) -> pl.DataFrame:
        """A check made on every one of ``rows`` whose value is one of ``problems``'."""
        if not problems:
            return pl.DataFrame(schema=_EVENTS)
        values = list(problems)
        first = len(self._problems)
        self._problems.extend(problems.values())
        value = pl.col(column)
        return rows.filter(value.is_in(values)).select(
            pos="row",
            seq=pl.lit(seq, dtype=pl.Int32),
            sub=pl.lit(0, dtype=pl.Int32),
            row="row",
            check=value.replace_strict(
                values, [problem.check for problem in problems.values()], return_dtype=pl.String
            ),
            problem=value.replace_strict(values, list(range(first, first + len(values))), return_dtype=pl.Int64),
        )

    def _cross(self) -> pl.DataFrame:
        crossed = self._written.logins.filter("crossed")
        if crossed.is_empty():
            return pl.DataFrame(schema=_EVENTS)
        first = int(crossed.get_column("row")[0])
        return self._events([(self._written.rows + 1, _AT_CROSS, 0, first, cross_product_problem(crossed.height))])
