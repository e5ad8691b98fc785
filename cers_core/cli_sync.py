"""The command line's part for saved connections: ``sync``, ``history`` and ``export --connection``.

Kept apart from ``cli.py``, which wires these in. They read the app's store: the data folder is
``CERS_DATA_DIR`` (default ``.cers/`` beside ``app.py``, as for the app) and the key
``CERS_SECRET_KEY`` (else the key file the app generated in that folder), both through
``cers_core.config``; the connections' secrets come from the store, never from options.

``sync`` exits with :class:`cers_core.sync.ExitCode`: 0 sent or nothing to send, 1 held (by the
brake, or because CERS would reject the file), 2 usage, 3 connection error, 4 CERS rejected the
file, 5 outcome unknown, 6 another sync was running; with several connections, the most serious.
"""

from __future__ import annotations

import argparse
import getpass
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from cers_core.config import Config, load_config, variable_name
from cers_core.errors import SettingsError
from cers_core.settings import GroupOptions, OneRosterSettings
from cers_core.wording import count, printable

if TYPE_CHECKING:  # the store and the group sets are imported by the commands that use them: an export starts without
    from cers_core.group_sets import GroupSet
    from cers_core.http.egress import Egress
    from cers_core.store import RosterConnection, Run, Store

__all__ = [
    "SavedExport",
    "add_saved_connection_arguments",
    "add_sync_commands",
    "cmd_history",
    "cmd_sync",
    "saved_export",
]

_DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / ".cers"
_KINDS = ("sync", "upload", "download", "release")
# Group options that a saved connection (and its group sets) decide; --split-large may still be given.
_GROUP_OPTION_FLAGS = ("--fields", "--separator", "--ssid-types", "--cds", "--primary-teachers-only",
                       "--subject-from-course")  # fmt: skip
_CHANGES = (("added", "added"), ("disappears", "no longer in the file"), ("renamed", "renamed"),
            ("changed", "with other members"), ("unchanged", "unchanged"))  # fmt: skip


def add_saved_connection_arguments(export: argparse.ArgumentParser) -> None:
    """``--connection`` and ``--recipe`` on the export command."""
    group = export.add_argument_group(
        "a saved connection",
        f"the app's data folder (${variable_name('data_dir')}) and key (${variable_name('secret_key')})",
    )
    group.add_argument("--connection", metavar="NAME", help="a connection saved in the app, instead of --base-url …")
    group.add_argument(
        "--recipe",
        action="append",
        default=[],
        metavar="NAME",
        help="one of its group sets (repeatable; default: all of them, consolidated into one file)",
    )


def add_sync_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], *, day: Callable[[str], date]
) -> None:
    """The ``sync`` and ``history`` commands; ``day`` reads a date option (``cli.py``'s)."""
    sync = commands.add_parser(
        "sync", help="send every connection's groups to CERS, as a scheduled job does (with the safety brake)"
    )
    sync.add_argument("--connection", action="append", default=[], metavar="NAME",
                      help="only this connection (repeatable; default: each with a CERS import target)")  # fmt: skip
    sync.add_argument("--as-of", type=day, metavar="YYYY-MM-DD", help="sections and members active that day")
    sync.add_argument("--upload-wait", type=float, default=300.0, metavar="SECONDS",
                      help="wait at most this long for CERS to process each file (default: %(default)s)")  # fmt: skip
    sync.add_argument("--deadline", type=float, metavar="SECONDS",
                      help="give up reading a connection's rosters after this long (default: 7200)")  # fmt: skip
    sync.add_argument("--report-json", type=Path, metavar="FILE", help="also write the run's report as JSON")

    history = commands.add_parser("history", help="list the runs, downloads and uploads recorded, newest first")
    history.add_argument("--connection", action="append", default=[], metavar="NAME", help="only this connection")
    history.add_argument("--school", metavar="CDS", help="only runs that name this school")
    history.add_argument("--kind", action="append", choices=_KINDS, help="only runs of this kind (repeatable)")
    history.add_argument("--days", type=int, metavar="N", help="only the last N days")
    history.add_argument("--limit", type=int, default=20, metavar="N", help="at most N runs (default: %(default)s)")
    history.add_argument("--json", action="store_true", help="as JSON, for scripts")


