"""What the validator found: CERS's own verdict, word for word, and our pre-flight checks.

Two kinds of finding, kept apart (``Finding.source``):

- ``"cers"``: what CERS itself would answer for this file (reference §3, §4), in its order,
  with its row numbers and its exact text; all of them are errors, since any one of them makes
  CERS reject the whole file (§3.3 "all or nothing").
- ``"check"``: our pre-flight checks for what CERS does not check but should matter to an
  analyst (a 13-digit school code, a 9-digit SSID, mixed line endings...). Each has a severity:
  ``"error"`` when CERS would reject the file anyway or would quietly damage data (a phantom
  student, a group name cut short), ``"warning"`` when the file works but is worth tidying.

Every finding carries a ``fix`` in plain words for the analyst. The report ends in one of three
verdicts (:class:`Verdict`): CERS would reject the file; CERS would accept it, but not as meant
(what it stores would differ from what the file means: text that is not UTF-8, a quote in a
group name, a 9-digit SSID…); CERS would accept it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from cers_core.wording import count

__all__ = ["MAX_CERS_LINES", "Finding", "Severity", "Source", "ValidationReport", "Verdict"]

Severity = Literal["error", "warning"]
Source = Literal["cers", "check"]

MAX_CERS_LINES: Final = 100
"""CERS writes at most this many lines, then ``With <k> additional ...`` (VAL ``MaxMessages``)."""


class Verdict(StrEnum):
    """What uploading the file would come to, in three words a script can test."""

    rejected = "rejected"
    """CERS would reject the file (its own failures, or a school or year it cannot know)."""
    not_as_meant = "not_as_meant"
    """CERS would accept the file, but what it stores would differ from what the file means."""
    accepted = "accepted"
    """CERS would accept the file as meant (warnings may remain)."""

    @property
    def headline(self) -> str:
        """The verdict in a sentence's words, e.g. ``CERS would accept this file, but not as meant``."""
        return _HEADLINES[self]


