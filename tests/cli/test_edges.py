"""The command line's sharp edges (issue 11): an ``--out`` that cannot take the file is refused before
anything is read; SIGTERM cleans up as Ctrl-C does, and a crashed run's temporary files go; an
implausible school year is a usage error; huge SIS values print one line; an internal error has its
own exit code and keeps its traceback off the terminal."""

from __future__ import annotations

import dataclasses
import fcntl
import io
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest

from cers_core.cli import main
from cers_demo import DemoDistrict, DemoServer
from cers_demo.faults import Faults
from tests.support import DEMO_REFERENCE_DATE, ROOT

UNREACHABLE = ["--base-url", "http://127.0.0.1:9/ims", "--token-url", "http://127.0.0.1:9/token", "--client-id", "x"]


def run(monkeypatch, *args: str, secret: str = "s", out: io.StringIO | None = None) -> tuple[int, str, str]:
    monkeypatch.setenv("CERS_CLIENT_SECRET", secret)
    out, err = out or io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def export(server: DemoServer | None, *extra: str) -> list[str]:
    connection = (
        UNREACHABLE
        if server is None
        else ["--base-url", server.base_url, "--token-url", server.token_url, "--client-id", server.client_id]
    )
    return ["export", *connection, "--school", "org-0001", "--as-of", DEMO_REFERENCE_DATE.isoformat(), *extra]


# -- --out --------------------------------------------------------------------------------------


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _symlink(path: Path) -> Path:
    (path.parent / "real.csv").write_text("old")
    path.symlink_to(path.parent / "real.csv")
    return path


def _device(path: Path) -> Path:
    try:  # a device like /dev/null, made in the test's folder (root may; a container may refuse)
        os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device node needs CAP_MKNOD: the FIFO case covers files that are not regular")
    return path


def _under_a_file(path: Path) -> Path:
    (path.parent / "plain.txt").write_text("a file")
    return path.parent / "plain.txt" / "sub" / "groups.csv"


