"""The command line: ``python -m cers_core schools | export | validate | diff | sync | history | demo-csv | …``.

Exit codes, for scheduled jobs:

- 0: done (a file CERS would accept; warnings allowed);
- 1: the file was written but CERS would reject it (e.g. a group over 200 students), or a
  school could not be exported for want of a CDS code; ``validate``: CERS would reject it;
- 2: usage error (a bad option, an unknown ``--school``, a missing secret, an ``--out`` that is a
  folder, a FIFO, a device, a symbolic link or in a folder we cannot write to: all checked before
  any roster is read; also a file that could not be written after all, e.g. a full disk), or a
  OneRoster CSV bundle (``--oneroster-csv``) with problems to fix first: its report is printed,
  nothing is written;
- 3: connection or authentication error, or the export ran past its deadline (``--deadline``);
  nothing is written (with ``export --upload``, an error of the CERS import service: the file
  is written but not sent);
- 4: ``export --upload``: the file was sent and CERS rejected it (``BAD_DATA``);
- 5: ``export --upload``: the file may have reached CERS but its outcome is not known yet:
  check the import status in CERS (by the batch printed) before sending it again;
- 70: an internal error (a fault of this tool, ``EX_SOFTWARE``): one line says so and names the
  file (mode 0600, in the temporary folder) that holds the Python traceback; no traceback reaches
  the terminal;
- 130, 143: stopped by Ctrl-C (SIGINT) or SIGTERM: a file being written is removed, never left
  half written.

``export --upload`` and ``diff`` live in ``cli_upload.py``; ``sync`` (with exit codes of its own),
``history`` and ``export --connection`` (a connection saved in the app) in ``cli_sync.py``; the demo
commands in ``cers_demo.commands``, imported only when one of them runs (an export imports no web
server).

The client secret comes only from the environment variable ``CERS_CLIENT_SECRET`` (read, like
every ``CERS_*`` variable, by ``cers_core.config``), never from an option, so that it does not
end up in shell history or process listings. ``--oneroster-csv PATH`` reads a OneRoster CSV bundle
(a zip or a folder) instead of a provider, and needs no secret.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import json
import os
import signal
import stat
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from pydantic import ValidationError

from cers_core.cli_sync import (
    add_saved_connection_arguments,
    add_sync_commands,
    cmd_history,
    cmd_sync,
    saved_export,
)
from cers_core.cli_upload import (
    ImportUsageError,
    add_diff_command,
    add_upload_arguments,
    cmd_diff,
    import_settings,
    upload_export,
)
from cers_core.config import Config, load_config, variable_name
from cers_core.errors import CersError, InvalidBundle, InvalidFile, OneRosterError, SettingsError
from cers_core.settings import (
    DEFAULT_SCOPE,
    DEFAULT_SSID_TYPES,
    ClassTypes,
    GroupNameField,
    GroupOptions,
    OneRosterSettings,
)
from cers_core.wording import SHORT, count, printable, shortened

try:
    import fcntl
except ImportError:  # Windows has none: there a stale temporary file is known by its age alone
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:  # the export and its HTTP layer load when a command reads rosters (`validate` starts without)
    from cers_core.export import GroupExport
    from cers_core.http.egress import Egress
    from cers_core.oneroster.client import FetchProgress
    from cers_core.oneroster_csv import BundleProblem

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_CONNECTION = 0, 1, 2, 3
EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 70, 130, 143
FIRST_YEAR, LAST_YEAR = 2000, 2100  # school years a person may mean
SECRET_VARIABLE = variable_name("client_secret")
_FLAG_OF_FIELD = {
    "base_url": "--base-url",
    "token_url": "--token-url",
    "client_id": "--client-id",
    "client_secret": SECRET_VARIABLE,
    "scope": "--scope",
    "page_size": "--page-size",
    "max_concurrency": "--concurrency",
    "fields": "--fields",
    "separator": "--separator",
    "ssid_types": "--ssid-types",
    "cds_map": "--cds",
}
_WARNINGS_SHOWN = 50
# The options that say how to reach a provider: none of them goes with --oneroster-csv.
_PROVIDER_FLAGS = ("--base-url", "--token-url", "--client-id", "--scope", "--page-size", "--concurrency", "--deadline")
_REQUIRED_PROVIDER_FLAGS = _PROVIDER_FLAGS[:3]


class UsageError(Exception):
    """A command-line mistake: reported in one line, exit code 2."""


class _Terminated(BaseException):
    """SIGTERM, raised where the program is, so that it stops as it does on Ctrl-C: cleaning up."""


class _Parser(argparse.ArgumentParser):
    """Usage errors become ``UsageError`` so that they are reported like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-11-28") from None


