"""Opening a OneRoster CSV bundle safely: a zip (a path, bytes, or an uploaded file) or a folder.

A bundle comes from outside, so nothing in it is trusted:

- a zip member's path must stay inside the bundle: no ``..`` part, no absolute path, no drive
  letter, no link. Such a bundle is refused whole before anything is read, since no SIS
  writes one and an attacker does;
- sizes are capped (``BundleLimits``): the sizes a zip declares are checked before a member is
  opened (its size, and how well it claims to compress, which is how a zip bomb shows itself),
  then counted again as it streams, because a zip can lie (and a folder's file can grow while a
  nightly job rewrites it);
- in a folder, a file we read must be a plain file in that folder, not a link to elsewhere;
- every file we read must be UTF-8 (a byte-order mark is allowed, as the binding says). It is
  checked as it streams, and a bad byte is reported with its line, column and character.

Nothing is extracted: a file is read as a stream (``CheckedStream``) straight from the zip or
the folder, and the reader hands it to polars in blocks, so no file is ever held whole in
memory and nothing is written to disk.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO

from zlib_ng import zlib_ng

from cers_core.oneroster_csv.report import ProblemCode, ProblemLog

__all__ = ["BundleLimits", "BundleSource", "CheckedStream", "FileRefused", "OpenedBundle", "open_bundle"]

BundleSource = str | os.PathLike[str] | bytes | BinaryIO
"""A ``.zip`` path, a folder path, the bytes of a zip, or a binary file object (an upload)."""

# Of a line quoted in a message (to name the column a bad byte is in), this much is kept.
_KEPT_LINE_BYTES = 1 << 16
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """How much a bundle may hold. The defaults take a district of two million enrollments
    (about 0.4 GB of CSV) with room to spare, and refuse what would swamp a small server."""

    max_total_bytes: int = 4 << 30
    """All the files we read, uncompressed, together."""
    max_ratio: int = 200
    """How many times smaller than its content a zip member may be (roster CSV compresses
    about 5 to 15 times; a zip bomb a thousand times). Members under ``ratio_floor`` are exempt."""
    ratio_floor: int = 1 << 20
    max_members: int = 10_000


class FileRefused(Exception):
    """A file of the bundle turned out unusable while it was read; the problem is in the log."""


class _Budget:
    """The bytes the bundle's files may still use, together. A file takes its size when it is
    opened, before anything is read: files are opened one after another in a fixed order (and may
    then be read side by side), so what is left for each is the same on every run."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.total = total

    def take(self, size: int, file: str, log: ProblemLog) -> bool:
        """Take ``size`` bytes for ``file``; when they are not left, log why and take nothing."""
        if size > self.left:
            log.add(
                "error",
                ProblemCode.too_large,
                file,
                f"The file is {_size(size)}, more than the {_size(self.left)} left of the bundle's limit "
                f"({_size(self.total)} for the files we read). It was not read.",
            )
            return False
        self.left -= size
        return True


_Opener = Callable[[str, ProblemLog], "CheckedStream | None"]


class OpenedBundle:
    """The files of an open bundle, by name (``users.csv``), each opened as a checked stream."""

    def __init__(self, name: str, names: frozenset[str], opener: _Opener, log: ProblemLog) -> None:
        self.name = name
        """How to name the bundle in a message: its file or folder name, or the upload's name."""
        self.names = names
        """The files at the bundle's top (or in the one folder of the zip that holds manifest.csv)."""
        self._opener = opener
        self._log = log

    def open(self, file: str, log: ProblemLog | None = None) -> CheckedStream | None:
        """The file as a stream, ready to read, its problems logged to ``log`` (by default the
        bundle's); None when it is not there or was refused (the log says why)."""
        return self._opener(file, self._log if log is None else log) if file in self.names else None


