"""The demo commands of ``python -m cers_core``: ``demo-server`` and ``demo-import-server``.

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
from cers_demo.provider_flags import add_fault_arguments, provider_options
from cers_demo.server import serve

__all__ = ["add_arguments", "run"]


def add_arguments(command: str, parser: argparse.ArgumentParser) -> None:
    """The options of ``command`` (``demo-server`` or ``demo-import-server``), on its parser."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    if command == "demo-server":
        parser.add_argument("--scale", choices=["demo", "district", "lausd"], default="demo")
        parser.add_argument("--seed", type=int, default=7)
        add_fault_arguments(parser)  # fault and quirk switches: see cers_demo/provider_flags.py
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
    options = FakeImportOptions(processing_seconds=max(0.0, args.processing_seconds))
    with FakeImportServer(options, host=args.host, port=args.port) as server:
        print(server.connection_json(), file=out, flush=True)
        print(
            f"Fake CERS import service (made-up credentials above) at {server.import_url}. Press Ctrl-C to stop.",
            file=err,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    print("Fake CERS import service stopped.", file=err, flush=True)
    return 0
