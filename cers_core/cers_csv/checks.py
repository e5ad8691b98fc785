"""Pre-flight checks: what CERS does not check, but an analyst should hear about before uploading.

CERS's validator (reference §3) checks keys, order, subjects and the 200 rule; it does not look
at what the values *are*, and its loader (MySQL ``LOAD DATA``, §2.8, §2.9) trims values, splits
lines by the file's first line ending and stores any SSID it is given. These checks read each
row by *position*, as the loader does, and each finding says how bad it is:

===================================  ========  =====================================================
check                                severity  why
===================================  ========  =====================================================
workbook (xlsx/xls) instead of CSV   error     CERS rejects it (its header cannot match)
UTF-16 text                          error     read as UTF-8 the header cannot match: rejected
bytes that are not UTF-8             error     CERS stores U+FFFD in their place: names damaged
UTF-8 byte order mark                warning   CERS and its loader skip it; other tools may not
blank lines before the header        error     the loader skips one line (``IGNORE 1 LINES``), then
                                               reads the header as a group row
blank lines elsewhere                warning   CERS skips them; tidy
line endings that differ             error     the loader splits every line by the first ending:
                                               rows would merge or carry stray CRs — except CRLF in
                                               an LF file (the loader strips CR): warning
header or row with other than six    warning   the loader maps columns by position
values
school id: spaces around it          error     CERS compares it as written: school not found
school id: 13 digits, 1.96E+13, ...  error     not a CDS code, so not a school CERS knows (§8)
school id ending in 0000000          error     a district code, not a school
SSID: 9 digits, 6.2E+09, 12345.0     error     a real SSID damaged by a spreadsheet; CERS would
or other digit counts                          silently create a phantom student (§2.8)
SSID in digits other than 0-9        error     full-width or another script's digits, or an
(``１２３…``), or with an invisible              invisible character: a phantom student too
character
SSID with letters (``SSID001``)      warning   not a California SSID; fine for test data only
SSID or login with spaces around     warning   the loader trims them
login that is not an e-mail address  error     cannot match a CERS (TOMS) login: nobody gets access
login with an invisible character    error     NUL, zero-width space, right-to-left override…
                                               (``wording.INVISIBLE``; CR aside, which the loader
                                               removes): stored as is, it matches nobody
group name over 255 characters       error     the database column is VARCHAR(255)
group name with , " \\ CR or LF       error     CERS's two CSV parsers disagree on these (§2.9)
group name with emoji (non-BMP)      error     CERS's database stores 3-byte UTF-8 only
group name with tab, control chars   warning   invisible, confusing in CERS
group name with spaces around it     warning   the loader trims it; CERS's check does not
subject with spaces around it        warning   CERS strips it
school year outside 2015–2100        error     CERS knows only the four-digit end years it was
                                               set up with (only when its years are not given)
school year in digits other than     error     CERS's check reads any script's digits as Java
0-9                                            does; its database loader reads 0-9 only
a student or teacher listed twice    warning   harmless, but student rows count toward the 200 rule
over 200 distinct students           error     CERS rejects the group
over 200 SSID rows, <=200 students   error     CERS rejects it: it counts rows (duplicates or
                                               cross-product layout)
rows with both SSID and login        warning   cross-product layout inflates the 200 count (§2.4)
a group split in two by case/spaces  warning   CERS does not catch it and merges them (§2.3)
group without teacher / students     warning   nobody (else) sees it / an empty group
===================================  ========  =====================================================

An error means CERS would reject the file or accept it "but not as meant" (see
``cers_core.cers_csv.report.Verdict``). The school id and school year errors are the first kind
(``Finding.rejected_by_cers``): CERS refuses a school or a year it does not know, which its
rules as ported here cannot tell without CERS's configuration. The others are the second kind:
CERS takes the file and stores something else than it means.

Each check reports its first :data:`PER_CHECK` rows, then one line saying how many more
rows have the same problem. State is kept per group (at most :data:`SET_LIMIT` members) and
per school; what grows with the file (schools, years, the groups of a school and their
spellings) is kept in :class:`~.seen_keys.SeenKeys`, exact in bounded memory.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from cers_core import wording
from cers_core.cers_csv.commons_csv import EOL_NAMES, MAX_FIELD_CHARS, CommonsCsvReader, TextFacts
from cers_core.cers_csv.java_text import parse_int
from cers_core.cers_csv.report import Finding, Severity
from cers_core.cers_csv.seen_keys import SeenKeys
from cers_core.cers_csv.writer import CERS_COLUMNS
from cers_core.wording import INVISIBLE, invisible_names, invisible_shown, shortened

__all__ = ["PER_CHECK", "SET_LIMIT", "SUBJECT_LIMIT", "FindingLog", "PreflightChecks", "Problem"]

PER_CHECK: Final = 20
SET_LIMIT: Final = 10_000  # per group: beyond this many members, counts are lower bounds
SUBJECT_LIMIT: Final = 1_000  # distinct subjects remembered; a subject beyond them is checked on each of its rows
_HEADER_LINE: Final = ",".join(CERS_COLUMNS)
_SAVE_AS_CSV: Final = 'Save it again as "CSV UTF-8 (Comma delimited)" (Excel: File > Save As).'
_TEXT_COLUMN: Final = (
    "In a spreadsheet, format the column as Text before typing or pasting the values, or export the file "
    "again from the source system instead of editing it in a spreadsheet."
)
_DIGITS: Final = re.compile(r"[0-9]+")
_SSID: Final = re.compile(r"[0-9]{10}")
_SCIENTIFIC: Final = re.compile(r"[0-9](?:[.,][0-9]+)?[eE][+]?[0-9]+")
_DECIMAL: Final = re.compile(r"[0-9]+[.,]0+")
_EMAIL: Final = re.compile(r"[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\".]+(?:\.[^@\s,;<>()\[\]\".]+)+")
_INVISIBLE: Final = re.compile(INVISIBLE)
_BAD_NAME_CHARS: Final = re.compile(r'[,"\\\r\n]')
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")  # CR and LF are errors above
_OUTSIDE_BMP: Final = re.compile("[\U00010000-\U0010ffff]")
_CHAR_NAMES: Final = {",": "comma", '"': "double quote", "\\": "backslash", "\r": "CR", "\n": "line break"}
_WORKBOOKS: Final = {b"PK\x03\x04": "an Excel workbook (.xlsx)", b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)"}


@dataclass(slots=True)
class _Block:
    """A run of rows of one CERS group (school, name ignoring case and outer spaces, year)."""

    identity: tuple[str, str, str]
    name: str
    first_row: int
    ssid_rows: int = 0
    teachers: int = 0
    students: set[str] = field(default_factory=set)
    """Distinct SSIDs."""
    others: set[str | tuple[str, str]] = field(default_factory=set)
    """Teacher logins, and (SSID, login) pairs of cross-product rows."""
    repeats: int = 0
    first_repeat: int = 0


class Problem(NamedTuple):
    """What one check found in a value or a group, before it is placed at a row."""

    check: str
    severity: Severity
    message: str
    fix: str
    rejected_by_cers: bool = False
    """CERS itself would refuse this (see :attr:`Finding.rejected_by_cers`)."""


class FindingLog:
    """Findings by check, in the order they are found: the first :data:`PER_CHECK` of each kept, the rest counted."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._counts: Counter[str] = Counter()
        self._severity: dict[str, Severity] = {}
        self._rejected: dict[str, bool] = {}
        self._first_untold: dict[str, int] = {}

    def add(
        self, check: str, row: int, severity: Severity, message: str, fix: str, *, rejected_by_cers: bool = False
    ) -> None:
        self._counts[check] += 1
        if self._counts[check] <= PER_CHECK:
            self._severity[check] = severity
            self._rejected[check] = rejected_by_cers
            self.findings.append(
                Finding(
                    row=row,
                    message=message,
                    severity=severity,
                    source="check",
                    fix=fix,
                    rejected_by_cers=rejected_by_cers,
                )
            )
        elif check not in self._first_untold:
            self._first_untold[check] = row

    def found(self, row: int, problem: Problem) -> None:
        self.add(
            problem.check,
            row,
            problem.severity,
            problem.message,
            problem.fix,
            rejected_by_cers=problem.rejected_by_cers,
        )

    def count_more(self, check: str, rows: int) -> None:
        """``rows`` more rows with the problem of ``check``, found after its first untold one (only counted)."""
        self._counts[check] += rows

    def report(self) -> list[Finding]:
        """The findings by row (in the order found, for one row), then how many more each check found."""
        return [*sorted(self.findings, key=lambda finding: finding.row), *self.summaries()]

    def summaries(self) -> list[Finding]:
        """One finding per check that had more than :data:`PER_CHECK` rows, at the first row not shown."""
        return [
            Finding(
                row=row,
                message=f"… and {self._counts[check] - PER_CHECK:,} more rows with the same problem "
                f"({check.replace('_', ' ')}) from this row on.",
                severity=self._severity[check],
                source="check",
                fix="The same fix as for the rows above.",
                rejected_by_cers=self._rejected[check],
            )
            for check, row in self._first_untold.items()
        ]


