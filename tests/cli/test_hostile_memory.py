"""The command line against a hostile provider, in a process of its own under a memory limit: answers
without end or of gigabytes, an absurd total and a silent provider all end in exit 3 with the reason,
nothing written, within seconds, and without running out of memory.

The limit (``RLIMIT_AS``, 1.5 GB of address space: a normal export of a school needs about 1 GB of it,
threads' stacks and polars' reservations included) is what proves the bound: before the size cap an
endless answer filled memory at hundreds of MB a second, and a page of gigabytes was read whole.
"""

from __future__ import annotations

import io
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cers_core.cli import main
from cers_demo import DemoServer, ProviderOptions
from cers_demo.faults import Hostile
from tests.support import ROOT

MEMORY_LIMIT = 1536 * 2**20


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def export(server: DemoServer, out: Path, *extra: str) -> tuple[int, str, float]:
    """``export`` in its own process under the memory limit: exit code, standard error, seconds taken."""
    command = [sys.executable, "-m", "cers_core", "export", "--school", "org-0001", "--out", str(out)]
    command += ["--base-url", server.base_url, "--token-url", server.token_url, "--client-id", server.client_id]
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CERS_CLIENT_SECRET": server.client_secret,
        "CERS_MAX_ANSWER_MB": "4",
    }
    started = time.monotonic()
    done = subprocess.run(
        [*command, *extra],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        preexec_fn=limit_memory,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        (Hostile(mode="endless-body"), r"answer was too large \(over 4 MB\)"),
        (Hostile(mode="huge-page", size=3 * 2**30), r"answer was too large \(over 4 MB\)"),
        # The school list or the terms, whichever comes first (both are asked at once).
        (Hostile(mode="huge-total"), r"says it has 1,000,000,000,000 \w+ \(X-Total-Count\)"),
        (Hostile(mode="silent"), r"within the export's time limit \(3 seconds\)"),
    ],
    ids=["endless body", "a page of 3 GB", "a total of 10^12", "silent, --deadline 3"],
)
def test_a_hostile_provider_ends_the_export_in_bounded_time_and_memory(demo_district, tmp_path, mode, said):
    out = tmp_path / "groups.csv"
    with DemoServer(demo_district, options=ProviderOptions(hostile=(mode,))) as server:
        code, err, took = export(server, out, "--deadline", "3")
    assert code == 3, err
    assert re.search(said, err) and "Nothing was written." in err
    assert "Traceback" not in err and "MemoryError" not in err
    assert not out.exists()
    assert took < 15


def test_a_deadline_that_cannot_be_used_is_a_usage_error(monkeypatch):
    monkeypatch.setenv("CERS_CLIENT_SECRET", "s")
    err = io.StringIO()
    args = ["schools", "--base-url", "https://sis.example.org/v1p2", "--token-url", "https://sis.example.org/t"]
    assert main([*args, "--client-id", "c", "--deadline", "0"], out=io.StringIO(), err=err) == 2
    assert "--deadline must be more than 0 seconds" in err.getvalue()
