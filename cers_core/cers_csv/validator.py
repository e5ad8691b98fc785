"""Judge a CERS student-group file as CERS would, and check what CERS does not.

One pass over the file, streaming: bytes are decoded as CERS decodes them, records are read
as Commons CSV reads them (:mod:`.commons_csv`), and each record goes to the port of CERS's
rules (:mod:`.cers_rules`) and to our pre-flight checks (:mod:`.checks`). Memory is bounded
whatever the file holds: a few chunks of text (a record of at most some millions of characters,
:mod:`.commons_csv`), one group's members (at most :data:`~.checks.SET_LIMIT`), and the schools,
groups, years and messages seen, which move to disk past :data:`~.seen_keys.IN_MEMORY` keys each
(:mod:`.seen_keys`, some 10 MB each at most): tens of megabytes for any file, about 150 MB in
the very worst case (every set full of text outside the Basic Multilingual Plane), a few for a
real file. Time is linear in its size. Any bytes give a report; only a path that cannot be opened raises.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Collection, Iterator
from itertools import chain
from typing import BinaryIO

from cers_core.cers_csv.cers_rules import CersRules
from cers_core.cers_csv.checks import PreflightChecks
from cers_core.cers_csv.commons_csv import CommonsCsvReader, CsvSyntaxError, TextFacts, utf8_text
from cers_core.cers_csv.report import ValidationReport
from cers_core.errors import InvalidFile

__all__ = ["validate_cers_csv"]

Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO


def validate_cers_csv(
    source: Source,
    *,
    school_years: Collection[int] | None = None,
    schools: Collection[str] | None = None,
    subjects: Collection[str] = ("ELA", "Math"),
) -> ValidationReport:
    """What CERS would answer for this file, and what else should be fixed before uploading it.

    ``source`` is the file's bytes, a path (``str`` or path-like), or a binary stream (read,
    not closed). ``school_years`` and ``schools`` are what CERS knows: the years in its
    ``school_year`` table and the CDS codes the uploader may write groups for; left out, those
    two checks are skipped (we cannot know them). ``subjects`` are the tenant's subject codes
    (``All`` is always accepted); California uses ELA and Math.

    Raises :class:`~cers_core.errors.InvalidFile` only when a path cannot be opened or read.

    Example::

        >>> report = validate_cers_csv(
        ...     b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\\r\\n"
        ...     b"Algebra,01612590130146,2025,Math,,t@example.org\\r\\n"
        ...     b"Algebra,01612590130146,2025,Math,1234567890,\\r\\n"
        ... )
        >>> report.accepted, report.cers_message()
        (True, '1 group accepted for 01612590130146.')
    """
    with _binary(source) as stream:
        facts = TextFacts()
        reader = CommonsCsvReader(utf8_text(stream, facts))
        rules = CersRules(school_years=school_years, schools=schools, subjects=subjects)
        checks = PreflightChecks(schools=schools, school_years=school_years)
        try:
            _read(reader, rules, checks)
        except OSError as error:
            raise InvalidFile(f"The file could not be read: {error}", hint="Check the file and try again.") from error
    outcome = rules.outcome()
    return ValidationReport(
        cers_failures=outcome.failures,
        cers_failure_count=outcome.failure_count,
        cers_accepted=outcome.accepted,
        cers_accepted_count=outcome.accepted_count,
        cers_crash=outcome.crash,
        extra_findings=checks.finish(reader, facts),
        rows=checks.rows,
        groups=checks.groups,
        schools=checks.schools,
        max_students_per_group=checks.max_students,
    )


def _read(reader: CommonsCsvReader, rules: CersRules, checks: PreflightChecks) -> None:
    """The order of ``DefaultCsvValidationService.validate``: parse the header, test for rows, headers, rows."""
    try:
        header = reader.read_header()
    except CsvSyntaxError as error:
        rules.read_error(error)
        checks.stopped(0)
        return
    if header is not None:
        rules.header(header)
        checks.header(header)
    records = reader.records()
    row = 0
    try:
        first = next(records, None)
        if first is None:
            rules.empty(header=header is not None)
            return
        rules.check_headers()
        record = rules.record
        check = checks.record
        for row, values in enumerate(chain((first,), records), start=1):
            record(row, values)
            check(row, values)
    except CsvSyntaxError as error:
        rules.syntax_error(error, row=row + 1)
        checks.stopped(row)


@contextlib.contextmanager
def _binary(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
    elif isinstance(source, str | os.PathLike):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below, after the whole read
        except OSError as error:
            raise InvalidFile(f"The file {os.fspath(source)!r} cannot be opened: {error.strerror}.") from error
        with stream:
            yield stream
    elif hasattr(source, "read"):
        if isinstance(source.read(0), str):
            raise TypeError("validate_cers_csv needs a binary stream (open the file with 'rb'), not a text stream")
        yield source
    else:
        raise TypeError(f"validate_cers_csv cannot read a {type(source).__name__}")