class PreflightChecks:
    """Give it the header, each record, then :meth:`finish` with the reader; it returns its findings."""

    def __init__(self, *, schools: Collection[str] | None, school_years: Collection[int] | None) -> None:
        self._known_schools = frozenset(schools) if schools is not None else frozenset()
        self._years_given = school_years is not None
        self._log = FindingLog()
        self.rows = 0
        self.groups = 0
        self.max_students = 0
        self._schools_seen = SeenKeys()
        self._years_seen = SeenKeys()
        self._subjects_seen: set[str] = set()
        self._block: _Block | None = None
        self._raw_key: tuple[str, str, str] | None = None
        self._school: str | None = None
        # the groups of the school: each one's first spelling (group, year), and other spellings seen
        self._first_spellings = SeenKeys()
        self._other_spellings = SeenKeys()
        self._cross_rows = 0
        self._first_cross = 0
        self._stopped_at: int | None = None
        self._width = len(CERS_COLUMNS)

    # -- rows ------------------------------------------------------------------------------

    def header(self, names: list[str]) -> None:
        self._width = len(names)
        if len(names) > len(CERS_COLUMNS):
            extra = ", ".join(repr(shortened(name)) for name in names[len(CERS_COLUMNS) : len(CERS_COLUMNS) + 3])
            self._log.add(
                "extra_columns",
                0,
                "warning",
                f"The header has {len(names)} columns; CERS reads the first six and ignores the rest ({extra}...).",
                f"Remove the extra columns. The first line should be exactly: {_HEADER_LINE}",
            )

    def record(self, row: int, values: list[str]) -> None:
        """One record, read by position (hot: keep it lean)."""
        self.rows = row
        if len(values) == 6:
            group, school, year, subject, ssid, login = values
        else:
            if len(values) != self._width:  # else the header's own finding says it
                self._columns(row, len(values))
            group, school, year, subject, ssid, login = [*values[:6], *([""] * (6 - len(values)))]
        if (school, group, year) != self._raw_key:
            self._key_changed(row, school, group, year)
        if subject not in self._subjects_seen:
            if len(self._subjects_seen) < SUBJECT_LIMIT:
                self._subjects_seen.add(subject)
            if (problem := subject_problem(subject)) is not None:
                self._log.found(row, problem)
        block = self._block
        assert block is not None
        if ssid:
            block.ssid_rows += 1
            if len(ssid) != 10 or not ssid.isdigit() or not ssid.isascii():
                self._log.found(row, ssid_problem(ssid))
            students = block.students
            if login:
                self._member(block, row, (ssid, login))
                self._cross_rows += 1
                self._first_cross = self._first_cross or row
                if ssid not in students and len(students) < SET_LIMIT:
                    students.add(ssid)
            elif ssid in students:
                block.repeats += 1
                block.first_repeat = block.first_repeat or row
            elif len(students) < SET_LIMIT:
                students.add(ssid)
        if login:
            block.teachers += 1
            if not is_email(login):
                self._log.found(row, login_problem(login))
            if not ssid:
                self._member(block, row, login)

    def _member(self, block: _Block, row: int, key: str | tuple[str, str]) -> None:
        if key in block.others:
            block.repeats += 1
            block.first_repeat = block.first_repeat or row
        elif len(block.others) < SET_LIMIT:
            block.others.add(key)

    def stopped(self, row: int) -> None:
        """The file cannot be read past ``row`` (a CSV syntax error)."""
        self._stopped_at = row

    def _key_changed(self, row: int, school: str, group: str, year: str) -> None:
        self._raw_key = (school, group, year)
        identity = (school.strip(), group.strip().casefold(), year.strip())
        if self._block is not None and self._block.identity == identity:
            return  # the same CERS group, spelt differently
        self._finish_block(row - 1)
        log = self._log
        if school != self._school:
            self._school = school
            self._first_spellings.clear()
            self._other_spellings.clear()
            if self._schools_seen.add(school) and (problem := school_id_problem(school, self._known_schools)):
                log.found(row, problem)
        if self._years_seen.add(year) and (problem := school_year_problem(year, years_given=self._years_given)):
            log.found(row, problem)
        spelling = (group, year)
        first = self._first_spellings.first(identity, spelling)
        if first is not None and first != spelling and self._other_spellings.add(spelling):
            log.found(row, group_split_problem(group, first[0]))
        self._block = _Block(identity=identity, name=group, first_row=row)
        self.groups += 1
        if group.strip():
            for problem in group_name_problems(group):
                log.found(row, problem)

    # -- finishing -------------------------------------------------------------------------

    def finish(self, reader: CommonsCsvReader, facts: TextFacts) -> list[Finding]:
        """All findings: file-level ones first, then by row, then how many more each check found."""
        self._finish_block(self.rows)
        self._file(reader, facts)
        if self._cross_rows:
            self._log.found(self._first_cross, cross_product_problem(self._cross_rows))
        if self._stopped_at is not None:
            self._log.add(
                "unread",
                self._stopped_at,
                "warning",
                f"Rows after row {self._stopped_at:,} were not checked: the file cannot be read past it.",
                "Fix the CSV error at that row, then check the file again.",
            )
        return self._log.report()

    @property
    def schools(self) -> int:
        return len(self._schools_seen)

    def _finish_block(self, last_row: int) -> None:
        block = self._block
        if block is None:
            return
        self._block = None
        students = len(block.students)
        self.max_students = max(self.max_students, students)
        for row, problem in block_problems(
            block.name,
            students=students,
            ssid_rows=block.ssid_rows,
            teachers=block.teachers,
            repeats=block.repeats,
            first_row=block.first_row,
            last_row=last_row,
            first_repeat=block.first_repeat,
        ):
            self._log.found(row, problem)

    def _file(self, reader: CommonsCsvReader, facts: TextFacts) -> None:
        head = facts.head
        for signature, what in _WORKBOOKS.items():
            if head.startswith(signature):
                self._log.add("not_csv", 0, "error", f"This is {what}, not a CSV file.", _SAVE_AS_CSV)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self._log.add(
                "utf16",
                0,
                "error",
                "The file is saved as UTF-16 (Excel's “Unicode Text”); CERS reads only UTF-8, so it would not "
                "find the header.",
                _SAVE_AS_CSV,
            )
        elif head.count(0) > len(head) // 4 > 0:
            self._log.add(
                "utf16",
                0,
                "error",
                "The file is full of NUL bytes: it is UTF-16 text without a byte order mark, or not text at all. "
                "CERS reads only UTF-8.",
                _SAVE_AS_CSV,
            )
        elif facts.bad_offset is not None and not any(head.startswith(signature) for signature in _WORKBOOKS):
            sample = facts.bad_bytes.decode("cp1252", errors="replace")
            self._log.add(
                "not_utf8",
                0,
                "error",
                f"The file is not UTF-8: the bytes at offset {facts.bad_offset:,} (near {sample!r} if read as "
                "Windows-1252) cannot be read, and CERS would store “�” in their place.",
                _SAVE_AS_CSV,
            )
        if facts.bom:
            self._log.add(
                "bom",
                0,
                "warning",
                "The file starts with a UTF-8 byte order mark (BOM). CERS skips it; some other tools read it as "
                "part of the first column name.",
                "Nothing is needed for CERS. To remove it, save as plain UTF-8 (without BOM).",
            )
        if reader.blank_before_header:
            self._log.add(
                "blank_before_header",
                0,
                "error",
                "The file starts with blank lines. CERS's check skips them, but its loader skips only the first "
                "line and would read the header as a group.",
                "Delete the blank lines before the header.",
            )
        if reader.blank_lines:
            self._log.add(
                "blank_lines",
                reader.first_blank_after or 0,
                "warning",
                f"The file has {wording.count(reader.blank_lines, 'blank line')}, the first after row "
                f"{reader.first_blank_after or 0:,}. CERS skips them.",
                "Delete the blank lines.",
            )
        self._line_endings(reader)
        if reader.long_values:
            self._log.add(
                "huge_values",
                0,
                "error",
                f"{wording.count(reader.long_values, 'value')} {'is' if reader.long_values == 1 else 'are'} "
                f"longer than {MAX_FIELD_CHARS:,} characters (a double quote "
                "opened and never closed?).",
                "Open the file in a text editor and look for a stray double quote.",
            )

    def _line_endings(self, reader: CommonsCsvReader) -> None:
        eols = reader.eols
        if eols.first is None or eols.first_other is None:
            return
        row, other = eols.first_other
        counts = ", ".join(f"{count:,} {EOL_NAMES[eol]}" for eol, count in eols.counts.items() if count)
        harmless = eols.first == "\n" and eols.counts["\r"] == 0
        consequence = (
            "CERS's loader removes the stray CRs, so this works, but tidy it."
            if harmless
            else "CERS's loader splits the whole file by the first one, so rows would be merged or carry "
            "stray line breaks."
        )
        self._log.add(
            "line_endings",
            max(row, 0),
            "warning" if harmless else "error",
            f"Lines end in different ways ({counts}): the header with {EOL_NAMES[eols.first]}, row {row:,} with "
            f"{EOL_NAMES[other]}. {consequence}",
            "Save the file again so that every line ends the same way (CRLF, as the CERS template).",
        )

    # -- value checks ----------------------------------------------------------------------

    def _columns(self, row: int, count: int) -> None:
        if count < 6:
            self._log.add(
                "short_rows",
                row,
                "warning",
                f"Row has {wording.count(count, 'value')}; CERS files have 6 (the loader maps values by position).",
                "Add the missing commas so that every row has six values, empty ones left empty.",
            )
        else:
            self._log.add(
                "long_rows",
                row,
                "warning",
                f"Row has {count} values; CERS reads the first six and ignores the rest.",
                "Remove the extra values (look for commas inside a value that is not in double quotes).",
            )


