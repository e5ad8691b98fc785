"""Java's idea of blank, trimmed, equal-ignoring-case and integer, as CERS's validator uses them.

CERS's validator is Java (RDW ``DefaultCsvValidationService``, reference §3): it tests key
fields with Commons Lang ``isBlank``/``stripToNull`` (``Character.isWhitespace``, which is not
Python's ``str.isspace``: no-break spaces are not whitespace to Java), compares groups with
``String.equalsIgnoreCase`` (char by char, upper case then lower case, no full case folding)
and reads the year with ``Integer.valueOf`` (no trimming, optional sign, any Unicode decimal
digit of the Basic Multilingual Plane, 32-bit range). These helpers reproduce that, so that a
value that is blank, equal or a number to CERS is so here. The JVM in question is Java 8
(Unicode 6.2); characters whose properties changed in later Unicode versions may differ.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["JAVA_WHITESPACE", "fold_case", "is_blank", "parse_int", "strip_to_null"]

# Character.isWhitespace: Zs/Zl/Zp except the no-break spaces (U+00A0, U+2007, U+202F), plus
# TAB, LF, VT, FF, CR and the four information separators. U+180E was Zs in Unicode 6.2.
JAVA_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2008\u2009\u200a\u2028\u2029\u205f\u3000"
)
_INT: Final = re.compile(r"([+-]?)(\d+)")
_INT_MIN: Final = -(2**31)
_INT_MAX: Final = 2**31 - 1


def is_blank(value: str) -> bool:
    """Commons Lang ``StringUtils.isBlank``: empty, or only Java whitespace."""
    return not value.strip(JAVA_WHITESPACE)


def strip_to_null(value: str) -> str | None:
    """Commons Lang ``StringUtils.stripToNull``: Java whitespace off both ends; None when nothing is left."""
    return value.strip(JAVA_WHITESPACE) or None


def fold_case(value: str) -> str:
    """A key such that ``fold_case(a) == fold_case(b)`` exactly when Java's ``a.equalsIgnoreCase(b)``.

    Java compares UTF-16 code units one by one: equal, or equal after ``Character.toUpperCase``,
    or equal after ``toLowerCase`` of those. Those are one-to-one mappings, so ``"ß"`` stays
    ``"ß"`` (Python's ``upper()`` would give ``"SS"``), and characters outside the BMP, being
    surrogate pairs to Java, are never case-mapped.
    """
    if value.isascii():
        return value.lower()
    return "".join(_fold_char(char) for char in value)


def _fold_char(char: str) -> str:
    if ord(char) > 0xFFFF:
        return char
    upper = char.upper()
    if len(upper) != 1:
        upper = char
    lower = upper.lower()
    return lower if len(lower) == 1 else upper


def parse_int(value: str) -> int | None:
    """``Integer.valueOf``: an optional sign and decimal digits, nothing else (no spaces); None if Java would throw."""
    match = _INT.fullmatch(value)
    if match is None or (not value.isascii() and any(ord(char) > 0xFFFF for char in value)):
        return None
    digits = match.group(2)
    if not digits.isascii():
        digits = "".join(str(unicodedata.decimal(char)) for char in digits)
    digits = digits.lstrip("0") or "0"
    if len(digits) > 10:  # beyond 32 bits; also keeps int() clear of its digit limit
        return None
    number = int(digits) * (-1 if match.group(1) == "-" else 1)
    return number if _INT_MIN <= number <= _INT_MAX else None
