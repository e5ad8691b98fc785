"""A district's rosters as polars frames: what we read from OneRoster, one frame per collection.

Records from the provider are decoded straight into these columns (see
``cers_core.oneroster.records``); everything after that — filtering by date, joining
enrollments to users and classes, naming groups — is done on frames. Column names are
snake_case versions of the OneRoster fields; references are flattened to their sourcedId
(``class.sourcedId`` -> ``class_id``); multi-valued fields are list columns; flags such as
``primary`` and ``enabledUser`` are booleans whichever way the provider spelled them; dates
are ``pl.Date`` (null when missing or unreadable); ``modified`` is ``dateLastModified`` as
sent (kept to ask for changes only, see ``cers_core.oneroster.snapshot``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import polars as pl

__all__ = ["SCHEMAS", "Roster"]

_STR = pl.String
_LIST = pl.List(pl.String)

SCHEMAS: dict[str, pl.Schema] = {
    # /schools (orgs whose type is school)
    "schools": pl.Schema(
        {"sourced_id": _STR, "status": _STR, "modified": _STR, "name": _STR, "type": _STR, "identifier": _STR}
    ),
    # /academicSessions (terms, semesters, grading periods, school years)
    "sessions": pl.Schema(
        {
            "sourced_id": _STR,
            "status": _STR,
            "modified": _STR,
            "title": _STR,
            "type": _STR,
            "start_date": pl.Date,
            "end_date": pl.Date,
            "school_year": _STR,
        }
    ),
    "courses": pl.Schema(
        {
            "sourced_id": _STR,
            "status": _STR,
            "modified": _STR,
            "title": _STR,
            "course_code": _STR,
            "subjects": _LIST,
            "subject_codes": _LIST,
        }
    ),
    "classes": pl.Schema(
        {
            "sourced_id": _STR,
            "status": _STR,
            "modified": _STR,
            "title": _STR,
            "class_code": _STR,
            "class_type": _STR,
            "location": _STR,
            "grades": _LIST,
            "subjects": _LIST,
            "subject_codes": _LIST,
            "periods": _LIST,
            "course_id": _STR,
            "school_id": _STR,
            "term_ids": _LIST,
        }
    ),
    "enrollments": pl.Schema(
        {
            "sourced_id": _STR,
            "status": _STR,
            "modified": _STR,
            "user_id": _STR,
            "class_id": _STR,
            "school_id": _STR,
            "role": _STR,
            "primary": pl.Boolean,
            "begin_date": pl.Date,
            "end_date": pl.Date,
        }
    ),
    "users": pl.Schema(
        {
            "sourced_id": _STR,
            "status": _STR,
            "modified": _STR,
            "enabled": pl.Boolean,
            "given_name": _STR,
            "family_name": _STR,
            "username": _STR,
            "email": _STR,
            "identifier": _STR,
            # userIds as two parallel lists, in the record's order (the SSID rule needs the order).
            "id_types": _LIST,
            "id_values": _LIST,
            # 1.2 roles[].role, or the 1.1 single role, lower-cased.
            "roles": _LIST,
        }
    ),
}


@dataclass(frozen=True, slots=True)
class Roster:
    """Everything the group builder needs for one or more schools.

    Each frame follows ``SCHEMAS[name]``; build one with ``Roster.from_frames`` (which checks
    that) or ``Roster.empty()``.
    """

    schools: pl.DataFrame
    sessions: pl.DataFrame
    courses: pl.DataFrame
    classes: pl.DataFrame
    enrollments: pl.DataFrame
    users: pl.DataFrame

    @classmethod
    def empty(cls) -> Roster:
        return cls(**{name: pl.DataFrame(schema=schema) for name, schema in SCHEMAS.items()})

    @classmethod
    def from_frames(cls, **frames: pl.DataFrame) -> Roster:
        """Make a roster, filling missing frames with empty ones and casting to the schemas."""
        unknown = set(frames) - set(SCHEMAS)
        if unknown:
            raise TypeError(f"unknown roster frames: {sorted(unknown)}")
        made = {}
        for name, schema in SCHEMAS.items():
            frame = frames.get(name)
            if frame is None:
                frame = pl.DataFrame(schema=schema)
            missing = [c for c in schema.names() if c not in frame.columns]
            if missing:
                frame = frame.with_columns(pl.lit(None, dtype=schema[c]).alias(c) for c in missing)
            made[name] = frame.select(pl.col(c).cast(schema[c]) for c in schema.names())
        return cls(**made)

    def record_counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name).height for f in fields(self)}