# -- what each check says: one place for the streaming checks and the check of our own files ----


def school_id_problem(school: str, known: Collection[str]) -> Problem | None:
    """What is wrong with a school id (not one of the ``known`` ones), if anything."""
    if not school.strip() or school in known:
        return None
    bare = school.strip()
    if bare != school:
        problem, fix = (
            "has spaces around it; CERS compares it as written and will not find the school",
            ("Remove the spaces."),
        )
    elif _SCIENTIFIC.fullmatch(bare):
        problem, fix = "is in scientific notation: a spreadsheet turned the CDS code into a number", _TEXT_COLUMN
    elif _DIGITS.fullmatch(bare) and len(bare) == 13:
        problem, fix = (
            "has 13 digits: a spreadsheet probably dropped the leading zero of the 14-digit CDS code",
            f"Write it as 0{bare}. {_TEXT_COLUMN}",
        )
    elif _DIGITS.fullmatch(bare) and len(bare) == 14:
        if not bare.endswith("0000000"):
            return None
        problem, fix = (
            "ends in 0000000, which is a district code, not a school",
            "Use the school's own 14-digit CDS code.",
        )
    elif bare.isdecimal():
        problem = "is written with digits other than 0-9 (full-width, Arabic-Indic…)"
        fix = "Write the school's 14-digit CDS code with the digits 0-9."
    else:
        problem = "is not a 14-digit CDS code"
        fix = "Use the school's 14-digit CDS code (county, district, school)."
    # Not a school's CDS code: CERS knows no such school ("School [...] can not be found").
    return Problem("school_id", "error", f"School id {shortened(school)!r} {problem}.", fix, rejected_by_cers=True)


