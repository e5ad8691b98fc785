"""One CSV file of a bundle read into a polars frame of strings, in blocks of bounded size.

polars' own CSV reader holds most of a file in memory while it parses, whatever columns are
asked for; a district's enrollments.csv can be a gigabyte. So the file is streamed and cut
into blocks of whole records (at a line end outside quotes), each block is parsed by polars
with only the columns we read, and the blocks' columns are appended to one frame. Memory is
two blocks plus the columns kept; nothing becomes a Python object per record. The next block is
unzipped, checked and cut on a thread of its own while polars parses this one (zlib and polars
both work outside the GIL): on two cores, a district's largest files are read a quarter faster.

Every value is read as a string (``infer_schema=False``); a blank cell is null; blank lines are
dropped; ``_line`` is each record's line in the file, the header being line 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from cers_core.oneroster_csv.binding import CsvFile, Version
from cers_core.oneroster_csv.bundle import CheckedStream, FileRefused
from cers_core.oneroster_csv.checks import check_header
from cers_core.oneroster_csv.report import ProblemCode, ProblemLog

__all__ = ["read_table"]

_BLOCK = 8 << 20
# A record (or the header) longer than this is not a roster record: a quote is likely never closed.
_MAX_RECORD = 16 << 20
_ADVICE = "Export the file again, or open it in a text editor at that line."


def read_table(stream: CheckedStream, file: CsvFile, version: Version, log: ProblemLog) -> pl.DataFrame | None:
    """The file's columns we read that its header has (by their binding names), with ``_line``;
    None when the file cannot be read (the log says why). Raises ``FileRefused`` from the stream."""
    blocks = _read_ahead(_blocks(stream, file, log))
    first, _ = next(blocks, (None, False))
    header = _header(first) if first is not None else None
    if first is None or header is None:
        log.add("error", ProblemCode.malformed_csv, file.file_name, "The first line is not a header row.", line=1)
        return None
    columns = check_header(file, version, header, log)
    if columns is None:
        return None
    table: pl.DataFrame | None = None
    lines = 1  # lines before the block (physical), for locating a malformed record
    plain = True  # every block so far is plain text (see _plain)
    for block, plain_block in blocks:  # each begins with the header line
        plain = plain and plain_block
        records = 0 if table is None else table.height
        try:
            part = pl.read_csv(
                io.BytesIO(block),
                columns=list(columns.values()),
                infer_schema=False,
                quote_char='"',
                raise_if_empty=False,
                row_index_name="_line",
                row_index_offset=2 + records,
            )
        except pl.exceptions.PolarsError as error:
            where, message = _where_malformed(block[len(first) :], len(header), error)
            log.add("error", ProblemCode.malformed_csv, file.file_name, message, line=lines + where)
            return None
        part = part.rename({actual: name for name, actual in columns.items()})
        table = part if table is None else table.extend(part)
        lines += block.count(b"\n", len(first))
    return _finished(file, table, columns, log, plain=plain)


def _read_ahead(blocks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    """``blocks``, each with whether it is ``_plain``, each one after the first made on a thread
    while the caller parses the one before (a problem of the stream reaches the caller when it
    asks for that block)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cers-bundle-read") as ahead:
        upcoming = ahead.submit(_next_block, blocks)
        while (block := upcoming.result()) is not None:
            upcoming = ahead.submit(_next_block, blocks)
            yield block


def _next_block(blocks: Iterator[bytes]) -> tuple[bytes, bool] | None:
    block = next(blocks, None)
    return None if block is None else (block, _plain(block))


def _plain(block: bytes) -> bool:
    """Whether no value of ``block`` can begin with a space character other than a space or a tab:
    no quote (so no line end inside a value), nothing but ASCII, no vertical tab or form feed, and
    every carriage return before a line feed (a line end). Each test is a scan of the bytes at
    memory speed, a hundredth of the time testing every value takes."""
    if not block.isascii() or b'"' in block or b"\x0b" in block or b"\x0c" in block:
        return False
    return b"\r" not in block or block.count(b"\r") == block.count(b"\r\n")


