"""What left the app, and what the next file changes compared with it.

Every file that leaves (downloaded, or sent to CERS) is logged (when, who, connection, school,
rows, SHA-256: no student data) and kept per school, encrypted, with the sections its groups were
made from (see ``cers_core.store``), so that the next file of the same schools can be compared
with it (:func:`changes_since`, a :class:`~cers_core.group_diff.GroupDiff`). Per school the
file kept is the last one sent to CERS, else the last one downloaded: a comparison says which,
since a file that was only downloaded may never have reached CERS.

Each download and upload is also a line of the run history (``Store.runs``), with what it
changes per school in CERS by kind of change; a scheduled run (:mod:`cers_core.sync`) writes its
own lines. The history is kept for ``CERS_HISTORY_DAYS`` and goes with its connection.

In use (as the Section Groups page does; the tests run it on the demo district)::

    record_file_left(store, saved, export, label="Lincoln High", how="download", who="analyst@district.org")
    found = changes_since(kept_files_for(store, saved.id, later_export), later_export)
    if found is not None:
        print(found.note, found.diff.to_text())
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import polars as pl

from cers_core.brake import SchoolCounts, school_counts
from cers_core.cers_csv.rows import read_group_rows
from cers_core.cers_csv.writer import write_ordered_rows
from cers_core.config import load_config
from cers_core.export import GroupExport
from cers_core.group_diff import GroupDiff, diff_group_files, group_file
from cers_core.store import HeldFile, KeptFile, RosterConnection, SchoolRun, Store
from cers_core.wording import count

if TYPE_CHECKING:
    from cers_core.cers_import import ImportResult

__all__ = [
    "Comparison",
    "SchoolPart",
    "changes_by_school",
    "changes_if_released",
    "changes_since",
    "compare_parts",
    "export_schools",
    "held_part",
    "keep_parts",
    "kept_files_for",
    "record_file_left",
    "record_run",
    "record_upload",
    "school_parts",
]

Sections = list[tuple[str, int, str | None]]


def export_schools(export: GroupExport) -> list[str]:
    """The CDS codes of the schools in an export's file, in file order."""
    return [cds for cds in export.rows["school_natural_id"].unique(maintain_order=True).to_list() if cds]


@dataclass(frozen=True, slots=True)
class SchoolPart:
    """One school's part of a file: its rows (in file order), the file they make on their own, and
    the sections its groups were made from (``(group_name, school_year, class_id)``)."""

    school: str
    name: str
    rows: pl.DataFrame
    csv_bytes: bytes
    sections: Sections

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.csv_bytes).hexdigest()

    @property
    def counts(self) -> SchoolCounts:
        return school_counts(self.rows)

    @property
    def students(self) -> int:
        """Distinct students (SSIDs) in the part."""
        return self.rows.filter(pl.col("student_ssid") != "")["student_ssid"].n_unique()

    def school_run(self, decision: str, *, reason: str = "", changes: dict[str, int] | None = None) -> SchoolRun:
        """The run history's line for this part (see ``cers_core.store.SchoolRun``)."""
        counts = self.counts
        return SchoolRun(
            school=self.school,
            school_name=self.name,
            decision=decision,
            reason=reason,
            groups=counts.groups,
            students=self.students,
            student_rows=counts.student_rows,
            rows=self.rows.height,
            sha256=self.sha256,
            changes=changes or {},
        )


def school_parts(rows: pl.DataFrame, groups: pl.DataFrame) -> list[SchoolPart]:
    """The schools' parts of a file's ``rows`` (in file order), with the ``groups`` they were made of
    (``GroupExport.groups``: ``school_natural_id, school_name, school_year, group_name, class_id``)."""
    parts = []
    for cds in (school for school in rows["school_natural_id"].unique(maintain_order=True).to_list() if school):
        own = rows.filter(pl.col("school_natural_id") == cds)
        mine = groups.filter(pl.col("school_natural_id") == cds)
        names = mine["school_name"].drop_nulls() if "school_name" in mine.columns else pl.Series([], dtype=pl.String)
        sections = mine.select("group_name", pl.col("school_year").cast(pl.Int64), "class_id")
        parts.append(
            SchoolPart(
                school=cds,
                name=names[0] if names.len() else cds,
                rows=own,
                csv_bytes=write_ordered_rows(own),
                sections=[(str(n), int(y), c) for n, y, c in sections.iter_rows()],
            )
        )
    return parts


def keep_parts(
    store: Store, connection_id: int, parts: Sequence[SchoolPart], *, how: Literal["download", "upload"]
) -> None:
    """Keep each school's part for the next comparison (a download never replaces a part sent)."""
    for part in parts:
        store.keep_file(
            connection_id=connection_id,
            school=part.school,
            how=how,
            csv_bytes=part.csv_bytes,
            rows=part.rows.height,
            sha256=part.sha256,
            sections=part.sections,
        )


def record_file_left(
    store: Store,
    saved: RosterConnection,
    export: GroupExport,
    *,
    label: str,
    how: Literal["download", "upload"],
    who: str,
    result: ImportResult | None = None,
) -> None:
    """Log a file that left the app (no student data), keep each school's part of it for the next
    comparison, and add it to the run history with what it changes per school; ``label`` says what
    it was (a school's name, "district", "… → CERS"), ``who`` who let it leave (the signed-in
    e-mail address), ``result`` CERS's answer to an upload."""
    parts = school_parts(export.rows, export.groups)
    kept = kept_files_for(store, saved.id, export)
    changes = changes_by_school(compare_parts(kept, parts), parts, kept)
    digest = hashlib.sha256(export.csv_bytes).hexdigest()
    store.log_download(connection=saved, school=label, rows=export.rows.height, sha256=digest, who=who)
    keep_parts(store, saved.id, parts, how=how)
    decision = "sent" if how == "upload" else "downloaded"
    _record(store, saved, who=who, kind=how, outcome=decision, message=label, export=export, result=result,
            schools=[part.school_run(decision, changes=changes.get(part.school)) for part in parts])  # fmt: skip


