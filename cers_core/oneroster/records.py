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

import io
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl

from cers_core.roster import SCHEMAS

__all__ = ["COLLECTION_OF_ENVELOPE", "decode_page", "finish_frame", "records_to_frame"]

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


def _texts(value: Any, *, split: bool = False) -> list[str]:
    """A list of strings from a list or from one string; with ``split``, values are also split
    on commas (1.1 providers send ``periods`` as ``"1, 3"``)."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        return []
    texts = [str(v) for v in value if v is not None and not isinstance(v, (dict, list, bool))]
    if split:
        texts = [part for text in texts for part in text.split(",")]
    return [text.strip() for text in texts if text.strip()]


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
        "periods": _texts(r.get("periods"), split=True),
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


def _python_frame(collection: str, records: Iterable[Record]) -> pl.DataFrame:
    """Every mapping in ``records`` as a row (none dropped yet), decoded record by record."""
    schema = SCHEMAS[collection]
    extract = _EXTRACTORS[collection]
    columns: dict[str, list[Any]] = {name: [] for name in schema.names()}
    for record in records:
        if not isinstance(record, Mapping):
            continue
        columns["sourced_id"].append(_text(record.get("sourcedId")))
        columns["status"].append(_status(record.get("status")))
        for name, value in extract(record).items():
            columns[name].append(value)
    raw_schema = {name: (pl.String if dtype == pl.Date else dtype) for name, dtype in schema.items()}
    frame = pl.DataFrame(columns, schema=raw_schema)
    dates = [name for name, dtype in schema.items() if dtype == pl.Date]
    return frame.with_columns(pl.col(d).str.to_date("%Y-%m-%d", strict=False) for d in dates)


def finish_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop records without a ``sourcedId`` (they join to nothing) and keep the first of each
    ``sourcedId`` (a record repeated across pages is counted once)."""
    return frame.filter(pl.col("sourced_id").is_not_null() & (pl.col("sourced_id") != "")).unique(
        "sourced_id", keep="first", maintain_order=True
    )


def records_to_frame(collection: str, records: Iterable[Record]) -> pl.DataFrame:
    """Decode records of one collection (``schools``, ``sessions``, …) into its roster frame."""
    return finish_frame(_python_frame(collection, records))


# -- the fast path: a whole page decoded by polars' JSON reader, in Rust, without Python objects.

_REF = pl.Struct({"sourcedId": pl.String})
_TEXTS = pl.List(pl.String)
_JSON_FIELDS: dict[str, dict[str, pl.DataType]] = {
    "schools": {"name": pl.String(), "type": pl.String(), "identifier": pl.String()},
    "sessions": {
        "title": pl.String(),
        "type": pl.String(),
        "startDate": pl.String(),
        "endDate": pl.String(),
        "schoolYear": pl.String(),
    },
    "courses": {"title": pl.String(), "courseCode": pl.String(), "subjects": _TEXTS, "subjectCodes": _TEXTS},
    "classes": {
        "title": pl.String(),
        "classCode": pl.String(),
        "classType": pl.String(),
        "location": pl.String(),
        "grades": _TEXTS,
        "subjects": _TEXTS,
        "subjectCodes": _TEXTS,
        "periods": _TEXTS,
        "course": _REF,
        "school": _REF,
        "terms": pl.List(_REF),
    },
    "enrollments": {
        "user": _REF,
        "class": _REF,
        "school": _REF,
        "role": pl.String(),
        "primary": pl.String(),
        "beginDate": pl.String(),
        "endDate": pl.String(),
    },
    "users": {
        "enabledUser": pl.String(),
        "givenName": pl.String(),
        "familyName": pl.String(),
        "username": pl.String(),
        "email": pl.String(),
        "identifier": pl.String(),
        "userIds": pl.List(pl.Struct({"type": pl.String, "identifier": pl.String})),
        "roles": pl.List(pl.Struct({"role": pl.String})),
        "role": pl.String(),
    },
}


