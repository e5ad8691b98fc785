"""The app as the browser tests run it: `streamlit run app.py` on a free loopback port.

No file watcher: edits elsewhere in the tree must not reload modules under a running test.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx

from tests.support import ROOT

__all__ = ["free_port", "streamlit_app"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def streamlit_app(*, port: int, env: Mapping[str, str], log: Path, options: Sequence[str] = ()) -> Iterator[str]:
    """`streamlit run app.py` on 127.0.0.1:``port`` with ``env`` and more command-line ``options``, its
    output in ``log``; yields its URL once ``/_stcore/health`` says ok, and stops it after."""
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.fileWatcherType", "none", "--server.port", str(port), "--server.address", "127.0.0.1",
               *options]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while not _healthy(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log}")
                time.sleep(0.2)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=15)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok"
    except httpx.TransportError:
        return False