def school_year_problem(text: str, *, years_given: bool) -> Problem | None:
    """A school year that is a number but not a plausible end year (when CERS's years are not given),
    or that is written in digits other than 0-9."""
    year = parse_int(text)
    if year is None:
        return None  # a non-number is CERS's own failure
    if not text.isascii():
        return Problem(
            "school_year_digits",
            "error",
            f"School year {text!r} is written with digits other than 0-9. CERS's check reads it as {year}, but "
            "its database loader reads only 0-9: the upload would fail, or store the group under another year.",
            f"Write the year with the digits 0-9: {year}.",
            rejected_by_cers=True,
        )
    if years_given or 2015 <= year <= 2100:
        return None
    return Problem(
        "school_year",
        "error",
        f"School year {year} looks wrong; CERS wants the year the school year ends "
        "and would answer 'Invalid school year'.",
        "Write the end year, e.g. 2025 for 2024-25.",
        rejected_by_cers=True,
    )


def subject_problem(subject: str) -> Problem | None:
    if subject == subject.strip():
        return None
    return Problem(
        "subject_spaces",
        "warning",
        f"Subject {shortened(subject)!r} has spaces around it; CERS ignores them.",
        "Remove the spaces.",
    )


def ssid_problem(ssid: str) -> Problem:
    """What is wrong with an SSID that is not ten ASCII digits."""
    bare = ssid.strip()
    severity: Severity = "error"
    damage = "CERS would silently create a new, empty student with this id instead of using the real one."
    shown = shortened(ssid)
    if _SSID.fullmatch(bare):
        return Problem(
            "ssid_spaces",
            "warning",
            f"SSID {ssid!r} has spaces around it; CERS's loader removes them.",
            "Remove the spaces.",
        )
    if _DIGITS.fullmatch(bare) and len(bare) == 9:
        problem, fix = "has 9 digits: a spreadsheet probably dropped its leading zero", f"Write it as 0{bare}."
        fix = f"{fix} {_TEXT_COLUMN}"
    elif _SCIENTIFIC.fullmatch(bare) or _DECIMAL.fullmatch(bare):
        problem, fix = "was turned into a number by a spreadsheet", _TEXT_COLUMN
    elif _DIGITS.fullmatch(bare):
        digits = f"{len(bare)} digit{'' if len(bare) == 1 else 's'}"
        problem, fix = f"has {digits}, not 10", "Check the SSID in CALPADS or the SIS."
    elif bare.isdecimal():
        problem = "is written with digits other than 0-9 (full-width, Arabic-Indic…)"
        fix = "Write the SSID with the digits 0-9."
    elif _INVISIBLE.search(bare):
        shown = shortened(invisible_shown(ssid))
        problem = f"holds a character nobody sees ({invisible_names(bare)})"
        fix = "Remove the character (type the SSID again, or export the file again from the source system)."
    else:
        severity = "warning"
        problem = "is not a California SSID (10 digits)"
        fix = "Fine for test data only; for real students use the 10-digit SSID from CALPADS."
        damage = "CERS would create a student with this id."
    return Problem("ssid", severity, f"SSID {shown!r} {problem}. {damage}", fix)


