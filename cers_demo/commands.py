"""The demo commands of ``python -m cers_core``: ``demo-server``, ``demo-import-server`` and
``demo-oidc-server``.

``cers_core.cli`` names these commands but loads this module only when one of them is run
(or its ``--help`` is asked for), so that ``schools``, ``export`` and ``validate`` never
import a web server or the demo district.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from typing import TextIO

from cers_demo.fake_cers_import import FakeImportOptions, FakeImportServer
from cers_demo.oidc_provider import DEMO_PEOPLE, DemoOidcOptions, DemoOidcServer
from cers_demo.provider_flags import add_fault_arguments, provider_options
from cers_demo.server import serve

__all__ = ["add_arguments", "run"]


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    """The options of ``command`` (one of ``cers_core.cli.DEMO_COMMANDS``), on its parser."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    if command == "demo-server":
        parser.add_argument("--scale", choices=["demo", "district", "lausd"], default="demo")
        parser.add_argument("--seed", type=int, default=7)
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


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Serve until Ctrl-C or SIGTERM; the first line on ``out`` says where, as one JSON object. Returns 0."""
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
