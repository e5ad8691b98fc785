"""The demo commands of ``python -m cers_core``: ``demo-server``, ``demo-import-server``,
``demo-oidc-server`` and ``demo-csv``.

``cers_core.cli`` names these commands but loads this module only when one of them is run
(or its ``--help`` is asked for), so that ``schools``, ``export`` and ``validate`` never
import a web server or the demo district.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from pathlib import Path
from typing import TextIO

from cers_core.oneroster_csv.binding import VERSIONS
from cers_core.wording import count, printable
from cers_demo.csv_bundle import write_csv_bundle
from cers_demo.district import generate_district
from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from cers_demo.oidc_provider import DEMO_PEOPLE, DemoOidcOptions, DemoOidcServer
from cers_demo.provider_flags import add_fault_arguments, provider_options
from cers_demo.server import serve

__all__ = ["add_arguments", "run"]


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    """The options of ``command`` (one of ``cers_core.cli.DEMO_COMMANDS``), on its parser."""
    if command == "demo-csv":
        _district_arguments(parser)
        parser.add_argument("--version", choices=VERSIONS, default="1.2", help="OneRoster version (default: 1.2)")
        parser.add_argument(
            "--out",
            type=Path,
            required=True,
            metavar="DIR_OR_ZIP",
            help="a path ending in .zip for a zip file, else a folder (made if need be)",
        )
        return
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    if command == "demo-server":
        _district_arguments(parser)
        add_fault_arguments(parser)  # fault and quirk switches: see cers_demo/provider_flags.py
    elif command == "demo-oidc-server":
        parser.add_argument(
            "--person",
            action="append",
            metavar="EMAIL",
            help="an address the sign-in page offers (repeatable; default: the three demo people)",
        )
        parser.add_argument(
            "--redirect-uri",
            action="append",
            metavar="URL",
            help="the only redirect URI accepted (repeatable; default: any …/oauth2callback on this computer)",
        )
    else:
        parser.add_argument(
            "--processing-seconds",
            type=float,
            default=2.0,
            help="how long imports stay ACCEPTED (default: %(default)s)",
        )


def _district_arguments(parser: argparse.ArgumentParser) -> None:
    """Which demo district: ``demo-server`` and ``demo-csv`` with the same ones give the same records."""
    parser.add_argument("--scale", choices=["demo", "district", "lausd"], default="demo")
    parser.add_argument("--seed", type=int, default=7)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Serve until Ctrl-C or SIGTERM; the first line on ``out`` says where, as one JSON object. Returns 0.
    ``demo-csv`` writes its bundle instead, and returns 0, or 2 when it cannot."""
    if args.command == "demo-csv":
        return _write_bundle(args, out, err)
    if args.command == "demo-server":
        serve(host=args.host, port=args.port, scale=args.scale, seed=args.seed, options=provider_options(args))
        return 0
    server: FakeImportServer | DemoOidcServer
    if args.command == "demo-oidc-server":
        people, redirect_uris = tuple(args.person or DEMO_PEOPLE), tuple(args.redirect_uri or ())
        server = DemoOidcServer(
            DemoOidcOptions(people=people, redirect_uris=redirect_uris), host=args.host, port=args.port
        )
    else:
        options = FakeImportOptions(processing_seconds=max(0.0, args.processing_seconds))
        server = FakeImportServer(options, host=args.host, port=args.port)
    with server:
        print(server.connection_json(), file=out, flush=True)
        print(f"{_ready(server)}Press Ctrl-C to stop.", file=err, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    print(f"The {server.name} stopped.", file=err, flush=True)
    return 0


def _write_bundle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``demo-csv``: the district ``demo-server`` serves for the same scale and seed, as a OneRoster CSV
    bundle at ``--out``; its path on ``out``, what it holds on ``err``. A folder that holds other
    files than a bundle's is refused, so that a mistyped path cannot strew CSV files anywhere."""
    target: Path = args.out
    zipped = target.suffix.lower() == ".zip"
    if zipped and target.is_dir():
        print(printable(f"error: {target} is a folder, though its name ends in .zip: give another path."), file=err)
        return 2
    if not zipped and target.exists() and not target.is_dir():
        print(printable(f"error: {target} is a file: give a path ending in .zip for a zip, or a folder."), file=err)
        return 2
    if not zipped and target.is_dir() and any(target.iterdir()) and not (target / "manifest.csv").exists():
        print(printable(f"error: {target} holds other files than a bundle's; give an empty or new folder."), file=err)
        return 2
    district = generate_district(scale=args.scale, seed=args.seed)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_csv_bundle(district, target, version=args.version)
    except OSError as error:
        print(printable(f"error: cannot write {target}: {error.strerror or error}."), file=err)
        return 2
    print(printable(str(target)), file=out)
    schools = district.orgs.filter(district.orgs["type"] == "school").height
    print(
        printable(
            f"The demo district ({args.scale}, seed {args.seed}: {count(schools, 'school')}, "
            f"{count(district.users.height, 'person', 'people')}, {count(district.enrollments.height, 'enrollment')}) "
            f"as a OneRoster {args.version} CSV bundle. Export it with:\n"
            f"  python -m cers_core export --oneroster-csv {target} --all-schools --split-large --out groups.csv",
            keep="\n",
        ),
        file=err,
    )
    return 0


def _ready(server: FakeImportServer | DemoOidcServer) -> str:
    """What a person reads once ``server`` answers."""
    if isinstance(server, FakeImportServer):
        return f"Fake CERS import service (made-up credentials above) at {server.import_url}. "
    redirect_uri = next(iter(server.options.redirect_uris), "http://localhost:8501/oauth2callback")
    return (
        f"Demo OpenID Connect provider (made-up people, no passwords) at {server.origin}.\n"
        "For the app's .streamlit/secrets.toml (then start the app with `make run`):\n\n"
        f"{server.secrets_toml(redirect_uri)}\n"
    )
