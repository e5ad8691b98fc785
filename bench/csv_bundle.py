"""A district's OneRoster CSV bundle against its OneRoster REST API, side by side in one run.

Both exports are measured the one way (``bench.processes``: the demo provider in a process of its
own, and the command line's export in a process of its own, its peak RSS its own):

- at ``scale`` (``lausd``): the bundle written once by ``demo-csv`` as a zip, then the command line's
  ``export --oneroster-csv`` of it against its ``export --base-url …`` of the same district (the
  ``demo-server`` of the same scale and seed): time (target: at most a third of REST's) and peak RSS
  (target: at most REST's);
- at ``scale`` and at ``check_scale`` (``district``): the two files compared by SHA-256, which must
  be equal: the same district read either way gives the same file, to the byte.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.processes import ROOT, provider, run_export
from bench.report import Row

__all__ = ["csv_bundle"]

Rows = list[Row]


def csv_bundle(scale: str, check_scale: str) -> Rows:
    """The rows of the table: the bundle against REST at ``scale``, and the files' identity at ``check_scale`` too."""
    rows: Rows = []
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as folder:
        for each in dict.fromkeys((check_scale, scale)):
            rows += _side_by_side(each, Path(folder) / each, timed=each == scale)
    return rows


def _side_by_side(scale: str, folder: Path, *, timed: bool) -> Rows:
    folder.mkdir()
    bundle, rest_file, bundle_file = folder / f"{scale}.zip", folder / "rest.csv", folder / "bundle.csv"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cers_core", "demo-csv", "--scale", scale, "--out", str(bundle)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    written = time.perf_counter() - started
    # run_export writes to a file of its own and deletes it; a second --out (the last one wins) keeps it here.
    with provider(scale) as server:
        rest_seconds, rest_rss, rest_code = run_export(server, "--all-schools", "--out", str(rest_file), concurrency=4)
    # After the provider has stopped: the bundle's export has the machine to itself, as REST's had but for it.
    bundle_seconds, bundle_rss, bundle_code = run_export(
        None, "--oneroster-csv", str(bundle), "--all-schools", "--out", str(bundle_file), concurrency=4
    )
    rest_hash, bundle_hash = (hashlib.sha256(path.read_bytes()).hexdigest() for path in (rest_file, bundle_file))
    same = (
        f"the same file, to the byte (SHA-256 {bundle_hash[:16]}…, {bundle_file.stat().st_size:,} bytes)"
        if bundle_hash == rest_hash
        else f"DIFFERENT: bundle {bundle_hash[:16]}…, REST {rest_hash[:16]}…"
    )
    rows = [
        Row(f"{scale}: CERS file from its CSV bundle vs over REST (SHA-256)", same, "equal", bundle_hash == rest_hash)
    ]
    if timed:
        rows = [
            Row(f"{scale} bundle written by demo-csv (OneRoster 1.2, zip)",
                f"{bundle.stat().st_size / 1e6:,.1f} MB in {written:.1f} s"),
            Row(f"{scale}: CLI export of all schools from the bundle (export --oneroster-csv, zip) / over REST, time",
                f"{bundle_seconds:.1f} s (exit {bundle_code}) / {rest_seconds:.1f} s (exit {rest_code}) "
                f"= {bundle_seconds / rest_seconds:.2f}",
                "≤ 0.33", bundle_seconds / rest_seconds <= 1 / 3 and bundle_code == rest_code == 0),
            Row(f"{scale}: the same two exports, peak RSS",
                f"{bundle_rss:,.0f} MB / {rest_rss:,.0f} MB = {bundle_rss / rest_rss:.2f}",
                "≤ 1", bundle_rss <= rest_rss),
            *rows,
        ]  # fmt: skip
    return rows
