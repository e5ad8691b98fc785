"""manifest.csv: which OneRoster version a bundle is, and which of its files hold what.

The manifest is a two-column CSV (``propertyName,value``): ``manifest.version`` (``1.0``),
``oneroster.version`` (``1.1`` or ``1.2``), and one ``file.<name>`` row per file of the
binding saying ``bulk`` (the file holds every record), ``delta`` (only the changes since an
earlier export) or ``absent`` (the file is not supplied).

What we accept, and why:

- OneRoster 1.1 and 1.2 (a ``1.2.1`` is read as 1.2). A bundle with no manifest is
  OneRoster 1.0, whose files differ; we refuse it and say so.
- Only ``bulk`` files among those we read. A delta file says what changed, not who is in a
  section today: with no earlier bulk export to apply it to, no complete group file can be
  made from it, and a partial one would remove everyone it does not mention from CERS's
  groups. A delta file we do not read (``demographics``) does not matter.
- A file we read must be declared: without its row we cannot tell a complete file from a
  delta one. A file declared ``absent`` that is there anyway is left unread, with a warning.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from cers_core.oneroster_csv.binding import FILES, Version
from cers_core.oneroster_csv.bundle import CheckedStream, FileRefused, OpenedBundle
from cers_core.oneroster_csv.report import ProblemCode, ProblemLog

__all__ = ["MANIFEST", "Manifest", "read_manifest"]

MANIFEST = "manifest.csv"
_MODES = ("bulk", "delta", "absent")
_MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a bundle's manifest says, as far as we use it."""

    version: Version
    files: tuple[str, ...]
    """The files to read (``users`` …): declared bulk and present, in the order of ``FILES``."""


def read_manifest(bundle: OpenedBundle, log: ProblemLog, *, wanted: tuple[str, ...] = tuple(FILES)) -> Manifest | None:
    """The manifest of ``bundle``, with its problems logged; None when the bundle cannot be read.

    ``wanted`` are the files the caller needs (all we read, or just ``orgs`` to list schools).
    """
    if not bundle.names and log.has_errors:
        return None  # the bundle itself was refused; the log says why
    stream = bundle.open(MANIFEST)
    if stream is None:
        if MANIFEST not in bundle.names:
            log.add(
                "error",
                ProblemCode.manifest,
                bundle.name,
                "The bundle has no manifest.csv. OneRoster 1.1 and 1.2 bundles always have one; without it this is "
                "a OneRoster 1.0 bundle (which we do not read) or not a OneRoster bundle at all. Ask the SIS for a "
                "OneRoster 1.1 or 1.2 CSV export.",
            )
        return None
    try:
        with stream:
            content = _content(stream)
    except FileRefused:
        return None
    properties = _properties(content, log)
    if properties is None:
        return None
    version = _version(properties, log)
    if version is None:
        return None
    files = [
        name for name in wanted if version in FILES[name].versions and _is_read(name, properties, bundle.names, log)
    ]
    return Manifest(version, tuple(files))


