"""Read the rows of any group file, as CERS's validator reads them, in bounded memory.

For code that needs the *content* of a file rather than a verdict on it: the upload client
(to map CERS's ``Row: n`` failures back to groups and people), the difference between two
files, and the fake import service (to apply an accepted file). Bytes are decoded and split
into records exactly as :func:`~cers_core.cers_csv.validate_cers_csv` does (UTF-8 with an
optional BOM, Commons CSV records numbered from 1 after the header), and columns are found
by header name ignoring case, as CERS reads them, falling back to CERS's column positions
for a header that does not name them.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Final

import polars as pl

from cers_core.cers_csv.commons_csv import CommonsCsvReader, CsvSyntaxError, TextFacts, utf8_text
from cers_core.cers_csv.validator import Source, _binary
from cers_core.cers_csv.writer import CERS_COLUMNS
from cers_core.errors import InvalidFile

__all__ = ["iter_group_records", "read_group_rows"]

_BATCH_ROWS: Final = 50_000


def _positions(header: list[str]) -> list[int | None]:
    names = [name.strip().lower() for name in header]
    positions: list[int | None] = []
    for index, column in enumerate(CERS_COLUMNS):
        if column in names:
            positions.append(names.index(column))
        else:
            positions.append(index if index < len(header) and names[index] not in CERS_COLUMNS else None)
    return positions


def iter_group_records(source: Source) -> Iterator[tuple[int, tuple[str, ...]]]:
    """``(row, values)`` per record: the row number as CERS counts it (1 = first after the header)
    and the six CERS columns in :data:`CERS_COLUMNS` order, as written (``""`` when absent).

    Raises :class:`~cers_core.errors.InvalidFile` when the file cannot be opened, or is not
    CSV that CERS could read to the end (a quote left open, text after a closing quote).
    """
    row = 0
    for batch in _batches(source, 1024):
        for values in zip(*batch, strict=True):
            row += 1
            yield row, values


def read_group_rows(source: Source) -> pl.DataFrame:
    """Every record as a frame: ``row`` and the six CERS columns as text.

    Values are trimmed of spaces, as CERS's loader trims them (MySQL ``TRIM``). Memory: the
    frame (string columns), never the file's text; records are read in batches of columns.
    """
    schema = {"row": pl.Int64, **dict.fromkeys(CERS_COLUMNS, pl.String)}
    frames: list[pl.DataFrame] = []
    first = 1
    for columns in _batches(source, _BATCH_ROWS):
        frame = pl.DataFrame(
            dict(zip(CERS_COLUMNS, columns, strict=True)), schema=dict.fromkeys(CERS_COLUMNS, pl.String)
        )
        count = frame.height
        frames.append(
            frame.with_columns(
                pl.int_range(first, first + count, dtype=pl.Int64).alias("row"),
                pl.col(CERS_COLUMNS).str.strip_chars(" "),
            ).select(list(schema))
        )
        first += count
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, rechunk=True)


def _batches(source: Source, size: int) -> Iterator[list[tuple[str, ...]]]:
    """The records in batches of up to ``size``, as six columns (tuples of values) in CERS's order."""
    with _binary(source) as stream:
        reader = CommonsCsvReader(utf8_text(stream, TextFacts()))
        done = 0
        try:
            header = reader.read_header()
            if header is None:
                return
            positions = _positions(header)
            records = reader.records()
            while True:
                chunk = list(islice(records, size))
                if not chunk:
                    return
                width = len(header)
                if positions == list(range(6)) and all(len(record) == width for record in chunk):
                    columns = list(zip(*chunk, strict=True))[:6]
                else:
                    columns = [
                        tuple(record[p] if p < len(record) else "" for record in chunk)
                        if p is not None
                        else ("",) * len(chunk)
                        for p in positions
                    ]
                done += len(chunk)
                yield columns
        except CsvSyntaxError as error:
            raise InvalidFile(
                f"The file is not CSV that CERS can read, after row {done:,}: {error}.",
                hint="Check it on the Check a CSV file page (or with the validate command) for what to fix.",
            ) from None
