"""Group names: built from the fields a user picks, safe for both of CERS's CSV parsers, unique.

CERS reads a file twice, with two parsers that disagree on quotes, commas and backslashes
(reference §2.9), and a name starting with ``=``, ``+``, ``-`` or ``@`` is a formula in a
spreadsheet. So every field value is sanitized (each ``,`` ``"`` ``\\`` tab CR LF becomes a
space, white space runs collapse, ends are stripped), the joined name loses its leading run
of ``= + - @`` and spaces, and is cut to CERS's 255 characters.

CERS keys a group on (school, name, year) ignoring case, so two sections that would get the
same name would silently become one group. Colliding sections each get
`` (<classCode or sourcedId>)`` appended instead.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

__all__ = ["MAX_NAME_LENGTH", "casefold", "clean_value", "finish_name", "fold_text", "join_values", "with_suffix"]

MAX_NAME_LENGTH = 255
# What CERS's parsers disagree on (, " \), control characters (tab, CR, LF and the rest: CERS
# trims them, so a name of only those is blank to it), and characters beyond the Basic
# Multilingual Plane (emoji), which CERS's MySQL "utf8" columns cannot store.
_UNSAFE = r"[,\"\\\p{Cc}\x{10000}-\x{10FFFF}]"
# A leading run of formula starters and white space of any kind (a no-break space included).
_LEADING_FORMULA = r"^[=+\-@\s]+"
# A collision suffix (a class code, or a sourcedId) is cut to this, so the name keeps room.
_MAX_SUFFIX_LENGTH = 60
_LAST_RESORT_NAME = "Section"


def clean_value(value: pl.Expr) -> pl.Expr:
    """One field value made safe; null when nothing is left (so that it is skipped)."""
    return value.str.replace_all(_UNSAFE, " ").str.replace_all(r"\s+", " ").str.strip_chars().replace("", None)


def join_values(values: pl.Expr) -> pl.Expr:
    """A multi-valued field (periods, grades, subjects, term titles): non-empty values joined by ``/``."""
    kept = values.list.eval(pl.element().filter(pl.element().str.strip_chars() != ""))
    return pl.when(kept.list.len() > 0).then(kept.list.join("/")).otherwise(None)


def finish_name(joined: pl.Expr, fallback: pl.Expr) -> pl.Expr:
    """Drop the leading formula characters, cut to 255, strip; empty names become ``fallback``."""
    name = joined.str.replace(_LEADING_FORMULA, "").str.slice(0, MAX_NAME_LENGTH).str.strip_chars()
    cleaned = clean_value(fallback).str.replace(_LEADING_FORMULA, "").str.slice(0, MAX_NAME_LENGTH).str.strip_chars()
    safe_fallback = pl.when(cleaned.is_null() | (cleaned == "")).then(pl.lit(_LAST_RESORT_NAME)).otherwise(cleaned)
    return pl.when(name.is_null() | (name == "")).then(safe_fallback).otherwise(name)


def with_suffix(name: pl.Expr, suffix: pl.Expr) -> pl.Expr:
    """``name (suffix)``, the name cut (and stripped) so that the whole stays within 255 characters;
    a suffix longer than 60 characters is cut itself first."""
    tail = pl.lit(" (") + suffix.str.slice(0, _MAX_SUFFIX_LENGTH).str.strip_chars() + pl.lit(")")
    room = (pl.lit(MAX_NAME_LENGTH) - tail.str.len_chars()).clip(lower_bound=0)
    return name.str.slice(0, room).str.strip_chars() + tail


def casefold(value: pl.Expr) -> pl.Expr:
    """Python's ``str.casefold`` (what CERS's case-insensitive matching is closest to), per value."""
    return fold_text(value, str.casefold)


def fold_text(value: pl.Expr, fold: Callable[[str], str]) -> pl.Expr:
    """``fold`` applied to each value, where ``fold`` lower-cases ASCII text as ``str.lower`` does.

    ASCII values are lower-cased in Rust; only the other distinct values go through Python
    (names and logins of a district are mostly ASCII, and two million of them one by one would
    cost seconds).
    """

    def apply(values: pl.Series) -> pl.Series:
        lowered = values.str.to_lowercase()
        ascii_only = values.str.len_bytes() == values.str.len_chars()
        if ascii_only.fill_null(True).all():
            return lowered
        others = values.filter(~ascii_only).unique().to_list()
        folded = values.replace(others, [fold(text) for text in others])
        return pl.select(pl.when(ascii_only).then(lowered).otherwise(folded)).to_series().alias(values.name)

    return value.map_batches(apply, return_dtype=pl.String)