def record_upload(
    store: Store, saved: RosterConnection, export: GroupExport, result: ImportResult, *, label: str, who: str
) -> None:
    """An upload from the app in the history; unless CERS rejected it, also logged and kept as sent
    (see :func:`record_file_left`)."""
    if not result.rejected:
        record_file_left(store, saved, export, label=label, how="upload", who=who, result=result)
        return
    reason = f"CERS answered {result.status}"
    parts = school_parts(export.rows, export.groups)
    _record(store, saved, who=who, kind="upload", outcome="rejected", message=label, export=export, result=result,
            schools=[part.school_run("rejected", reason=reason) for part in parts])  # fmt: skip


def _record(
    store: Store,
    saved: RosterConnection,
    *,
    who: str,
    kind: str,
    outcome: str,
    message: str,
    export: GroupExport,
    result: ImportResult | None,
    schools: list[SchoolRun],
) -> None:
    record_run(store, saved, kind=kind, who=who, outcome=outcome, message=message, rows=export.rows.height,
               sha256=hashlib.sha256(export.csv_bytes).hexdigest(), batch=result.batch if result else "",
               cers_status=result.status if result else "", schools=schools)  # fmt: skip


def record_run(
    store: Store,
    saved: RosterConnection,
    *,
    kind: str,
    who: str,
    outcome: str,
    message: str,
    rows: int = 0,
    sha256: str = "",
    batch: str = "",
    cers_status: str = "",
    schools: Sequence[SchoolRun] = (),
) -> None:
    """A line of the run history (see ``cers_core.store.Run``), kept ``CERS_HISTORY_DAYS``."""
    store.record_run(kind=kind, who=who, connection_id=saved.id, connection_name=saved.name, outcome=outcome,
                     message=message, rows=rows, sha256=sha256, batch=batch, cers_status=cers_status, schools=schools,
                     keep_days=load_config().history_days)  # fmt: skip


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
    diff = compare_parts(kept, school_parts(export.rows, export.groups))
    if diff is None:
        return None
    sent = [k for k in kept if k.how == "upload"]
    downloaded = [k for k in kept if k.how != "upload"]
    note = _which_files(sent, downloaded)
    missing = len(schools) - len(kept)
    if missing:
        has = "has" if missing == 1 else "have"
        note += f" {count(missing, 'school')} of this file {has} no earlier file: left out of the comparison."
    return Comparison(diff=diff, note=note, sent=not downloaded)


def compare_parts(kept: Sequence[KeptFile], parts: Sequence[SchoolPart]) -> GroupDiff | None:
    """What ``parts`` change compared with the ``kept`` parts of their schools (only the schools that
    have one take part); None when none has."""
    if not kept:
        return None
    compared = {k.school for k in kept}
    new_parts = [part for part in parts if part.school in compared]
    old_rows = pl.concat([read_group_rows(k.csv_bytes).drop("row") for k in kept])
    old = group_file(old_rows, sections=_sections_frame([(k.school, k.sections) for k in kept]))
    new = group_file(
        pl.concat([old_rows.clear(), *(part.rows for part in new_parts)], how="vertical_relaxed"),
        sections=_sections_frame([(part.school, part.sections) for part in new_parts]),
    )
    return diff_group_files(old, new)


def held_part(held: HeldFile) -> SchoolPart:
    """A part the brake held, as it will be sent if released."""
    rows = read_group_rows(held.csv_bytes).drop("row")
    return SchoolPart(school=held.school, name=held.school_name, rows=rows, csv_bytes=held.csv_bytes,
                      sections=held.sections)  # fmt: skip


def changes_if_released(store: Store, held: HeldFile) -> GroupDiff | None:
    """What a held part changes in CERS, compared with the part last sent for its school (None when
    none was sent from here)."""
    kept = store.kept_file(held.connection_id, held.school)
    if kept is None or kept.how != "upload":
        return None
    return compare_parts([kept], [held_part(held)])


def _sections_frame(parts: Sequence[tuple[str, Sections]]) -> pl.DataFrame:
    return pl.DataFrame(
        [(school, name, year, class_id) for school, sections in parts for name, year, class_id in sections],
        schema={"school_natural_id": pl.String, "group_name": pl.String, "school_year": pl.Int64,
                "class_id": pl.String},
        orient="row",
    )  # fmt: skip


def changes_by_school(
    diff: GroupDiff | None, parts: Sequence[SchoolPart], kept: Sequence[KeptFile]
) -> dict[str, dict[str, int]]:
    """A difference of ``parts`` with the ``kept`` ones (see :func:`compare_parts`) as groups per kind
    of change in CERS, ``unchanged`` included, for each school that had a kept part."""
    if diff is None:
        return {}
    tally = {
        (school, change): n
        for school, change, n in diff.groups.group_by("school_natural_id", "change").len().iter_rows()
    }
    groups_now = {part.school: part.counts.groups for part in parts}
    found = {}
    for school in sorted({k.school for k in kept}):
        counts = {kind: int(tally.get((school, kind), 0)) for kind in ("added", "disappears", "renamed", "changed")}
        counts["unchanged"] = groups_now.get(school, 0) - counts["added"] - counts["renamed"] - counts["changed"]
        found[school] = counts
    return found


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