@contextlib.contextmanager
def open_bundle(source: BundleSource, log: ProblemLog, limits: BundleLimits | None = None) -> Iterator[OpenedBundle]:
    """Open ``source``; what makes it unusable is logged as an error, and the bundle then has no files."""
    limits = limits or BundleLimits()
    budget = _Budget(limits.max_total_bytes)
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        yield _folder(Path(source), log, limits, budget)
        return
    name = _display_name(source)
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        log.add("error", ProblemCode.unreadable_bundle, name, _not_a_zip(source, error))
        yield OpenedBundle(name, frozenset(), _nothing, log)
        return
    with archive:
        yield _zip(archive, name, log, limits, budget)


def _nothing(_file: str, _log: ProblemLog) -> None:
    return None


def _display_name(source: BundleSource) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    named = getattr(source, "name", None)
    return Path(named).name if isinstance(named, str) and named else "the uploaded bundle"


def _not_a_zip(source: BundleSource, error: Exception) -> str:
    if isinstance(source, (str, os.PathLike)) and not Path(source).exists():
        return "There is no file or folder at this path."
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".csv":
        return (
            "This is one CSV file, not a bundle. Give the zip file the SIS exported "
            "(manifest.csv, orgs.csv, users.csv … together), or the folder they are in."
        )
    return f"This is not a zip file that can be read ({error}). Export the OneRoster CSV bundle again."


# -- a zip ------------------------------------------------------------------------------


def _zip(archive: zipfile.ZipFile, name: str, log: ProblemLog, limits: BundleLimits, budget: _Budget) -> OpenedBundle:
    refused = OpenedBundle(name, frozenset(), _nothing, log)
    members = archive.infolist()
    if len(members) > limits.max_members:
        log.add(
            "error",
            ProblemCode.too_large,
            name,
            f"The zip holds {len(members):,} files; a OneRoster bundle holds a few dozen at most "
            f"(the limit is {limits.max_members:,}).",
        )
        return refused
    unsafe = [(member, _unsafe_reason(member)) for member in members]
    for member, reason in unsafe:
        if reason:
            log.add(
                "error",
                ProblemCode.unsafe_member,
                name,
                f"The zip holds {member.filename!r}, {reason}. Nothing was read: a bundle whose paths "
                "leave it is refused whole.",
            )
    if any(reason for _, reason in unsafe):
        return refused
    root = _root(members, name, log)
    if root is None:
        return refused
    by_name: dict[str, zipfile.ZipInfo] = {}
    for member in members:
        path = PurePosixPath(member.filename)
        if member.is_dir() or str(path.parent) != root:
            continue
        if path.name in by_name:
            log.add("error", ProblemCode.unreadable_bundle, name, f"The zip holds {path.name} twice.")
            return refused
        by_name[path.name] = member

    def opener(file: str, file_log: ProblemLog) -> CheckedStream | None:
        return _open_member(archive, by_name[file], file_log, limits, budget)

    return OpenedBundle(name, frozenset(by_name), opener, log)


def _unsafe_reason(member: zipfile.ZipInfo) -> str:
    """Why a member's path is unsafe to honour, or "" when it is not."""
    raw = member.filename
    if raw.startswith(("/", "\\")):
        return "an absolute path"
    if _DRIVE.match(raw):
        return "a path with a drive letter"
    if ".." in re.split(r"[\\/]", raw):
        return "a path that climbs out of the bundle with '..'"
    if stat.S_ISLNK(member.external_attr >> 16):
        return "a symbolic link"
    return ""


def _root(members: list[zipfile.ZipInfo], name: str, log: ProblemLog) -> str | None:
    """The bundle's folder in the zip: its top, or the one folder holding manifest.csv (a zipped folder)."""
    manifests = sorted(
        str(PurePosixPath(m.filename).parent) for m in members if PurePosixPath(m.filename).name == "manifest.csv"
    )
    if not manifests or "." in manifests:
        return "."
    if len(manifests) > 1:
        log.add(
            "error",
            ProblemCode.unreadable_bundle,
            name,
            f"The zip holds {len(manifests)} bundles (manifest.csv in {', '.join(manifests[:5])}); give one at a time.",
        )
        return None
    return manifests[0]


