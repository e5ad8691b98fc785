"""What left the app, and what the next file changes compared with it.

Every file that leaves (downloaded, or sent to CERS) is logged (when, who, connection, school,
rows, SHA-256: no student data) and kept per school, encrypted, with the sections its groups were
made from (see ``cers_core.store``), so that the next file of the same schools can be compared
with it (:func:`changes_since`, a :class:`~cers_core.group_diff.GroupDiff`).

Example::

    record_file_left(store, saved, export, label="Lincoln High", how="download", who="analyst@district.org")
    found = changes_since(kept_files_for(store, saved.id, later_export), later_export)
    if found is not None:
        diff, note = found
        print(note, diff.to_text())
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import polars as pl

from cers_core.cers_csv.rows import read_group_rows
from cers_core.cers_csv.writer import write_ordered_rows
from cers_core.export import GroupExport
from cers_core.group_diff import GroupDiff, diff_group_files, group_file
from cers_core.store import KeptFile, SavedConnection, Store

__all__ = ["changes_since", "export_schools", "kept_files_for", "record_file_left"]


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


def changes_since(kept: Sequence[KeptFile], export: GroupExport) -> tuple[GroupDiff, str] | None:
    """What this export changes compared with ``kept`` (its schools' kept files), and a sentence
    saying which files those are; None when no file was kept for any of its schools."""
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
    when = max(kept, key=lambda k: k.at)
    verb = "sent to CERS" if when.how == "upload" else "downloaded"
    missing = len(schools) - len(kept)
    note = f"Compared with the file last {verb} for {'these schools' if len(kept) > 1 else 'this school'} "
    note += f"({when.at:%Y-%m-%d %H:%M} UTC)."
    if missing:
        note += f" {missing:,} of the schools have no earlier file and are left out of the comparison."
    return diff_group_files(old, new), note
