"""The Check a CSV file page's reading of what the analyst typed and uploaded."""

from __future__ import annotations

from typing import BinaryIO

from cers_core.cers_csv import ValidationReport, validate_cers_csv

__all__ = ["check_uploaded_file", "parse_schools", "parse_years"]


def parse_years(text: str) -> list[int] | None:
    """``"2026, 2027"`` → ``[2026, 2027]``; blank → None; raises ``ValueError`` with a plain message.

    >>> parse_years("2026, 2027"), parse_years("  ")
    ([2026, 2027], None)
    >>> parse_years("２０２７")
    Traceback (most recent call last):
    ...
    ValueError: Write school years as end years, like 2027 for 2026-27, separated by commas.
    """
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        return None
    if not all(p.isascii() and p.isdigit() and len(p) == 4 for p in parts):
        raise ValueError("Write school years as end years, like 2027 for 2026-27, separated by commas.")
    return [int(p) for p in parts]


def parse_schools(text: str) -> list[str] | None:
    """CDS codes separated by commas, spaces or lines; blank → None.

    >>> parse_schools("01612590130146, 19647336108641")
    ['01612590130146', '19647336108641']
    """
    parts = [p for p in text.replace(";", ",").replace("\n", ",").replace(" ", ",").split(",") if p]
    return parts or None


def check_uploaded_file(
    upload: BinaryIO, *, school_years: list[int] | None, schools: list[str] | None
) -> ValidationReport:
    """The validator's report on an uploaded file, read from its stream (no copy of its bytes is made)."""
    upload.seek(0)
    try:
        return validate_cers_csv(upload, school_years=school_years, schools=schools)
    finally:
        upload.seek(0)