@dataclass(frozen=True, slots=True)
class SavedExport:
    """What ``export --connection`` reads from the store: the provider's settings (or, for a CSV
    bundle connection, its bundle on the server), its options, the group sets chosen."""

    source: OneRosterSettings | Path
    options: GroupOptions
    group_sets: list[GroupSet]


def saved_export(args: argparse.Namespace, config: Config) -> SavedExport | None:
    """The saved connection of ``export --connection`` (None without it: the connection options are
    then needed); ``SettingsError`` for what cannot be used."""
    given = [flag for flag in ("--base-url", "--token-url", "--client-id")
             if getattr(args, flag.removeprefix("--").replace("-", "_"))]  # fmt: skip
    if args.connection is None:  # the connection options are given (cli.py checks them)
        if args.recipe:
            raise SettingsError("--recipe needs --connection: the group sets are those of a saved connection.")
        return None
    mixed = given + [flag for flag in _GROUP_OPTION_FLAGS if getattr(args, flag.removeprefix("--").replace("-", "_"))]
    if mixed:
        raise SettingsError(
            f"--connection takes the saved connection's settings and group options: leave out {', '.join(mixed)}."
        )
    store = open_store(config)
    saved = _connection(store, args.connection)
    group_sets = [g.group_set for g in store.group_sets(saved.id)]
    if args.recipe:
        by_name = {g.name.casefold(): g for g in group_sets}
        unknown = [name for name in args.recipe if name.casefold() not in by_name]
        if unknown:
            known = ", ".join(g.name for g in group_sets) or "none"
            raise SettingsError(
                f"Connection {saved.name!r} has no group set named {', '.join(repr(n) for n in unknown)} "
                f"(its group sets: {known})."
            )
        group_sets = list({by_name[name.casefold()].name: by_name[name.casefold()] for name in args.recipe}.values())
    options = saved.options
    if args.split_large:
        options = options.model_copy(update={"split_large": True})
    from cers_core.oneroster_csv.server_bundle import saved_bundle_path
    from cers_core.store import SavedConnection

    if isinstance(saved, SavedConnection):
        return SavedExport(source=store.settings(saved), options=options, group_sets=group_sets)
    bundle = saved_bundle_path(saved.settings.path, allowed=config.bundle_folders)
    return SavedExport(source=bundle, options=options, group_sets=group_sets)


def cmd_sync(
    args: argparse.Namespace, out: TextIO, err: TextIO, *, egress: Egress, write: Callable[[Path, bytes], None]
) -> int:
    """Run ``sync``: a line per connection on ``out``, progress and CERS's reports on ``err``; the JSON
    report through ``write`` (``cli.py``'s, which never leaves half a file)."""
    from cers_core.sync import ExitCode, SyncBusy, SyncContext, sync  # only this command needs it

    if args.upload_wait <= 0:
        raise SettingsError("--upload-wait must be more than 0 seconds.")
    config = load_config()
    store = open_store(config)

    def progress(text: str) -> None:
        print(printable(text), file=err, flush=True)

    context = SyncContext(egress=egress, upload_wait=args.upload_wait, as_of=args.as_of, on_progress=progress,
                          bundle_folders=config.bundle_folders)  # fmt: skip
    try:
        report = sync(store, who=_who(), connections=args.connection, context=context)
    except SyncBusy as error:
        print(f"error: {error}", file=err)
        if args.report_json is not None:  # a monitor reading it must not take the last run's for this one's
            write(args.report_json, json.dumps({"exit_code": int(ExitCode.busy), "error": str(error)}).encode())
        return ExitCode.busy
    for done in report.connections:
        if done.details and done.outcome.value in ("rejected", "unknown"):
            print(printable(done.details, keep="\n"), file=err)
    for line in report.lines():
        print(printable(line), file=out)
    if args.report_json is not None:
        write(args.report_json, json.dumps(report.to_json(), indent=2).encode("utf-8"))
    return int(report.exit_code)


def cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    """Print the runs recorded, newest first (or as JSON)."""
    if args.limit < 1 or (args.days is not None and args.days < 1):
        raise SettingsError("--limit and --days must be at least 1.")
    store = open_store(load_config())
    ids = [_connection(store, name).id for name in args.connection] or None
    since = datetime.now(UTC) - timedelta(days=args.days) if args.days else None
    runs = store.runs(connection_ids=ids, kinds=args.kind, school=args.school, since=since, limit=args.limit)
    if args.json:
        print(json.dumps([_run_json(run) for run in runs], indent=2), file=out)
        return 0
    if not runs:
        print("No runs recorded (for these filters).", file=out)
    for run in runs:
        for line in run_lines(run):
            print(printable(line), file=out)
    return 0


def run_lines(run: Run) -> list[str]:
    """A run in a few lines: when, what, who, the outcome; then a line per school with its changes."""
    cers = f" · CERS {run.cers_status}, batch {run.batch}" if run.cers_status else ""
    lines = [f"{run.at:%Y-%m-%d %H:%M} UTC  {run.kind}  {run.connection_name}  {run.outcome}  by {run.who}{cers}",
             f"  {run.message}"]  # fmt: skip
    for school in run.schools:
        what = f"{count(school.groups, 'group')}, {count(school.students, 'student')}"
        changes = ", ".join(f"{school.changes[key]:,} {words}" for key, words in _CHANGES if key in school.changes)
        line = f"  - {school.school_name} ({school.school}): {school.decision}; {what}"
        line += f"; in CERS: {changes}" if changes else ""
        line += f"; {school.reason}" if school.reason else ""
        lines.append(line)
    return lines


def _run_json(run: Run) -> dict[str, object]:
    return {
        "at": run.at.isoformat(),
        "kind": run.kind,
        "who": run.who,
        "connection": run.connection_name,
        "outcome": run.outcome,
        "message": run.message,
        "rows": run.rows,
        "sha256": run.sha256,
        "batch": run.batch,
        "cers_status": run.cers_status,
        "schools": [
            {"school": s.school, "name": s.school_name, "decision": s.decision, "reason": s.reason,
             "groups": s.groups, "students": s.students, "student_rows": s.student_rows, "rows": s.rows,
             "sha256": s.sha256, "changes": dict(s.changes)}
            for s in run.schools
        ],
    }  # fmt: skip


def open_store(config: Config) -> Store:
    """The app's store, from the data folder and key of the environment; ``SettingsError`` when there
    is none there, or the key does not open it."""
    from cers_core.store import DB_FILE_NAME, KEY_FILE_NAME, Store, StoreError, resolve_secret_keys

    folder = config.data_dir or _DEFAULT_DATA_DIR
    data_dir, key_variable = variable_name("data_dir"), variable_name("secret_key")
    if not (folder / DB_FILE_NAME).is_file():
        raise SettingsError(
            f"There are no saved connections in {folder}.",
            hint=f"Set {data_dir} to the app's data folder (where its {DB_FILE_NAME} is).",
        )
    environment = config.secret_key.get_secret_value() if config.secret_key else None
    if environment is None and not (folder / KEY_FILE_NAME).is_file():
        raise SettingsError(
            f"No key to read the saved connections in {folder}.",
            hint=f"Set {key_variable} to the app's key.",
        )
    try:
        return Store.open(folder, keys=resolve_secret_keys(folder, environment=environment, secrets=None).keys)
    except StoreError as error:
        raise SettingsError(str(error)) from None


def _connection(store: Store, name: str) -> RosterConnection:
    found = {s.name.casefold(): s for s in store.roster_connections()}
    saved = found.get(name.casefold())
    if saved is None:
        known = ", ".join(s.name for s in found.values()) or "none"
        raise SettingsError(f"No saved connection is named {name!r} (saved: {known}).", field="connection")
    return saved


def _who() -> str:
    """Who runs a command line's sync, for the history: the account and the computer."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown user"
    return f"command line ({user}@{socket.gethostname()})"
