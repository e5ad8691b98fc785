"""The scheduled sync: each connection with an upload target, read, built, checked, compared, braked, sent.

Districts do not want to remember to upload groups, and CERS only shows a teacher the students in
their groups. ``python -m cers_core sync`` (a cron line, a systemd timer, a Kubernetes CronJob:
see ``deploy/``) runs :func:`sync` over every connection that has an upload target (a CERS import
connection linked to it) or the ones named: a OneRoster provider's, or a CSV bundle's that a
nightly job writes on the server (its saved path, inside ``CERS_BUNDLE_FOLDERS``). For each:

1. **read** the whole district's rosters and build the connection's file: its group sets put
   together (:mod:`cers_core.consolidate`), else its own group options;
2. **check** it as CERS would: a file CERS would reject, or one that leaves a school out for want
   of a CDS code, is not sent (held, with the reason);
3. **compare** each school's part with the part last sent to CERS (:mod:`cers_core.history`): an
   identical part is not sent again (nothing changes in CERS);
4. **brake** (:mod:`cers_core.brake`): a school whose student rows or groups fall more than the
   connection allows, or that had groups and has none, is held and the reason recorded; its part
   is kept encrypted until an administrator releases it (:func:`release_held`, from the History
   page) or a later run sends the school;
5. **send** the other changed schools in one file (:func:`cers_core.cers_import.upload_group_file`),
   wait for CERS's verdict, keep each school's part as sent, and record the run in the history.

**The rosters are read in full every night**, not as a delta on a snapshot kept on disk
(:class:`~cers_core.oneroster.snapshot.RosterSnapshot` keeps one in memory, for an app session).
A snapshot on disk would be a second copy of the district's rosters (names, e-mail addresses,
SSIDs: far more than the files kept), and a delta cannot see a record the SIS deleted outright
rather than marking it ``tobedeleted``: a dropped enrollment would stay in the snapshot, and the
student in their old teacher's group in CERS, night after night, where no brake can see it. A full
read of the largest district in the state takes minutes (``docs/performance.md``), which a nightly
window has; within one run, each connection is read once for all its group sets.

**Two runs never both send.** A run takes the data folder's ``sync`` lock (a row in the store
taken in one ``BEGIN IMMEDIATE`` transaction, with an owner and an expiry, renewed between
connections, so a crashed run does not block the next ones for ever); a second run finds it taken
and stops before reading anything (:class:`SyncBusy`). Releasing a held upload takes it too.

In use (the ``sync`` command does this; the tests run it against the demo district)::

    report = sync(store, who="sync by cers@host")
    for line in report.lines():
        print(line)
    raise SystemExit(report.exit_code)
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from cers_core.brake import BrakeSettings, SchoolCounts, held_because
from cers_core.cers_csv.rows import read_group_rows
from cers_core.cers_csv.writer import write_ordered_rows
from cers_core.cers_import import UploadContext, upload_group_file
from cers_core.errors import CersError, SettingsError, UploadOutcomeUnknown, UploadRefused
from cers_core.export import ExportContext, GroupExport, export_file_name, export_from_bundle, export_section_groups
from cers_core.history import (
    SchoolPart,
    changes_by_school,
    compare_parts,
    held_part,
    keep_parts,
    record_run,
    school_parts,
)
from cers_core.http.egress import Egress, current_egress
from cers_core.http.retry import RetryPolicy
from cers_core.oneroster_csv.server_bundle import saved_bundle_path
from cers_core.store import KeptFile, RosterConnection, SavedConnection, SchoolRun, Store
from cers_core.wording import count

__all__ = ["ConnectionSync", "ExitCode", "SyncBusy", "SyncContext", "SyncOutcome", "SyncReport", "release_held", "sync"]

LOCK_NAME = "sync"
# Beyond a run's own limits, time for the store and the comparisons before its lock may be taken over.
_LOCK_MARGIN_SECONDS = 600.0
_REASONS_SHOWN = 3


class ExitCode(IntEnum):
    """What ``sync`` exits with, for schedulers; with several connections, the most serious of theirs
    (in this order: ``outcome_unknown``, ``cers_rejected``, ``connection_error``, ``held``)."""

    ok = 0
    """Sent, or nothing to send."""
    held = 1
    """Held by the brake (or because CERS would reject the file): a person should look."""
    usage = 2
    connection_error = 3
    """The SIS or the CERS import service could not be reached, or refused the credentials."""
    cers_rejected = 4
    outcome_unknown = 5
    """The file may have reached CERS: check its batch in CERS before sending again."""
    busy = 6
    """Another sync holds the data folder's lock: this run did nothing."""


