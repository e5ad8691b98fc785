"""Text from outside — a SIS, a file, a server's answer, a name someone typed — shown as text.

Streamlit renders Markdown in titles, labels, captions, status labels and message boxes: a school
named ``[Sign in again](https://evil.example)`` would become a live link there, and
``![x](https://evil.example/x.png)`` would make the browser fetch an image. Every such text goes
through :func:`escape_markdown` first: each ASCII punctuation character gets a backslash, which
CommonMark reads as that character itself, so no link, image, emphasis, heading, HTML tag or
LaTeX (``$…$``) can form. GitHub's autolinks (``https://…``, ``www.…``, ``name@host``) are
found after escapes are read, so an invisible word joiner (U+2060) also goes after each ``@``,
after a ``:`` that a letter or a ``/`` follows, and inside ``www.``: the text looks the same,
and no address in it is one any more (nor is ``:red[…]``, Streamlit's colour directive). Grids
(``st.dataframe``), ``st.code`` and ``st.text`` show text as it is and need nothing.

>>> escape_markdown("[Sign in again](https://evil.example)").replace(JOINER, "+")
'\\\\[Sign in again\\\\]\\\\(https\\\\:+\\\\/\\\\/evil\\\\.example\\\\)'
"""

from __future__ import annotations

import re

__all__ = ["JOINER", "escape_markdown", "inline_code"]

JOINER = "\u2060"  # WORD JOINER: invisible, and not part of any address
_BREAKS = re.compile(r"(?<=@)|(?<=:)(?=[/A-Za-z])|(?<=[Ww]{3})(?=\.)")
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that shows exactly its characters (line breaks become spaces, so
    that no line can start a heading, a list or a block of its own).

    >>> escape_markdown("Algebra *I* <b>\\n# Period 3")
    'Algebra \\\\*I\\\\* \\\\<b\\\\> \\\\# Period 3'
    """
    joined = _BREAKS.sub(JOINER, _LINE_BREAKS.sub(" ", str(text)))
    return _PUNCTUATION.sub(r"\\\1", joined)


def inline_code(text: object) -> str:
    """``text`` as Markdown inline code, whatever backticks it holds (the fence is longer than
    any run of them inside).

    >>> inline_code("https://sis.example.org/v1p2"), inline_code("a`b")
    ('`https://sis.example.org/v1p2`', '`` a`b ``')
    """
    value = _LINE_BREAKS.sub(" ", str(text))
    runs = [len(run) for run in re.findall(r"`+", value)]
    if not runs:
        return f"`{value}`"
    fence = "`" * (max(runs) + 1)
    return f"{fence} {value} {fence}"
