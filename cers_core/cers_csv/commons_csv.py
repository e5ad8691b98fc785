"""Read a file the way CERS's validator reads it: UTF-8 text, then Apache Commons CSV records.

CERS (RDW ``DefaultCsvValidationService``, reference §2.9, §3) reads the upload with
``new InputStreamReader(new BOMInputStream(is), UTF_8)`` and parses it with Commons CSV 1.6,
``CSVFormat.DEFAULT.withFirstRecordAsHeader()``. This module reproduces both, streaming, in
bounded memory and linear time, for any bytes at all.

Decoding (:func:`utf8_text`)
    One leading UTF-8 byte order mark is dropped (``BOMInputStream``); any other byte
    sequence that is not UTF-8 becomes U+FFFD, as Java's decoder does (``InputStreamReader``
    replaces malformed input; Python's ``errors="replace"`` follows the same Unicode
    "maximal subpart" practice, so the count of U+FFFD may differ only for exotic
    sequences). CERS therefore never fails on encoding: a Latin-1 or UTF-16 file is read as
    garbled text, and :class:`TextFacts` records what we saw so the pre-flight checks can say so.

Records (:class:`CommonsCsvReader`)
    ``CSVFormat.DEFAULT``: comma, double quote, no escape character, empty lines skipped
    (a line with only spaces is not empty), CR, LF and CRLF all end a record; inside quotes
    ``""`` is a quote and line breaks are kept as they are. After a closing quote Commons CSV
    skips whitespace (Java's) up to the comma or line end, and anything else is an error, as
    is a quote still open at the end of the file. Record numbers count records, not lines:
    the first record after the header is 1, and a record spanning lines counts once.

    Lexer errors raise :class:`CsvSyntaxError` with Commons CSV 1.6's own message, e.g.
    ``(line 3) invalid char between encapsulated token and delimiter``.

How it is fast: text is read in 1 MB chunks; runs of complete lines are parsed by Python's
C ``csv`` module in ``strict`` mode, which agrees with Commons CSV on every input it accepts
(tested: quotes inside unquoted fields are kept, ``""`` inside quotes, quoted line breaks,
NUL characters); ``strict`` makes it raise exactly where the two differ (whitespace or text
after a closing quote, a quote open at the end), and there, and for lines longer than a
run (4M characters) or fields over Python's field size limit, one record is read by an exact
Python port of the Commons CSV lexer. After such a record the next run is kept short, growing again as runs
succeed, so a file full of odd records still costs linear time.

Memory: a value longer than :data:`MAX_FIELD_CHARS` (a quote left open in a big file, a
10 MB line) is kept as its first characters plus a digest of the rest, which compares as
the full value would; a record read by the lexer port keeps at most :data:`MAX_FIELDS`
values (its count of values then reads as "at least"), and past its first six values (the ones
CERS's columns are), once it has kept :data:`MAX_RECORD_CHARS`, keeps each further value over
200 characters as such a digest too: one line of a thousand values of a megabyte each takes
megabytes, not a gigabyte. Those values are never CERS's columns in a file CERS would read (its
header must start with the six); a header of that size compares its later names by digest.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import BinaryIO, Final

from cers_core.cers_csv.java_text import JAVA_WHITESPACE

__all__ = [
    "MAX_FIELDS",
    "MAX_FIELD_CHARS",
    "MAX_RECORD_CHARS",
    "CommonsCsvReader",
    "CsvSyntaxError",
    "TextFacts",
    "utf8_text",
]

CHUNK_BYTES: Final = 1 << 20
MAX_FIELD_CHARS: Final = 1_000_000
MAX_FIELDS: Final = 1_000
MAX_RECORD_CHARS: Final = 2_000_000
_KEPT_WHOLE: Final = 6  # values of a record kept up to MAX_FIELD_CHARS whatever the record's size
_FIELD_HEAD: Final = 200
_MIN_RUN: Final = 1 << 14
_MAX_RUN: Final = 1 << 22
_BOM: Final = b"\xef\xbb\xbf"
_SIMPLE_END: Final = re.compile(r"[,\r\n]")
# Characters str.splitlines() breaks on that CSV does not; when present, split by regex instead.
_OTHER_LINE_BREAKS: Final = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE: Final = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
EOL_NAMES: Final = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}


class CsvSyntaxError(Exception):
    """Commons CSV's lexer stopped (an ``IOException`` in Java); ``str()`` is its exact message."""

    def __init__(self, message: str, *, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class TextFacts:
    """What decoding saw, for the pre-flight checks; CERS itself ignores all of it."""

    bom: bool = False
    """The file started with a UTF-8 byte order mark (dropped, as ``BOMInputStream`` does)."""
    head: bytes = b""
    """The first bytes of the file, to recognise a workbook or UTF-16 text."""
    bad_offset: int | None = None
    """Byte offset of the first byte that is not UTF-8."""
    bad_bytes: bytes = b""
    """That byte sequence and a few bytes around it."""


def utf8_text(stream: BinaryIO, facts: TextFacts) -> Iterator[str]:
    """Decode ``stream`` in chunks the way ``InputStreamReader(BOMInputStream(stream), UTF_8)`` does."""
    head = _read_at_least(stream, len(_BOM))
    facts.head = head[:64]
    if head.startswith(_BOM):
        facts.bom = True
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    block = head[len(_BOM) :] if facts.bom else head
    consumed = len(head) - len(block)
    while True:
        final = not block
        state = decoder.getstate()
        try:
            text = decoder.decode(block, final)
        except UnicodeDecodeError as error:
            pending = len(state[0])
            start = error.start - pending
            facts.bad_offset = consumed + start
            facts.bad_bytes = (state[0] + block)[max(error.start - 24, 0) : error.end + 24]
            decoder.setstate(state)
            decoder.errors = "replace"
            text = decoder.decode(block, final)
        consumed += len(block)
        if text:
            yield text
        if final:
            return
        block = stream.read(CHUNK_BYTES)


def _read_at_least(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(CHUNK_BYTES)
    while data and len(data) < size:
        more = stream.read(CHUNK_BYTES)
        if not more:
            break
        data += more
    return data


@dataclass
class _Eols:
    """Line endings that end records (or blank lines), as the CERS loader sees them (§2.9)."""

    first: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"\r\n": 0, "\n": 0, "\r": 0})
    first_other: tuple[int, str] | None = None
    """(row, ending) of the first record that ends differently from the first line."""

    def add(self, eol: str, row: int, count: int = 1) -> None:
        if self.first is None:
            self.first = eol
        self.counts[eol] += count
        if eol != self.first and self.first_other is None:
            self.first_other = (row, eol)