_SEVERITY = (ExitCode.outcome_unknown, ExitCode.cers_rejected, ExitCode.connection_error, ExitCode.held, ExitCode.ok)


class SyncOutcome(StrEnum):
    """What a run did for a connection."""

    sent = "sent"
    nothing_to_send = "nothing_to_send"
    held = "held"
    failed = "failed"
    rejected = "rejected"
    unknown = "unknown"

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT_OF[self]


_EXIT_OF = {
    SyncOutcome.sent: ExitCode.ok,
    SyncOutcome.nothing_to_send: ExitCode.ok,
    SyncOutcome.held: ExitCode.held,
    SyncOutcome.failed: ExitCode.connection_error,
    SyncOutcome.rejected: ExitCode.cers_rejected,
    SyncOutcome.unknown: ExitCode.outcome_unknown,
}


class SyncBusy(CersError):
    """Another run holds the data folder's ``sync`` lock; nothing was read or sent."""


@dataclass(frozen=True, slots=True)
class SyncContext:
    """What a run needs besides the store; all optional.

    ``egress``: where requests may go and the export's deadline (None: the process's);
    ``upload_wait``: how long to wait for CERS's verdict; ``as_of``: the day (default today);
    ``on_progress``: a sentence at each step. ``transport`` and ``retry`` reach and pace the SIS
    (tests give a demo provider's); ``upload`` is how CERS's import service is reached and polled
    (its wait, progress and egress are the ones above); ``bundle_folders``: where a CSV bundle
    connection's bundle may be read (``CERS_BUNDLE_FOLDERS``, as in the app).
    """

    egress: Egress | None = None
    upload_wait: float = 300.0
    as_of: date | None = None
    on_progress: Callable[[str], None] | None = None
    transport: httpx.AsyncBaseTransport | None = None
    retry: RetryPolicy | None = None
    upload: UploadContext = field(default_factory=UploadContext)
    bundle_folders: tuple[Path, ...] = ()

    def say(self, text: str) -> None:
        if self.on_progress is not None:
            self.on_progress(text)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionSync:
    """What a run did for one connection: the outcome, a one-line summary, each school's decision,
    CERS's answer (``batch``, ``cers_status``, ``import_id``) and ``details`` (CERS's report of a
    rejected file, mapped to the file)."""

    connection_id: int
    connection: str
    outcome: SyncOutcome
    summary: str
    schools: tuple[SchoolRun, ...] = ()
    batch: str = ""
    cers_status: str = ""
    import_id: int | None = None
    rows: int = 0
    details: str = ""

    @property
    def exit_code(self) -> ExitCode:
        return self.outcome.exit_code

    def to_json(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "connection_id": self.connection_id,
            "outcome": self.outcome.value,
            "exit_code": int(self.exit_code),
            "summary": self.summary,
            "rows_sent": self.rows,
            "import": {"id": self.import_id, "batch": self.batch, "status": self.cers_status},
            "schools": [
                {
                    "school": s.school,
                    "name": s.school_name,
                    "decision": s.decision,
                    "reason": s.reason,
                    "groups": s.groups,
                    "students": s.students,
                    "student_rows": s.student_rows,
                    "rows": s.rows,
                    "sha256": s.sha256,
                    "changes": dict(s.changes),
                }
                for s in self.schools
            ],
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class SyncReport:
    """A whole run: when, and what it did for each connection."""

    started: datetime
    finished: datetime
    connections: list[ConnectionSync] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        codes = {c.exit_code for c in self.connections}
        return next((code for code in _SEVERITY if code in codes), ExitCode.ok)

    def lines(self) -> list[str]:
        """One line per connection (or one saying there was nothing to sync)."""
        if not self.connections:
            return ["Nothing to sync: no connection has a CERS import connection to send to (link one on the CERS "
                    "Connections page)."]  # fmt: skip
        return [c.summary for c in self.connections]

    def to_json(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "exit_code": int(self.exit_code),
            "connections": [c.to_json() for c in self.connections],
        }


def sync(store: Store, *, who: str, connections: Sequence[str] = (), context: SyncContext | None = None) -> SyncReport:
    """Run every connection that has an upload target, or those named (by name, ignoring case).

    Raises ``SettingsError`` for a name that is no connection, or one without an upload target,
    and :class:`SyncBusy` when another run holds the lock. Errors of one connection (its SIS or
    CERS unreachable) are its outcome; the others still run.
    """
    context = context or SyncContext()
    chosen = _chosen(store, connections)
    started = _now()
    with _lock(store, context) as renew:
        done = []
        for saved in chosen:
            done.append(_sync_connection(store, saved, who=who, context=context))
            renew()
    return SyncReport(started=started, finished=_now(), connections=done)


def release_held(
    store: Store, saved: RosterConnection, schools: Sequence[str], *, who: str, context: SyncContext | None = None
) -> ConnectionSync:
    """Send the held parts of ``schools`` (CDS codes) to the connection's upload target as they were
    held, after a person looked at what they change; kept as sent and recorded (``release``).

    Raises :class:`SyncBusy` while a run holds the lock, and ``SettingsError`` when the connection
    has no upload target or none of these schools is held.
    """
    context = context or SyncContext()
    held = [h for h in store.held_files(saved.id) if h.school in set(schools)]
    if not held:
        raise SettingsError(
            "None of these schools has an upload held any more: a later run may have sent it.",
            hint="Reload the page.",
        )
    with _lock(store, context):
        return _send(store, saved, [held_part(h) for h in held], kind="release", who=who, context=context,
                     decisions={})  # fmt: skip


# -- one connection ----------------------------------------------------------------------------


def _export(store: Store, saved: RosterConnection, context: SyncContext) -> GroupExport:
    """The whole district's file of ``saved``, read from its provider or from its bundle on the server."""
    group_sets = [g.group_set for g in store.group_sets(saved.id)]
    if isinstance(saved, SavedConnection):
        return export_section_groups(
            store.settings(saved),
            saved.options,
            as_of=context.as_of,
            group_sets=group_sets,
            context=ExportContext(egress=context.egress, transport=context.transport, retry=context.retry),
        )
    path = saved_bundle_path(saved.settings.path, allowed=context.bundle_folders)
    return export_from_bundle(path, saved.options, as_of=context.as_of, group_sets=group_sets)


def _chosen(store: Store, names: Sequence[str]) -> list[RosterConnection]:
    everything = store.roster_connections()
    with_target = [s for s in everything if store.sync_target(s.id).import_connection_id is not None]
    if not names:
        return with_target
    by_name = {s.name.casefold(): s for s in everything}
    unknown = [name for name in names if name.casefold() not in by_name]
    if unknown:
        known = ", ".join(s.name for s in everything) or "none"
        raise SettingsError(
            f"No saved connection is named {', '.join(repr(n) for n in unknown)} (saved: {known}).",
            field="connection",
            hint="Give a connection's name as the CERS Connections page shows it.",
        )
    chosen = list(dict.fromkeys(by_name[name.casefold()].id for name in names))
    without = [s.name for s in everything if s.id in chosen and s not in with_target]
    if without:
        raise SettingsError(
            f"Connection {', '.join(repr(n) for n in without)} has no CERS import connection to send to.",
            field="connection",
            hint="Link one on the CERS Connections page (Scheduled sync), then run again.",
        )
    return [s for s in with_target if s.id in chosen]


def _sync_connection(store: Store, saved: RosterConnection, *, who: str, context: SyncContext) -> ConnectionSync:
    target = store.sync_target(saved.id)
    context.say(f"{saved.name}: reading the rosters…")
    try:
        export = _export(store, saved, context)
    except CersError as error:
        return _record(
            store,
            saved,
            who=who,
            kind="sync",
            done=ConnectionSync(
                connection_id=saved.id,
                connection=saved.name,
                outcome=SyncOutcome.failed,
                summary=f"{saved.name}: not sent: the rosters could not be read. {error}",
            ),
        )
    parts = school_parts(export.rows, export.groups)
    sent = _last_sent(store, saved.id)
    changes = changes_by_school(compare_parts(list(sent.values()), parts), parts, list(sent.values()))
    decisions: dict[str, SchoolRun] = {}
    to_send: list[SchoolPart] = []
    whole_file = _why_not_sent(export)
    for part in parts:
        before = sent.get(part.school)
        if before is not None and before.sha256 == part.sha256:
            decisions[part.school] = part.school_run("unchanged", changes=changes.get(part.school))
            continue
        reason = whole_file or held_because(_counts(before), part.counts, target.brake)
        if reason:
            decisions[part.school] = part.school_run("held", reason=reason, changes=changes.get(part.school))
            store.hold_file(connection_id=saved.id, school=part.school, school_name=part.name, reason=reason,
                            csv_bytes=part.csv_bytes, rows=part.rows.height, sha256=part.sha256,
                            sections=part.sections)  # fmt: skip
        else:
            to_send.append(part)
    decisions |= _vanished(export, sent, {p.school for p in parts}, target.brake)
    store.drop_held_files(saved.id, [s for s, d in decisions.items() if d.decision == "unchanged"])
    if not to_send:
        return _record(store, saved, who=who, kind="sync", done=_without_sending(saved, decisions))
    return _send(store, saved, to_send, kind="sync", who=who, context=context, decisions=decisions, changes=changes)


def _last_sent(store: Store, connection_id: int) -> dict[str, KeptFile]:
    """Each school's part last sent to CERS for the connection."""
    kept = (store.kept_file(connection_id, school) for school in store.kept_schools(connection_id, how="upload"))
    return {k.school: k for k in kept if k is not None and k.how == "upload"}


def _counts(kept: KeptFile | None) -> SchoolCounts | None:
    if kept is None:
        return None
    rows = read_group_rows(kept.csv_bytes)
    return SchoolCounts(
        groups=rows.select("group_name", "school_year").unique().height,
        student_rows=int((rows["student_ssid"] != "").sum()),
    )


def _why_not_sent(export: GroupExport) -> str:
    """Why none of the file may be sent (empty when it may): CERS would reject it, or a school is left out."""
    if not export.validation.accepted or (export.problems["severity"] == "error").any():
        found = [f.message for f in export.validation.errors] + export.problems.filter(
            (pl.col("severity") == "error") & (pl.col("code") != "school_without_cds")
        )["message"].to_list()
        if found:
            shown = list(dict.fromkeys(found))
            more = f" (and {len(shown) - _REASONS_SHOWN:,} more)" if len(shown) > _REASONS_SHOWN else ""
            return f"CERS would reject the file: {'; '.join(shown[:_REASONS_SHOWN])}{more}"
    left = export.schools_left_out
    if left.height:
        names = ", ".join(f"{row['name']} (sourcedId {row['sourced_id']})" for row in left.iter_rows(named=True))
        return (
            f"{count(left.height, 'school')} left out of the file for want of a CDS code ({names}): add it in the "
            "connection's advanced settings, as export --upload requires every school first"
        )
    return ""


def _vanished(
    export: GroupExport, sent: dict[str, KeptFile], now_in_file: set[str], brake: BrakeSettings
) -> dict[str, SchoolRun]:
    """The schools that had groups in the last file sent and have none now (still chosen schools)."""
    chosen = dict(export.schools.select("cds", "name").drop_nulls("cds").iter_rows())
    found = {}
    for school, before in sent.items():
        if school in now_in_file or school not in chosen:
            continue
        reason = held_because(_counts(before), SchoolCounts(groups=0, student_rows=0), brake)
        found[school] = SchoolRun(
            school=school,
            school_name=chosen[school],
            decision="held" if reason else "unchanged",
            reason=reason or "no groups now: nothing to send (CERS keeps its groups)",
        )
    return found


def _without_sending(saved: RosterConnection, decisions: dict[str, SchoolRun]) -> ConnectionSync:
    held = [d for d in decisions.values() if d.decision == "held"]
    unchanged = sum(d.decision == "unchanged" for d in decisions.values())
    if held:
        summary = f"{saved.name}: HELD {_held_words(held)}; nothing sent"
        summary += f"; {count(unchanged, 'school')} unchanged." if unchanged else "."
        outcome = SyncOutcome.held
    else:
        summary = f"{saved.name}: nothing to send: " + (
            f"{count(unchanged, 'school')} unchanged since the last file sent." if unchanged else "no groups."
        )
        outcome = SyncOutcome.nothing_to_send
    return ConnectionSync(connection_id=saved.id, connection=saved.name, outcome=outcome, summary=summary,
                          schools=tuple(decisions.values()))  # fmt: skip


def _held_words(held: list[SchoolRun]) -> str:
    first = held[0]
    words = f"{count(len(held), 'school')} ({first.school_name} {first.school}: {first.reason}"
    words += f"; and {len(held) - 1:,} more)" if len(held) > 1 else ")"
    return words + " — see the History page to release"


def _send(
    store: Store,
    saved: RosterConnection,
    parts: list[SchoolPart],
    *,
    kind: str,
    who: str,
    context: SyncContext,
    decisions: dict[str, SchoolRun],
    changes: dict[str, dict[str, int]] | None = None,
) -> ConnectionSync:
    """Send ``parts`` as one file to the connection's upload target; keep them as sent unless CERS
    rejected them; record the run with every school's decision."""
    rows = pl.concat([part.rows for part in parts], how="vertical_relaxed")
    data = write_ordered_rows(rows)
    sending = "released" if kind == "release" else "sent"
    held = [d for d in decisions.values() if d.decision == "held"]
    unchanged = sum(d.decision == "unchanged" for d in decisions.values())
    others = (f"; {count(unchanged, 'school')} unchanged" if unchanged else "") + (
        f"; HELD {_held_words(held)}" if held else ""
    )

    def done(outcome: SyncOutcome, decision: str, summary: str, reason: str = "", **answer: Any) -> ConnectionSync:
        tried = {p.school: p.school_run(decision, reason=reason, changes=(changes or {}).get(p.school)) for p in parts}
        schools = tuple(sorted({**decisions, **tried}.values(), key=lambda school: school.school))
        made = ConnectionSync(connection_id=saved.id, connection=saved.name, outcome=outcome, summary=summary,
                              schools=schools, rows=rows.height, **answer)  # fmt: skip
        return _record(store, saved, who=who, kind=kind, done=made, sha256=hashlib.sha256(data).hexdigest())

    target = store.sync_target(saved.id)
    context.say(f"{saved.name}: sending {count(len(parts), 'school')} to CERS…")
    try:
        if target.import_connection_id is None:
            raise SettingsError(
                "It has no CERS import connection to send to.",
                hint="Link one on the CERS Connections page (Scheduled sync).",
            )
        settings = store.import_settings(store.import_connection(target.import_connection_id))
        upload = dataclasses.replace(
            context.upload, max_wait=context.upload_wait, on_progress=context.on_progress, egress=context.egress
        )
        day = context.as_of or date.today()
        name = export_file_name(parts[0].school if len(parts) == 1 else None, day)
        result = upload_group_file(settings, data, file_name=name, context=upload)
    except UploadOutcomeUnknown as error:
        summary = f"{saved.name}: OUTCOME UNKNOWN: {error}{others}."
        return done(SyncOutcome.unknown, "unknown", summary, str(error), batch=error.batch)
    except UploadRefused as error:
        return done(SyncOutcome.held, "held", f"{saved.name}: HELD: {error}{others}.", str(error))
    except CersError as error:
        return done(SyncOutcome.failed, "not_sent", f"{saved.name}: not sent: {error}{others}.", str(error))
    answer = {"batch": result.batch, "cers_status": result.status, "import_id": result.import_id,
              "details": result.to_text()}  # fmt: skip
    where = f"import {result.import_id}, batch {result.batch}: {result.status}"
    if result.rejected:
        summary = f"{saved.name}: CERS REJECTED the file ({where}); nothing in it was applied{others}."
        return done(SyncOutcome.rejected, "rejected", summary, f"CERS answered {result.status}", **answer)
    keep_parts(store, saved.id, parts, how="upload")
    store.drop_held_files(saved.id, [part.school for part in parts])
    summary = f"{saved.name}: {sending} {count(len(parts), 'school')} to CERS ({rows.height:,} rows; {where})"
    if not result.finished:
        summary += f"; CERS had not finished when we stopped waiting: check batch {result.batch} in CERS"
        return done(SyncOutcome.unknown, "unknown", summary + others + ".", **answer)
    return done(SyncOutcome.held if held else SyncOutcome.sent, sending, summary + others + ".", **answer)


def _record(
    store: Store, saved: RosterConnection, *, who: str, kind: str, done: ConnectionSync, sha256: str = ""
) -> ConnectionSync:
    record_run(store, saved, kind=kind, who=who, outcome=done.outcome.value, message=done.summary, rows=done.rows,
               sha256=sha256, batch=done.batch, cers_status=done.cers_status, schools=done.schools)  # fmt: skip
    return done


# -- the lock ------------------------------------------------------------------------------------


@contextmanager
def _lock(store: Store, context: SyncContext) -> Iterator[Callable[[], None]]:
    """Hold the data folder's ``sync`` lock (see the module docstring); yields a function that renews it."""
    limits = (context.egress or current_egress()).limits
    seconds = limits.export_seconds + context.upload_wait + 900.0 + _LOCK_MARGIN_SECONDS
    owner = f"{socket.gethostname()} process {os.getpid()} ({secrets.token_hex(4)})"
    holder = store.take_lock(LOCK_NAME, owner, seconds=seconds)
    if holder is not None:
        raise SyncBusy(
            f"Another sync has been running on this data folder since {holder.taken_at:%Y-%m-%d %H:%M} UTC "
            f"({holder.owner}); this one stopped without reading or sending anything.",
            hint=f"Let it finish. If it crashed, its lock ends at {holder.expires_at:%Y-%m-%d %H:%M} UTC.",
        )
    try:
        yield lambda: store.renew_lock(LOCK_NAME, owner, seconds=seconds) and None
    finally:
        store.release_lock(LOCK_NAME, owner)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
