"""Numbers and outside text put in words for people: ``count`` gets plurals right, ``printable``
makes text from a SIS or a file safe to print on a terminal, ``shortened`` keeps a value of
megabytes from filling it, and ``invisible_shown`` names the characters nobody can see.

A school name or a CSV header may hold control characters: an ESC sequence printed raw can
recolour a terminal, move its cursor, rewrite what was printed before (``\\r``) or set its
title; a right-to-left override reorders what follows. ``printable`` shows each of them as
its escape (``\\x1b``, ``\\u202e``) instead, as Python's ``repr`` does.

An identifier (a CERS login) holding such a character, or a zero-width space, looks right and
matches nobody: :data:`INVISIBLE` finds them (Unicode categories Cc, Cf, Zl and Zp, as a
character class that Python's ``re`` and polars' regex engine read alike), and
``invisible_shown`` writes each as ``<U+200B>`` so that a message can say where it is.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["INVISIBLE", "SHORT", "count", "invisible_names", "invisible_shown", "printable", "shortened"]

# C0 and C1 control characters, DEL, and the bidirectional overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SHORT: Final = 200
"""Characters of a value shown in a message; the rest is counted (see :func:`shortened`)."""


# Unicode 14 (Python 3.11's unicodedata), categories Cc, Cf, Zl and Zp as ranges: a test holds
# the list against unicodedata. Escapes in a plain string: the class holds the characters.
INVISIBLE: Final = (
    "[\x00-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
"""Characters that are invisible or control the display: NUL, TAB, U+200B ZERO WIDTH SPACE, U+202E
RIGHT-TO-LEFT OVERRIDE, U+FEFF (a byte order mark inside a value), U+2028 LINE SEPARATOR…"""
_INVISIBLE: Final = re.compile(INVISIBLE)


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and the noun, singular for one: ``1 school``, ``2 schools``, ``1,204 groups``.

    >>> count(1, "school"), count(0, "error"), count(1204, "group"), count(2, "class", "classes")
    ('1 school', '0 errors', '1,204 groups', '2 classes')
    """
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def printable(text: object, *, keep: str = "") -> str:
    """``text`` with every control character shown as its escape, except those in ``keep``.

    >>> printable("Lincoln\\x1b[2J High\\r"), printable("two\\nlines", keep="\\n")
    ('Lincoln\\\\x1b[2J High\\\\x0d', 'two\\nlines')
    """
    return _UNPRINTABLE.sub(lambda found: found[0] if found[0] in keep else _escape(found[0]), str(text))


def shortened(text: str, limit: int = SHORT) -> str:
    """``text``, or its first ``limit`` characters and how long it is: a 10 MB name stays one line.

    >>> shortened("Lincoln High"), shortened("x" * 1000, 5)
    ('Lincoln High', 'xxxxx… (1,000 characters)')
    """
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def invisible_shown(text: str) -> str:
    """``text`` with each :data:`INVISIBLE` character written as its code point, ``<U+200B>``.

    >>> invisible_shown("jane\\u200b@example.org"), invisible_shown("plain")
    ('jane<U+200B>@example.org', 'plain')
    """
    return _INVISIBLE.sub(lambda found: f"<U+{ord(found[0]):04X}>", text)


def invisible_names(text: str) -> str:
    """The distinct :data:`INVISIBLE` characters of ``text``, named, in the order they come.

    >>> invisible_names("a\\u200bb\\x00c\\u200b")
    'U+200B ZERO WIDTH SPACE, U+0000 (a control character)'
    """
    named = (
        f"U+{ord(char):04X} {unicodedata.name(char, '(a control character)')}"
        for char in dict.fromkeys(_INVISIBLE.findall(text))
    )
    return ", ".join(named)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