class _FieldText:
    """A value being read in pieces; past ``limit`` (:data:`MAX_FIELD_CHARS`) only its head and a digest are kept."""

    __slots__ = ("_blank", "_digest", "_head", "_length", "_limit", "_parts")

    def __init__(self, limit: int = MAX_FIELD_CHARS) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._limit = limit
        self._digest: hashlib._Hash | None = None
        self._head = ""
        self._blank = True

    def add(self, text: str) -> None:
        if not text:
            return
        self._length += len(text)
        if self._digest is None:
            self._parts.append(text)
            if self._length > self._limit:
                whole = "".join(self._parts)
                self._parts = []
                self._head = whole[:_FIELD_HEAD]
                self._blank = not whole.strip(JAVA_WHITESPACE)
                self._digest = hashlib.blake2b(whole.encode("utf-8", "surrogatepass"), digest_size=16)
            return
        self._blank = self._blank and not text.strip(JAVA_WHITESPACE)
        self._digest.update(text.encode("utf-8", "surrogatepass"))

    @property
    def length(self) -> int:
        return self._length

    def value(self) -> str:
        if self._digest is None:
            return "".join(self._parts)
        if self._blank:
            return " "  # blank to Java, and nothing else matters about a blank value
        return f"{self._head}…[{self._length:,} characters, #{self._digest.hexdigest()}]"