def _lowered(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars().str.to_lowercase()


def _kept(values: pl.Expr) -> pl.Expr:
    """List elements trimmed, with nulls and empty strings dropped."""
    trimmed = values.list.eval(pl.element().str.strip_chars())
    return trimmed.list.eval(pl.element().filter(pl.element().is_not_null() & (pl.element() != "")))


def _texts_expr(name: str, *, split: bool = False) -> pl.Expr:
    """Like ``_texts``: values trimmed, empties dropped, and with ``split`` also split on commas."""
    values = pl.col(name).list.eval(pl.element().str.split(",").explode()) if split else pl.col(name)
    return _kept(values)


def _flag_expr(name: str) -> pl.Expr:
    lowered = _lowered(name)
    return (
        pl.when(lowered.is_in(["true", "1", "yes"]))
        .then(True)
        .when(lowered.is_in(["false", "0", "no"]))
        .then(False)
        .otherwise(None)
    )


def _date_expr(name: str) -> pl.Expr:
    return pl.col(name).str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def _ref_expr(name: str) -> pl.Expr:
    return pl.col(name).struct.field("sourcedId")


_ROLE_NAMES = _kept(pl.col("roles").list.eval(pl.element().struct.field("role").str.to_lowercase()))

_COLUMN_EXPRESSIONS: dict[str, dict[str, pl.Expr]] = {
    "schools": {"name": pl.col("name"), "type": _lowered("type"), "identifier": pl.col("identifier")},
    "sessions": {
        "title": pl.col("title"),
        "type": _lowered("type"),
        "start_date": _date_expr("startDate"),
        "end_date": _date_expr("endDate"),
        "school_year": pl.col("schoolYear"),
    },
    "courses": {
        "title": pl.col("title"),
        "course_code": pl.col("courseCode"),
        "subjects": _texts_expr("subjects"),
        "subject_codes": _texts_expr("subjectCodes"),
    },
    "classes": {
        "title": pl.col("title"),
        "class_code": pl.col("classCode"),
        "class_type": _lowered("classType"),
        "location": pl.col("location"),
        "grades": _texts_expr("grades"),
        "subjects": _texts_expr("subjects"),
        "subject_codes": _texts_expr("subjectCodes"),
        "periods": _texts_expr("periods", split=True),
        "course_id": _ref_expr("course"),
        "school_id": _ref_expr("school"),
        "term_ids": pl.col("terms").list.eval(pl.element().struct.field("sourcedId")).list.drop_nulls(),
    },
    "enrollments": {
        "user_id": _ref_expr("user"),
        "class_id": _ref_expr("class"),
        "school_id": _ref_expr("school"),
        "role": _lowered("role"),
        "primary": _flag_expr("primary"),
        "begin_date": _date_expr("beginDate"),
        "end_date": _date_expr("endDate"),
    },
    "users": {
        "enabled": _flag_expr("enabledUser"),
        "given_name": pl.col("givenName"),
        "family_name": pl.col("familyName"),
        "username": pl.col("username"),
        "email": pl.col("email"),
        "identifier": pl.col("identifier"),
        "id_types": pl.col("userIds").list.eval(pl.element().struct.field("type").fill_null("")),
        "id_values": pl.col("userIds").list.eval(pl.element().struct.field("identifier").fill_null("")),
        "roles": pl.when(_ROLE_NAMES.list.len() > 0)
        .then(_ROLE_NAMES)
        .when(_lowered("role").is_not_null() & (_lowered("role") != ""))
        .then(pl.concat_list(_lowered("role")))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
    },
}


def _fast_frame(collection: str, envelope: str, body: bytes) -> pl.DataFrame | None:
    """The page decoded by polars, or None when its shape needs the lenient record-by-record path."""
    fields = {"sourcedId": pl.String(), "status": pl.String(), **_JSON_FIELDS[collection]}
    try:
        page = pl.read_json(io.BytesIO(body), schema={envelope: pl.List(pl.Struct(fields))})
    except Exception:  # polars raises several kinds on odd JSON; the lenient path decides what it is
        return None
    if page.height != 1 or page[envelope].null_count():
        return None
    rows = page.select(pl.col(envelope).explode()).filter(pl.col(envelope).is_not_null()).unnest(envelope)
    status = _lowered("status")
    schema = SCHEMAS[collection]
    columns = {
        "sourced_id": pl.col("sourcedId"),
        "status": pl.when(status == "inactive").then(pl.lit("tobedeleted")).otherwise(status),
        **_COLUMN_EXPRESSIONS[collection],
    }
    empty = pl.lit([], dtype=pl.List(pl.String))
    return rows.select(
        (pl.coalesce(expr, empty) if schema[name] == pl.List(pl.String) else expr).cast(schema[name]).alias(name)
        for name, expr in columns.items()
    )


def decode_page(collection: str, envelope: str, body: bytes) -> tuple[pl.DataFrame, int] | None:
    """One page of a collection: its records as roster columns (not yet de-duplicated), and how
    many records it held (the offset advances by that). None when the page has no list under
    ``envelope`` nor a single list under another key. Raises ``ValueError`` for a body that is
    not JSON at all (cut off, an HTML error page), which is worth asking for again.

    The fast path decodes the whole page in polars; anything it cannot take (a reference that
    is a string, a list of mixed objects) goes through the record-by-record decoder, which
    accepts every quirk the module docstring lists.
    """
    fast = _fast_frame(collection, envelope, body)
    if fast is not None:
        return fast, fast.height
    document = json.loads(body)
    records = document.get(envelope) if isinstance(document, dict) else None
    if records is None and isinstance(document, dict):
        # Lenient: accept the single array-valued key when the envelope is named otherwise.
        arrays = [v for v in document.values() if isinstance(v, list)]
        records = arrays[0] if len(arrays) == 1 else None
    if not isinstance(records, list):
        return None
    return _python_frame(collection, records), len(records)
