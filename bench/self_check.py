"""The check of a district's file just written: the streaming validator against the check by columns.

``python -m bench.self_check [--scale district lausd]`` builds each demo district's file in memory
(its CSV bundle read back, groups split as an export makes them), then times, in this one process
and on the same rows, ``validate_cers_csv`` of the written bytes and ``check_written_rows`` of the
rows (the best of a few runs each), checks that the two reports are equal, and prints a line per
scale: ``self-check of the lausd file: streaming X s, vectorized Y s = Z×``. The main benchmark
can call :func:`measure_self_check` with rows it has built.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import polars as pl

from cers_core import GroupOptions
from cers_core.cers_csv import order_cers_rows, validate_cers_csv, write_ordered_rows
from cers_core.cers_csv.self_check import check_written_rows
from cers_core.groups import build_section_groups
from cers_core.oneroster_csv import read_bundle
from cers_demo import generate_district
from cers_demo.csv_bundle import write_csv_bundle

AS_OF = date(2026, 11, 28)
T = TypeVar("T")


@dataclass(frozen=True)
class SelfCheckTiming:
    rows: int
    file_bytes: int
    streaming: float
    """Seconds of ``validate_cers_csv`` on the written bytes (best run)."""
    by_columns: float
    """Seconds of ``check_written_rows`` on the rows and the bytes (best run)."""
    equal: bool
    """The two reports are equal."""

    def line(self, what: str) -> str:
        ratio = self.streaming / self.by_columns
        return (
            f"self-check of the {what} file: streaming {self.streaming:.2f} s, vectorized {self.by_columns:.2f} s "
            f"= {ratio:.1f}× ({self.rows:,} rows, {self.file_bytes / 1e6:,.0f} MB, reports equal: {self.equal})"
        )


def measure_self_check(rows: pl.DataFrame, *, runs: int = 3) -> SelfCheckTiming:
    """Both checks of the file written from ``rows`` (ordered as ``order_cers_rows`` orders them)."""
    data = write_ordered_rows(rows)
    streaming, streamed = _best(lambda: validate_cers_csv(data), runs)
    by_columns, checked = _best(lambda: check_written_rows(rows, data), runs)
    return SelfCheckTiming(rows.height, len(data), streaming, by_columns, equal=streamed == checked)


def _best(run: Callable[[], T], runs: int) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def district_rows(scale: str, *, seed: int = 7) -> pl.DataFrame:
    """The demo district's rows as an export writes them (sections over 200 students split)."""
    district = generate_district(scale=scale, seed=seed, reference_date=AS_OF)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        roster = read_bundle(write_csv_bundle(district, Path(folder) / "district")).roster
    del district
    built = build_section_groups(roster, GroupOptions(split_large=True), as_of=AS_OF)
    return order_cers_rows(built.rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", nargs="+", default=["district", "lausd"], choices=["demo", "district", "lausd"])
    parser.add_argument("--runs", type=int, default=3, help="runs of each check; the best counts")
    args = parser.parse_args()
    for scale in args.scale:
        print(measure_self_check(district_rows(scale), runs=args.runs).line(scale), flush=True)


if __name__ == "__main__":
    main()
