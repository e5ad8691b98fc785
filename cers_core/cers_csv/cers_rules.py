"""CERS's own acceptance rules: a line-by-line port of RDW's ``DefaultCsvValidationService``.

Reference §2–§4, and the RDW source it cites (RDW_Common ``group/.../DefaultCsvValidationService.java``,
Commons CSV 1.6). The port keeps the Java's quirks on purpose, because an analyst needs to
know what CERS will *say*, not what it should say:

- ``Empty file`` is decided before the header is looked at; a duplicate header name
  (ignoring case) fails earlier still, as ``File does not appear to be a valid CSV with a
  header row``.
- Only the first six header names are compared (ignoring case); extra columns pass. Values
  are then read *by name*, so a wrong header is reported and the rows are still checked. A
  row too short for a column that is read (``record.get`` throws ``IllegalArgumentException``)
  replaces every row failure with ``File does not appear to be a valid CSV...`` at row 0; the
  SSID column is read only for rows that pass the key, school and group checks.
- Missing key fields are reported on every row; all other failures once per distinct message
  text (``addUniqueFailure``), at the first row that produced it.
- The school is compared exactly (a space before a CDS code makes it unknown), the year is
  ``Integer.valueOf`` of the raw text, the subject is stripped and compared in lower case.
- Contiguity: a school seen before (exact text) is out of order; a group (school + name +
  year, compared ignoring case with the previous one) seen before *with exactly the same
  text* is out of order: ``ALGEBRA`` after ``Algebra`` and another group is not caught.
- The 200 rule counts rows with a non-blank SSID, and is checked when the next group starts
  (at that row's number minus one) or at the end (the last row), naming the *current* school:
  when a school changes, the previous group is reported under the new school's id.
- A rejected file lists every failure; an accepted one lists ``<n> group[s] accepted for
  <school>.`` per school. If the header is wrong but the rows are fine, CERS lists the header
  failure and then the success lines, all formatted as failures.
- Two conditions make CERS fail with an internal error instead of a report: a header whose
  first columns match but that has fewer than six, and a CSV syntax error after the header
  (Commons CSV 1.6 wraps it in ``IllegalStateException``, which nothing catches). A syntax
  error in the header itself is an ``IOException``: ``Error reading file [<message>]``.

Memory stays bounded whatever the file holds: the sets of completed schools and groups, and of
reported messages, are :class:`~.seen_keys.SeenKeys` (exact, in bounded memory, on disk beyond
a size no real file reaches), and only the first :data:`KEPT` failures are stored (all are
counted).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final

from cers_core import wording
from cers_core.cers_csv.commons_csv import CsvSyntaxError
from cers_core.cers_csv.java_text import JAVA_WHITESPACE, fold_case, is_blank, parse_int, strip_to_null
from cers_core.cers_csv.report import Finding
from cers_core.cers_csv.seen_keys import SeenKeys
from cers_core.cers_csv.writer import CERS_COLUMNS

__all__ = [
    "KEPT",
    "MAX_STUDENTS",
    "CersOutcome",
    "CersRules",
    "group_out_of_order",
    "invalid_subject",
    "invalid_year",
    "school_out_of_order",
    "subject_codes",
    "subject_redefined",
    "success",
    "too_many_students",
    "unknown_school",
]

KEPT: Final = 1_000
MAX_STUDENTS: Final = 200
_HEADER_LINE: Final = ",".join(CERS_COLUMNS)
_INVALID_HEADERS: Final = f"Invalid headers. Headers must be in order: [{_HEADER_LINE}]"
_NOT_CSV: Final = "File does not appear to be a valid CSV with a header row"
_KEY_COLUMNS: Final = ("school_natural_id", "group_name", "school_year", "subject_code")  # read first, in this order
_ABSENT: Final = 1 << 62  # an index no record reaches
_GROUP_OUT_OF_ORDER: Final = "Record is out-of-order: sort CSV by school, group, year"
_YEAR_RANGE: Final = re.compile(r"\s*([0-9]{4})\s*[-/–]\s*([0-9]{2}|[0-9]{4})\s*")
_EXACT_HEADER_FIX: Final = f"The first line must be exactly: {_HEADER_LINE}"
_FIX_SUCCESS_LINE: Final = (
    "Not a problem in itself: CERS lists the schools it would accept among the failures when the header is wrong."
)


@dataclass(slots=True)
class _Kept:
    """A list that keeps its first :data:`KEPT` items and counts the rest."""

    items: list[Finding] = field(default_factory=list)
    total: int = 0

    def add(self, finding: Finding) -> None:
        self.total += 1
        if len(self.items) < KEPT:
            self.items.append(finding)


@dataclass(frozen=True, slots=True)
class CersOutcome:
    """What CERS answers: failures (if any), else success lines; or an internal error."""

    failures: list[Finding]
    failure_count: int
    accepted: list[str]
    accepted_count: int
    crash: Finding | None


def _cers(row: int, message: str, fix: str) -> Finding:
    return Finding(row=row, message=message, severity="error", source="cers", fix=fix)


class CersRules:
    """Feed it the header, then every record, then :meth:`outcome`; it answers as CERS would.

    ``school_years`` and ``schools`` are CERS's tables (its ``school_year`` table, and the
    schools the uploader may write groups for); None skips that check, since only CERS knows
    them. ``subjects`` are the tenant's subject codes (``all`` is always allowed).
    """

    def __init__(
        self,
        *,
        school_years: Collection[int] | None,
        schools: Collection[str] | None,
        subjects: Collection[str],
    ) -> None:
        self._years = None if school_years is None else frozenset(school_years)
        self._schools = None if schools is None else frozenset(schools)
        self._subjects = subject_codes(subjects)
        self._subject_texts = tuple(subjects)
        self._head: list[Finding] = []  # validate()'s own results, before validateRecords
        self._failures = _Kept()
        self._successes = _Kept()
        self._reported = SeenKeys()
        self._stopped = False  # CERS has stopped reading records (an exception, or nothing to read)
        self._crash: Finding | None = None
        self._names: list[str] = []
        # where CSVRecord.get(name) finds each column (by header name, ignoring case)
        self._index: dict[str, int | None] = {}
        self._keys = (0, 0, 0, 0)  # where school, group, year and subject are, once known
        self._need = _ABSENT  # records need more values than this index, or get() throws
        self._ssid = _ABSENT
        # validateRecords' local variables, same names as in the Java
        self._completed_schools = SeenKeys()
        self._completed_groups = SeenKeys()
        self._school: str | None = None
        self._group: str | None = None
        self._group_key: str | None = None
        self._group_fold: str | None = None
        self._subject: str | None = None
        self._students = 0
        self._group_count = 0
        self._record_number = 0
        # a row identical in its key fields to the previous fully checked row needs only counting
        self._previous: tuple[str, str, str, str] | None = None
        self._year_cache: dict[str, int | None] = {}

    # -- validate(): reading the file ------------------------------------------------------

    def read_error(self, error: CsvSyntaxError) -> None:
        """The header line is not valid CSV: Commons CSV throws ``IOException`` in the parser's constructor."""
        self._head.append(
            _cers(
                0,
                f"Error reading file [{error}]",
                f"The header line is not valid CSV near line {error.line}: a double quote is misplaced or never "
                f"closed. {_EXACT_HEADER_FIX}",
            )
        )
        self._stopped = True

    def header(self, names: list[str]) -> None:
        """The header record; a name given twice (ignoring case) makes the parser throw."""
        folded = [fold_case(name) for name in names]
        seen: set[str] = set()
        for name, key in zip(names, folded, strict=True):
            if key in seen:
                if is_blank(name):
                    fix = f"The header line has empty column names (extra commas at its end?). {_EXACT_HEADER_FIX}"
                else:
                    fix = f"The header line names {name!r} more than once. {_EXACT_HEADER_FIX}"
                self._illegal_argument(fix)
                return
            seen.add(key)
        self._names = names
        columns = {key: index for index, key in enumerate(folded)}
        self._index = {name: columns.get(name) for name in CERS_COLUMNS}
        keys = [self._index[name] for name in _KEY_COLUMNS]
        if None not in keys:
            self._keys = (keys[0], keys[1], keys[2], keys[3])
            self._need = max(self._keys)
        self._ssid = _ABSENT if self._index["student_ssid"] is None else self._index["student_ssid"]

    def empty(self, *, header: bool) -> None:
        """``recordIterator.hasNext()`` is false: no record after the header (or no header either)."""
        if self._stopped:
            return
        fix = (
            "The file has a header but no rows: check that the export found sections for the chosen schools and year."
            if header
            else "The file is empty. Export it again."
        )
        self._head.append(_cers(0, "Empty file", fix))
        self._stopped = True

    def check_headers(self) -> None:
        """``validateHeaders``: the first six names, in order, ignoring case."""
        if self._stopped:
            return
        for index, required in enumerate(CERS_COLUMNS):
            if index >= len(self._names):
                missing = ", ".join(CERS_COLUMNS[index:])
                self._crash_with(
                    0,
                    f"No report: CERS stops with an internal error (HTTP 500), because the header has only "
                    f"{index} of the six columns (missing: {missing}).",
                    f"Add the missing column name(s) to the header, and an empty value for them on every row. "
                    f"{_EXACT_HEADER_FIX}",
                )
                return
            if fold_case(self._names[index]) != fold_case(required):
                found = ",".join(self._names[:6])
                fix = f"{_EXACT_HEADER_FIX} (in this order); this file's first line has: {found}"
                self._head.append(_cers(0, _INVALID_HEADERS, fix))
                return

    def syntax_error(self, error: CsvSyntaxError, *, row: int) -> None:
        """A CSV syntax error after the header: Commons CSV's iterator throws ``IllegalStateException``."""
        if self._stopped:
            return
        if "EOF reached" in str(error):
            how = (
                f"a double quote opened on line {error.line} is never closed, so the rest of the file reads as "
                "one value"
            )
        else:
            how = f"on line {error.line} a value in double quotes is followed by other text before the comma"
        self._crash_with(
            row,
            f"No report: CERS stops with an internal error (HTTP 500) at row {row} (line {error.line}): {error}",
            f"Fix the quotes: {how}. A value that starts with a double quote must end with one just before the "
            'comma or the end of the line, and a double quote inside it must be written twice ("").',
        )

    # -- validateRecords() -----------------------------------------------------------------

    def record(self, row: int, values: list[str]) -> None:
        """One record, exactly as the Java loop body handles it (hot: keep it lean)."""
        if self._stopped:
            return
        if len(values) <= self._need:
            self._illegal_argument(self._get_fails(row, values, _KEY_COLUMNS))
            return
        at_school, at_group, at_year, at_subject = self._keys
        school, group = values[at_school], values[at_group]
        year_text, subject_text = values[at_year], values[at_subject]
        self._record_number = row
        if self._previous == (school, group, year_text, subject_text):
            # Same key fields as the previous, fully checked, row: only the count can change.
            if len(values) <= self._ssid:
                self._count_student(row, values)
                return
            ssid = values[self._ssid]
            if ssid and (ssid[0] not in JAVA_WHITESPACE or not is_blank(ssid)):
                self._students += 1
            return
        self._previous = None
        self._checked(row, values, school, group, year_text, subject_text)

    def _count_student(self, row: int, values: list[str]) -> None:
        if len(values) <= self._ssid:
            self._illegal_argument(self._get_fails(row, values, ("student_ssid",)))
            return
        ssid = values[self._ssid]
        if ssid and (ssid[0] not in JAVA_WHITESPACE or not is_blank(ssid)):
            self._students += 1

    def _get_fails(self, row: int, values: list[str], names: tuple[str, ...]) -> str:
        """Why ``CSVRecord.get`` throws for one of ``names``: the fix for the analyst."""
        for name in names:
            if self._index.get(name) is None:
                return f"The header has no column named {name}. {_EXACT_HEADER_FIX}"
        return (
            f"Row {row} has only {wording.count(len(values), 'value')}; every row needs the six columns, with "
            f"empty values left empty between commas (e.g. Algebra,01612590130146,2025,All,,teacher@example.org)."
        )

    def _checked(self, row: int, values: list[str], school: str, group: str, year_text: str, subject_text: str) -> None:
        year = self._year(year_text)
        missing = False
        if is_blank(school):
            self._fail(row, "Record does not contain a school", "Fill in school_natural_id: the school's CDS code.")
            missing = True
        if is_blank(group):
            self._fail(row, "Record does not contain a group name", "Fill in group_name on this row.")
            missing = True
        if year is None:
            self._fail(row, "Record does not contain a school year", _year_fix(year_text))
            missing = True
        if missing:
            return

        if self._years is not None and year not in self._years:
            self._fail_once(invalid_year(row, year, self._years))
        subject = strip_to_null(subject_text)
        if subject is not None and subject.lower() not in self._subjects:
            self._fail_once(invalid_subject(row, subject, self._subject_texts))

        if self._school is None or self._school != school:
            if self._school is not None:
                self._completed_schools.add(self._school)
                self._successes.add(success(row, self._group_count, self._school))
            self._completed_groups.clear()
            self._group_key = None
            self._group_fold = None
            self._school = None
            self._group_count = 0
            if not self._school_ok(row, school):
                return
            self._school = school

        group_key = school + group + str(year)
        group_fold = fold_case(group_key)
        if self._group_key is None or self._group_fold != group_fold:
            if self._group_key is not None:
                self._completed_groups.add(self._group_key)
            self._subject = None
            self._group_key, self._group_fold = group_key, group_fold
            self._check_students(self._school, self._group, self._students, row - 1)
            self._students = 0
            self._group = group
            self._group_count += 1
            if group_key in self._completed_groups:
                self._fail_once(group_out_of_order(row, group, year, school))

        if self._subject is None:
            self._subject = subject
        elif subject is not None and fold_case(subject) != fold_case(self._subject):
            self._fail_once(subject_redefined(row, group, self._subject, subject))
            self._subject = subject

        self._count_student(row, values)
        if not self._stopped:
            self._previous = (school, group, year_text, subject_text)

    def _year(self, text: str) -> int | None:
        if text in self._year_cache:
            return self._year_cache[text]
        year = parse_int(text)
        if len(self._year_cache) < 1_000:
            self._year_cache[text] = year
        return year

    def _school_ok(self, row: int, school: str) -> bool:
        ok = True
        if self._schools is not None and school not in self._schools:
            self._fail_once(unknown_school(row, school))
            ok = False
        if school in self._completed_schools:
            self._fail_once(school_out_of_order(row, school))
            ok = False
        return ok

    def _check_students(self, school: str | None, group: str | None, students: int, row: int) -> None:
        if students > MAX_STUDENTS:
            self._fail_once(too_many_students(row, school, group, students))

    def _fail(self, row: int, message: str, fix: str) -> None:
        self._failures.add(_cers(row, message, fix))

    def _fail_once(self, failure: Finding) -> None:
        """``addUniqueFailure``: a message already reported (at any row) is not reported again."""
        if self._reported.add(failure.message):
            self._failures.add(failure)

    def _illegal_argument(self, fix: str) -> None:
        """``catch (IllegalArgumentException)`` in ``validate()``: row failures are lost, one failure is added."""
        self._head.append(_cers(0, _NOT_CSV, fix))
        self._failures = _Kept()
        self._successes = _Kept()
        self._stopped = True

    def _crash_with(self, row: int, message: str, fix: str) -> None:
        self._crash = Finding(row=row, message=message, severity="error", source="cers", fix=fix)
        self._stopped = True

    # -- the answer ------------------------------------------------------------------------

    def outcome(self) -> CersOutcome:
        """CERS's answer once every record has been given."""
        if self._crash is not None:
            return CersOutcome(failures=[], failure_count=0, accepted=[], accepted_count=0, crash=self._crash)
        if not self._stopped:
            self._stopped = True
            self._check_students(self._school, self._group, self._students, self._record_number)
            if not self._failures.total:
                self._successes.add(success(self._record_number, self._group_count, self._school))
        rows = self._failures if self._failures.total else self._successes
        results = [*self._head, *rows.items]
        total = len(self._head) + rows.total
        if self._head or self._failures.total:
            return CersOutcome(failures=results, failure_count=total, accepted=[], accepted_count=0, crash=None)
        return CersOutcome(
            failures=[],
            failure_count=0,
            accepted=[finding.message for finding in results],
            accepted_count=total,
            crash=None,
        )