def _open_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, log: ProblemLog, limits: BundleLimits, budget: _Budget
) -> CheckedStream | None:
    file = PurePosixPath(member.filename).name
    # The declared sizes first: a refusal here decompresses nothing. (zipfile gives no more than
    # the declared size, and a member that holds more fails its CRC check: it is reported damaged.)
    if not budget.take(member.file_size, file, log):
        return None
    if member.file_size > limits.ratio_floor and member.file_size > limits.max_ratio * max(member.compress_size, 1):
        log.add("error", ProblemCode.too_large, file, _too_compressed(member.file_size, member.compress_size))
        return None
    if member.flag_bits & 0x1:
        log.add("error", ProblemCode.unreadable_bundle, file, "The file is encrypted: export it with no password.")
        return None
    try:
        source = archive.open(member)
    except (zipfile.BadZipFile, NotImplementedError, OSError) as error:
        log.add("error", ProblemCode.unreadable_bundle, file, _damaged(error))
        return None
    if member.compress_type == zipfile.ZIP_DEFLATED:
        # The same deflate, inflated by zlib-ng four to five times faster than by zlib (lausd's 240 MB
        # enrollments.csv: 0.2 s instead of 1 s). zipfile still reads the member and checks its size
        # and CRC; only its decompressor is swapped, before the first read.
        source._decompressor = zlib_ng.decompressobj(-zlib_ng.MAX_WBITS)
    return CheckedStream(source, file, log, limits, member.file_size, compressed=member.compress_size)


def _damaged(error: Exception) -> str:
    if isinstance(error, NotImplementedError):
        return f"The file is compressed in a way we cannot read ({error}); zip it again with standard compression."
    return f"The file is damaged in the zip ({error}). Export the bundle again."


def _size(count: int) -> str:
    """A size as a person reads it: ``12 bytes``, ``340 kB``, ``1.5 MB``, ``4.3 GB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{count} byte{'' if count == 1 else 's'}"


def _too_compressed(size: int, compressed: int) -> str:
    return (
        f"The file is compressed {size / max(compressed, 1):,.0f} times ({_size(size)} in {_size(compressed)}): "
        "roster files compress about 10 times, so this looks like a zip bomb. It was not read."
    )


# -- a folder ---------------------------------------------------------------------------


def _folder(folder: Path, log: ProblemLog, limits: BundleLimits, budget: _Budget) -> OpenedBundle:
    name = folder.name or str(folder)
    try:
        names = frozenset(entry.name for entry in os.scandir(folder))
    except OSError as error:
        log.add("error", ProblemCode.unreadable_bundle, name, f"The folder cannot be read ({error.strerror}).")
        return OpenedBundle(name, frozenset(), _nothing, log)

    def opener(file: str, file_log: ProblemLog) -> CheckedStream | None:
        path = folder / file
        if path.is_symlink():
            file_log.add(
                "error",
                ProblemCode.unsafe_member,
                file,
                "The file is a link to another place; copy the file itself into the bundle's folder.",
            )
            return None
        if not path.is_file() or path.resolve().parent != folder.resolve():
            file_log.add("error", ProblemCode.unsafe_member, file, "This is not a plain file in the bundle's folder.")
            return None
        size = path.stat().st_size
        if not budget.take(size, file, file_log):
            return None
        return CheckedStream(path.open("rb"), file, file_log, limits, size)

    return OpenedBundle(name, names, opener, log)


# -- a file as it streams: counted, and checked to be UTF-8 ----------------------------


class CheckedStream:
    """One file of a bundle as it is read: its bytes counted against the size taken for it from
    the bundle's budget, ``allowed`` (and, from a zip, against how well it was compressed) and
    checked to be UTF-8 on the way.

    ``read`` raises ``FileRefused``, with the problem logged, as soon as the file turns out
    unusable: larger than when it was opened, compressed like a bomb, damaged, UTF-16, or not UTF-8.
    """

    def __init__(
        self,
        source: BinaryIO,
        file: str,
        log: ProblemLog,
        limits: BundleLimits,
        allowed: int,
        *,
        compressed: int | None = None,
    ) -> None:
        self.file = file
        self._source = source
        self._log = log
        self._limits = limits
        self._allowed = allowed
        self._compressed = compressed
        self._count = 0
        self._unchecked = b""  # the start of a character cut by the last read
        self._position = _Position()

    def __enter__(self) -> CheckedStream:
        return self

    def __exit__(self, *exc_info: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._source.close()

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes (b"" at the end), all of them UTF-8 but perhaps the start of a
        character the next read completes."""
        try:
            data = self._source.read(size)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError) as error:
            self._refuse(ProblemCode.unreadable_bundle, _damaged(error))
        if self._count == 0 and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            self._refuse(
                ProblemCode.not_utf8,
                'The file is UTF-16 text ("Unicode text"); the binding asks for UTF-8. '
                'Export it again as UTF-8 (in Excel: Save As "CSV UTF-8").',
            )
        self._count += len(data)
        self._check_size()
        self._check_utf8(data)
        return data

    def _check_size(self) -> None:
        if self._count > self._allowed:
            self._refuse(
                ProblemCode.too_large,
                f"The file grew while it was read: it held {_size(self._allowed)} when it was opened, and reading "
                "stopped there. Read the bundle again once the job that writes it has finished.",
            )
        compressed, limits = self._compressed, self._limits
        if compressed is not None and self._count > limits.ratio_floor and self._count > limits.max_ratio * compressed:
            self._refuse(ProblemCode.too_large, _too_compressed(self._count, compressed))

    def _check_utf8(self, data: bytes) -> None:
        text, end = self._unchecked + data, not data
        try:
            # ASCII is UTF-8, and checking for it is many times faster than decoding.
            checked = len(text) if text.isascii() else codecs.utf_8_decode(text, "strict", end)[1]
        except UnicodeDecodeError as error:
            message, line, column = self._position.not_utf8(text, error)
            self._log.add("error", ProblemCode.not_utf8, self.file, message, line=line, column=column)
            raise FileRefused(self.file) from None
        self._position.advance(text[:checked])
        self._unchecked = text[checked:]

    def _refuse(self, code: ProblemCode, message: str) -> None:
        self._log.add("error", code, self.file, message)
        raise FileRefused(self.file)


