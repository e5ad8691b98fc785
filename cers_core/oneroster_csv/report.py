"""What the checks found in a OneRoster CSV bundle: each problem with its file, line and column.

Two severities, decided by one question — could the group file still be right?

- ``error``: the bundle cannot be read safely, or a value the groups depend on is missing or
  unreadable (an id, a reference that places a section, a status, a role, a date, a flag):
  any of these could quietly put a person in the wrong group or leave them out, so nothing
  is built until it is fixed;
- ``warning``: the binding is not followed, but the groups come out as they would from the
  same records read over the REST API (a missing name or title, an unknown ``type``, a
  reference to a record the bundle lacks, which the problem report then names person by
  person).

``line`` is the record's line in its file, counting the header as line 1, as a text editor
or a spreadsheet shows it; ``column`` is the header's name. The report lists at most
``SHOWN_PER_KIND`` problems of one kind in one file, then one line saying how many more there
are: a district's enrollments.csv with a systematic fault must not make a report of two
million lines. The report is shown to the analyst and never logged.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

__all__ = ["SHOWN_PER_KIND", "BundleProblem", "BundleReport", "ProblemCode", "ProblemLog", "Severity"]

Severity = Literal["error", "warning"]
SHOWN_PER_KIND = 20


class ProblemCode(StrEnum):
    """What kind of problem it is (a stable name for code; the message is for people)."""

    unreadable_bundle = "unreadable_bundle"
    """Not a zip file nor a folder, damaged, encrypted, or compressed in a way we cannot read."""
    unsafe_member = "unsafe_member"
    """A file whose path leaves the bundle (``../``, absolute, a drive letter) or that is a link."""
    too_large = "too_large"
    """More data than the limit allows, or compressed so well that it is likely a zip bomb."""
    not_utf8 = "not_utf8"
    manifest = "manifest"
    """manifest.csv missing, malformed, or naming a version or mode we cannot read."""
    delta = "delta"
    """A file that holds only changes (delta): it cannot make a complete group file."""
    missing_file = "missing_file"
    ignored_file = "ignored_file"
    malformed_csv = "malformed_csv"
    missing_column = "missing_column"
    empty_value = "empty_value"
    invalid_value = "invalid_value"
    duplicate_id = "duplicate_id"
    unknown_reference = "unknown_reference"
    more = "more"
    """The count of further problems of one kind in one file, past those listed."""


class BundleProblem(BaseModel):
    """One problem; ``str(problem)`` reads ``enrollments.csv, line 17, classSourcedId: <message>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: Severity
    code: ProblemCode
    file: str
    """The file in the bundle (``enrollments.csv``), or the bundle's own name for the whole bundle."""
    line: int | None = None
    column: str | None = None
    message: str
    more: int = 0
    """For a ``more`` line, how many problems it stands for (those not listed)."""

    def __str__(self) -> str:
        where = ", ".join(
            [self.file, *([f"line {self.line}"] if self.line else []), *([self.column] if self.column else [])]
        )
        return f"{where}: {self.message}"


