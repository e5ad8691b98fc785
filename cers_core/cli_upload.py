"""The command line's part for CERS itself: ``export --upload`` and ``diff OLD NEW``.

Kept apart from ``cli.py`` so that the export command stays readable; ``cli.py`` wires these in.

The import connection's secrets come only from the environment (through ``cers_core.config``):
``CERS_IMPORT_CLIENT_SECRET`` (client credentials, or the client secret of the password grant)
and ``CERS_IMPORT_PASSWORD`` (the password grant, with ``--import-username``), never from options.

Exit codes added to those of ``cli.py`` (for ``export --upload``):

- 4: the file was written and sent, and CERS rejected it (``BAD_DATA`` or another failure status);
- 5: the file was written and may have reached CERS, but its outcome is not known yet (CERS was
  still processing when we stopped waiting, or the connection broke after sending): check the
  import status in CERS, by the batch printed, before sending it again.

A connection or authentication error with the import service is exit 3, as with OneRoster;
then the file is written but not sent.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pydantic import ValidationError

from cers_core.config import Config, variable_name
from cers_core.errors import InvalidFile, UploadError, UploadOutcomeUnknown, UploadRefused
from cers_core.settings import CersImportSettings

if TYPE_CHECKING:
    from cers_core.export import GroupExport
    from cers_core.http.egress import Egress

__all__ = [
    "EXIT_CERS_REJECTED",
    "EXIT_OUTCOME_UNKNOWN",
    "IMPORT_PASSWORD_VARIABLE",
    "IMPORT_SECRET_VARIABLE",
    "add_diff_command",
    "add_upload_arguments",
    "cmd_diff",
    "import_settings",
    "upload_export",
]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_CONNECTION = 0, 1, 2, 3
EXIT_CERS_REJECTED, EXIT_OUTCOME_UNKNOWN = 4, 5
IMPORT_SECRET_VARIABLE = variable_name("import_client_secret")
IMPORT_PASSWORD_VARIABLE = variable_name("import_password")
_FLAG_OF_FIELD = {
    "import_url": "--import-url",
    "token_url": "--import-token-url",
    "client_id": "--import-client-id",
    "username": "--import-username",
    "client_secret": IMPORT_SECRET_VARIABLE,
    "password": IMPORT_PASSWORD_VARIABLE,
    "scope": "--import-scope",
}


class ImportUsageError(Exception):
    """A mistake in the upload options (exit 2, reported like every usage error)."""


def add_upload_arguments(export: argparse.ArgumentParser) -> None:
    """``--upload`` and the CERS import connection's options, on the export command."""
    group = export.add_argument_group(
        "sending to CERS",
        f"the CERS import service (RDW API); secrets from ${IMPORT_SECRET_VARIABLE} and ${IMPORT_PASSWORD_VARIABLE}",
    )
    group.add_argument("--upload", action="store_true", help="send the file to CERS when CERS would accept it")
    group.add_argument("--import-url", metavar="URL", help="the import service's root (files go to URL/groups/imports)")
    group.add_argument("--import-token-url", metavar="URL", help="its OAuth 2 token endpoint")
    group.add_argument("--import-client-id", metavar="ID", help="its OAuth 2 client id")
    group.add_argument("--import-username", metavar="NAME", help="a CERS account, for the password grant")
    group.add_argument("--import-scope", default="", metavar="SCOPES", help="space-separated scopes, if needed")
    group.add_argument(
        "--upload-wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="wait at most this long for CERS to process the file (default: %(default)s)",
    )


def import_settings(args: argparse.Namespace, config: Config) -> CersImportSettings | None:
    """The import connection of ``--upload`` (None without it), its secrets from ``config``; a usage
    error when incomplete."""
    if not args.upload:
        return None
    missing = [flag for flag in ("--import-url", "--import-token-url", "--import-client-id")
               if not getattr(args, flag.removeprefix("--").replace("-", "_"))]  # fmt: skip
    if missing:
        raise ImportUsageError(f"--upload needs {', '.join(missing)}.")
    if args.upload_wait <= 0:
        raise ImportUsageError("--upload-wait must be more than 0 seconds.")
    try:
        return CersImportSettings(
            import_url=args.import_url,
            token_url=args.import_token_url,
            client_id=args.import_client_id,
            username=args.import_username or "",
            client_secret=config.import_client_secret,
            password=config.import_password,
            scope=args.import_scope,
        )
    except ValidationError as error:
        problems = []
        for problem in error.errors(include_input=False):
            field = str(problem["loc"][0]) if problem["loc"] else ""
            message = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{_FLAG_OF_FIELD.get(field, field)}: {message}" if field else message)
        raise ImportUsageError("; ".join(problems)) from None


def upload_export(
    settings: CersImportSettings, result: GroupExport, *, wait: float, err: TextIO, egress: Egress | None = None
) -> int:
    """Send an export's file to CERS and report on ``err``; returns the exit code (see the module docstring)."""
    if not result.accepted:
        print("Not sent to CERS: CERS would reject this file (see above).", file=err)
        return EXIT_REJECTED

    from cers_core.cers_import import UploadContext, upload_group_file  # only an export with --upload needs it

    def progress(text: str) -> None:
        print(text, file=err, flush=True)

    try:
        outcome = upload_group_file(
            settings,
            result.csv_bytes,
            file_name=result.file_name(),
            context=UploadContext(max_wait=wait, on_progress=progress, egress=egress),
        )
    except UploadRefused as error:
        print(f"error: {error}", file=err)
        return EXIT_REJECTED
    except UploadOutcomeUnknown as error:
        print(f"error: {error}", file=err)
        return EXIT_OUTCOME_UNKNOWN
    except UploadError as error:
        print(f"error: {error}", file=err)
        print("The file was written but not sent to CERS.", file=err)
        return EXIT_CONNECTION
    print(outcome.to_text(), file=err)
    print(f"Import {outcome.import_id}, batch {outcome.batch}: {outcome.status}.", file=err)
    if outcome.succeeded:
        return EXIT_OK
    return EXIT_CERS_REJECTED if outcome.finished else EXIT_OUTCOME_UNKNOWN


def add_diff_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = commands.add_parser("diff", help="what sending NEW changes in CERS after OLD was sent")
    diff.add_argument("old", type=Path, metavar="OLD", help="the group file sent (or downloaded) before")
    diff.add_argument("new", type=Path, metavar="NEW", help="the group file to send now")


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    """Print what changes in CERS; exit 0 whether or not anything changes (2 when a file cannot be read)."""
    for path in (args.old, args.new):
        if not path.is_file():
            raise InvalidFile(f"There is no file at {path}.", hint="Check the path and try again.")
    from cers_core.group_diff import diff_group_files, group_file  # only this command needs it

    print(diff_group_files(group_file(args.old), group_file(args.new)).to_text(), file=out)
    return EXIT_OK
