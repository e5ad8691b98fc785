"""What left the app, and what the next file changes compared with it.

Every file that leaves (downloaded, or sent to CERS) is logged (when, who, connection, school,
rows, SHA-256: no student data) and kept per school, encrypted, with the sections its groups were
made from (see ``cers_core.store``), so that the next file of the same schools can be compared
with it (:func:`changes_since`, a :class:`~cers_core.group_diff.GroupDiff`). Per school the
file kept is the last one sent to CERS, else the last one downloaded: a comparison says which,
since a file that was only downloaded may never have reached CERS.

Example::

    record_file_left(store, saved, export, label="Lincoln High", how="download", who="analyst@district.org")
    found = changes_since(kept_files_for(store, saved.id, later_export), later_export)
    if found is not None:
        print(found.note, found.diff.to_text())
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from cers_core.cers_csv.rows import read_group_rows
from cers_core.cers_csv.writer import write_ordered_rows
from cers_core.export import GroupExport
from cers_core.group_diff import GroupDiff, diff_group_files, group_file
from cers_core.store import KeptFile, SavedConnection, Store
from cers_core.wording import count

__all__ = ["Comparison", "changes_since", "export_schools", "kept_files_for", "record_file_left"]


def export_schools(export: GroupExport) -> list[str]:
    """The CDS codes of the schools in an export's file, in file order."""
    return [cds for cds in export.rows["school_natural_id"].unique(maintain_order=True).to_list() if cds]


def record_file_left(
    store: Store,
    saved: SavedConnection,
    export: GroupExport,
    *,
    label: str,
    how: Literal["download", "upload"],
    who: str,
) -> None:
    """Log a file that left the app (no student data) and keep each school's part of it for the
    next comparison; ``label`` says what it was (a school's name, "district", "… → CERS"), ``who``
    who let it leave (the signed-in e-mail address)."""
    store.log_download(
        connection=saved,
        school=label,
        rows=export.rows.height,
        sha256=hashlib.sha256(export.csv_bytes).hexdigest(),
        who=who,
    )
    for cds in export_schools(export):
        rows = export.rows.filter(pl.col("school_natural_id") == cds)
        data = write_ordered_rows(rows)
        sections = export.groups.filter(pl.col("school_natural_id") == cds).select(
            "group_name", pl.col("school_year").cast(pl.Int64), "class_id"
        )
        store.keep_file(
            connection_id=saved.id,
            school=cds,
            how=how,
            csv_bytes=data,
            rows=rows.height,
            sha256=hashlib.sha256(data).hexdigest(),
            sections=[(str(n), int(y), c) for n, y, c in sections.iter_rows()],
        )


def kept_files_for(store: Store, connection_id: int, export: GroupExport) -> list[KeptFile]:
    """The files kept for the schools of an export (those that have one), decrypted."""
    found = (store.kept_file(connection_id, cds) for cds in export_schools(export))
    return [kept for kept in found if kept is not None]


@dataclass(frozen=True, slots=True)
class Comparison:
    """What an export changes compared with the files kept for its schools, and which files those are.

    ``sent`` is True when every file compared with was sent to CERS: only then is the difference
    what CERS will do. Otherwise some were only downloaded, and may never have been uploaded.
    """

    diff: GroupDiff
    note: str
    sent: bool


def changes_since(kept: Sequence[KeptFile], export: GroupExport) -> Comparison | None:
    """What this export changes compared with ``kept`` (its schools' kept files: the last sent to
    CERS, else the last downloaded), and a sentence saying which files those are; None when no
    file was kept for any of its schools."""
    schools = export_schools(export)
    if not kept:
        return None
    compared = {k.school for k in kept}
    old_sections = pl.DataFrame(
        [(k.school, name, year, class_id) for k in kept for name, year, class_id in k.sections],
        schema={"school_natural_id": pl.String, "group_name": pl.String, "school_year": pl.Int64,
                "class_id": pl.String},
        orient="row",
    )  # fmt: skip
    old_rows = pl.concat([read_group_rows(k.csv_bytes).drop("row") for k in kept])
    old = group_file(old_rows, sections=old_sections)
    new = group_file(export.rows.filter(pl.col("school_natural_id").is_in(list(compared))), sections=export.groups)
    sent = [k for k in kept if k.how == "upload"]
    downloaded = [k for k in kept if k.how != "upload"]
    note = _which_files(sent, downloaded)
    missing = len(schools) - len(kept)
    if missing:
        has = "has" if missing == 1 else "have"
        note += f" {count(missing, 'school')} of this file {has} no earlier file: left out of the comparison."
    return Comparison(diff=diff_group_files(old, new), note=note, sent=not downloaded)


def _which_files(sent: Sequence[KeptFile], downloaded: Sequence[KeptFile]) -> str:
    """Which files a comparison is with, and whether CERS may never have had them."""

    def when(kept: Sequence[KeptFile]) -> str:
        return f"{max(k.at for k in kept):%Y-%m-%d %H:%M} UTC"

    def schools(kept: Sequence[KeptFile]) -> str:
        return "this school" if len(kept) == 1 else count(len(kept), "school")

    if not downloaded:
        return f"Compared with the file last sent to CERS for {schools(sent)} ({when(sent)})."
    never = "which may never have been uploaded to CERS: none was sent from here"
    if not sent:
        return f"Compared with the file last downloaded for {schools(downloaded)} ({when(downloaded)}), {never}."
    return (
        f"Compared with the file last sent to CERS for {schools(sent)} ({when(sent)}) and, for "
        f"{schools(downloaded)}, the file last downloaded ({when(downloaded)}), {never} for those."
    )