class CommonsCsvReader:
    """Records of a decoded text, as Commons CSV 1.6 ``CSVFormat.DEFAULT`` reads them.

    Call :meth:`read_header` once, then iterate :meth:`records` (data records, numbered from 1
    by the caller). Facts for the pre-flight checks: :attr:`line_breaks` read so far,
    :attr:`eols`, :attr:`blank_lines` (with the row they follow), :attr:`blank_before_header`
    and :attr:`long_values`.
    """

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)
        self._text = ""
        self._pos = 0
        self._eof = False
        self._run = _MAX_RUN
        self.line_breaks = 0
        """Line breaks read, counted like Commons CSV's ``ExtendedBufferedReader`` (CRLF once)."""
        self.eols = _Eols()
        self.blank_lines = 0
        self.first_blank_after: int | None = None
        self.blank_before_header = False
        self.long_values = 0

    def read_header(self) -> list[str] | None:
        """The first record (the header), or None for a file with no record at all."""
        header = self._slow_record(0)
        self.blank_before_header = self.blank_lines > 0
        self.blank_lines, self.first_blank_after = 0, None
        return header

    def records(self) -> Iterator[list[str]]:
        """The data records in order; raises :class:`CsvSyntaxError` where Commons CSV would."""
        row = 0
        while True:
            text, pos = self._text, self._pos
            end = self._run_end(text, pos)
            if end < 0:
                if self._eof or len(text) - pos >= self._run:
                    record = self._slow_record(row + 1)
                    if record is None:
                        return
                    row += 1
                    yield record
                else:
                    self._fill()
                continue
            run = text[pos:end]
            self._pos = end
            crlf, cr, lf = run.count("\r\n"), run.count("\r"), run.count("\n")
            kinds = {"\r\n": crlf, "\r": cr - crlf, "\n": lf - crlf}
            first = self.eols.first or max(kinds, key=kinds.__getitem__)
            uniform = kinds[first] == cr + lf - crlf
            if uniform and '"' not in run and not run.startswith(first) and first + first not in run:
                # No quotes, no blank lines, one line ending: records are the lines split at commas.
                lines = run.split(first)
                lines.pop()
                yield from map(str.split, lines, repeat(","))
                row += len(lines)
                self._count_run(run, first, uniform, breaks=cr + lf - crlf)
                continue
            lines = _LINE.findall(run) if _has_other_line_breaks(run) else run.splitlines(True)
            start_row, blanks = row, 0
            try:
                if uniform:
                    for record in csv.reader(lines, strict=True):
                        if record:
                            row += 1
                            yield record
                        else:
                            blanks += 1
                            self._note_blank(row)
                else:
                    remaining = iter(lines)
                    for record in csv.reader(remaining, strict=True):
                        ending = _ending(lines[len(lines) - remaining.__length_hint__() - 1])
                        self.eols.add(ending, row + bool(record))
                        if record:
                            row += 1
                            yield record
                        else:
                            blanks += 1
                            self._note_blank(row)
            except csv.Error:
                # Back to where the failing record starts, and read it with the exact lexer.
                done = _offset_after(lines, (row - start_row) + blanks)
                self._pos = pos + done
                self._count_run(run[:done], first, uniform)
                self._run = _MIN_RUN
                record = self._slow_record(row + 1)
                if record is None:
                    return
                row += 1
                yield record
                continue
            self._count_run(run, first, uniform, breaks=cr + lf - crlf)
            self._run = min(self._run * 2, _MAX_RUN)

    # -- the run of complete lines -------------------------------------------------------

    def _run_end(self, text: str, pos: int) -> int:
        """End of the last complete line within the current run length from ``pos``; -1 if none."""
        limit = min(len(text), pos + self._run)
        last = max(text.rfind("\n", pos, limit), text.rfind("\r", pos, limit))
        if last < 0:
            return -1
        if text[last] == "\r":
            if last + 1 < len(text):
                return last + 2 if text[last + 1] == "\n" else last + 1
            if not self._eof:  # CR or CRLF? the next chunk decides
                last = max(text.rfind("\n", pos, last), text.rfind("\r", pos, last))
                return last + 1 if last >= 0 else -1
        return last + 1

    def _count_run(self, run: str, first: str, uniform: bool, *, breaks: int | None = None) -> None:
        if breaks is None:
            breaks = _line_breaks(run, after_cr=False)
        self.line_breaks += breaks
        if uniform and breaks:
            self.eols.add(first, 0, breaks)

    def _note_blank(self, row: int) -> None:
        self.blank_lines += 1
        if self.first_blank_after is None:
            self.first_blank_after = row

    # -- the exact lexer (Commons CSV 1.6 Lexer.nextToken and friends) --------------------

    def _fill(self) -> bool:
        for chunk in self._chunks:
            if chunk:
                self._text = self._text[self._pos :] + chunk
                self._pos = 0
                return True
        self._eof = True
        return False

    def _peek(self) -> str:
        if self._pos >= len(self._text) and not self._fill():
            return ""
        return self._text[self._pos]

    def _take_eol(self, row: int) -> str:
        eol = self._text[self._pos]
        self._pos += 1
        if eol == "\r" and self._peek() == "\n":
            self._pos += 1
            eol = "\r\n"
        self.line_breaks += 1
        self.eols.add(eol, row)
        return eol

    def _slow_record(self, row: int) -> list[str] | None:
        """One record read character by character (well, by regex); None at the end of the file."""
        while (char := self._peek()) in ("\r", "\n"):  # empty lines are skipped
            self._take_eol(row - 1)
            self._note_blank(row - 1)
        if char == "":
            return None
        values: list[str] = []
        kept = 0
        more = True
        while more:
            char = self._peek()
            limit = MAX_FIELD_CHARS if len(values) < _KEPT_WHOLE or kept < MAX_RECORD_CHARS else _FIELD_HEAD
            if char == "":  # end of file right after a comma: one more empty value
                value, more = "", False
            elif char == '"':
                value, more = self._quoted_value(row, limit)
            else:
                value, more = self._plain_value(row, limit)
            if len(values) < MAX_FIELDS:
                values.append(value)
                kept += len(value)
        return values

    def _plain_value(self, row: int, limit: int) -> tuple[str, bool]:
        value = _FieldText(limit)
        while True:
            text, pos = self._text, self._pos
            match = _SIMPLE_END.search(text, pos)
            if match is None:
                value.add(text[pos:])
                self._pos = len(text)
                if not self._fill():
                    return self._finish(value), False
                continue
            end = match.start()
            value.add(text[pos:end])
            self._pos = end
            if text[end] == ",":
                self._pos = end + 1
                return self._finish(value), True
            self._take_eol(row)
            return self._finish(value), False

    def _quoted_value(self, row: int, limit: int) -> tuple[str, bool]:
        start_line = self.line_breaks + 1
        self._pos += 1
        value = _FieldText(limit)
        after_cr = False
        while True:
            text, pos = self._text, self._pos
            quote = text.find('"', pos)
            end = len(text) if quote < 0 else quote
            piece = text[pos:end]
            self.line_breaks += _line_breaks(piece, after_cr=after_cr)
            value.add(piece)
            self._pos = end
            if quote < 0:
                after_cr = piece.endswith("\r") or (after_cr and not piece)
                if not self._fill():
                    raise CsvSyntaxError(
                        f"(startline {start_line}) EOF reached before encapsulated token finished", line=start_line
                    )
                continue
            self._pos += 1
            after_cr = False
            if self._peek() == '"':
                value.add('"')
                self._pos += 1
                continue
            while True:  # after the closing quote: whitespace, then a comma or the end of the line
                char = self._peek()
                if char == "":
                    return self._finish(value), False
                if char == ",":
                    self._pos += 1
                    return self._finish(value), True
                if char in ("\r", "\n"):
                    self._take_eol(row)
                    return self._finish(value), False
                if char not in JAVA_WHITESPACE:
                    line = self.line_breaks + 1
                    raise CsvSyntaxError(
                        f"(line {line}) invalid char between encapsulated token and delimiter", line=line
                    )
                self._pos += 1

    def _finish(self, value: _FieldText) -> str:
        self.long_values += value.length > MAX_FIELD_CHARS
        return value.value()


def _line_breaks(text: str, *, after_cr: bool) -> int:
    """Line breaks in ``text`` as Java's reader counts them: CR, and LF not after CR."""
    count = text.count("\r") + text.count("\n") - text.count("\r\n")
    return count - 1 if after_cr and text.startswith("\n") else count


def _has_other_line_breaks(text: str) -> bool:
    # One fast substring scan per character beats a regex character class by far.
    return any(char in text for char in _OTHER_LINE_BREAKS)


def _ending(line: str) -> str:
    return "\r\n" if line.endswith("\r\n") else line[-1]


def _offset_after(lines: list[str], items: int) -> int:
    """Characters taken by the first ``items`` csv records (blank lines included) of ``lines``."""
    remaining = iter(lines)
    reader = csv.reader(remaining, strict=True)
    for _ in range(items):
        next(reader)
    used = len(lines) - remaining.__length_hint__()
    return sum(map(len, lines[:used]))
