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

Decoding has two steps. A page is read into *raw* columns shaped like the JSON (``user``
is a struct holding ``sourcedId``), by polars' JSON reader in Rust — which already turns a
boolean into ``"true"``, a number into text and a single value into a one-element list — or,
for a page it cannot read that way, by ``_raw_records`` in Python with the same leniency.
Then all pages of a collection are turned into roster columns in one vectorized pass
(``to_roster_frame``): one semantics, whichever way a page was read.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl

from cers_core.http.bounds import load_json
from cers_core.roster import SCHEMAS

__all__ = [
    "COLLECTION_OF_ENVELOPE",
    "RAW_SCHEMAS",
    "decode_page",
    "finish_frame",
    "records_to_frame",
    "to_roster_columns",
    "to_roster_frame",
]

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


_REF = pl.Struct({"sourcedId": pl.String})
_TEXTS = pl.List(pl.String)
# The JSON fields read from each collection, and the raw type polars reads them as.
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


# The raw columns of each collection: what ``decode_page`` gives, and what a OneRoster CSV
# bundle's files are mapped into (``cers_core.oneroster_csv.reader``), so that both are read alike.
RAW_SCHEMAS: dict[str, pl.Schema] = {
    name: pl.Schema({"sourcedId": pl.String(), "status": pl.String(), "dateLastModified": pl.String(), **fields})
    for name, fields in _JSON_FIELDS.items()
}


def _raw_value(value: Any, dtype: pl.DataType) -> Any:
    """``value`` coerced to the raw ``dtype`` as polars' JSON reader would (None when it cannot)."""
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, Mapping):
            return None
        return {f.name: _raw_value(value.get(f.name), f.dtype) for f in dtype.fields}
    if isinstance(dtype, pl.List):
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
        return [_raw_value(item, dtype.inner) for item in items]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _raw_records(collection: str, records: Iterable[Any]) -> pl.DataFrame:
    """Records decoded one by one into the raw columns (for pages polars cannot read whole)."""
    schema = RAW_SCHEMAS[collection]
    rows = [
        {name: _raw_value(record.get(name), dtype) for name, dtype in schema.items()}
        for record in records
        if isinstance(record, Mapping)
    ]
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def finish_frame(frame: pl.DataFrame, *, order_by: str | None = None) -> pl.DataFrame:
    """Drop records without a ``sourcedId`` (they join to nothing) and keep the first of each
    ``sourcedId`` (a record repeated across pages is counted once).

    With ``order_by``, "first" is in the order of that column (where a page started: pages
    arrive in any order), which is then dropped. Either way the kept rows are gathered once:
    two million enrollments sorted, then filtered, then de-duplicated, would be three copies.
    """
    ids = pl.col("sourced_id")
    first = ids.is_not_null() & (ids != "") & ids.is_first_distinct()
    if order_by is None:
        return frame.filter(first)
    order = frame.select(pl.arg_sort_by(order_by, maintain_order=True)).to_series()
    kept = order.filter(frame.select(pl.col("sourced_id").gather(order)).select(first).to_series())
    return frame.drop(order_by).select(pl.all().gather(kept))


def to_roster_frame(collection: str, raw: pl.DataFrame) -> pl.DataFrame:
    """Raw columns (``decode_page``) of one collection as its roster frame, de-duplicated."""
    return finish_frame(to_roster_columns(collection, raw))


def to_roster_columns(collection: str, raw: pl.DataFrame) -> pl.DataFrame:
    """Raw columns as roster columns, row for row (no record dropped yet); other columns kept."""
    status = _lowered("status")
    schema = SCHEMAS[collection]
    columns = {
        "sourced_id": pl.col("sourcedId"),
        "status": pl.when(status == "inactive").then(pl.lit("tobedeleted")).otherwise(status),
        "modified": pl.col("dateLastModified"),
        **_COLUMN_EXPRESSIONS[collection],
    }
    empty = pl.lit([], dtype=pl.List(pl.String))
    extra = [name for name in raw.columns if name not in RAW_SCHEMAS[collection]]
    return raw.select(
        *(
            (pl.coalesce(expr, empty) if schema[name] == pl.List(pl.String) else expr).cast(schema[name]).alias(name)
            for name, expr in columns.items()
        ),
        *extra,
    )


def records_to_frame(collection: str, records: Iterable[Record]) -> pl.DataFrame:
    """Decode records of one collection (``schools``, ``sessions``, …) into its roster frame."""
    return to_roster_frame(collection, _raw_records(collection, records))


def _fast_page(collection: str, envelope: str, body: bytes) -> tuple[pl.DataFrame, int] | None:
    """The page read whole by polars, or None when its shape needs the record-by-record path."""
    try:
        page = pl.read_json(io.BytesIO(body), schema={envelope: pl.List(pl.Struct(RAW_SCHEMAS[collection]))})
    except Exception:  # polars raises several kinds on odd JSON; the lenient path decides what it is
        return None
    if page.height != 1 or page[envelope].null_count():
        return None
    received = page[envelope].list.len()[0]
    # An empty page explodes into one null row, which finish_frame drops with the other id-less rows.
    return page.select(pl.col(envelope).explode()).unnest(envelope), received


def decode_page(collection: str, envelope: str, body: bytes) -> tuple[pl.DataFrame, int] | None:
    """One page of a collection in raw columns (``RAW_SCHEMAS``), and how many records it held
    (the offset advances by that). None when the page has no list under ``envelope`` nor a
    single list under another key. Raises ``ValueError`` for a body that is not JSON at all
    (cut off, an HTML error page), which is worth asking for again, and ``AnswerTooDeep`` for
    JSON nested deeper than Python's parser goes (polars' reader stops at its own limit and
    hands such a page here), which is not.
    """
    fast = _fast_page(collection, envelope, body)
    if fast is not None:
        return fast
    document = load_json(body)
    records = document.get(envelope) if isinstance(document, dict) else None
    if records is None and isinstance(document, dict):
        # Lenient: accept the single array-valued key when the envelope is named otherwise.
        arrays = [v for v in document.values() if isinstance(v, list)]
        records = arrays[0] if len(arrays) == 1 else None
    if not isinstance(records, list):
        return None
    return _raw_records(collection, records), len(records)