def _year(value: str) -> int:
    if len(value) != 4 or not (value.isascii() and value.isdigit()) or not FIRST_YEAR <= int(value) <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{shortened(value)!r} is not a school year like 2027 (for 2026-27): the year it ends, "
            f"{FIRST_YEAR} to {LAST_YEAR}"
        )
    return int(value)


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    """The OneRoster provider's options, and ``--oneroster-csv`` that reads a bundle instead."""
    group = parser.add_argument_group(
        "connection",
        f"the OneRoster provider (the client secret is read from ${SECRET_VARIABLE}), or --oneroster-csv instead",
    )
    group.add_argument("--base-url", help="OneRoster 1.2 Base URL, used exactly as given")
    group.add_argument("--token-url", help="OAuth 2 Token URL (client credentials)")
    group.add_argument("--client-id", help="OAuth 2 Client ID")
    group.add_argument("--scope", help=f"space-separated scopes (default: {DEFAULT_SCOPE})")
    group.add_argument("--page-size", type=int, help="records per page (default: 1000)")
    group.add_argument("--concurrency", type=int, help="requests in flight at once (default: 4; 1 = serial)")
    group.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help="give up reading after this long, writing nothing (default: $CERS_EXPORT_DEADLINE, else 7200)",
    )
    group.add_argument(
        "--oneroster-csv",
        type=Path,
        metavar="PATH",
        help="read a OneRoster 1.1 or 1.2 CSV bundle (a .zip or a folder) instead of a provider; no secret needed",
    )


# Commands of the demo package, by name and help: their options and code are in cers_demo.commands.
DEMO_COMMANDS = {
    "demo-server": "serve the built-in demo district over OneRoster 1.2",
    "demo-import-server": "serve a fake CERS import service (RDW API) to try uploads",
    "demo-oidc-server": "serve a demo OpenID Connect provider to try the app's sign-in",
    "demo-csv": "write the built-in demo district as a OneRoster CSV bundle (a zip or a folder)",
}