def is_email(login: str) -> bool:
    """An e-mail address, as a CERS login must be, without a character nobody sees."""
    return _EMAIL.fullmatch(login) is not None and _INVISIBLE.search(login) is None


def login_problem(login: str) -> Problem:
    """What is wrong with a login that is not an e-mail address (its invisible characters shown by code point)."""
    if _INVISIBLE.search(login.replace("\r", "")):  # CERS's loader removes CRs, and only those
        return Problem(
            "login_invisible",
            "error",
            f"Login {shortened(invisible_shown(login))!r} holds a character nobody sees ({invisible_names(login)}): "
            "CERS would store it, and the login would match nobody's CERS (TOMS) login, so nobody would get access "
            "to the group through this row.",
            "Remove the character (type the address again, or export the file again from the source system).",
        )
    if _EMAIL.fullmatch(login.strip()):
        return Problem(
            "login_spaces",
            "warning",
            f"Login {shortened(login)!r} has spaces around it; CERS's loader removes them.",
            "Remove the spaces.",
        )
    return Problem(
        "login",
        "error",
        f"Login {shortened(login)!r} is not an e-mail address, so it cannot match anyone's CERS (TOMS) login: "
        "nobody would get access to the group through this row.",
        "Use the teacher's e-mail address as it is in TOMS.",
    )


