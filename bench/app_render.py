"""The Section Groups page re-drawing a big preview once the data is in, and what it sends the browser.

The real page (``pages/3_Section_Groups.py``) runs under Streamlit's ``AppTest``, driven the way
``tests/test_app_section_groups.py`` drives it (its helpers are reused): a store in a temporary
folder, a demo OneRoster provider on loopback, a saved connection, the school searched for and
its row selected. That first run loads the school's export into the session; the runs timed
after it change nothing, so they draw the preview (metrics, the three grids, the downloads) from
memory. They must ask the provider nothing; the benchmark fails if they do.

What each grid sends is counted from the elements the run emitted (``at.dataframe``), against
the rows the export holds; the other payloads are the serialized size of every element. The
files behind the download buttons are not in the page: the browser fetches them on a click.
A time is AppTest's whole run (the script on its own thread, then the element tree built from
its messages), so a little more than the script itself.

The ``lausd`` demo is used: it has twenty comprehensive high schools of about 4,000 students, and
the smallest of those with at least 4,000 is timed. (Should a demo have no such school, its
largest school and its whole-district file are timed instead, and the table says so.)
"""

from __future__ import annotations

import contextlib
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from streamlit.testing.v1 import AppTest

from bench.report import Row
from cers_app import frames
from cers_core import GroupExport, GroupOptions, report_csv
from cers_demo import DemoDistrict, DemoServer, generate_district
from tests.support.app import choose_school, open_section_groups, save_connection, school_table

SCALE = "lausd"
TARGET_STUDENTS = 4_000
RUNS = 5


def students_per_school(district: DemoDistrict) -> pl.DataFrame:
    """School sourcedId, name and its distinct students (student enrollments), largest first."""
    students = (
        district.enrollments.filter(pl.col("role") == "student")
        .group_by("school.sourcedId")
        .agg(pl.col("user.sourcedId").n_unique().alias("students"))
    )
    names = district.orgs.select(pl.col("sourcedId").alias("school.sourcedId"), "name")
    return students.join(names, on="school.sourcedId").sort("students", "school.sourcedId", descending=True)


def pick_school(sizes: pl.DataFrame, target: int = TARGET_STUDENTS) -> dict[str, Any]:
    """The smallest school with at least ``target`` students, else the largest there is."""
    big_enough = sizes.filter(pl.col("students") >= target)
    return (big_enough.tail(1) if big_enough.height else sizes.head(1)).row(0, named=True)


@contextlib.contextmanager
def app_data_folder() -> Iterator[Path]:
    """What the tests' ``data_dir`` fixture does: the app's store in a temporary folder, no key from outside."""
    saved = {name: os.environ.get(name) for name in ("CERS_DATA_DIR", "CERS_SECRET_KEY")}
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        os.environ["CERS_DATA_DIR"] = str(data_dir)
        os.environ.pop("CERS_SECRET_KEY", None)
        try:
            yield data_dir
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def the_export(at: AppTest) -> GroupExport:
    """The one export the page keeps in this session (what its grids are pages of)."""
    (export,) = at.session_state["cers_data"].exports.values()
    return export


def timed_reruns(at: AppTest, server: DemoServer, runs: int) -> tuple[list[float], GroupExport]:
    """``runs`` script runs with nothing changed; each must draw from memory, without errors."""
    export, requests = the_export(at), server.request_log.count()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - started)
        assert not at.exception, [e.value for e in at.exception]
    asked = server.request_log.count() - requests
    assert asked == 0 and the_export(at) is export, f"a re-run read the provider again ({asked} requests)"
    return seconds, export


def sent(at: AppTest, export: GroupExport) -> str:
    """Rows of each grid the run sent against the rows behind it, and the size of everything else."""
    totals = {
        "file": export.rows,
        "group": frames.group_summary(export),
        "problem": frames.problem_report(export),
    }
    parts = []
    for grid in at.dataframe:
        if str(grid.key).startswith("sg_schools"):
            continue  # the school picker: counted on its own, before the search
        noun = next((noun for noun, frame in totals.items() if list(grid.value.columns) == frame.columns), "other")
        total = f" of {totals[noun].height:,}" if noun in totals else ""
        parts.append(f"{len(grid.value):,}{total} {noun} rows")
    grid_bytes = sum(grid.proto.ByteSize() for grid in at.dataframe)
    every_bytes = sum(node.proto.ByteSize() for node in at if getattr(node, "proto", None) is not None)
    report = report_csv.problem_report_csv(frames.problem_report(export))
    return (
        f"sends {', '.join(parts)}; {every_bytes / 1024:,.0f} KB of elements per run ({grid_bytes / 1024:,.0f} KB "
        f"of it grids); the CSV ({len(export.csv_bytes) / 1024:,.0f} KB) and the problem report "
        f"({len(report) / 1024:,.0f} KB) only on a download click"
    )


def result(seconds: list[float], at: AppTest, export: GroupExport) -> str:
    median, slowest = statistics.median(seconds), max(seconds)
    return f"{median:.2f} s (median of {len(seconds)}, max {slowest:.2f} s); {sent(at, export)}"


def app_render(as_of: date, runs: int = RUNS) -> list[Row]:
    """The preview of the demo's school closest to 4,000 students, and of its whole district, re-drawn."""
    # AppTest writes session state from this thread, which has no script-run context; Streamlit warns about
    # that (in the tests too) and resets its loggers' levels on every run, so a filter it is.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage()
    )
    district = generate_district(scale=SCALE, seed=7, reference_date=as_of)
    sizes = students_per_school(district)
    school = pick_school(sizes)
    all_students = district.enrollments.filter(pl.col("role") == "student")["user.sourcedId"].n_unique()
    if school["students"] >= TARGET_STUDENTS:
        which = f"the `{SCALE}` demo's smallest with at least {TARGET_STUDENTS:,}"
    else:
        which = f"the `{SCALE}` demo's largest; none has {TARGET_STUDENTS:,}"
    rows: list[Row] = []
    with DemoServer(district) as server, app_data_folder() as data_dir:
        save_connection(data_dir, server, GroupOptions(split_large=True))
        at = open_section_groups()
        picker = len(school_table(at))  # before any search: the whole list
        schools = district.orgs.filter(pl.col("type") == "school").height
        at = choose_school(at, school["name"], as_of)
        assert not at.exception, [e.value for e in at.exception]
        seconds, export = timed_reruns(at, server, runs)
        rows.append(
            Row(
                f"app: preview of a {school['students']:,}-student school ({school['name']}, {which}) "
                "re-rendered with the data in memory",
                f"{result(seconds, at, export)}; before a search, the school picker sends {picker:,} of {schools:,} "
                "schools (not paged)",
                "≤ 1 s",
                statistics.median(seconds) <= 1,
            )
        )
        if school["students"] < TARGET_STUDENTS:  # a new browser session: nothing of the first one kept
            at = open_section_groups()
            at.date_input(key="sg_as_of").set_value(as_of)
            at.radio(key="sg_scope").set_value("Whole district").run()
            assert not at.exception, [e.value for e in at.exception]
            seconds, export = timed_reruns(at, server, runs)
            rows.append(
                Row(
                    f"app: whole-district preview of the `{SCALE}` demo ({all_students:,} students, more than a "
                    f"{TARGET_STUDENTS:,}-student school) re-rendered with the data in memory",
                    result(seconds, at, export),
                    "≤ 1 s",
                    statistics.median(seconds) <= 1,
                )
            )
    return rows
