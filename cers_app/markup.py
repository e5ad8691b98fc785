"""Text from outside — a SIS, a file, a server's answer, a name someone typed — shown as text.

Streamlit renders Markdown in titles, labels, captions, status labels and message boxes: a school
named ``[Sign in again](https://evil.example)`` would become a live link there, and
``![x](https://evil.example/x.png)`` would make the browser fetch an image. Every such text goes
through :func:`escape_markdown` first: each ASCII punctuation character gets a backslash, which
CommonMark reads as that character itself, so no link, image, autolink (``https://…``,
``www.…``), emphasis, heading, HTML tag or LaTeX (``$…$``) can form. Grids (``st.dataframe``),
``st.code`` and ``st.text`` show text as it is and need nothing.

>>> escape_markdown("[Sign in again](https://evil.example)")
'\\\\[Sign in again\\\\]\\\\(https\\\\:\\\\/\\\\/evil\\\\.example\\\\)'
"""

from __future__ import annotations

import re

__all__ = ["escape_markdown", "inline_code"]

_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def escape_markdown(text: object) -> str:
    """``text`` as Markdown that shows exactly its characters (line breaks become spaces, so
    that no line can start a heading, a list or a block of its own).

    >>> escape_markdown("Algebra *I* <b>\\n# Period 3")
    'Algebra \\\\*I\\\\* \\\\<b\\\\> \\\\# Period 3'
    """
    return _PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)))


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
