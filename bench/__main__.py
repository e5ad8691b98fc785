"""``python -m bench``: every figure of the performance targets beside its target, from one run.

Every number is measured in this one run, on this machine, and the claims are ratios between
runs made side by side: the demo provider runs in its own process (as a real SIS would be
another machine), our command line runs in its own process (so its time and peak memory are its
own), and the limit and the naive client run in this process. Progress goes to stderr as the run
goes; the table goes to stdout at the end and, after a whole run, into ``--out``.

The parts, in the order they run (``--only`` runs some of them, e.g. ``--only startup,self-check,validate``):

- ``startup``: a process importing ``cers_core.cli`` against one importing polars, httpx and pydantic;
- ``limit``: no latency, at ``--district-scale`` and ``--scale``: the whole CLI export against the
  network's limit (and the naive client at the smaller scale), the larger one's peak memory;
- ``build-write``: build + order + write at ``--scale``, the rosters in memory;
- ``self-check``: the streaming validator against the vectorized check of those same rows;
- ``latency``: 100 ms per request, 5 in flight: the largest ``--school-scale`` school's preview and
  the whole ``--district-scale`` export against their ideal, a refresh, the naive client;
- ``validate``: ``validate`` of a ``--validate-bytes`` (1 GB) valid group file;
- ``csv-bundle``: the ``--scale`` district's CSV bundle against REST, and both files' SHA-256 at
  both scales;
- ``app``: the Section Groups page re-drawn with the data in memory (``bench/app_render.py``).

``--skip-naive`` leaves out the naive client's runs. ``--out`` (default ``docs/performance.md``)
gets the table between its markers only after a whole run (no ``--only``, no ``--skip-naive``) at the
default scales.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import polars as pl

from bench.processes import AS_OF, ROOT
from bench.report import Row, progress, table

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PARTS = ("startup", "limit", "build-write", "self-check", "latency", "validate", "csv-bundle", "app")
SCALES = ("demo", "district", "lausd")
GB = 10**9


def run(parts: set[str], args: argparse.Namespace) -> list[Row]:
    """The chosen parts' rows, in the order of ``PARTS``."""
    naive = not args.skip_naive
    rows: list[Row] = []
    if "startup" in parts:
        from bench.startup import startup_rows

        progress("start-up: the export's imports, then whole processes, best of 5 each")
        rows += startup_rows()
    if parts & {"limit", "build-write", "self-check"}:
        from bench.zero_latency import zero_latency

        rows += zero_latency([args.district_scale, args.scale], parts=parts, naive=naive)
    if "latency" in parts:
        from bench.latency import with_latency

        rows += with_latency(args.school_scale, args.district_scale, naive=naive)
    if "validate" in parts:
        from bench.big_file import validate_big_file

        rows += validate_big_file(args.validate_bytes)
    if "csv-bundle" in parts:
        from bench.csv_bundle import csv_bundle

        progress(f"CSV bundle against REST at {args.district_scale} and {args.scale}")
        rows += csv_bundle(args.scale, args.district_scale)
    if "app" in parts:  # last: the app's own demo provider stays up in this process once started
        from bench.app_render import app_render

        progress("the app's preview re-drawn under AppTest")
        rows += app_render(AS_OF)
    return rows


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    memory = next(
        (line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0"
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {int(memory) / 1024 / 1024:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, polars {pl.__version__}"
    )


def _parts(text: str) -> set[str]:
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(PARTS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown part {', '.join(sorted(unknown))}; the parts: {', '.join(PARTS)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=_parts, metavar="PART,PART", help=f"run only these parts: {', '.join(PARTS)}")
    parser.add_argument("--scale", choices=SCALES, default="lausd", help="the larger scale (default lausd)")
    parser.add_argument("--district-scale", choices=SCALES, default="district", help="the smaller (default district)")
    parser.add_argument("--school-scale", choices=SCALES, default="lausd", help="a school's preview (default lausd)")
    parser.add_argument("--validate-bytes", type=int, default=GB, help="the group file validate reads (default 1 GB)")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive client")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args()
    parts = args.only or set(PARTS)
    rows = run(parts, args)
    stamp = f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()}, with `python -m bench`."
    missed = [row.measure for row in rows if row.met is False]
    summary = f"{sum(row.met is True for row in rows)} targets met, {len(missed)} not met."
    print(stamp, table(rows), summary, sep="\n\n")
    progress("done")
    scales = (args.scale, args.district_scale, args.school_scale, args.validate_bytes)
    defaults = scales == ("lausd", "district", "lausd", GB)
    whole = args.only is None and not args.skip_naive and defaults
    if whole and args.out.exists():
        text = args.out.read_text(encoding="utf-8")
        if START in text and END in text:
            before, rest = text.split(START, 1)
            after = rest.split(END, 1)[1]
            results = f"{START}\n{stamp}\n\n{table(rows)}\n\n{summary}\n{END}"
            args.out.write_text(f"{before}{results}{after}", encoding="utf-8")


if __name__ == "__main__":
    main()