def _content(stream: CheckedStream) -> bytes:
    """The whole manifest (read to its end, so that the stream checks all of it), or its first
    megabyte and a byte more when it is longer."""
    chunks: list[bytes] = []
    size = 0
    while size <= _MAX_MANIFEST_BYTES and (chunk := stream.read(1 << 16)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _properties(content: bytes, log: ProblemLog) -> dict[str, tuple[str, int]] | None:
    """``propertyName`` -> (value, line)."""
    if len(content) > _MAX_MANIFEST_BYTES:
        log.add("error", ProblemCode.manifest, MANIFEST, "manifest.csv is over 1 MB: this is not a manifest.")
        return None
    rows = list(csv.reader(io.StringIO(content.decode("utf-8").removeprefix("\ufeff"), newline="")))
    if not rows or [cell.strip() for cell in rows[0]] != ["propertyName", "value"]:
        log.add(
            "error",
            ProblemCode.manifest,
            MANIFEST,
            "The first line must be the header propertyName,value.",
            line=1,
        )
        return None
    properties: dict[str, tuple[str, int]] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2:
            log.add(
                "error",
                ProblemCode.manifest,
                MANIFEST,
                f"The line has {len(row)} values; each line is a property name and its value.",
                line=line,
            )
            continue
        name, value = row[0].strip(), row[1].strip()
        if name in properties:
            log.add(
                "error",
                ProblemCode.manifest,
                MANIFEST,
                f"{name} is given again (first on line {properties[name][1]}); which one holds?",
                line=line,
                column="propertyName",
            )
            continue
        properties[name] = (value, line)
    return properties


def _version(properties: dict[str, tuple[str, int]], log: ProblemLog) -> Version | None:
    manifest_version, manifest_line = properties.get("manifest.version", ("", None))
    if manifest_version != "1.0":
        log.add(
            "warning",
            ProblemCode.manifest,
            MANIFEST,
            f"manifest.version is {manifest_version or 'missing'}; the binding's manifest is version 1.0, "
            "and we read this one as that.",
            line=manifest_line,
            column="value" if manifest_line else None,
        )
    value, line = properties.get("oneroster.version", ("", None))
    if value in ("1.1",) or value.startswith("1.1."):
        return "1.1"
    if value in ("1.2",) or value.startswith("1.2."):
        return "1.2"
    if not value:
        message = "There is no oneroster.version line, so the bundle's OneRoster version is unknown."
    elif value.startswith("1.0"):
        message = "This is a OneRoster 1.0 bundle, which we do not read: ask the SIS for a 1.1 or 1.2 export."
    else:
        message = f"oneroster.version is {value}: we read OneRoster 1.1 and 1.2 bundles."
    log.add("error", ProblemCode.manifest, MANIFEST, message, line=line, column="value" if line else None)
    return None


def _is_read(name: str, properties: dict[str, tuple[str, int]], present: frozenset[str], log: ProblemLog) -> bool:
    """Whether the file is to be read: declared bulk and there. The rest is logged by its weight."""
    file = FILES[name]
    declared = properties.get(file.manifest_key)
    there = file.file_name in present
    if declared is None:
        if there:
            log.add(
                "error",
                ProblemCode.manifest,
                MANIFEST,
                f"There is no {file.manifest_key} line, so {file.file_name} may hold every record (bulk) or only "
                "changes (delta); add the line saying which.",
            )
        else:
            _absent(name, log)
        return False
    value, line = declared
    mode = value.lower()
    if mode not in _MODES:
        log.add(
            "error",
            ProblemCode.manifest,
            MANIFEST,
            f"{file.manifest_key} is {value!r}; it must be bulk, delta or absent.",
            line=line,
            column="value",
        )
        return False
    if mode == "delta":
        log.add(
            "error",
            ProblemCode.delta,
            MANIFEST,
            f"{file.file_name} is a delta file: it holds only the changes since an earlier export, so it cannot say "
            "who is in each section today. Export a full (bulk) bundle instead.",
            line=line,
            column="value",
        )
        return False
    if mode == "absent":
        if there:
            log.add(
                "warning",
                ProblemCode.ignored_file,
                file.file_name,
                f"manifest.csv says {file.file_name} is absent (line {line}), so it was not read although it is "
                "in the bundle.",
            )
        _absent(name, log)
        return False
    if not there:
        log.add(
            "error",
            ProblemCode.missing_file,
            file.file_name,
            f"manifest.csv says the bundle holds {file.file_name} (line {line}), but it is not there.",
        )
        return False
    return True


def _absent(name: str, log: ProblemLog) -> None:
    file = FILES[name]
    if file.absent is not None:
        log.add(
            file.absent,
            ProblemCode.missing_file,
            file.file_name,
            f"The bundle has no {file.file_name}: {file.without}.",
        )