def _parser(*, demo: bool = False) -> argparse.ArgumentParser:
    """The command line's parser; with ``demo``, the demo commands' own options too."""
    parser = _Parser(
        prog="python -m cers_core",
        description="Turn OneRoster 1.2 class rosters into CERS section-group files.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    schools = commands.add_parser("schools", help="list the schools of a connection (name, sourcedId, CDS)")
    _connection_arguments(schools)

    export = commands.add_parser("export", help="write the CERS section-group CSV")
    _connection_arguments(export)
    add_saved_connection_arguments(export)
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument("--school", action="append", metavar="ID", help="a school's sourcedId or CDS code (repeatable)")
    which.add_argument("--all-schools", action="store_true", help="every school, one district-wide file")
    fields = ",".join(f.value for f in GroupNameField)
    export.add_argument("--fields", type=_comma_list, help=f"group-name fields in order, from: {fields}")
    export.add_argument("--separator", help="between group-name fields (default: ' - ')")
    when = export.add_mutually_exclusive_group()
    when.add_argument("--as-of", type=_day, metavar="YYYY-MM-DD", help="sections and members active that day")
    when.add_argument("--school-year", type=_year, metavar="YYYY", help="a whole school year, by its end year")
    export.add_argument(
        "--class-types", choices=[c.value for c in ClassTypes], default="all", help="(default: %(default)s)"
    )
    export.add_argument("--primary-teachers-only", action="store_true", help="give access to primary teachers only")
    export.add_argument("--subject-from-course", action="store_true", help="subject ELA/Math from course subjects")
    export.add_argument(
        "--ssid-types",
        type=_comma_list,
        help=f"userIds types holding the SSID (default: {','.join(DEFAULT_SSID_TYPES)})",
    )
    export.add_argument("--cds", action="append", default=[], metavar="SOURCEDID=CDS", help="a school's CDS code")
    export.add_argument("--split-large", action="store_true", help="split groups over 200 students into parts")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here (default, or -: standard output)")
    export.add_argument(
        "--report-json",
        type=Path,
        metavar="FILE",
        help="also write the report as JSON: verdict, schools left out, coverage, group sizes, problems by kind",
    )
    add_upload_arguments(export)

    validate = commands.add_parser("validate", help="check a CERS group file as CERS would")
    validate.add_argument("file", type=Path)
    validate.add_argument("--school-year", type=_year, action="append", metavar="YYYY", help="years CERS knows")
    validate.add_argument("--schools", type=_comma_list, metavar="CDS,CDS", help="schools you may upload for")
    validate.add_argument(
        "--strict", action="store_true", help="exit 1 also when CERS would accept the file but not as meant"
    )

    add_diff_command(commands)
    add_sync_commands(commands, day=_day)
    for name, help_text in DEMO_COMMANDS.items():
        demo_command = commands.add_parser(name, help=help_text)
        if demo:
            from cers_demo import commands as demo_commands  # only for a demo command: see DEMO_COMMANDS

            demo_commands.add_arguments(name, demo_command)
    return parser


def _explain(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = _FLAG_OF_FIELD.get(str(problem["loc"][0]), str(problem["loc"][0])) if problem["loc"] else ""
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)


def _option(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _bundle_path(args: argparse.Namespace) -> Path | None:
    """The bundle to read (``--oneroster-csv``), or None to read from a provider, whose options must
    then be given; the ways (and ``export``'s saved ``--connection``) do not mix."""
    given = [flag for flag in _PROVIDER_FLAGS if getattr(args, _option(flag)) is not None]
    if args.oneroster_csv is not None:
        given += [flag for flag in ("--connection", "--recipe") if getattr(args, _option(flag), None)]
        if given:
            raise UsageError(
                f"--oneroster-csv reads a bundle instead of a OneRoster provider: leave out {', '.join(given)}."
            )
        return Path(args.oneroster_csv)
    missing = [flag for flag in _REQUIRED_PROVIDER_FLAGS if getattr(args, _option(flag)) is None]
    if missing:
        also = ", or --connection NAME for a saved connection" if hasattr(args, "connection") else ""
        raise UsageError(f"{args.command} needs {', '.join(missing)}{also}, or --oneroster-csv PATH for a CSV bundle.")
    return None


def _settings(args: argparse.Namespace, config: Config) -> OneRosterSettings:
    secret = config.client_secret
    if secret is None:
        raise UsageError(f"Set the client secret in the environment variable {SECRET_VARIABLE}.")
    given = {"scope": args.scope, "page_size": args.page_size, "max_concurrency": args.concurrency}
    try:
        return OneRosterSettings(
            base_url=args.base_url,
            token_url=args.token_url,
            client_id=args.client_id,
            client_secret=secret,
            **{name: value for name, value in given.items() if value is not None},  # else the settings' defaults
        )
    except ValidationError as error:
        raise UsageError(_explain(error)) from None


def _egress(args: argparse.Namespace, config: Config) -> Egress:
    """A local run's egress (``CERS_ALLOWED_NETWORKS`` and the limits from the environment), ``--deadline`` applied."""
    from cers_core.http.egress import egress_from_config

    egress = egress_from_config(config, listen_address=None)
    if args.deadline is None:
        return egress
    if not args.deadline > 0:
        raise UsageError("--deadline must be more than 0 seconds.")
    return dataclasses.replace(egress, limits=dataclasses.replace(egress.limits, export_seconds=args.deadline))


def _options(args: argparse.Namespace) -> GroupOptions:
    mapping = {}
    for item in args.cds:
        sourced_id, sep, cds = item.partition("=")
        if not sep:
            raise UsageError(f"--cds {item!r}: write it as SOURCEDID=CDS, e.g. --cds 105=01612590130146")
        mapping[sourced_id] = cds
    values: dict[str, object] = {
        "class_types": args.class_types,
        "primary_teachers_only": args.primary_teachers_only,
        "subject_from_course": args.subject_from_course,
        "split_large": args.split_large,
        "cds_map": mapping,
    }
    for name in ("fields", "separator", "ssid_types"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    try:
        return GroupOptions.model_validate(values)
    except ValidationError as error:
        raise UsageError(_explain(error)) from None


class _Progress:
    """Progress on stderr: a live line on a terminal, a line every few seconds in a log."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._last = 0.0
        self._state: dict[str, FetchProgress] = {}

    def __call__(self, progress: FetchProgress) -> None:
        self._state[progress.collection] = progress
        now = time.monotonic()
        if now - self._last < (0.2 if self._live else 5.0):
            return
        self._last = now
        parts = [f"{p.collection} {p.records:,}" + (f"/{p.total:,}" if p.total else "") for p in self._state.values()]
        text = "Reading rosters: " + ", ".join(parts)
        self._stream.write(f"\r{text}\x1b[K" if self._live else text + "\n")
        self._stream.flush()

    def done(self) -> None:
        if self._live and self._last:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _shown(path: Path) -> str:
    """A path as a message shows it: control characters escaped, cut when it is very long."""
    return printable(shortened(str(path)))


def _output(path: Path | None, flag: str) -> Path | None:
    """Where ``flag`` writes: ``path`` when a file can be written there (``-``: standard output, None).

    Checked before any roster is read, so that an export of an hour does not end in a path that
    cannot take it: a folder, a FIFO, a device or a socket, a symbolic link (which the rename would
    replace, or a FIFO would block on), a folder that is a file, or one we may not write to (tried:
    a file is made there and removed, which also finds a read-only disk, even as root).
    """
    if path is None or (str(path) == "-" and flag == "--out"):
        return None
    shown = _shown(path)
    try:
        mode = path.lstat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # a folder on the way that is a file: said below
        mode = None
    except OSError as error:
        raise UsageError(f"{flag} {shown}: cannot be used ({error.strerror}).") from None
    if mode is not None and not stat.S_ISREG(mode):
        what = (
            "a symbolic link" if stat.S_ISLNK(mode) else "a folder" if stat.S_ISDIR(mode) else
            "not a regular file (a FIFO, a device or a socket)"
        )  # fmt: skip
        raise UsageError(f"{flag} {shown}: is {what}; give the path of a file to write.")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:  # missing folders are made when writing
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"{flag} {shown}: {_shown(folder)} is a file, not a folder.")
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as error:
        raise UsageError(f"{flag} {shown}: cannot write in {_shown(folder)} ({error.strerror}).") from None
    os.close(handle)
    os.unlink(probe)
    return path


def _write_atomically(path: Path, data: bytes, *, started: float, written: list[Path]) -> None:
    """Write to a temporary file beside ``path`` and rename it: a reader never sees half a file.

    The temporary file, ``.NAME.<random>.part``, is locked while it is written; one of an earlier
    run that crashed (older than this run, and locked by nobody) is removed first. Failing to
    write is a :class:`UsageError` that says why (a full disk, a folder made read-only since).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(path, started)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as error:
        raise UsageError(f"{_shown(path)} could not be written ({error.strerror}).") from None
    try:
        with os.fdopen(handle, "wb") as out:
            if fcntl is not None:
                fcntl.flock(out.fileno(), fcntl.LOCK_EX)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise UsageError(f"{_shown(path)} could not be written ({error.strerror}).") from None
        raise
    written.append(path)


def _remove_stale_parts(path: Path, started: float) -> None:
    """Remove ``.NAME.*.part`` files beside ``path`` that a crashed run left (they may hold SSIDs):
    older than this run, and not locked by a run still writing."""
    for part in path.parent.glob(f".{glob.escape(path.name)}.*.part"):
        with contextlib.suppress(OSError):
            if part.is_symlink() or not part.is_file() or part.stat().st_mtime >= started:
                continue
            if fcntl is not None:
                with part.open("rb") as held:
                    try:
                        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # another run is writing it
                    part.unlink()
            else:
                part.unlink()


def _write_out(out: TextIO, data: bytes) -> None:
    """The file on standard output; a reader that stops early (``| head``) is said, not a crash."""
    try:
        out.flush()
        binary = getattr(out, "buffer", None)
        if binary is not None:
            binary.write(data)
            binary.flush()
        else:
            out.write(data.decode("utf-8"))
    except BrokenPipeError:
        if out is sys.stdout:  # what Python would flush at exit goes nowhere, instead of a second error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise UsageError("Standard output was closed before the whole file was written.") from None


def _report(result: GroupExport, stream: TextIO) -> None:
    """The export's report on standard error: counts, the schools left out, errors and warnings,
    who is in no group, and the verdict. Text from the SIS is printed with its control characters
    escaped (see ``cers_core.wording.printable``), and each value cut to a few hundred characters
    (``shortened``): a name of megabytes prints one line, not megabytes."""

    from cers_core.coverage import summary_lines  # loaded with the builder, which the export has run

    def say(text: str) -> None:
        print(printable(text), file=stream)

    groups = result.groups
    say(
        f"{count(groups.height, 'group')}, {count(int(groups['teachers'].sum() or 0), 'teacher row')}, "
        f"{count(int(groups['students'].sum() or 0), 'student row')}, from {count(result.schools.height, 'school')}; "
        f"{result.read_from}."
    )
    if result.bundle is not None and result.bundle.warnings:
        say(f"THE BUNDLE'S WARNINGS ({result.bundle.warning_count:,}; the file was made all the same):")
        for line in _bundle_lines(result.bundle.warnings):
            say(line)
    left_out = result.schools_left_out
    if left_out.height:
        say(f"SCHOOLS LEFT OUT OF THE FILE ({left_out.height:,}): no CDS code; give each one with --cds:")
        for school in left_out.iter_rows(named=True):
            name, sourced_id = shortened(str(school["name"])), shortened(school["sourced_id"])
            say(f"  - {name} (sourcedId {sourced_id}): --cds {sourced_id}=<its CDS code>")
    problems = result.problems.filter(result.problems["code"] != "school_without_cds")
    for severity in ("error", "warning"):
        rows = problems.filter(problems["severity"] == severity)
        if rows.height == 0:
            continue
        say(f"{severity.upper()}S ({rows.height:,}):")
        shown = rows if severity == "error" else rows.head(_WARNINGS_SHOWN)
        for row in shown.iter_rows(named=True):
            row = {key: shortened(value) if isinstance(value, str) else value for key, value in row.items()}
            where = " / ".join(str(row[k]) for k in ("school", "group_name", "section") if row[k])
            who = (
                f" {row['person']}" + (f" (local id {row['local_id']})" if row["local_id"] else "")
                if row["person"]
                else ""
            )
            say(f"  - [{where}]{who}: {shortened(row['message'], 4 * SHORT)}")
        if rows.height > shown.height:
            say(f"  … and {count(rows.height - shown.height, 'more ' + severity)}.")
    info = problems.filter(problems["severity"] == "info").group_by("code").len().sort("code")
    if info.height:
        say("Also left out (expected): " + ", ".join(f"{c} {n:,}" for c, n in info.iter_rows()))
    for line in summary_lines(result):
        say(line)
    for finding in result.validation.errors:
        say(f"VALIDATOR: Row {finding.row:,}: {shortened(finding.message, 4 * SHORT)}")
    say(_verdict(result))


def _verdict(result: GroupExport) -> str:
    """The last line of an export's report: the file's verdict, and the schools it lacks."""
    from cers_core.cers_csv import Verdict  # loaded by the export already

    verdict = result.validation.verdict
    if result.groups.height == 0:
        return "No file for CERS: no school could be exported (see above)."
    words = verdict.headline + ("." if verdict is Verdict.accepted else " (see the errors above).")
    left = result.schools_left_out.height
    if left:
        words += f" It holds the other schools; {count(left, 'school')} left out (see above)."
    return words


def _bundle_lines(problems: Sequence[BundleProblem]) -> list[str]:
    """A bundle's problems, one a line (file, line, column: what to do), at most ``_WARNINGS_SHOWN``."""
    lines = [f"  - {problem}" for problem in problems[:_WARNINGS_SHOWN]]
    if len(problems) > _WARNINGS_SHOWN:
        lines.append(f"  … and {count(len(problems) - _WARNINGS_SHOWN, 'more problem')}.")
    return lines


def _bundle_refused(error: InvalidBundle, err: TextIO) -> None:
    """Why a bundle cannot be used: every problem its checks found (errors first), then what to do.
    Values from the bundle are printed with their control characters escaped."""
    report = error.report
    lines = [f"error: {error.headline}", f"ERRORS ({report.error_count:,}):", *_bundle_lines(report.errors)]
    if report.warnings:
        lines += [f"WARNINGS ({report.warning_count:,}):", *_bundle_lines(report.warnings)]
    for line in [*lines, error.hint, "Nothing was written."]:
        print(printable(line), file=err)


def _cmd_schools(args: argparse.Namespace, out: TextIO) -> int:
    from cers_core.export import ExportContext, list_schools

    config = load_config()
    bundle = _bundle_path(args)
    if bundle is not None:
        from cers_core.oneroster_csv import list_bundle_schools  # only for a bundle: an export over REST starts without

        schools = list_bundle_schools(bundle)
    else:
        schools = list_schools(_settings(args, config), context=ExportContext(egress=_egress(args, config)))
    for row in schools.iter_rows(named=True):
        values = (shortened(str(row["name"])), shortened(row["sourced_id"]), row["cds"] or "(no CDS code)")
        print("\t".join(printable(value) for value in values), file=out)  # a tab in a name is escaped too
    return EXIT_OK


def _cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO, written: list[Path]) -> int:
    from cers_core.export import ExportContext, export_from_bundle, export_section_groups

    started = time.time()
    config = load_config()
    saved = saved_export(args, config) if args.oneroster_csv is None else None  # None without --connection
    if saved is not None:
        source, options, group_sets = saved.source, saved.options, saved.group_sets
    else:
        bundle = _bundle_path(args)
        source, options, group_sets = bundle if bundle is not None else _settings(args, config), _options(args), []
    egress = _egress(args, config)
    upload = import_settings(args, config)  # checked before any roster is read
    target, report_json = _output(args.out, "--out"), _output(args.report_json, "--report-json")
    schools = None if args.all_schools else args.school
    if isinstance(source, Path):  # a OneRoster CSV bundle
        result = export_from_bundle(source, options, schools=schools, as_of=args.as_of, school_year=args.school_year,
                                    group_sets=group_sets)  # fmt: skip
    else:
        progress = _Progress(err)
        try:
            result = export_section_groups(
                source,
                options,
                schools=schools,
                as_of=args.as_of,
                school_year=args.school_year,
                context=ExportContext(on_progress=progress, egress=egress),
                group_sets=group_sets,
            )
        finally:
            progress.done()
    if target is not None:
        _write_atomically(target, result.csv_bytes, started=started, written=written)
    else:
        _write_out(out, result.csv_bytes)
    _report(result, err)
    if report_json is not None:
        from cers_core.coverage import coverage_report

        report = json.dumps(coverage_report(result), indent=2).encode("utf-8")
        _write_atomically(report_json, report, started=started, written=written)
    if upload is not None:
        return upload_export(upload, result, wait=args.upload_wait, err=err, egress=egress)
    return EXIT_OK if result.accepted else EXIT_REJECTED


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    path: Path = args.file
    if not path.is_file():
        raise InvalidFile(f"There is no file at {path}.", hint="Check the path and try again.")
    from cers_core.cers_csv import Verdict, validate_cers_csv  # only this command needs it: an export starts without

    report = validate_cers_csv(path, school_years=args.school_year, schools=args.schools)
    for line in report.to_text().split("\n"):  # values from the file: escaped, and cut when huge
        print(printable(shortened(line, 4 * SHORT)), file=out)
    failing = {Verdict.rejected, Verdict.not_as_meant} if args.strict else {Verdict.rejected}
    return EXIT_REJECTED if report.verdict in failing else EXIT_OK


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    out = out or sys.stdout
    err = err or sys.stderr
    written: list[Path] = []  # files written so far, for what to say if the run is stopped
    words = list(sys.argv[1:] if argv is None else argv)
    with _sigterm_raises():
        try:
            return _run(words, out, err, written)
        except InvalidBundle as error:
            _bundle_refused(error, err)
            return EXIT_USAGE
        except (UsageError, ImportUsageError, SettingsError, InvalidFile) as error:
            print(f"error: {error}", file=err)
            return EXIT_USAGE
        except OneRosterError as error:
            print(f"error: {error}", file=err)
            print("Nothing was written.", file=err)
            return EXIT_CONNECTION
        except CersError as error:
            print(f"error: {error}", file=err)
            return EXIT_CONNECTION
        except (KeyboardInterrupt, _Terminated) as stop:
            print(f"Stopped; {_written_so_far(written)}.", file=err)
            return EXIT_INTERRUPTED if isinstance(stop, KeyboardInterrupt) else EXIT_TERMINATED
        except Exception as error:  # a fault of ours: one line here, the traceback in a private file
            details = _save_traceback(error, command=words[:1])
            where = (
                f"the details are in {details} (send that file to whoever looks after this tool)"
                if details
                else "its details could not be saved"
            )
            print(
                f"error: an internal error stopped the command ({type(error).__name__}), a fault of this tool, not of "
                f"your data or settings; {where}; {_written_so_far(written)}.",
                file=err,
            )
            return EXIT_INTERNAL


def _run(words: list[str], out: TextIO, err: TextIO, written: list[Path]) -> int:
    demo = any(word in DEMO_COMMANDS for word in words[:1])
    try:
        args = _parser(demo=demo).parse_args(words)
    except SystemExit as stop:  # --help: argparse has printed it
        return EXIT_USAGE if stop.code else EXIT_OK
    if args.command == "schools":
        return _cmd_schools(args, out)
    if args.command == "export":
        return _cmd_export(args, out, err, written)
    if args.command == "validate":
        return _cmd_validate(args, out)
    if args.command == "diff":
        return cmd_diff(args, out)
    if args.command == "sync":
        started = time.time()
        _output(args.report_json, "--report-json")  # checked before any roster is read, as export does

        def write(path: Path, data: bytes) -> None:
            _write_atomically(path, data, started=started, written=written)

        return cmd_sync(args, out, err, egress=_egress(args, load_config()), write=write)
    if args.command == "history":
        return cmd_history(args, out)
    from cers_demo import commands as demo_commands  # the rest are demo commands: see DEMO_COMMANDS

    return demo_commands.run(args, out, err)


def _written_so_far(written: list[Path]) -> str:
    """What had been written when the run stopped, as a clause."""
    if not written:
        return "nothing was written"
    names = ", ".join(_shown(path) for path in written)
    return f"{names} had been written (what came after, the rest of the report or an upload, may not have run)"


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the job) raises :class:`_Terminated` where the program is, so that
    it cleans up as on Ctrl-C; where signals cannot be caught (not the main thread), it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _save_traceback(error: Exception, *, command: list[str]) -> Path | None:
    """Write ``error``'s traceback to a new private file (mode 0600) in the temporary folder; its path.

    What it holds: the code's file names, lines and the error's message, the Python version and
    the command's name. No variable's value is written (a traceback shows none), so no secret, no
    roster; the message of an error may quote a value it failed on, hence the private file.
    """
    try:
        handle, name = tempfile.mkstemp(prefix="cers-section-groups-error-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as report:
            when = time.strftime("%Y-%m-%d %H:%M:%S %z")
            report.write(f"python -m cers_core {' '.join(command)}, Python {sys.version.split()[0]}, {when}\n\n")
            report.write("".join(traceback.format_exception(error)))
    except OSError:
        return None
    return Path(name)
