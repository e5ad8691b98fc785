"""Numbers and outside text put in words for people: ``count`` gets plurals right, ``printable``
makes text from a SIS or a file safe to print on a terminal.

A school name or a CSV header may hold control characters: an ESC sequence printed raw can
recolour a terminal, move its cursor, rewrite what was printed before (``\\r``) or set its
title; a right-to-left override reorders what follows. ``printable`` shows each of them as
its escape (``\\x1b``, ``\\u202e``) instead, as Python's ``repr`` does.
"""

from __future__ import annotations

import re

__all__ = ["count", "printable"]

# C0 and C1 control characters, DEL, and the bidirectional overrides and isolates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
