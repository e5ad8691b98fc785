"""The safety brake: an unattended upload is held when a school's file shrinks more than a roster can.

An upload replaces the members of every group it names. A SIS that returns half its enrollments
for a night (a glitch, a term rolled over too early, a vendor's maintenance) would, once sent,
take those students out of their teachers' groups in CERS, and nobody would be watching at
night. So before a scheduled run sends a school's part of the file, it compares it with the
last part sent to CERS for that school, and holds it, saying why, when:

- the school's **student rows** (one per student per group) fall by more than
  ``max_student_drop_percent`` (default 20%);
- the school's **groups** fall by more than ``max_group_drop_percent`` (default 10%);
- a school that had groups has **none** (``hold_when_school_empty``, default on): an empty roster
  is never a normal night.

A normal week (students moving between sections, a few joining or leaving) stays well within
these; a held part waits for an administrator, who can look at what it changes in CERS and
release it (see :mod:`cers_core.sync`). A school with nothing sent before has nothing to compare
with, so its first file is never held. The thresholds are set per connection.

Example::

    >>> brake, sent = BrakeSettings(), SchoolCounts(groups=40, student_rows=1000)
    >>> print(held_because(sent, SchoolCounts(groups=39, student_rows=950), brake))
    None
    >>> print(held_because(sent, SchoolCounts(groups=38, student_rows=700), brake))
    student rows fell by 30% (1,000 → 700), more than the 20% allowed
    >>> print(held_because(sent, SchoolCounts(groups=0, student_rows=0), brake))
    the school had 40 groups in the last file sent, and has none now
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BrakeSettings", "SchoolCounts", "held_because", "school_counts"]


class BrakeSettings(BaseModel):
    """When a scheduled upload is held, per connection (see the module docstring).

    Example::

        BrakeSettings(max_student_drop_percent=30, max_group_drop_percent=15)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_student_drop_percent: Annotated[float, Field(ge=0, le=100)] = 20.0
    """Hold when a school's student rows fall by more than this, in percent of the last file sent."""
    max_group_drop_percent: Annotated[float, Field(ge=0, le=100)] = 10.0
    """Hold when a school's groups fall by more than this, in percent of the last file sent."""
    hold_when_school_empty: bool = True
    """Hold when a school that had groups in the last file sent has none now."""


@dataclass(frozen=True, slots=True)
class SchoolCounts:
    """What the brake compares of one school's part of a file: its groups and its student rows."""

    groups: int
    student_rows: int


def school_counts(rows: pl.DataFrame) -> SchoolCounts:
    """The counts of one school's rows (the six CERS columns; teacher rows have an empty SSID).

    >>> school_counts(pl.DataFrame({"group_name": ["A", "A", "B"], "school_year": [2027] * 3,
    ...                             "student_ssid": ["", "1234567890", "1234567890"]}))
    SchoolCounts(groups=2, student_rows=2)
    """
    groups = rows.select("group_name", "school_year").unique().height
    return SchoolCounts(groups=groups, student_rows=int((rows["student_ssid"].fill_null("") != "").sum()))


def held_because(before: SchoolCounts | None, after: SchoolCounts, brake: BrakeSettings) -> str | None:
    """Why a school's part is held (a phrase to show after the school's name), or None to send it.

    ``before`` is the part last sent to CERS (None when nothing was sent: nothing to compare with).
    """
    if before is None or before.groups == 0:
        return None
    if after.groups == 0:
        if not brake.hold_when_school_empty:
            return None
        return f"the school had {before.groups:,} groups in the last file sent, and has none now"
    reasons = [
        _fell("student rows", before.student_rows, after.student_rows, brake.max_student_drop_percent),
        _fell("groups", before.groups, after.groups, brake.max_group_drop_percent),
    ]
    found = [reason for reason in reasons if reason is not None]
    return "; ".join(found) if found else None


def _fell(what: str, before: int, after: int, allowed: float) -> str | None:
    if before <= 0 or after >= before:
        return None
    drop = (before - after) * 100 / before
    if drop <= allowed:
        return None
    return f"{what} fell by {drop:.0f}% ({before:,} → {after:,}), more than the {allowed:g}% allowed"
