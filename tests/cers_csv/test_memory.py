"""``validate`` in bounded memory for any file shape, and the same report whether what it
remembers stays in memory or moves to disk.

Each shape runs in a process of its own under a memory limit (``RLIMIT_DATA``, the heap and every
private mapping: 160 MB beyond what the imports took), reading a file that a generator makes as
it is read. The proof: the run ends without running out of memory, and what the process holds
once the whole file is checked is within a few megabytes of what it held half way. The sets the
checks keep move to disk past 2,000 keys here (20,000 in use): the same bound, shown on a file
small enough to take seconds. Before the bound, the second half of these files added 17 MB
(one-row groups: the completed groups and their spellings) and 19 MB (a school per group: the
schools seen), and a line of values of nearly a megabyte each ran out of memory.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cers_core.cers_csv import seen_keys, validate_cers_csv
from cers_core.cers_csv.seen_keys import SeenKeys
from tests.cers_csv import test_validator
from tests.support import ROOT

MB = 2**20
ALLOWANCE = 160 * MB  # memory the run may take beyond what the imports took
SECOND_HALF = 6 * MB  # what reading the second half of a file may add (allocator noise)
IN_MEMORY = 2_000  # keys each set keeps in memory (20,000 in use): the same bound, on a smaller file

# The child: a file made by a generator as it is read; the peak memory at half way and at the end.
CHILD = r"""
import io, json, resource, sys
from cers_core.cers_csv import checks, seen_keys, validate_cers_csv

HEADER = b"group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
shape, count = sys.argv[1], int(sys.argv[2])
seen_keys.IN_MEMORY, seen_keys.IN_MEMORY_CHARS = int(sys.argv[4]), int(sys.argv[4]) * 100

def pieces():
    if shape == "one-row groups":
        for n in range(count):
            yield f"Group {n:09d},01612590130146,2027,All,1234567890,\r\n".encode()
    elif shape == "a school per group":  # ids of a thousand digits: each school weighs
        for n in range(count):
            yield f"Group,{n:01000d},2027,All,1234567890,\r\n".encode()
    elif shape == "one huge line":  # values of nearly a million characters each, on one line
        for _ in range(count):
            yield b"v" * 999_000 + b","
    elif shape == "an unclosed quote":  # the rest of the file is one value
        yield b'Algebra,"'
        for _ in range(count):
            yield b"a,b,c,d,e,f\r\n" * (MB // 13)

MB = 2 ** 20
memory = {}

def resident():
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmRSS:")).split()[1]) * 1024

class Generated(io.RawIOBase):
    def __init__(self):
        self.parts, self.made, self.buffer = pieces(), 0, bytearray(HEADER)
    def readable(self):
        return True
    def readinto(self, into):
        while len(self.buffer) < len(into):
            part = next(self.parts, None)
            if part is None:
                break
            self.made += 1
            if not by_row and self.made in (count // 2, count):
                memory["half" if self.made < count else "end"] = resident()
            self.buffer += part
        size = min(len(into), len(self.buffer))
        into[:size] = self.buffer[:size]
        del self.buffer[:size]
        return size

# What the reading holds half way and at the end: by the rows checked (the reading runs megabytes
# behind the generator), or for a file of one line, by what was made.
by_row = shape in ("one-row groups", "a school per group")
check_record = checks.PreflightChecks.record

def record(self, row, values):
    if row in (count // 2, count):
        memory["half" if row < count else "end"] = resident()
    check_record(self, row, values)

checks.PreflightChecks.record = record
used = int(next(line for line in open("/proc/self/status") if line.startswith("VmData:")).split()[1]) * 1024
limit = used + int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
report = validate_cers_csv(io.BufferedReader(Generated(), MB))
print(json.dumps({**memory, "verdict": report.verdict.value, "rows": report.rows, "groups": report.groups,
                  "schools": report.schools, "errors": [f.message[:120] for f in report.errors][:3]}))
"""


def validate_in_a_process(shape: str, count: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, shape, str(count), str(ALLOWANCE), str(IN_MEMORY)],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a MemoryError past the limit ends it otherwise
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("shape", "count", "expected"),
    [
        ("one-row groups", 60_000, {"verdict": "accepted", "rows": 60_000, "groups": 60_000, "schools": 1}),
        ("a school per group", 40_000, {"verdict": "rejected", "rows": 40_000, "groups": 40_000, "schools": 40_000}),
        ("one huge line", 200, {"verdict": "rejected", "rows": 1, "groups": 1, "schools": 1}),
        ("an unclosed quote", 100, {"verdict": "rejected", "rows": 0, "groups": 0, "schools": 0}),
    ],
)
def test_validate_reads_any_shape_of_file_in_bounded_memory(shape, count, expected):
    result = validate_in_a_process(shape, count)
    assert {key: result[key] for key in expected} == expected, result["errors"]
    assert result["end"] - result["half"] < SECOND_HALF, result


# -- the same answer, in memory or on disk ---------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "first", "in", "clear"]), st.text("ab\x00é:1", max_size=70))))
def test_keys_on_disk_answer_as_a_set_in_memory(operations):
    small, reference = SeenKeys(in_memory=3, in_memory_chars=100), {}
    for operation, text in operations:
        key = text if len(text) % 2 else (text, text[:2])  # texts and tuples of texts
        if operation == "add":
            assert small.add(key) == (key not in reference)
            reference.setdefault(key, ())
        elif operation == "first":
            assert small.first(key, (text[:3], "1:x")) == reference.get(key)
            reference.setdefault(key, (text[:3], "1:x"))
        elif operation == "in":
            assert (key in small) == (key in reference)
        else:
            small.clear()
            reference.clear()
        assert len(small) == len(reference)


def shuffled_file() -> bytes:
    """Schools and groups out of order, again and again, groups split by case, failures repeated."""
    rows = []
    for n in range(60):
        school = f"0161259013{n % 7:04d}"
        rows += [f"G{n % 11},{school},2027,All,,t@x.org", f"g{n % 11},{school},2027,Math,{n:010d},"]
        rows += [f"G{n % 11} ,{school},2027,ELA,{n + 1:010d},", f"H{n},{school},{2020 + n % 3},All,1,"]
    return test_validator.csv(*rows)


FILES = (
    [shuffled_file()]
    + [lines for lines, *_ in test_validator.CHECK_CASES]
    + [param.values[0] for param in test_validator.CERS_CASES]
)


@pytest.mark.parametrize("data", FILES)
def test_a_report_is_the_same_when_what_is_remembered_moves_to_disk(monkeypatch, data):
    data = test_validator.csv(*data) if isinstance(data, list) else data
    in_memory = validate_cers_csv(data, school_years={2025, 2027}, schools=None)
    monkeypatch.setattr(seen_keys, "IN_MEMORY", 2)
    on_disk = validate_cers_csv(data, school_years={2025, 2027}, schools=None)
    assert on_disk == in_memory