def group_name_problems(name: str) -> list[Problem]:
    """What is wrong with a group name, in the order the checks look."""
    problems: list[Problem] = []
    if len(name) > 255:
        problems.append(
            Problem(
                "group_name_long",
                "error",
                f"Group name {name[:40]!r}… is over 255 characters long; CERS stores at most 255.",
                "Shorten the group name (choose fewer fields for it).",
            )
        )
    bad = sorted({_CHAR_NAMES[char] for char in _BAD_NAME_CHARS.findall(name)})
    if bad:
        problems.append(
            Problem(
                "group_name_chars",
                "error",
                f"Group name {name[:80]!r} holds a {' and a '.join(bad)}: CERS's two CSV readers disagree on these, "
                "so the stored name may differ or the upload may fail.",
                "Remove those characters from the group name (or from the fields it is made of).",
            )
        )
    if _OUTSIDE_BMP.search(name):
        problems.append(
            Problem(
                "group_name_emoji",
                "error",
                f"Group name {name[:80]!r} holds an emoji or another character CERS's database cannot store.",
                "Remove the character from the group name.",
            )
        )
    if _CONTROL_CHARS.search(name):
        problems.append(
            Problem(
                "group_name_control",
                "warning",
                f"Group name {name[:80]!r} holds a tab or another invisible control character.",
                "Remove it from the group name.",
            )
        )
    if name != name.strip(" "):
        problems.append(
            Problem(
                "group_name_spaces",
                "warning",
                f"Group name {name[:80]!r} starts or ends with a space. CERS's loader removes it; its check does "
                "not, so the same group written with and without the space counts as two here.",
                "Remove the spaces.",
            )
        )
    return problems