def _blocks(stream: CheckedStream, file: CsvFile, log: ProblemLog) -> Iterator[bytes]:
    """The header line, then blocks of whole records (a block ends at a line end that no quoted
    value spans: the number of quotes before it is even), each after the header line, so that
    polars reads each block on its own. A block's bytes are copied once, header and records
    together: at a district's size every copy of the file costs a second."""
    carry = b""  # the start of a record the last read cut
    header = None
    while True:
        data = stream.read(_BLOCK)
        if header is None:
            buffer = carry + data
            end = buffer.find(b"\n")
            if end < 0 and data and len(buffer) <= _MAX_RECORD:
                carry = buffer
                continue
            end = len(buffer) if end < 0 else end + 1
            header, carry, ended, data = buffer[:end], b"", not data, buffer[end:]
            yield header
            if not data and not ended:  # the read ended with the header line: read on
                continue
        if not data:
            if carry:
                yield header + carry
            return
        cut = _record_end(data, quoted=carry.count(b'"') % 2 == 1)
        if cut:
            yield b"".join((header, carry, memoryview(data)[:cut]))
            carry = data[cut:]
        else:
            carry += data
        if len(carry) > _MAX_RECORD:
            log.add(
                "error",
                ProblemCode.malformed_csv,
                file.file_name,
                f"A record is longer than {_MAX_RECORD >> 20} MB: a quoted value is probably never closed. {_ADVICE}",
            )
            raise FileRefused(file.file_name)


def _record_end(data: bytes, *, quoted: bool) -> int:
    """Where the last whole record of ``data`` ends (0: none does); ``quoted`` when what came
    before ``data`` in its first record leaves a quote open."""
    cut = data.rfind(b"\n") + 1
    if not quoted and b'"' not in data:  # no quote at all (most files): every line end ends a record
        return cut
    quotes = data.count(b'"', 0, cut) + quoted
    while cut and quotes % 2:
        previous = data.rfind(b"\n", 0, cut - 1) + 1
        quotes -= data.count(b'"', previous, cut)
        cut = previous
    return cut


def _header(line: bytes) -> list[str] | None:
    text = line.decode("utf-8", errors="replace").removeprefix("\ufeff")
    names = next(csv.reader([text]), None)
    return names if names and any(name.strip() for name in names) else None


def _where_malformed(block: bytes, fields: int, error: Exception) -> tuple[int, str]:
    """Find with Python's strict CSV reader the record in ``block`` polars stopped at: the line it
    starts on (1 for the block's first line) and what is wrong with it."""
    reader = csv.reader(io.StringIO(block.decode("utf-8"), newline=""), strict=True)
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            raise error from None  # not the file's fault (memory, say): not to be blamed on the district
        except csv.Error as problem:
            return start, f"The line is not valid CSV ({problem}): a quote may be missing. {_ADVICE}"
        if len(row) > fields:
            return start, f"The line has {len(row)} values but the header has {fields}. {_ADVICE}"
        start = reader.line_num + 1


def _finished(
    file: CsvFile, table: pl.DataFrame | None, columns: dict[str, str], log: ProblemLog, *, plain: bool
) -> pl.DataFrame:
    """The table with each cell of spaces made empty (null, as a blank one is) and blank lines
    dropped; ``plain`` when every block was ``_plain``."""
    names = list(columns)
    if table is None:
        table = pl.DataFrame(schema={"_line": pl.UInt32, **dict.fromkeys(names, pl.String)})
    # Only the columns that have a cell of spaces are rewritten. In a plain file such a cell begins
    # with a space or a tab, which is found faster than any space character is.
    if plain and names:
        begins = table.select((pl.col(n).str.starts_with(" ") | pl.col(n).str.starts_with("\t")).any() for n in names)
        names = [n for n, found in zip(names, begins.row(0), strict=True) if found]
    spaces = table.select((~pl.col(n).str.contains(r"\S")).any() for n in names).row(0) if names else ()
    blank = [n for n, found in zip(names, spaces, strict=True) if found]
    table = table.with_columns(pl.when(pl.col(n).str.contains(r"\S")).then(pl.col(n)).alias(n) for n in blank)
    blank_line = pl.all_horizontal(pl.col(list(columns)).is_null())
    if table.select(blank_line.any()).item():
        table = table.filter(~blank_line)
    if table.height == 0:
        log.add("warning", ProblemCode.empty_value, file.file_name, "The file has no records, only its header.")
    return table
