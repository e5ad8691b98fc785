"""Reading takes the memory of the columns read, not of the file: an enrollments.csv larger than the
memory the process may use is read all the same, from a folder and from a zip.

The file is made large by a wide extension column that we never read (``metadata.notes``, as
vendors add), so that the frames stay small while the file does not. The reading runs in a
subprocess whose writable memory is capped with ``RLIMIT_DATA``; as a control, reading the file
whole fails under the same cap. (``RLIMIT_AS`` would not tell them apart: polars reserves well
over a gigabyte of address space for its threads when it starts, touched or not, so the cap on
address space measures reservations rather than use.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.support import ROOT
from tests.support.bundles import bundle_files, folder_bundle

# The cap holds the interpreter, polars and its threads, the thread that reads ahead, a block or two,
# and the columns; the file is well over it all the same.
LIMIT = 340 << 20
ROWS = 150_000
NOTE_BYTES = 3_400


@pytest.fixture(scope="module")
def large_bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Lincoln High with 150,000 more enrollments and a 3.4 kB note on each: a 520 MB enrollments.csv."""
    folder = folder_bundle(bundle_files("lincoln_high", "1.2"), tmp_path_factory.mktemp("large") / "bundle")
    pl.DataFrame({"n": pl.int_range(ROWS, eager=True)}).select(
        sourcedId=pl.format("big-{}", "n"),
        status=pl.lit("active"),
        dateLastModified=pl.lit(None, dtype=pl.String),
        classSourcedId=pl.lit("cls-art"),
        schoolSourcedId=pl.lit("sch-lhs"),
        userSourcedId=pl.lit("s-4"),
        role=pl.lit("student"),
        primary=pl.lit(None, dtype=pl.String),
        beginDate=pl.lit(None, dtype=pl.String),
        endDate=pl.lit(None, dtype=pl.String),
        **{"metadata.notes": pl.lit("n" * NOTE_BYTES)},
    ).write_csv(folder / "enrollments.csv")
    assert (folder / "enrollments.csv").stat().st_size > 1.4 * LIMIT
    yield folder
    shutil.rmtree(folder.parent)  # half a gigabyte twice: not kept with pytest's last temporary folders


def run_capped(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter whose writable memory is capped at ``LIMIT``."""
    capped = f"import resource\nresource.setrlimit(resource.RLIMIT_DATA, ({LIMIT}, {LIMIT}))\n{code}"
    # Two polars threads whatever the machine: each thread's arena counts against the cap.
    env = os.environ | {"POLARS_MAX_THREADS": "2", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", capped], capture_output=True, text=True, timeout=60, env=env)


def test_a_file_larger_than_the_memory_allowed_is_read_from_a_folder_and_from_a_zip(large_bundle):
    zipped = large_bundle.parent / "bundle.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as bundle:
        for path in large_bundle.iterdir():
            bundle.write(path, path.name)
    for source in (large_bundle, zipped):
        done = run_capped(
            "from cers_core.oneroster_csv import read_bundle\n"
            f"print(read_bundle({str(source)!r}).roster.enrollments.height)"
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == [str(ROWS)]


def test_reading_the_file_whole_does_not_fit_under_the_same_cap(large_bundle):
    done = run_capped(f"open({str(large_bundle / 'enrollments.csv')!r}, 'rb').read()")
    assert done.returncode != 0 and "MemoryError" in done.stderr
