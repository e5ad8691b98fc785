"""The run history: every scheduled run, download and upload of a connection, and what it did per school.

A run is one line (when, what kind, who, which connection, the outcome in a sentence, the file's
rows and SHA-256, CERS's batch and final status) with one line per school (what was decided for
it and why, its groups and students, its part's rows and SHA-256, and how many groups the part
changes in CERS, by kind of change). No student data: counts and hashes only.

Runs go with their connection, and are kept for ``keep_days`` (``CERS_HISTORY_DAYS``): each new
run deletes the ones older than that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cers_core.store._database import Database, now

__all__ = ["Run", "RunHistory", "SchoolRun"]


@dataclass(frozen=True, kw_only=True, slots=True)
class SchoolRun:
    """What a run did for one school (``school`` is its CDS code).

    ``decision``: ``sent``, ``held``, ``unchanged`` (nothing new to send), ``rejected`` (CERS
    rejected the file), ``unknown`` (CERS's verdict is not known), ``not_sent`` (the file did not
    reach CERS), ``released`` or ``downloaded``; ``changes``: groups per kind of change in CERS
    (``added``, ``disappears``, ``renamed``, ``changed``, ``unchanged``), empty when there was
    nothing to compare with.
    """

    school: str
    school_name: str
    decision: str
    reason: str = ""
    groups: int = 0
    students: int = 0
    student_rows: int = 0
    rows: int = 0
    sha256: str = ""
    changes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class Run:
    """One line of the history (see the module docstring); ``kind``: ``sync``, ``upload``,
    ``download`` or ``release``."""

    id: int
    at: datetime
    kind: str
    who: str
    connection_id: int
    connection_name: str
    outcome: str
    message: str
    rows: int
    sha256: str
    batch: str
    cers_status: str
    schools: tuple[SchoolRun, ...]


_RUN_COLUMNS = "id, at, kind, who, connection_id, connection_name, outcome, message, rows, sha256, batch, cers_status"
_SCHOOL_COLUMNS = "school, school_name, decision, reason, groups, students, student_rows, rows, sha256, changes_json"


class RunHistory:
    """The ``runs`` and ``run_schools`` tables."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def record(
        self,
        *,
        kind: str,
        who: str,
        connection_id: int,
        connection_name: str,
        outcome: str,
        message: str,
        keep_days: int,
        rows: int = 0,
        sha256: str = "",
        batch: str = "",
        cers_status: str = "",
        schools: Sequence[SchoolRun] = (),
    ) -> int:
        """Add a run (now) with its schools, and delete the runs older than ``keep_days``; its id."""
        at = now()
        with self._database.write() as db:
            db.execute("DELETE FROM runs WHERE at < ?", ((at - timedelta(days=keep_days)).isoformat(),))
            cursor = db.execute(
                "INSERT INTO runs (at, kind, who, connection_id, connection_name, outcome, message, rows, sha256,"
                " batch, cers_status) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
                " WHERE EXISTS (SELECT 1 FROM connections WHERE id = ?)",
                (at.isoformat(), kind, who, connection_id, connection_name, outcome, message, rows, sha256, batch,
                 cers_status, connection_id),
            )  # fmt: skip
            run_id = int(cursor.lastrowid or 0) if cursor.rowcount else 0
            if run_id:
                db.executemany(
                    f"INSERT INTO run_schools (run_id, {_SCHOOL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (run_id, s.school, s.school_name, s.decision, s.reason, s.groups, s.students, s.student_rows,
                         s.rows, s.sha256, json.dumps(dict(s.changes), sort_keys=True))
                        for s in schools
                    ],
                )  # fmt: skip
        return run_id

    def latest(
        self,
        *,
        connection_ids: Sequence[int] | None = None,
        kinds: Sequence[str] | None = None,
        school: str | None = None,
        since: datetime | None = None,
        limit: int = 200,
    ) -> list[Run]:
        """The latest runs, newest first: of these connections, of these kinds, that name this school
        (by CDS code), since this time; at most ``limit``."""
        where, values = ["1 = 1"], []
        if connection_ids is not None:
            where.append(f"connection_id IN ({', '.join('?' * len(connection_ids)) or 'NULL'})")
            values += list(connection_ids)
        if kinds is not None:
            where.append(f"kind IN ({', '.join('?' * len(kinds)) or 'NULL'})")
            values += list(kinds)
        if school is not None:
            where.append("id IN (SELECT run_id FROM run_schools WHERE school = ?)")
            values.append(school)
        if since is not None:
            where.append("at >= ?")
            values.append(since.isoformat())
        with self._database.connect() as db:
            runs = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC LIMIT ?",
                (*values, limit),
            ).fetchall()
            schools: dict[int, list[SchoolRun]] = {}
            ids = [row[0] for row in runs]
            for offset in range(0, len(ids), 500):  # SQLite's limit on parameters
                chunk = ids[offset : offset + 500]
                for run_id, *values_of_school in db.execute(
                    f"SELECT run_id, {_SCHOOL_COLUMNS} FROM run_schools WHERE run_id IN ({', '.join('?' * len(chunk))})"
                    " ORDER BY run_id, school",
                    chunk,
                ):
                    schools.setdefault(run_id, []).append(_school_run(values_of_school))
        return [_run(row, schools.get(row[0], [])) for row in runs]


def _school_run(values: Sequence[Any]) -> SchoolRun:
    school, name, decision, reason, groups, students, student_rows, rows, sha256, changes = values
    return SchoolRun(
        school=school,
        school_name=name,
        decision=decision,
        reason=reason,
        groups=groups,
        students=students,
        student_rows=student_rows,
        rows=rows,
        sha256=sha256,
        changes=json.loads(changes),
    )


def _run(row: tuple[Any, ...], schools: list[SchoolRun]) -> Run:
    run_id, at, kind, who, connection_id, name, outcome, message, rows, sha256, batch, status = row
    return Run(
        id=run_id,
        at=datetime.fromisoformat(at),
        kind=kind,
        who=who,
        connection_id=connection_id,
        connection_name=name,
        outcome=outcome,
        message=message,
        rows=rows,
        sha256=sha256,
        batch=batch,
        cers_status=status,
        schools=tuple(schools),
    )
