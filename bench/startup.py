"""How long the command line takes to start: imports before an export's first request.

``python -m bench.startup [--tree PATH] [--before REV]`` runs ``python -X importtime -m cers_core
export`` from a source tree (default: this one) against a loopback listener that records the first
connection and then stops the export: what the process imported until then is its start-up cost
(the best of five runs). It also times whole processes, best of five: one importing
``cers_core.cli``, one importing only polars, httpx and pydantic (the libraries an export cannot do
without), and one that starts and exits. ``--before REV`` compares with the code of a git revision
(``git archive`` into a temporary folder), runs alternating, against the target: at most 60% of
its imports before the first request.

Each tree is compiled to bytecode first, as an installed app runs (``PYTHONDONTWRITEBYTECODE``,
which some machines set, would otherwise make every run compile our source anew).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.report import Row

ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")
_RUNS = 5
MAX_OF_BEFORE = 0.60


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


def compiled(tree: Path) -> Path:
    """``tree`` with its packages compiled to bytecode (in their ``__pycache__``, which git ignores)."""
    for package in ("cers_core", "cers_demo", "cers_app"):
        if (tree / package).is_dir():
            compileall.compile_dir(tree / package, quiet=1)
    return tree


def startup_of_export(tree: Path = ROOT, *, importtime: bool = True) -> Startup:
    """Run the export from ``tree`` until its first connection; nothing answers it. Without
    ``importtime`` only the time to the first request is measured (the imports are not timed)."""
    with socket.socket() as listener, tempfile.TemporaryDirectory() as folder:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(60)
        port = listener.getsockname()[1]
        command = [
            sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "cers_core", "export", "--all-schools",
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


def best_startup(tree: Path = ROOT, runs: int = _RUNS) -> Startup:
    """The run of ``runs`` with the least imports before the first request."""
    return min((startup_of_export(tree) for _ in range(runs)), key=lambda run: run.imports_before_request)


def best_process_time(code: str, *, tree: Path = ROOT, runs: int = _RUNS) -> float:
    """The fastest of ``runs`` whole ``python -c code`` processes, in seconds."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def startup_rows(tree: Path = ROOT) -> list[Row]:
    """The benchmark table's rows about start-up."""
    export = best_startup(compiled(tree))
    cli = best_process_time("import cers_core.cli", tree=tree)
    libraries = best_process_time("import polars, httpx, pydantic", tree=tree)
    bare = best_process_time("pass", tree=tree)
    heaviest = ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in export.top[:5])
    return [
        Row(
            "start: export's imports before its first request (python -X importtime, best of 5)",
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


@contextlib.contextmanager
def revision_tree(revision: str) -> Iterator[Path]:
    """The files of git ``revision`` of this repository, in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="cers-before-") as folder:
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        yield Path(folder)


def against_before(tree: Path, before: Path, label: str, runs: int = _RUNS) -> list[Row]:
    """Imports before the first request, ``tree`` against ``before``: runs alternating, best of each."""
    compiled(tree)
    compiled(before)
    now_runs, before_runs, now_plain, before_plain = [], [], [], []
    for _ in range(runs):
        before_runs.append(startup_of_export(before))
        now_runs.append(startup_of_export(tree))
        before_plain.append(startup_of_export(before, importtime=False).wall_to_first_request)
        now_plain.append(startup_of_export(tree, importtime=False).wall_to_first_request)
    now = min(now_runs, key=lambda run: run.imports_before_request)
    then = min(before_runs, key=lambda run: run.imports_before_request)
    ratio = now.imports_before_request / then.imports_before_request
    walls = min(now_plain) / min(before_plain)
    return [
        Row(
            f"start: export's imports before its first request, this tree against {label} (python -X importtime, "
            f"best of {runs} each, alternating)",
            f"{now.imports_before_request:.2f} s / {then.imports_before_request:.2f} s = {ratio:.2f}; first request"
            f" (without -X importtime, best of {runs}) {min(now_plain):.2f} s / {min(before_plain):.2f} s after"
            f" start = {walls:.2f}",
            target=f"≤ {MAX_OF_BEFORE:.2f}",
            met=ratio <= MAX_OF_BEFORE,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the source tree to start from (default: this one)")
    parser.add_argument("--before", metavar="REV", help="a git revision to compare with (e.g. 05d4580)")
    args = parser.parse_args()
    tree = args.tree.resolve()
    if args.before:
        with revision_tree(args.before) as before:
            rows = against_before(tree, before, args.before)
    else:
        rows = startup_rows(tree)
    for row in rows:
        print(" | ".join(row.cells()))


if __name__ == "__main__":
    main()