_HEADLINES = {
    Verdict.rejected: "CERS would reject this file",
    Verdict.not_as_meant: "CERS would accept this file, but not as meant",
    Verdict.accepted: "CERS would accept this file",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found in the file.

    ``row`` is the CSV record number as CERS counts it: 0 for the file or its header, 1 for
    the first record after the header (a record spanning several lines counts once).
    """

    row: int
    message: str
    severity: Severity
    source: Source
    fix: str
    rejected_by_cers: bool = False
    """For our checks: CERS itself would refuse this, though its rules as ported here cannot tell
    without knowing its configuration (a school id that is no CDS code, a year no CERS has)."""

    def cers_line(self) -> str:
        """The finding as CERS writes a failure: ``Row: <n> Failure: <message>`` (§4.1)."""
        return f"Row: {self.row} Failure: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """The verdict on one file; see :func:`cers_core.cers_csv.validate_cers_csv`.

    >>> from cers_core.cers_csv import validate_cers_csv
    >>> header = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\\r\\n"
    >>> report = validate_cers_csv(header + b"Algebra,01612590130146,2027,All,123,\\r\\n")
    >>> report.cers_message()  # CERS itself would take it...
    '1 group accepted for 01612590130146.'
    >>> report.accepted  # ...but a 3-digit SSID would make a phantom student
    False
    >>> print(report.errors[0].message.split(". ")[0])
    SSID '123' has 3 digits, not 10
    """

    cers_failures: list[Finding]
    """What CERS would list as failures, in its order (at most the first 1,000 are kept;
    ``cers_failure_count`` has them all). Empty when CERS would accept the file."""
    cers_failure_count: int
    cers_accepted: list[str]
    """CERS's success report lines, ``<n> group[s] accepted for <school>.`` (first 1,000)."""
    cers_accepted_count: int
    cers_crash: Finding | None
    """Set when CERS would not answer with a report at all but fail with an internal error
    (HTTP 500): a header of fewer than six columns that otherwise matches, or a CSV syntax
    error after the header (§2.1; Commons CSV raises ``IllegalStateException`` there, which
    the validator does not catch). The message is ours: CERS gives none."""
    extra_findings: list[Finding]
    """Our pre-flight checks, in file order (repetitive ones are summarised)."""
    rows: int
    """Records after the header."""
    groups: int
    """Runs of rows of one group (school, name ignoring case and outer spaces, year)."""
    schools: int
    """Distinct school ids."""
    max_students_per_group: int
    """Most distinct SSIDs in one group."""

    @property
    def errors(self) -> list[Finding]:
        """Everything that blocks the upload: CERS's failures (or its crash), then our errors."""
        crash = [self.cers_crash] if self.cers_crash is not None else []
        ours = [finding for finding in self.extra_findings if finding.severity == "error"]
        return [*self.cers_failures, *crash, *ours]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.extra_findings if finding.severity == "warning"]

    @property
    def accepted(self) -> bool:
        """CERS would accept the file and we found nothing that would damage data."""
        return not self.errors

    @property
    def verdict(self) -> Verdict:
        """Rejected, accepted but not as meant, or accepted (see :class:`Verdict`)."""
        ours = [finding for finding in self.extra_findings if finding.severity == "error"]
        if self.cers_failure_count or self.cers_crash is not None or any(f.rejected_by_cers for f in ours):
            return Verdict.rejected
        return Verdict.not_as_meant if ours else Verdict.accepted

    def cers_message(self) -> str:
        """CERS's answer, exactly: the failure report, else the success report (§4.1, §4.2).

        Failure lines are ``Row: <n> Failure: <msg>`` joined with ``\\n``, at most 100, then
        ``With <k> additional validation failures``; success lines are ``<n> group[s] accepted
        for <school>.``, at most 100, then ``With <k> additional schools``. When CERS would
        fail with an internal error instead, this is our description of that (CERS has no text).
        """
        if self.cers_crash is not None:
            return self.cers_crash.message
        if self.cers_failure_count:
            lines = [finding.cers_line() for finding in self.cers_failures[:MAX_CERS_LINES]]
            return _with_more(lines, self.cers_failure_count, "validation failures")
        return _with_more(self.cers_accepted[:MAX_CERS_LINES], self.cers_accepted_count, "schools")

    def to_text(self) -> str:
        """The report for the command line: the verdict, then errors, then warnings, each with its fix.

        CERS's failures are shown as CERS shows them, the first 100 and how many more.
        """
        ours = [finding for finding in self.extra_findings if finding.severity == "error"]
        shown = [*self.cers_failures[:MAX_CERS_LINES], *([self.cers_crash] if self.cers_crash else [])]
        errors = self.cers_failure_count + (self.cers_crash is not None) + len(ours)
        warnings = self.warnings
        lines = [
            f"{self.verdict.headline} ({count(errors, 'error')}, {count(len(warnings), 'warning')}).",
            f"{count(self.rows, 'row')}, {count(self.groups, 'group')}, {count(self.schools, 'school')}; "
            f"at most {count(self.max_students_per_group, 'student')} in a group.",
        ]
        if self.verdict is Verdict.not_as_meant:
            lines.append("What CERS would store differs from what the file means: fix the errors below first.")
        if errors:
            lines += ["", "Errors:", *(_describe(finding) for finding in shown)]
            if self.cers_failure_count > MAX_CERS_LINES:
                lines.append(f"  … and {self.cers_failure_count - MAX_CERS_LINES:,} more failures from CERS.")
            lines += [_describe(finding) for finding in ours]
        if warnings:
            lines += ["", "Warnings:", *(_describe(finding) for finding in warnings)]
        lines += ["", "What CERS would answer:", *(f"  {line}" for line in self.cers_message().split("\n"))]
        return "\n".join(lines)


def _with_more(lines: list[str], total: int, what: str) -> str:
    if total > MAX_CERS_LINES:
        lines = [*lines, f"With {total - MAX_CERS_LINES} additional {what}"]
    return "\n".join(lines)


def _describe(finding: Finding) -> str:
    where = "file" if finding.row == 0 else f"row {finding.row:,}"
    by = "CERS" if finding.source == "cers" else "check"
    text = f"  - [{by}, {where}] {finding.message}"
    return f"{text}\n      Fix: {finding.fix}" if finding.fix else text