class BundleReport(BaseModel):
    """Every problem found in one bundle, errors first, the OneRoster version it declares, and the
    files read.

    >>> report = BundleReport(oneroster_version="1.2", files=("orgs.csv", "users.csv"), problems=(
    ...     BundleProblem(severity="warning", code=ProblemCode.empty_value, file="users.csv", line=3,
    ...                   column="givenName", message="The value is empty."),
    ... ))
    >>> report.has_errors, len(report.warnings)
    (False, 1)
    >>> print(report.to_text())
    users.csv, line 3, givenName: The value is empty.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    oneroster_version: str | None = None
    problems: tuple[BundleProblem, ...] = ()
    files: tuple[str, ...] = ()
    """The files read into rosters (``orgs.csv`` …), in the order read; manifest.csv is not counted."""

    @property
    def errors(self) -> tuple[BundleProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[BundleProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def error_count(self) -> int:
        """How many errors were found: those listed, and those a ``more`` line only counts."""
        return sum(p.more or 1 for p in self.errors)

    @property
    def warning_count(self) -> int:
        """How many warnings were found, listed or only counted."""
        return sum(p.more or 1 for p in self.warnings)

    @property
    def has_errors(self) -> bool:
        """Something must be fixed before groups can be built from this bundle."""
        return any(p.severity == "error" for p in self.problems)

    def frame(self) -> pl.DataFrame:
        """The problems as a table (``severity, code, file, line, column, message``) for a grid."""
        schema = {
            "severity": pl.String,
            "code": pl.String,
            "file": pl.String,
            "line": pl.Int64,
            "column": pl.String,
            "message": pl.String,
        }
        rows = [(p.severity, p.code.value, p.file, p.line, p.column, p.message) for p in self.problems]
        return pl.DataFrame(rows, schema=schema, orient="row")

    def to_text(self) -> str:
        """One problem a line, as ``str(problem)`` writes it."""
        return "\n".join(str(p) for p in self.problems)


# A kind of problem: file, code, column and severity.
_Kind = tuple[str, ProblemCode, str | None, Severity]


class ProblemLog:
    """Collects problems while a bundle is read: at most ``SHOWN_PER_KIND`` of one kind in one
    column of one file are kept, the rest only counted."""

    def __init__(self) -> None:
        self._problems: list[BundleProblem] = []
        self._counts: dict[_Kind, int] = {}

    @property
    def has_errors(self) -> bool:
        return any(kind[3] == "error" for kind in self._counts)

    def add(
        self,
        severity: Severity,
        code: ProblemCode,
        file: str,
        message: str,
        *,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        kind = (file, code, column, severity)
        self._counts[kind] = self._counts.get(kind, 0) + 1
        if self._counts[kind] <= SHOWN_PER_KIND:
            self._problems.append(
                BundleProblem(severity=severity, code=code, file=file, line=line, column=column, message=message)
            )

    def add_rows(
        self,
        rows: pl.DataFrame,
        severity: Severity,
        code: ProblemCode,
        file: str,
        *,
        column: str | None,
        message: str | pl.Expr,
    ) -> None:
        """One problem per row of ``rows`` (which has the record's ``_line``); only as many rows
        as can still be listed become Python objects, the rest are counted."""
        if rows.height == 0:
            return
        kind = (file, code, column, severity)
        room = max(SHOWN_PER_KIND - self._counts.get(kind, 0), 0)
        text = pl.lit(message) if isinstance(message, str) else message
        for line, said in rows.head(room).select("_line", text.alias("_message")).iter_rows():
            self.add(severity, code, file, said, line=line, column=column)
        self._counts[kind] += rows.height - min(room, rows.height)

    def extend(self, other: ProblemLog) -> None:
        """Take ``other``'s problems, after these. A file read beside the others logs apart, and its
        problems join the bundle's in the file's turn, so the report reads the same on every run.
        (The two logs are of different files, so no kind of problem is in both.)"""
        self._problems += other._problems
        for kind, found in other._counts.items():
            self._counts[kind] = self._counts.get(kind, 0) + found

    def report(self, oneroster_version: str | None, *, files: tuple[str, ...] = ()) -> BundleReport:
        """The report: errors first, each kind's count of unlisted problems after its last listed one;
        ``files`` are those read."""
        last = {(p.file, p.code, p.column, p.severity): p for p in self._problems}
        listed: list[BundleProblem] = []
        for problem in self._problems:
            listed.append(problem)
            kind = (problem.file, problem.code, problem.column, problem.severity)
            if last[kind] is problem and self._counts[kind] > SHOWN_PER_KIND:
                more = self._counts[kind] - SHOWN_PER_KIND
                listed.append(
                    problem.model_copy(
                        update={
                            "code": ProblemCode.more,
                            "line": None,
                            "message": f"… and {more:,} more like this.",
                            "more": more,
                        }
                    )
                )
        listed.sort(key=lambda p: p.severity != "error")
        return BundleReport(oneroster_version=oneroster_version, problems=tuple(listed), files=files)