def subject_codes(subjects: Collection[str]) -> frozenset[str]:
    """The subject codes CERS accepts, as it compares them (stripped, in lower case): the tenant's and ``all``."""
    return frozenset({code.strip().lower() for code in subjects} | {"all"})


# -- what CERS says: one place for the streaming rules and the check of our own files ----------


def success(row: int, groups: int, school: str | None) -> Finding:
    message = f"{groups} group{'' if groups == 1 else 's'} accepted for {_java(school)}."
    return _cers(row, message, _FIX_SUCCESS_LINE)


def invalid_year(row: int, year: int, years: Collection[int]) -> Finding:
    known = ", ".join(str(value) for value in sorted(years)[-5:])
    return _cers(
        row,
        f"Invalid school year: {year}",
        f"CERS has no school year {year}. Write the year the school year ends (2025 for 2024-25); CERS knows: {known}.",
    )


def invalid_subject(row: int, subject: str, subjects: Collection[str]) -> Finding:
    names = ", ".join(sorted({code.strip() for code in subjects} | {"All"}))
    return _cers(
        row, f"Invalid subject: {subject}", f"Use one of {names} (any case) as subject_code, or leave it empty."
    )


def unknown_school(row: int, school: str) -> Finding:
    if school != school.strip():
        fix = "Remove the spaces around the school code: CERS compares it exactly as written."
    else:
        fix = (
            f"CERS does not know school {school}, or your CERS account may not upload groups for it. Check "
            "that it is the school's 14-digit CDS code and that you have the GROUP_ADMIN role for it in TOMS."
        )
    return _cers(row, f"School [{school}] can not be found", fix)


