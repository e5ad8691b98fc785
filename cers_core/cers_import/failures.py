"""CERS's failure report (``Row: <n> Failure: <message>``, reference §4.1) mapped back to the file.

CERS names rows by their Commons CSV record number; an analyst needs the group, the school,
and the student or teacher on that row, and what to do. :func:`map_failures` reads the file
that was sent (streaming, only up to the last row named) and gives one row per failure line.
"""

from __future__ import annotations

import re
from typing import Final

import polars as pl

from cers_core.cers_csv.rows import iter_group_records
from cers_core.cers_csv.validator import Source
from cers_core.cers_csv.writer import CERS_COLUMNS
from cers_core.errors import InvalidFile

__all__ = ["FAILURE_COLUMNS", "map_failures"]

_ROW_LINE: Final = re.compile(r"^Row: (\d+) Failure: (.*)$")
_TOO_MANY: Final = re.compile(r"^School \[(.*)\] Group \[(.*)\] contains (\d+) students\.")
_FIXES: Final = (
    (
        re.compile(r"^School \[(.*)\] can not be found$"),
        "CERS does not know school {0}, or your CERS account may not write groups for it: check the CDS "
        "code, and ask your CERS (TOMS) administrator for the GROUP_ADMIN role at that school.",
    ),
    (
        re.compile(r"^Invalid school year: (.*)$"),
        "CERS is not set up for school year {0}: check the school year (the end year, 2027 for 2026-27) "
        "or the day the rosters were read for.",
    ),
    (re.compile(r"^Invalid subject: (.*)$"), "Use the subject All, ELA or Math."),
    (
        _TOO_MANY,
        "Split the group into groups of at most 200 students (the 'split sections over 200 students' setting).",
    ),
    (
        re.compile(r"out-of-order"),
        "Keep each school's rows, and each group's rows, together (a file from this tool always does).",
    ),
)
_GENERIC_FIX: Final = "Check the file on the Check a CSV file page (or with the validate command) for what to fix."
FAILURE_COLUMNS: Final = {
    "row": pl.Int64,
    "failure": pl.String,
    "where": pl.String,
    "school_natural_id": pl.String,
    "school_year": pl.String,
    "group_name": pl.String,
    "student_ssid": pl.String,
    "group_user_login": pl.String,
    "fix": pl.String,
}


def _fix(message: str) -> str:
    for pattern, text in _FIXES:
        match = pattern.search(message)
        if match:
            return text.format(*match.groups())
    return _GENERIC_FIX


def _where(values: tuple[str, ...] | None, message: str) -> str:
    too_many = _TOO_MANY.match(message)
    if too_many:
        return f"group “{too_many.group(2)}” at school {too_many.group(1)}"
    if values is None:
        return "the whole file"
    name, school, year, _, ssid, login = (value.strip() for value in values)
    place = f"group “{name}” (school {school or '?'}, {year or '?'})" if name else f"school {school or '?'}"
    people = [f"student {ssid}" if ssid else "", f"teacher {login}" if login else ""]
    who = " and ".join(person for person in people if person)
    return f"{who} in {place}" if who else place


def map_failures(message: str, sent: Source) -> pl.DataFrame:
    """One row per line of CERS's report: the row, CERS's text, where it is in words, the row's
    values, and a fix. Lines that name no row (``With <k> additional …``, a processing error)
    get a null ``row`` and ``where`` = ``the whole import``.

    >>> sent = (
    ...     b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\\r\\n"
    ...     b"Algebra 1,01612590130146,2027,All,1234567890,\\r\\n"
    ... )
    >>> map_failures("Row: 1 Failure: School [01612590130146] can not be found", sent)["where"][0]
    'student 1234567890 in group “Algebra 1” (school 01612590130146, 2027)'
    """
    lines = [line for line in message.splitlines() if line.strip()]
    parsed: list[tuple[int | None, str]] = []
    for line in lines:
        match = _ROW_LINE.match(line)
        parsed.append((int(match.group(1)), match.group(2)) if match else (None, line.strip()))
    wanted = {row for row, _ in parsed if row}
    found: dict[int, tuple[str, ...]] = {}
    if wanted:
        last = max(wanted)
        try:
            for row, values in iter_group_records(sent):
                if row in wanted:
                    found[row] = values
                if row >= last:
                    break
        except InvalidFile:
            pass  # CERS read further than we can: the rows we did find are still mapped
    records = []
    for row, text in parsed:
        values = found.get(row) if row else None
        if row is None:
            where, fix = "the whole import", _fix(text) if text.startswith("School [") else ""
        else:
            where, fix = _where(values, text), _fix(text)
        records.append(
            {
                "row": row,
                "failure": text,
                "where": where,
                **dict(zip(CERS_COLUMNS, values or (None,) * len(CERS_COLUMNS), strict=True)),
                "fix": fix,
            }
        )
    frame = pl.DataFrame(records, schema={**FAILURE_COLUMNS, "subject_code": pl.String}) if records else None
    if frame is None:
        return pl.DataFrame(schema=FAILURE_COLUMNS)
    return frame.select(list(FAILURE_COLUMNS))