@pytest.mark.parametrize(
    ("make", "said"),
    [
        (lambda path: path.mkdir() or path, "is a folder; give the path of a file to write."),
        (_fifo, "is not a regular file (a FIFO, a device or a socket)"),
        (_device, "is not a regular file (a FIFO, a device or a socket)"),
        (_symlink, "is a symbolic link; give the path of a file to write."),
        (_under_a_file, "plain.txt is a file, not a folder."),
    ],
    ids=["a folder", "a FIFO", "a device", "a symbolic link", "a folder that is a file"],
)
@pytest.mark.parametrize("flag", ["--out", "--report-json"])
def test_an_output_that_cannot_take_the_file_is_refused_before_anything_is_read(
    monkeypatch, tmp_path, make, said, flag
):
    """The provider is unreachable: reading would end in exit 3; the refusal comes first, exit 2."""
    target = make(tmp_path / "groups.csv")
    kind = target.lstat().st_mode if target.exists() or target.is_symlink() else None
    code, out, err = run(monkeypatch, *export(None, flag, str(target)))
    assert (code, out) == (2, ""), err
    assert err.startswith(f"error: {flag} {target}: ") and said in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    if kind is not None:
        assert target.lstat().st_mode == kind  # not replaced by a regular file
    assert not list(tmp_path.rglob("*.part"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write in a folder without write permission")
def test_a_folder_without_write_permission_is_refused(monkeypatch, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = run(monkeypatch, *export(None, "--out", str(locked / "groups.csv")))
    assert code == 2 and "cannot write in" in err and "Permission denied" in err


def test_out_dash_is_standard_output(monkeypatch, demo_server, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(monkeypatch, *export(demo_server, "--out", "-"), secret=demo_server.client_secret)
    assert code in (0, 1), err
    assert out.startswith("group_name,school_natural_id,")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_written_after_all_is_said_plainly(monkeypatch, demo_server, tmp_path):
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "groups.csv"
    code, _, err = run(monkeypatch, *export(demo_server, "--out", str(target)), secret=demo_server.client_secret)
    assert code == 2
    assert err.splitlines()[-1] == f"error: {target} could not be written (No space left on device)."
    assert list(tmp_path.iterdir()) == []


def test_a_reader_that_stops_early_is_said_not_a_crash(monkeypatch, demo_server):
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    code, _, err = run(monkeypatch, *export(demo_server), secret=demo_server.client_secret, out=ClosedPipe())
    assert code == 2
    assert err.splitlines()[-1] == "error: Standard output was closed before the whole file was written."


# -- SIGTERM and what a crashed run left ----------------------------------------------------------


def test_sigterm_while_the_file_is_written_removes_it_and_exits_143(monkeypatch, demo_server, tmp_path):
    """The signal itself, sent to this process while the temporary file holds the rows."""
    target = tmp_path / "groups.csv"
    target.write_text("the file of last week")
    real_fsync = os.fsync

    def terminated_while_writing(fd: int) -> None:
        real_fsync(fd)
        assert [p.name for p in tmp_path.glob(".groups.csv.*.part")]  # the rows are on disk, not yet renamed
        os.kill(os.getpid(), signal.SIGTERM)

    def not_caught(signum: int, frame: object) -> None:  # what the test itself would meet, were SIGTERM not caught
        raise AssertionError("SIGTERM reached the test's own handler")

    monkeypatch.setattr(os, "fsync", terminated_while_writing)
    previous = signal.signal(signal.SIGTERM, not_caught)
    try:
        code, _, err = run(monkeypatch, *export(demo_server, "--out", str(target)), secret=demo_server.client_secret)
        assert signal.getsignal(signal.SIGTERM) is not_caught  # put back as it was
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert code == 143
    assert err.splitlines()[-1] == "Stopped; nothing was written."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["groups.csv"]
    assert target.read_text() == "the file of last week"


def test_sigterm_during_the_fetch_of_a_scheduled_job_writes_nothing(make_demo_server, tmp_path):
    server = make_demo_server(faults=Faults(latency_seconds=0.5))
    target = tmp_path / "groups.csv"
    command = [sys.executable, "-m", "cers_core", *export(server, "--out", str(target))]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "CERS_CLIENT_SECRET": server.client_secret}
    with subprocess.Popen(command, cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        line = process.stderr.readline()  # progress is printed every few seconds without a terminal
        deadline = time.monotonic() + 30
        while "Reading rosters" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()
        process.send_signal(signal.SIGTERM)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 143, rest
    assert "Stopped; nothing was written." in rest and "Traceback" not in rest
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_a_crashed_run_left_are_removed_and_no_others(monkeypatch, demo_server, tmp_path):
    target = tmp_path / "groups.csv"
    hour_ago = time.time() - 3600
    stale = tmp_path / ".groups.csv.k3j9x1.part"
    held = tmp_path / ".groups.csv.a8b7c6.part"  # a run still writing holds its lock
    other = tmp_path / ".other.csv.k3j9x1.part"  # another file's
    lookalike = tmp_path / ".groups.csv.backup"
    for path in (stale, held, other, lookalike):
        path.write_text("1234567890")
        os.utime(path, (hour_ago, hour_ago))
    with held.open("rb") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        code, _, err = run(monkeypatch, *export(demo_server, "--out", str(target)), secret=demo_server.client_secret)
    assert code in (0, 1), err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".groups.csv.a8b7c6.part", ".groups.csv.backup", ".other.csv.k3j9x1.part", "groups.csv"]
    )


# -- school years, huge values ------------------------------------------------------------------------


@pytest.mark.parametrize("year", ["0000", "1999", "2101", "２０２７", "27", "2027-28"])
@pytest.mark.parametrize("command", ["export", "validate"])
def test_an_implausible_school_year_is_a_usage_error(monkeypatch, tmp_path, year, command):
    args = export(None) if command == "export" else ["validate", str(tmp_path / "groups.csv")]
    code, _, err = run(monkeypatch, *args, "--school-year", year)
    assert code == 2
    assert f"{year!r} is not a school year like 2027 (for 2026-27): the year it ends, 2000 to 2100" in err
    assert "Traceback" not in err


def with_huge_names(district: DemoDistrict) -> DemoDistrict:
    """The school org-0001 named in a million characters, and 60 of its students without a usable SSID
    (a warning each), each with a family name of 300,000 characters."""
    orgs = district.orgs.with_columns(
        name=pl.when(pl.col("sourcedId") == "org-0001").then(pl.lit("N" * 1_000_000)).otherwise(pl.col("name"))
    )
    students = district.users.filter(
        (pl.col("primaryOrg.sourcedId") == "org-0001") & pl.col("sourcedId").str.starts_with("stu-")
    ).get_column("sourcedId")[:60]
    chosen = pl.col("sourcedId").is_in(students.implode())
    users = district.users.with_columns(
        familyName=pl.when(chosen).then(pl.lit("F" * 300_000)).otherwise(pl.col("familyName")),
        identifier=pl.when(chosen).then(pl.lit(None, pl.String)).otherwise(pl.col("identifier")),
        **{"userIds.identifier": pl.when(chosen).then(pl.col("userIds.identifier").list.eval(pl.lit("none")))
           .otherwise(pl.col("userIds.identifier"))},
    )  # fmt: skip
    return dataclasses.replace(district, orgs=orgs, users=users)


def test_names_of_megabytes_print_a_line_each(monkeypatch, demo_district, tmp_path):
    """Before, each warning printed its names whole: 60 warnings of megabytes."""
    with DemoServer(with_huge_names(demo_district)) as server:
        code, out, _ = run(monkeypatch, "schools", *export(server)[1:7], secret=server.client_secret)
        assert code == 0 and len(out) < 2_000 and "N… (1,000,000 characters)" in out
        code, _, err = run(monkeypatch, *export(server, "--out", str(tmp_path / "g.csv")), secret=server.client_secret)
    lines = err.splitlines()
    shown = [line for line in lines if line.startswith("  - [")]
    assert "WARNINGS (60):" in lines and len(shown) == 50 and "  … and 10 more warnings." in lines
    assert all(line.startswith("  - [" + "N" * 200 + "… (1,000,000 characters) / ") for line in shown)
    assert sum(bool(re.search(r"\] \w+ F{180,}… \(300,0\d\d characters\)", line)) for line in shown) >= 45
    assert max(map(len, lines)) < 1_500 and len(err) < 100_000


# -- an internal error ----------------------------------------------------------------------------------


def test_an_internal_error_exits_70_with_one_line_and_its_traceback_in_a_private_file(
    monkeypatch, demo_server, tmp_path
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("the builder divided by zero")

    monkeypatch.setattr("cers_core.export.export_section_groups", broken)
    secret = "secret-7f2b-never-written"
    code, out, err = run(monkeypatch, *export(demo_server, "--out", str(tmp_path / "groups.csv")), secret=secret)
    assert (code, out) == (70, "")
    [details] = tmp_path.glob("cers-section-groups-error-*.txt")
    assert err == (
        "error: an internal error stopped the command (ZeroDivisionError), a fault of this tool, not of your data "
        f"or settings; the details are in {details} (send that file to whoever looks after this tool); nothing "
        "was written.\n"
    )
    assert stat.S_IMODE(details.stat().st_mode) == 0o600
    text = details.read_text()
    assert text.startswith("python -m cers_core export, Python ")
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: the builder divided by zero" in text
    assert secret not in text and "Traceback" not in err
