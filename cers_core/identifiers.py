"""The California identifiers CERS keys on, taken from OneRoster records as polars expressions.

- A school is its 14-digit CDS code (county, district, school); a code ending in
  ``0000000`` names a district, not a school (CDE).
- A student is their 10-digit SSID. No public source says where a SIS puts it in OneRoster,
  so the ``userIds`` types to look at are configurable; the first matching entry wins, in
  the record's order, and only a record with no such entry falls back to ``identifier``. A
  malformed value does not fall back: a wrong SSID silently creates a phantom student in
  CERS, so we would rather leave the student out and say so.
- A teacher is their CERS/TOMS login, an e-mail address: ``email`` when it is one, else
  ``username`` when that is one. A value holding a control or format character (NUL, a
  zero-width space, a right-to-left override: :data:`cers_core.wording.INVISIBLE`) is not one:
  it looks right on screen and matches nobody's login in CERS.

Digits are ASCII ``0-9`` only: a regex ``\\d`` (Python's and polars') also takes full-width
``１``, Arabic-Indic ``١`` and every other script's digits, which CERS would store as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from cers_core.wording import INVISIBLE

__all__ = ["EMAIL_PATTERN", "SSID_PATTERN", "cds_code", "login_flaw", "ssids", "teacher_login"]

CDS_REGEX = r"^[0-9]{14}$"
SSID_PATTERN = r"^[0-9]{10}$"
# local@domain.tld with no spaces: what CERS logins look like (district e-mail addresses); never
# with , " \ (CERS's two CSV parsers disagree on them), nor starting with = + - (a spreadsheet
# would run the cell as a formula).
EMAIL_PATTERN = r"^[^@\s,\"\\=+\-][^@\s,\"\\]*@[^@\s,\"\\]+\.[^@\s.,\"\\]+$"


def cds_code(identifier: pl.Expr, sourced_id: pl.Expr, mapping: dict[str, str]) -> pl.Expr:
    """The school's CDS code: its ``identifier`` when that is one, else the user's mapping, else null."""
    ident = identifier.str.strip_chars()
    is_school_cds = ident.str.contains(CDS_REGEX) & ~ident.str.ends_with("0000000")
    mapped = sourced_id.replace_strict(mapping, default=None, return_dtype=pl.String) if mapping else pl.lit(None)
    return pl.when(is_school_cds).then(ident).otherwise(mapped.cast(pl.String))


def ssids(users: pl.DataFrame, types: Sequence[str]) -> pl.DataFrame:
    """Each user's SSID by the rule above: ``sourced_id``, ``ssid_raw`` (the value the rule
    picks, trimmed; null when there is none), ``ssid_typed`` (whether it came from a typed
    ``userIds`` entry) and ``ssid`` (``ssid_raw`` when it is 10 digits, else null).

    Done by exploding ``userIds`` once rather than scanning each list per user, which is
    what keeps this fast for a district of half a million users.
    """
    wanted = [t.lower() for t in types]
    typed = (
        users.select("sourced_id", "id_types", "id_values")
        .explode("id_types", "id_values")
        .filter(pl.col("id_types").str.strip_chars().str.to_lowercase().is_in(wanted))
        .group_by("sourced_id", maintain_order=True)
        .agg(typed_value=pl.col("id_values").first())
    )
    found = users.select("sourced_id", "identifier").join(typed, on="sourced_id", how="left")
    typed_entry = pl.col("typed_value").is_not_null()
    raw = pl.when(typed_entry).then(pl.col("typed_value")).otherwise(pl.col("identifier")).str.strip_chars()
    return found.select(
        "sourced_id",
        ssid_raw=raw,
        ssid_typed=typed_entry,
        ssid=pl.when(raw.str.contains(SSID_PATTERN)).then(raw).otherwise(None),
    )


def _is_login(value: pl.Expr) -> pl.Expr:
    return value.str.contains(EMAIL_PATTERN) & ~value.str.contains(INVISIBLE)


def teacher_login(email: pl.Expr, username: pl.Expr) -> pl.Expr:
    """The teacher's CERS login: e-mail if it is one, else username if it is one, else null.

    >>> email, username = ["a@x.org", "b\\u200b@x.org", "c\\x00@x.org"], [None, "b@x.org", "c"]
    >>> users = pl.DataFrame({"email": email, "username": username})
    >>> users.select(teacher_login(pl.col("email"), pl.col("username"))).to_series().to_list()
    ['a@x.org', 'b@x.org', None]
    """
    mail = email.str.strip_chars()
    user = username.str.strip_chars()
    return pl.when(_is_login(mail)).then(mail).when(_is_login(user)).then(user).otherwise(None)


def login_flaw(email: pl.Expr, username: pl.Expr) -> pl.Expr:
    """The e-mail (else the username) that would be a login but for an invisible character, for the
    report of a teacher left out; null when there is none."""
    mail = email.str.strip_chars()
    user = username.str.strip_chars()
    flawed = [value.str.contains(EMAIL_PATTERN) & value.str.contains(INVISIBLE) for value in (mail, user)]
    return pl.when(flawed[0]).then(mail).when(flawed[1]).then(user).otherwise(None)
