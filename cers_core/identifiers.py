"""The California identifiers CERS keys on, taken from OneRoster records as polars expressions.

- A school is its 14-digit CDS code (county, district, school); a code ending in
  ``0000000`` names a district, not a school (CDE).
- A student is their 10-digit SSID. No public source says where a SIS puts it in OneRoster,
  so the ``userIds`` types to look at are configurable; the first matching entry wins, in
  the record's order, and only a record with no such entry falls back to ``identifier``. A
  malformed value does not fall back: a wrong SSID silently creates a phantom student in
  CERS, so we would rather leave the student out and say so.
- A teacher is their CERS/TOMS login, an e-mail address: ``email`` when it is one, else
  ``username`` when that is one.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

__all__ = [
    "EMAIL_PATTERN",
    "SSID_PATTERN",
    "cds_code",
    "has_typed_ssid",
    "ssid_source",
    "student_ssid",
    "teacher_login",
]

CDS_REGEX = r"^\d{14}$"
SSID_PATTERN = r"^\d{10}$"
# local@domain.tld with no spaces: what CERS logins look like (district e-mail addresses).
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"


def cds_code(identifier: pl.Expr, sourced_id: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """The school's CDS code: its ``identifier`` when that is one, else the user's mapping, else null."""
    ident = identifier.str.strip_chars()
    is_school_cds = ident.str.contains(CDS_REGEX) & ~ident.str.ends_with("0000000")
    mapped = sourced_id.replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else pl.lit(None)
    return pl.when(is_school_cds).then(ident).otherwise(mapped.cast(pl.String))


def _first_typed_index(types: Sequence[str]) -> pl.Expr:
    wanted = [t.lower() for t in types]
    matches = pl.col("id_types").list.eval(pl.element().str.strip_chars().str.to_lowercase().is_in(wanted))
    return pl.when(matches.list.any()).then(matches.list.arg_max()).otherwise(None)


def has_typed_ssid(types: Sequence[str]) -> pl.Expr:
    """Whether the user's ``userIds`` hold an entry of one of the SSID types."""
    return _first_typed_index(types).is_not_null()


def ssid_source(types: Sequence[str]) -> pl.Expr:
    """The raw SSID value of a user (trimmed; null when the record has none), by the rule above."""
    index = _first_typed_index(types)
    from_ids = pl.col("id_values").list.get(index, null_on_oob=True)
    return pl.when(index.is_not_null()).then(from_ids).otherwise(pl.col("identifier")).str.strip_chars()


def student_ssid(types: Sequence[str]) -> pl.Expr:
    """The user's SSID when it is valid (10 digits), else null."""
    raw = ssid_source(types)
    return pl.when(raw.str.contains(SSID_PATTERN)).then(raw).otherwise(None)


def teacher_login(email: pl.Expr, username: pl.Expr) -> pl.Expr:
    """The teacher's CERS login: e-mail if it is one, else username if it is one, else null."""
    mail = email.str.strip_chars()
    user = username.str.strip_chars()
    return (
        pl.when(mail.str.contains(EMAIL_PATTERN))
        .then(mail)
        .when(user.str.contains(EMAIL_PATTERN))
        .then(user)
        .otherwise(None)
    )