def school_out_of_order(row: int, school: str) -> Finding:
    return _cers(
        row,
        f"School [{school}] is out-of-order: sort CSV by school, group, year",
        f"Rows for school {school} appear in more than one place. Sort the file by school (then group "
        "name and year) so that each school's rows are together.",
    )


def group_out_of_order(row: int, group: str, year: int, school: str) -> Finding:
    return _cers(
        row,
        _GROUP_OUT_OF_ORDER,
        f"The rows of group {group!r} ({year}) at school {school} are not all together. Sort the file "
        "by school, group name and year so that each group's rows are in one block.",
    )


def subject_redefined(row: int, group: str, current: str, subject: str) -> Finding:
    return _cers(
        row,
        f"Record is attempting to re-define group subject from [{current}] to [{subject}]",
        f"Group {group!r} has the subjects {current} and {subject}. Give a group one subject: the same "
        "value on every row (or on its first row only, the others empty).",
    )


def too_many_students(row: int, school: str | None, group: str | None, students: int) -> Finding:
    """The 200 rule's failure; ``students`` counts rows with an SSID, as CERS does."""
    return _cers(
        row,
        f"School [{_java(school)}] Group [{_java(group)}] contains {students} students.  "
        f"Maximum students allowed per group is {MAX_STUDENTS}",
        f"CERS counts rows with an SSID, not students, and allows {MAX_STUDENTS} in a group. Remove repeated "
        "student rows (one row per student, teachers on rows of their own), or split the group.",
    )


def _java(value: str | None) -> str:
    """A value as Java's string concatenation writes it: ``null`` for a missing one (RDW writes
    ``School [null]`` when a large group is reported after an unknown school's rows)."""
    return "null" if value is None else value


def _year_fix(text: str) -> str:
    if is_blank(text):
        return "Fill in school_year: the year the school year ends, e.g. 2025 for 2024-25."
    if text != text.strip() and parse_int(text.strip()) is not None:
        return f"Remove the spaces around the school year {text.strip()}: CERS reads it exactly as written."
    span = _YEAR_RANGE.fullmatch(text)
    if span is not None:
        end = span.group(2) if len(span.group(2)) == 4 else span.group(1)[:2] + span.group(2)
        return f"Write the school year as the year it ends: {end} for {text.strip()}."
    return f"school_year must be a whole number, the year the school year ends (2025 for 2024-25); found {text!r}."
