"""CSV files for people to open in a spreadsheet, with the SIS's free text made harmless.

A problem report carries text straight from the SIS (names, section titles, rooms). A cell
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by
Excel, LibreOffice and Google Sheets ("CSV injection"), so, as OWASP advises, every cell is
quoted, quotes inside are doubled, and a cell starting with one of those characters (after
any leading spaces, which spreadsheets skip) gets a ``'`` in front: the spreadsheet then shows
the text as text.

The CERS file itself is not written here: CERS reads it, not a spreadsheet, and every one of
its columns is checked (group names and logins can never start with those characters).

>>> problem_report_csv(pl.DataFrame({"Problem": ["=1+2"], "Group": ["Algebra"]}))
b'\\xef\\xbb\\xbf"Problem","Group"\\r\\n"\\'=1+2","Algebra"\\r\\n'
"""

from __future__ import annotations

import csv
import io

import polars as pl

__all__ = ["FORMULA_STARTERS", "neutralize", "problem_report_csv"]

FORMULA_STARTERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> str:
    """The text of one cell, with a ``'`` in front when a spreadsheet would read it as a formula.

    >>> neutralize("=HYPERLINK(\\"http://x\\")"), neutralize("  -2+3"), neutralize("Algebra I"), neutralize(None)
    ('\\'=HYPERLINK("http://x")', "'  -2+3", 'Algebra I', '')
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTERS) or text.lstrip(" ").startswith(FORMULA_STARTERS):
        return "'" + text
    return text


def problem_report_csv(report: pl.DataFrame) -> bytes:
    """The report (any frame: its column names become the header) as a CSV for spreadsheets.

    UTF-8 with a byte order mark (so that Excel reads accents right), CRLF line ends, every
    cell quoted and neutralized.
    """
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([neutralize(name) for name in report.columns])
    for row in report.iter_rows():
        writer.writerow([neutralize(value) for value in row])
    return out.getvalue().encode("utf-8-sig")