def group_split_problem(group: str, first: str) -> Problem:
    return Problem(
        "group_split",
        "warning",
        f"Group {shortened(group)!r} is the same CERS group as {shortened(first)!r} earlier at this school (CERS "
        "ignores case and outer spaces in names), but its rows are apart; CERS does not notice and merges them.",
        "Use one spelling for the group name, and keep all its rows together.",
    )


def block_problems(
    name: str,
    *,
    students: int,
    ssid_rows: int,
    teachers: int,
    repeats: int,
    first_row: int,
    last_row: int,
    first_repeat: int,
) -> list[tuple[int, Problem]]:
    """What is wrong with a group as a whole (its rows ``first_row`` to ``last_row``), each at its row, in order."""
    problems: list[tuple[int, Problem]] = []
    if students > 200:
        problems.append(
            (
                last_row,
                Problem(
                    "students_over_200",
                    "error",
                    f"Group {shortened(name)!r} has {students:,} students; CERS allows 200 in a group.",
                    "Split the section into smaller groups (in this tool: the switch on the Section Groups page, or "
                    "--split-large on the command line).",
                ),
            )
        )
    elif ssid_rows > 200:
        problems.append(
            (
                last_row,
                Problem(
                    "rows_over_200",
                    "error",
                    f"Group {shortened(name)!r} has {students} students but {ssid_rows} rows with an SSID; CERS "
                    "counts rows and allows 200.",
                    "Write one row per student (no repeated rows, teachers on rows of their own with an empty "
                    "student_ssid).",
                ),
            )
        )
    if repeats:
        problems.append(
            (
                first_repeat,
                Problem(
                    "repeated_rows",
                    "warning",
                    f"Group {shortened(name)!r} lists the same student or teacher again on "
                    f"{wording.count(repeats, 'row')}.",
                    "Remove the repeated rows; CERS keeps one, but counts every student row toward the 200 limit.",
                ),
            )
        )
    if name.strip():
        if not teachers:
            problems.append(
                (
                    first_row,
                    Problem(
                        "no_teacher",
                        "warning",
                        f"Group {shortened(name)!r} has no teacher (no row with a group_user_login): only "
                        "administrators will see it.",
                        "Add a row with the teacher's CERS login (e-mail) and an empty student_ssid.",
                    ),
                )
            )
        if not ssid_rows:
            problems.append(
                (
                    first_row,
                    Problem(
                        "no_students",
                        "warning",
                        f"Group {shortened(name)!r} has no students; uploading it empties the group in CERS if it "
                        "exists.",
                        "Check the section's enrolments, or leave the group out of the file.",
                    ),
                )
            )
    return problems


def cross_product_problem(rows: int) -> Problem:
    return Problem(
        "cross_product",
        "warning",
        f"{wording.count(rows, 'row')} {'holds' if rows == 1 else 'hold'} both a student SSID and a teacher login "
        "(cross-product layout); "
        "CERS counts each of them toward the 200-student limit.",
        "Give each teacher a row with an empty student_ssid, and each student a row with an empty group_user_login.",
    )
