"""Decoding what real providers send into roster columns, quirks included."""

from __future__ import annotations

import json
from datetime import date

import pytest

from cers_core.oneroster.records import (
    COLLECTION_OF_ENVELOPE,
    _fast_page,
    decode_page,
    records_to_frame,
    to_roster_frame,
)
from tests.support.rosters import load_records


def one(collection: str, record: dict) -> dict:
    frame = records_to_frame(collection, [{"sourcedId": "x", "status": "active", **record}])
    assert frame.height == 1
    return frame.row(0, named=True)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"enabledUser": "true"}, True),
        ({"enabledUser": "False"}, False),
        ({"enabledUser": True}, True),
        ({"enabledUser": False}, False),
        ({}, None),
    ],
)
def test_enabled_user_as_string_or_boolean(record, expected):
    assert one("users", record)["enabled"] is expected


@pytest.mark.parametrize(
    ("record", "roles"),
    [
        ({"roles": [{"roleType": "primary", "role": "Teacher", "org": {"sourcedId": "s"}}]}, ["teacher"]),
        ({"role": "student"}, ["student"]),  # OneRoster 1.1
        ({"roles": [{"roleType": "primary", "role": "ext:coach"}]}, ["ext:coach"]),
        ({"roles": None, "role": None}, []),
    ],
)
def test_roles_from_1_2_or_1_1(record, roles):
    assert one("users", record)["roles"] == roles


def test_user_ids_keep_their_order_and_null_identifier_is_null():
    row = one(
        "users",
        {
            "identifier": None,
            "userIds": [{"type": "LocalId", "identifier": "1"}, {"type": "SSID", "identifier": "1234567890"}],
            "extraVendorField": {"nested": True},
        },
    )
    assert (row["id_types"], row["id_values"], row["identifier"]) == (["LocalId", "SSID"], ["1", "1234567890"], None)


@pytest.mark.parametrize(
    ("periods", "expected"),
    [(["1", "3"], ["1", "3"]), ("2", ["2"]), ("1, 3", ["1", "3"]), (None, []), ([], [])],
)
def test_periods_as_list_or_string(periods, expected):
    assert one("classes", {"periods": periods})["periods"] == expected


def test_references_keep_only_the_sourced_id_whatever_the_href():
    row = one(
        "classes",
        {
            "classType": "ext:block",
            "course": {"href": "~/ims/oneroster/v1p1/courses/c", "sourcedId": "c", "type": "course"},
            "school": {"href": "/orgs/s", "sourcedId": "s", "type": "org"},
            "terms": [{"sourcedId": "t1"}, {"href": "x", "sourcedId": "t2", "type": "academicSession"}],
        },
    )
    assert (row["course_id"], row["school_id"], row["term_ids"], row["class_type"]) == (
        "c",
        "s",
        ["t1", "t2"],
        "ext:block",
    )


def test_enrollment_flags_and_dates():
    row = one(
        "enrollments",
        {"role": "Teacher", "primary": "true", "beginDate": "2026-08-12", "endDate": "2027-06-11T00:00:00.000Z"},
    )
    assert (row["role"], row["primary"], row["begin_date"], row["end_date"]) == (
        "teacher",
        True,
        date(2026, 8, 12),
        date(2027, 6, 11),
    )
    assert one("enrollments", {"beginDate": "not a date"})["begin_date"] is None


def test_inactive_is_read_as_tobedeleted_and_duplicates_count_once():
    frame = records_to_frame(
        "schools",
        [
            {"sourcedId": "a", "status": "inactive", "name": "Old"},
            {"sourcedId": "a", "status": "active", "name": "Again"},
            {"status": "active", "name": "No id"},
            "not a record",
        ],
    )
    assert frame.select("sourced_id", "status", "name").rows() == [("a", "tobedeleted", "Old")]


QUIRKY_USERS = [
    {"sourcedId": "u1", "status": "Active", "enabledUser": True, "role": "Teacher", "identifier": None},
    {
        "sourcedId": "u2",
        "status": "inactive",
        "enabledUser": "FALSE",
        "roles": [{"role": "student"}],
        "userIds": [{"type": "SSID", "identifier": "1234567890"}, {"type": None, "identifier": None}],
    },
    {"sourcedId": "u3", "roles": [], "role": None, "extra": {"deep": [1, 2]}},
    {"status": "active"},
    {"sourcedId": "u1", "status": "active", "givenName": "second copy"},
]
QUIRKY_CLASSES = [
    {
        "sourcedId": "c1",
        "periods": "1, 3",
        "grades": "09",
        "subjects": ["Math", None, ""],
        "terms": [{"sourcedId": "t"}],
    },
    {"sourcedId": "c2", "periods": [1, "2"], "course": {"href": "~/x", "sourcedId": "k"}, "terms": []},
]


@pytest.mark.parametrize(
    ("collection", "envelope", "records"),
    [("users", "users", QUIRKY_USERS), ("classes", "classes", QUIRKY_CLASSES)]
    + [(COLLECTION_OF_ENVELOPE[k], k, v) for k, v in load_records("lincoln_high").items()],
)
def test_the_fast_page_decoder_agrees_with_the_record_by_record_one(collection, envelope, records):
    body = json.dumps({envelope: records}).encode()
    assert _fast_page(collection, envelope, body) is not None  # polars reads it whole: both paths compared
    decoded = decode_page(collection, envelope, body)
    assert decoded is not None
    frame, received = decoded
    assert received == len(records)
    assert to_roster_frame(collection, frame).equals(records_to_frame(collection, records))


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (b'{"users": [{"sourcedId": "a"}], "x": 1}', 1),
        (b'{"people": [{"sourcedId": "a"}, {"sourcedId": "b"}]}', 2),  # the single list under another key
        (b'{"users": null}', None),
        (b'{"a": [], "b": []}', None),
        (b"[]", None),
    ],
)
def test_page_envelopes(body, outcome):
    decoded = decode_page("users", "users", body)
    assert (decoded[1] if decoded else None) == outcome


@pytest.mark.parametrize("body", [b'{"users": [{"sourcedId": "a"', b"<html>Bad gateway</html>", b""])
def test_a_body_that_is_not_json_raises_value_error(body):
    with pytest.raises(ValueError):
        decode_page("users", "users", body)


def test_a_page_polars_cannot_read_whole_is_decoded_record_by_record():
    records = [{"sourcedId": "a", "user": "not-an-object", "class": {"sourcedId": "c"}, "role": "student"}]
    body = json.dumps({"enrollments": records}).encode()
    assert _fast_page("enrollments", "enrollments", body) is None
    frame, received = decode_page("enrollments", "enrollments", body)
    roster = to_roster_frame("enrollments", frame)
    assert received == 1
    assert roster.select("sourced_id", "user_id", "class_id", "role").rows() == [("a", None, "c", "student")]
