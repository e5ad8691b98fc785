"""The History page's frames, shaped for display (no Streamlit call here, so each is tested plainly).

From the run history (``Store.runs``): one row per run, one row per school of a run with what it
changed in CERS, the counts over time that the chart draws, and the uploads the brake holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import polars as pl

from cers_core.store import HeldFile, Run

__all__ = ["KINDS", "OUTCOMES", "counts_over_time", "held_frame", "matching", "runs_frame", "schools_frame"]

KINDS = {"sync": "scheduled sync", "upload": "sent from the app", "download": "downloaded", "release": "released"}
"""Each kind of run, as the page names it."""
OUTCOMES = {
    "sent": "sent to CERS",
    "nothing_to_send": "nothing to send",
    "held": "held by the brake",
    "failed": "not sent (connection error)",
    "rejected": "rejected by CERS",
    "unknown": "outcome not known yet",
    "downloaded": "downloaded",
}
_CHANGES = {"added": "Added", "disappears": "No longer in the file", "renamed": "Renamed",
            "changed": "Other members", "unchanged": "Unchanged"}  # fmt: skip


def matching(runs: Sequence[Run], school: str) -> list[Run]:
    """The runs that name a school whose CDS code or name holds ``school`` (ignoring case), each with
    only those schools; every run whole when ``school`` is blank."""
    wanted = school.strip().casefold()
    if not wanted:
        return list(runs)
    found = []
    for run in runs:
        schools = tuple(s for s in run.schools if wanted in s.school.casefold() or wanted in s.school_name.casefold())
        if schools:
            found.append(dataclasses.replace(run, schools=schools))
    return found


def runs_frame(runs: Sequence[Run]) -> pl.DataFrame:
    """One row per run, newest first: when, what, the connection, the outcome, who, what CERS said.

    >>> runs_frame([]).columns
    ['When (UTC)', 'What', 'Connection', 'Outcome', 'Who', 'Schools', 'Rows', 'CERS status', 'Batch', 'Summary']
    """
    return pl.DataFrame(
        {
            "When (UTC)": [r.at.replace(tzinfo=None) for r in runs],
            "What": [KINDS.get(r.kind, r.kind) for r in runs],
            "Connection": [r.connection_name for r in runs],
            "Outcome": [OUTCOMES.get(r.outcome, r.outcome) for r in runs],
            "Who": [r.who for r in runs],
            "Schools": [len(r.schools) for r in runs],
            "Rows": [r.rows for r in runs],
            "CERS status": [r.cers_status for r in runs],
            "Batch": [r.batch for r in runs],
            "Summary": [r.message for r in runs],
        },
        schema={"When (UTC)": pl.Datetime("us"), "What": pl.String, "Connection": pl.String, "Outcome": pl.String,
                "Who": pl.String, "Schools": pl.Int64, "Rows": pl.Int64, "CERS status": pl.String, "Batch": pl.String,
                "Summary": pl.String},
    )  # fmt: skip


def schools_frame(runs: Sequence[Run]) -> pl.DataFrame:
    """One row per school of each run: what was decided and why, its groups and students, and how many
    groups of the file change in CERS, by kind of change (empty when there was nothing to compare with)."""
    rows = [
        {
            "When (UTC)": r.at.replace(tzinfo=None),
            "Connection": r.connection_name,
            "School": s.school_name,
            "CDS": s.school,
            "Decision": s.decision,
            "Groups": s.groups,
            "Students": s.students,
            **{label: s.changes.get(key) for key, label in _CHANGES.items()},
            "Why": s.reason,
        }
        for r in runs
        for s in r.schools
    ]
    schema = {"When (UTC)": pl.Datetime("us"), "Connection": pl.String, "School": pl.String, "CDS": pl.String,
              "Decision": pl.String, "Groups": pl.Int64, "Students": pl.Int64,
              **dict.fromkeys(_CHANGES.values(), pl.Int64), "Why": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def counts_over_time(runs: Sequence[Run]) -> pl.DataFrame:
    """Each school's groups and students in each run's file, oldest first, long for a chart:
    ``at, school, measure (groups or students), value``."""
    frame = schools_frame(runs)
    return (
        frame.select(
            at="When (UTC)",
            school=pl.format("{} ({})", "School", "CDS"),
            groups="Groups",
            students="Students",
        )
        .unpivot(index=["at", "school"], variable_name="measure", value_name="value")
        .sort("at", "school", "measure")
    )


def held_frame(held: Sequence[HeldFile]) -> pl.DataFrame:
    """The uploads held for a connection: the school, since when, why, and the rows waiting."""
    return pl.DataFrame(
        {
            "School": [h.school_name for h in held],
            "CDS": [h.school for h in held],
            "Held since (UTC)": [h.at.replace(tzinfo=None) for h in held],
            "Why": [h.reason for h in held],
            "Rows": [h.rows for h in held],
        },
        schema={"School": pl.String, "CDS": pl.String, "Held since (UTC)": pl.Datetime("us"), "Why": pl.String,
                "Rows": pl.Int64},
    )  # fmt: skip
