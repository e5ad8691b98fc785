"""The processes the benchmark measures: the demo provider, and our command line with its peak memory.

The provider runs in a process of its own, as a real SIS would be another machine; our command
line too, so that its time and its peak memory are its own, not the benchmark's.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from cers_core import OneRosterSettings
from cers_demo import generate_district

__all__ = [
    "AS_OF", "PAGE_SIZE", "ROOT", "Provider", "largest_schools", "provider", "run_export", "run_measured", "timed",
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 28)
PAGE_SIZE = 1000
T = TypeVar("T")


@dataclass
class Provider:
    base_url: str
    token_url: str
    client_id: str
    client_secret: str

    def settings(self, concurrency: int) -> OneRosterSettings:
        return OneRosterSettings(
            base_url=self.base_url,
            token_url=self.token_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            page_size=PAGE_SIZE,
            max_concurrency=concurrency,
        )


@contextlib.contextmanager
def provider(scale: str, *extra: str) -> Iterator[Provider]:
    """The demo provider in its own process; its first stdout line says how to reach it."""
    command = [sys.executable, "-m", "cers_core", "demo-server", "--scale", scale, "--port", "0", *extra]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            assert process.stdout is not None
            yield Provider(**json.loads(process.stdout.readline()))
        finally:
            process.terminate()
            process.wait(timeout=30)


def run_measured(command: list[str], environment: dict[str, str] | None = None) -> tuple[float, float, int]:
    """``command`` in its own process: (wall seconds, peak RSS in MB, exit code)."""
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(environment or {})}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The kernel's high-water mark of the process's own memory (VmHWM starts afresh at exec; the
    # rusage of a child would also count this benchmark's memory, inherited at fork).
    peak = 0
    while process.poll() is None:
        with contextlib.suppress(OSError):
            status_lines = Path(f"/proc/{process.pid}/status").read_text().splitlines()
            peak = max([peak, *(int(line.split()[1]) for line in status_lines if line.startswith("VmHWM"))])
        time.sleep(0.05)
    return time.perf_counter() - started, peak / 1024, process.returncode


def run_export(server: Provider | None, *args: str, concurrency: int) -> tuple[float, float, int]:
    """Our command-line export in its own process: (wall seconds, peak RSS in MB, exit code); from
    ``server``, or with None from what ``args`` name (``--oneroster-csv PATH``)."""
    with tempfile.TemporaryDirectory() as folder:
        source = [] if server is None else [
            "--base-url", server.base_url, "--token-url", server.token_url, "--client-id", server.client_id,
            "--page-size", str(PAGE_SIZE), "--concurrency", str(concurrency),
        ]  # fmt: skip
        command = [
            sys.executable, "-m", "cers_core", "export", *source,
            "--as-of", AS_OF.isoformat(), "--split-large", "--out", str(Path(folder) / "groups.csv"), *args,
        ]  # fmt: skip
        secret = {} if server is None else {"CERS_CLIENT_SECRET": server.client_secret}
        return run_measured(command, secret)


def largest_schools(scale: str, count: int) -> list[str]:
    """The CDS codes of the demo district's schools with the most enrollments, largest first."""
    district = generate_district(scale=scale, seed=7, reference_date=AS_OF)  # type: ignore[arg-type]
    sizes = district.enrollments.group_by("school.sourcedId").len().sort("len", "school.sourcedId", descending=True)
    codes = dict(district.orgs.select("sourcedId", "identifier").iter_rows())
    return [codes[sid] for sid in sizes["school.sourcedId"].head(count)]


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """(seconds, result) of ``work()``."""
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result
