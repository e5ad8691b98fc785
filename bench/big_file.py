"""``validate`` of a big valid group file, in its own process: its peak memory and its speed.

The file (hundreds of schools, groups of about 60 students) is written by
``cers_demo.big_group_file`` into a temporary folder, checked by the command line
(``python -m cers_core validate FILE``) in a process of its own, and deleted. The speed is the
file's size over the process's whole wall time, start-up included.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench.processes import run_measured
from bench.report import Row, progress
from cers_demo.big_group_file import write_big_group_file

__all__ = ["validate_big_file"]

MAX_RSS_MB = 300
MIN_MB_PER_SECOND = 50


def validate_big_file(size_bytes: int) -> list[Row]:
    """The table's rows: peak RSS (target at most 300 MB) and MB/s (target at least 50) of one ``validate``."""
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as folder:
        progress(f"validate: writing a {size_bytes / 1e9:.2f} GB group file")
        path = Path(folder) / "groups.csv"
        write_big_group_file(path, size_bytes=size_bytes)
        size = path.stat().st_size
        progress("validate: checking it with the command line")
        seconds, rss, code = run_measured([sys.executable, "-m", "cers_core", "validate", str(path)])
    rate = size / 1e6 / seconds
    what = f"validate of a {size / 1e9:.2f} GB valid group file (CLI, own process; exit {code})"
    return [
        Row(f"{what}: peak RSS", f"{rss:,.0f} MB", f"≤ {MAX_RSS_MB} MB", rss <= MAX_RSS_MB and code == 0),
        Row(
            f"{what}: speed (file size / wall time)",
            f"{size / 1e6:,.0f} MB in {seconds:.1f} s = {rate:.0f} MB/s",
            f"≥ {MIN_MB_PER_SECOND} MB/s",
            rate >= MIN_MB_PER_SECOND and code == 0,
        ),
    ]
