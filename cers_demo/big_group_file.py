"""A large, valid CERS student-group file, made fast and always the same for a seed: for the bench.

``validate`` is measured on a file of a gigabyte, larger than any district's (Los Angeles writes
some 300 MB), shaped as a real one: hundreds of schools, each with a few hundred groups of about
sixty students and a teacher, in the order the writer uses (school, year, group name ignoring case,
the teacher before the students, students by SSID), CRLF line endings, no quotes. Every value is
one CERS accepts and our checks pass: 14-digit CDS codes of schools (not ending in ``0000000``),
10-digit SSIDs, e-mail logins, subjects ``ELA``/``Math``, plain group names unique in a school.

The file is written a group at a time (one ``join`` per group), so a gigabyte takes seconds, and
it is cut at the first group end past ``size_bytes``.
"""

from __future__ import annotations

import os
import random
from typing import BinaryIO, Final

__all__ = ["write_big_group_file"]

HEADER: Final = "group_name,school_natural_id,school_year,subject_code,student_ssid,group_user_login\r\n"
_COURSES: Final = (
    ("Algebra I", "Math"),
    ("Geometry", "Math"),
    ("Math 7", "Math"),
    ("Math 8", "Math"),
    ("Integrated Math II", "Math"),
    ("English 9", "ELA"),
    ("English 10", "ELA"),
    ("ELA 6", "ELA"),
    ("ELA 7", "ELA"),
    ("Reading Workshop", "ELA"),
)
_TEACHERS: Final = ("garcia", "nguyen", "smith", "kim", "lopez", "patel", "chen", "johnson", "martinez", "brown")
_GROUPS_PER_SCHOOL: Final = 400
_YEAR: Final = 2025


def write_big_group_file(path: str | os.PathLike[str], *, size_bytes: int, seed: int = 7) -> int:
    """Write a valid CERS group file of at least ``size_bytes`` bytes (a group more) at ``path``; its size.

    The same ``seed`` and size give the same bytes.

    >>> import tempfile
    >>> from cers_core.cers_csv import validate_cers_csv
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     size = write_big_group_file(f"{folder}/groups.csv", size_bytes=50_000, seed=1)
    ...     report = validate_cers_csv(f"{folder}/groups.csv")
    >>> report.accepted, report.extra_findings, report.groups, report.max_students_per_group > 40
    (True, [], 12, True)
    """
    chooser = random.Random(seed)
    written = 0
    with open(path, "wb") as out:
        out.write(HEADER.encode())
        written += len(HEADER)
        school_number = 0
        while written < size_bytes:
            school_number += 1
            written += _write_school(out, chooser, school_number, size_bytes - written)
    return written


def _write_school(out: BinaryIO, chooser: random.Random, number: int, room: int) -> int:
    """One school's groups (until ``room`` bytes are used); the bytes written."""
    county, district = 1 + number % 58, 10_000 + number * 37 % 89_999
    school = f"{county:02d}{district:05d}{1_000_000 + number:07d}"
    groups = []
    for index in range(_GROUPS_PER_SCHOOL):
        course, subject = _COURSES[index % len(_COURSES)]
        period = 1 + index // len(_COURSES) % 8
        teacher = f"{_TEACHERS[index // (len(_COURSES) * 8) % len(_TEACHERS)]}{index}"
        groups.append((f"{course} - Period {period} - {teacher.title()}", subject, teacher))
    groups.sort(key=lambda group: group[0].casefold())
    used = 0
    for name, subject, teacher in groups:
        prefix = f"{name},{school},{_YEAR},{subject},"
        first = chooser.randrange(1_000_000_000, 9_000_000_000)
        ssids = sorted(set(chooser.sample(range(first, first + 100_000), chooser.randint(45, 75))))
        lines = [f"{prefix},{teacher}@school{number}.example.org\r\n"]
        lines.extend(f"{prefix}{ssid},\r\n" for ssid in ssids)
        data = "".join(lines).encode()
        out.write(data)
        used += len(data)
        if used >= room:
            break
    return used
