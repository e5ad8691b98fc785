"""OneRoster JSON records, as real providers send them, decoded into roster frame columns.

Providers bend the spec in known ways, and we accept all of them here, once, so that the
group builder only ever sees clean columns (see ``cers_core.roster.SCHEMAS``):

- 1.2 ``roles[]`` and the 1.1 single ``role`` on users;
- ``primary`` / ``enabledUser`` as JSON booleans or as the strings ``"true"``/``"false"``;
- ``ext:`` values in any enumeration (kept as given; they simply match nothing we look for);
- ``null`` where a string belongs (Aeries' ``identifier``), relative or odd ``href`` values
  (we only ever read the ``sourcedId`` of a reference), unknown extra fields (ignored);
- ``periods`` as a list or as one string (1.1), possibly comma-separated;
- the 1.1 ``inactive`` status, which the spec says to read as ``tobedeleted``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl

from cers_core.roster import SCHEMAS

__all__ = ["COLLECTION_OF_ENVELOPE", "records_to_frame"]

Record = Mapping[str, Any]

# Which roster frame each envelope key feeds.
COLLECTION_OF_ENVELOPE = {
    "orgs": "schools",
    "academicSessions": "sessions",
    "courses": "courses",
    "classes": "classes",
    "enrollments": "enrollments",
    "users": "users",
}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def _lower(value: Any) -> str | None:
    text = _text(value)
    return None if text is None else text.strip().lower()


def _status(value: Any) -> str | None:
    status = _lower(value)
    return "tobedeleted" if status == "inactive" else status


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
    return None


def _texts(value: Any) -> list[str]:
    """A list of strings from a list, or from one string that may be comma-separated."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value if v is not None and not isinstance(v, (dict, list))]
    return [str(value)]


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _text(value.get("sourcedId"))
    return None


def _refs(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        return []
    return [sid for sid in (_ref(v) for v in value) if sid is not None]


def _date(value: Any) -> str | None:
    """The date part of a date or date-time string; converted to ``pl.Date`` in bulk later."""
    text = _text(value)
    return text.strip()[:10] if text and text.strip() else None


def _user_ids(record: Record) -> tuple[list[str], list[str]]:
    types: list[str] = []
    values: list[str] = []
    entries = record.get("userIds")
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, Mapping):
                types.append(_text(entry.get("type")) or "")
                values.append(_text(entry.get("identifier")) or "")
    return types, values


def _user_roles(record: Record) -> list[str]:
    roles = record.get("roles")
    found: list[str] = []
    if isinstance(roles, list):
        for role in roles:
            if isinstance(role, Mapping) and (name := _lower(role.get("role"))):
                found.append(name)
    if not found and (legacy := _lower(record.get("role"))):
        found.append(legacy)
    return found


_Extractor = Callable[[Record], dict[str, Any]]

_EXTRACTORS: dict[str, _Extractor] = {
    "schools": lambda r: {
        "name": _text(r.get("name")),
        "type": _lower(r.get("type")),
        "identifier": _text(r.get("identifier")),
    },
    "sessions": lambda r: {
        "title": _text(r.get("title")),
        "type": _lower(r.get("type")),
        "start_date": _date(r.get("startDate")),
        "end_date": _date(r.get("endDate")),
        "school_year": _text(r.get("schoolYear")),
    },
    "courses": lambda r: {
        "title": _text(r.get("title")),
        "course_code": _text(r.get("courseCode")),
        "subjects": _texts(r.get("subjects")),
        "subject_codes": _texts(r.get("subjectCodes")),
    },
    "classes": lambda r: {
        "title": _text(r.get("title")),
        "class_code": _text(r.get("classCode")),
        "class_type": _lower(r.get("classType")),
        "location": _text(r.get("location")),
        "grades": _texts(r.get("grades")),
        "subjects": _texts(r.get("subjects")),
        "subject_codes": _texts(r.get("subjectCodes")),
        "periods": _texts(r.get("periods")),
        "course_id": _ref(r.get("course")),
        "school_id": _ref(r.get("school")),
        "term_ids": _refs(r.get("terms")),
    },
    "enrollments": lambda r: {
        "user_id": _ref(r.get("user")),
        "class_id": _ref(r.get("class")),
        "school_id": _ref(r.get("school")),
        "role": _lower(r.get("role")),
        "primary": _flag(r.get("primary")),
        "begin_date": _date(r.get("beginDate")),
        "end_date": _date(r.get("endDate")),
    },
    "users": lambda r: {
        "enabled": _flag(r.get("enabledUser")),
        "given_name": _text(r.get("givenName")),
        "family_name": _text(r.get("familyName")),
        "username": _text(r.get("username")),
        "email": _text(r.get("email")),
        "identifier": _text(r.get("identifier")),
        "id_types": (ids := _user_ids(r))[0],
        "id_values": ids[1],
        "roles": _user_roles(r),
    },
}


def records_to_frame(collection: str, records: Iterable[Record]) -> pl.DataFrame:
    """Decode records of one collection (``schools``, ``sessions``, …) into its roster frame.

    Records without a ``sourcedId`` cannot be joined to anything and are dropped; the first
    record of each ``sourcedId`` wins (a record repeated across pages is counted once).
    """
    schema = SCHEMAS[collection]
    extract = _EXTRACTORS[collection]
    columns: dict[str, list[Any]] = {name: [] for name in schema.names()}
    seen: set[str] = set()
    for record in records:
        if not isinstance(record, Mapping):
            continue
        sourced_id = _text(record.get("sourcedId"))
        if not sourced_id or sourced_id in seen:
            continue
        seen.add(sourced_id)
        columns["sourced_id"].append(sourced_id)
        columns["status"].append(_status(record.get("status")))
        for name, value in extract(record).items():
            columns[name].append(value)
    raw_schema = {name: (pl.String if dtype == pl.Date else dtype) for name, dtype in schema.items()}
    frame = pl.DataFrame(columns, schema=raw_schema)
    dates = [name for name, dtype in schema.items() if dtype == pl.Date]
    return frame.with_columns(pl.col(d).str.to_date("%Y-%m-%d", strict=False) for d in dates)
