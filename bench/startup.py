"""How long the command line takes to start: imports before an export's first request.

``python -m bench.startup [--tree PATH]`` runs ``python -X importtime -m cers_core export`` from a
source tree (default: this one; ``--tree`` another checkout, to compare before and after a change)
against a loopback listener that records the first connection and then stops the export: what the
process imported until then is its start-up cost. It also times whole processes, best of five:
one importing ``cers_core.cli``, one importing only polars, httpx and pydantic (the libraries an
export cannot do without), and one that starts and exits.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row

ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


@dataclass(frozen=True, slots=True)
class Startup:
    """Seconds of imports before the first request, and what took most of them."""

    imports_before_request: float
    wall_to_first_request: float
    top: list[tuple[str, float]]


def _top_level_imports(stderr: str) -> list[tuple[str, float]]:
    """(module, cumulative seconds) of each import made at the top level, in order."""
    found = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and len(match.group(3)) == 1:  # importtime indents nested imports by two more spaces
            found.append((match.group(4), int(match.group(2)) / 1e6))
    return found


def startup_of_export(tree: Path = ROOT) -> Startup:
    """Run the export from ``tree`` until its first connection; nothing answers it."""
    with socket.socket() as listener, tempfile.TemporaryDirectory() as folder:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(60)
        port = listener.getsockname()[1]
        command = [
            sys.executable, "-X", "importtime", "-m", "cers_core", "export", "--all-schools",
            "--base-url", f"http://127.0.0.1:{port}/ims/oneroster/rostering/v1p2",
            "--token-url", f"http://127.0.0.1:{port}/oauth/token", "--client-id", "startup",
            "--out", str(Path(folder) / "groups.csv"),
        ]  # fmt: skip
        environment = {**os.environ, "CERS_CLIENT_SECRET": "startup", "PYTHONPATH": str(tree)}
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=tree, env=environment, stderr=subprocess.PIPE, text=True)
        try:
            connection, _ = listener.accept()
            arrived = time.perf_counter() - started
            process.send_signal(signal.SIGKILL)
            connection.close()
        finally:
            _, stderr = process.communicate(timeout=60)
    imports = _top_level_imports(stderr)
    top = sorted(imports, key=lambda item: -item[1])[:8]
    return Startup(sum(seconds for _, seconds in imports), arrived, top)


def best_process_time(code: str, *, tree: Path = ROOT, runs: int = 5) -> float:
    """The fastest of ``runs`` whole ``python -c code`` processes, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def startup_rows(tree: Path = ROOT) -> list[Row]:
    """The benchmark table's rows about start-up."""
    export = startup_of_export(tree)
    cli = best_process_time("import cers_core.cli", tree=tree)
    libraries = best_process_time("import polars, httpx, pydantic", tree=tree)
    bare = best_process_time("pass", tree=tree)
    heaviest = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in export.top[:5])
    return [
        Row(
            "start: export's imports before its first request (python -X importtime)",
            f"{export.imports_before_request:.2f} s; first request {export.wall_to_first_request:.2f} s after start"
            f" (heaviest: {heaviest})",
        ),
        Row(
            "start: a process importing cers_core.cli / one importing polars, httpx, pydantic (best of 5 each)",
            f"{cli:.2f} s / {libraries:.2f} s = {cli / libraries:.2f}x (python alone: {bare:.2f} s)",
            target="≤ 1.25x",
            met=cli / libraries <= 1.25,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the source tree to start from (default: this one)")
    args = parser.parse_args()
    for row in startup_rows(args.tree.resolve()):
        print(" | ".join(row.cells()))


if __name__ == "__main__":
    main()
