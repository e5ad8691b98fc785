"""A built-in sample section, so the connection form can show an example group name before a
connection works; with a working connection the example comes from the district's own data."""

from __future__ import annotations

from datetime import date

import polars as pl

from cers_core.groups import build_section_groups
from cers_core.roster import Roster
from cers_core.settings import GroupOptions

__all__ = ["example_group_name", "sample_roster"]

_SAMPLE_DAY = date(2026, 9, 15)


def sample_roster() -> Roster:
    """One co-taught Algebra section at a sample high school, in fall 2026."""
    school, course, section, term = "sample-school", "sample-course", "sample-section", "sample-fall"
    return Roster.from_frames(
        schools=pl.DataFrame(
            {"sourced_id": [school], "status": ["active"], "name": ["Sample High"], "identifier": ["01612590130146"]}
        ),
        sessions=pl.DataFrame(
            {
                "sourced_id": [term],
                "title": ["Fall 2026"],
                "type": ["semester"],
                "start_date": [date(2026, 8, 12)],
                "end_date": [date(2027, 1, 16)],
                "school_year": ["2027"],
            }
        ),
        courses=pl.DataFrame(
            {
                "sourced_id": [course],
                "title": ["Algebra I"],
                "course_code": ["MA101"],
                "subjects": [["Mathematics"]],
                "subject_codes": [["02052"]],
            }
        ),
        classes=pl.DataFrame(
            {
                "sourced_id": [section],
                "title": ["Algebra I - Period 3"],
                "class_code": ["ALG1-03"],
                "class_type": ["scheduled"],
                "location": ["Room 12"],
                "grades": [["09"]],
                "periods": [["3"]],
                "course_id": [course],
                "school_id": [school],
                "term_ids": [[term]],
            }
        ),
        users=pl.DataFrame(
            {
                "sourced_id": ["sample-teacher", "sample-aide", "sample-student"],
                "enabled": [True, True, True],
                "given_name": ["Maria", "Sam", "Alex"],
                "family_name": ["Garcia", "Lee", "Doe"],
                "email": ["mgarcia@sample.example.org", "slee@sample.example.org", None],
                "id_types": [[], [], ["SSID"]],
                "id_values": [[], [], ["1234567890"]],
            }
        ),
        enrollments=pl.DataFrame(
            {
                "sourced_id": ["e1", "e2", "e3"],
                "user_id": ["sample-teacher", "sample-aide", "sample-student"],
                "class_id": [section] * 3,
                "school_id": [school] * 3,
                "role": ["teacher", "teacher", "student"],
                "primary": [True, False, None],
            }
        ),
    )


def example_group_name(options: GroupOptions, roster: Roster | None = None, *, as_of: date | None = None) -> str:
    """The name the first group would get with these options (from ``roster``, else the sample).

    From a section of a term active ``as_of`` (default today); when the roster has none (a
    summer break, a provider whose terms are all past), from a section of the most recent term
    that had started by then, else of the earliest term to come, as the file of that day would.

    >>> example_group_name(GroupOptions(fields=["course_title", "period"]))
    'Algebra I - 3'
    >>> example_group_name(GroupOptions(fields=["course_title"]), sample_roster(), as_of=date(2030, 1, 1))
    'Algebra I'
    """
    if roster is None:
        roster, as_of = sample_roster(), _SAMPLE_DAY
    day = as_of or date.today()
    groups = build_section_groups(roster, options, as_of=day).groups
    if groups.height == 0:
        fallback = _nearest_term_start(roster.sessions, day)
        if fallback is not None:
            groups = build_section_groups(roster, options, as_of=fallback).groups
    return groups["group_name"][0] if groups.height else ""


def _nearest_term_start(sessions: pl.DataFrame, day: date) -> date | None:
    """The start of the most recent term begun by ``day``, else of the first term after it."""
    starts = sessions.filter(pl.col("start_date").is_not_null() & (pl.col("end_date") > pl.col("start_date")))
    started = starts.filter(pl.col("start_date") <= day)["start_date"]
    if started.len():
        return started.max()  # type: ignore[return-value]
    coming = starts["start_date"]
    return coming.min() if coming.len() else None  # type: ignore[return-value]