class _Position:
    """Where a stream is: lines passed, its header and its current line so far (both capped)."""

    def __init__(self) -> None:
        self.lines = 1
        self.header = b""
        self.line_start = b""

    def advance(self, data: bytes) -> None:
        if self.lines == 1:
            self.header = (self.header + data.split(b"\n", 1)[0])[:_KEPT_LINE_BYTES]
        newlines = data.count(b"\n")
        self.lines += newlines
        tail = data[data.rfind(b"\n") + 1 :] if newlines else self.line_start + data
        self.line_start = tail[-_KEPT_LINE_BYTES:]

    def not_utf8(self, data: bytes, error: UnicodeDecodeError) -> tuple[str, int, str | None]:
        """The message, line and column for the first byte of ``data`` that is not UTF-8."""
        before = data[: error.start]
        newlines = before.count(b"\n")
        line = self.lines + newlines
        start = before[before.rfind(b"\n") + 1 :] if newlines else self.line_start + before
        text = start.decode("utf-8", errors="replace").removeprefix("\ufeff")
        column = None
        if line > 1:  # the field the byte is in, named by the header
            fields = next(csv.reader([text]), [""])
            first_line = self.header if self.lines > 1 else data.split(b"\n", 1)[0]
            header = next(csv.reader([first_line.decode("utf-8", errors="replace").removeprefix("\ufeff")]), [])
            column = header[len(fields) - 1].strip() if 0 < len(fields) <= len(header) else None
        bad = data[error.start : error.end].hex(" ").upper()
        message = (
            f"The file is not UTF-8 text: character {len(text) + 1} of the line is the byte {bad}, which UTF-8 "
            'does not allow. It was probably saved as Windows-1252 ("ANSI") or Latin-1: export it again as UTF-8 '
            '(in Excel: Save As "CSV UTF-8").'
        )
        return message, line, column
