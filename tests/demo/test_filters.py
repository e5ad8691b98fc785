"""The demo provider's filter language: parsing, and what a compiled filter selects."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from cers_demo.provider.filters import Filter, FilterError, Predicate, compile_filter, parse_filter


@pytest.mark.parametrize(
    ("text", "predicates", "logic"),
    [
        ("status='active'", [("status", "=", "active")], "AND"),
        ("status!='active'", [("status", "!=", "active")], "AND"),
        ("endDate>'2026-11-28'", [("endDate", ">", "2026-11-28")], "AND"),
        ("endDate>='2026-11-28'", [("endDate", ">=", "2026-11-28")], "AND"),
        ("beginDate<'2026-11-28'", [("beginDate", "<", "2026-11-28")], "AND"),
        ("beginDate<='2026-11-28'", [("beginDate", "<=", "2026-11-28")], "AND"),
        ("familyName~'nguy'", [("familyName", "~", "nguy")], "AND"),
        ("school.sourcedId='org-0003'", [("school.sourcedId", "=", "org-0003")], "AND"),
        ("roles.org.sourcedId='org-1'", [("roles.org.sourcedId", "=", "org-1")], "AND"),
        # spaces around the predicate and inside the value
        ("title = 'Algebra I '", [("title", "=", "Algebra I ")], "AND"),
        ("  title='a  b'  ", [("title", "=", "a  b")], "AND"),
        # quotes and backslashes inside values
        ("familyName='O''Brien'", [("familyName", "=", "O'Brien")], "AND"),
        ("familyName='O\\'Brien'", [("familyName", "=", "O'Brien")], "AND"),
        ("title='back\\\\slash'", [("title", "=", "back\\slash")], "AND"),
        ("title='a\\b'", [("title", "=", "a\\b")], "AND"),
        ("title=''", [("title", "=", "")], "AND"),
        ("title='x AND y=''z'''", [("title", "=", "x AND y='z'")], "AND"),
        ("title='=SUM(1+1), \"quoted\"'", [("title", "=", '=SUM(1+1), "quoted"')], "AND"),
        # logical words
        ("a='1' AND b='2'", [("a", "=", "1"), ("b", "=", "2")], "AND"),
        ("a='1' OR b='2'", [("a", "=", "1"), ("b", "=", "2")], "OR"),
        ("a='1' and b='2'", [("a", "=", "1"), ("b", "=", "2")], "AND"),
        ("a='1' AND b='2' AND c~'3'", [("a", "=", "1"), ("b", "=", "2"), ("c", "~", "3")], "AND"),
        (
            "a='1'  OR  b>'2' OR c!='3' OR d<='4'",
            [("a", "=", "1"), ("b", ">", "2"), ("c", "!=", "3"), ("d", "<=", "4")],
            "OR",
        ),
    ],
)
def test_valid_filters(text: str, predicates: list[tuple[str, str, str]], logic: str) -> None:
    parsed = parse_filter(text)
    assert parsed == Filter(tuple(Predicate(*p) for p in predicates), logic)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a field name"),
        ("   ", "expected a field name"),
        ("='x'", "expected a field name"),
        (".sourcedId='x'", "expected a field name"),
        ("school.='x'", "expected a field name"),
        ("school..sourcedId='x'", "expected a field name"),
        ("status", "expected one of"),
        ("status=='x'", "expected a value in single quotes"),
        ("status=active", "expected a value in single quotes"),
        ('status="active"', "expected a value in single quotes"),
        ("status='active", "closing quote is missing"),
        ("status='it''s", "closing quote is missing"),
        ("status='a'b", "expected a space, then AND or OR"),
        ("status='a' b='c'", "expected AND or OR"),
        ("status='a' AND", "expected AND or OR"),
        ("status='a' AND ", "expected a field name"),
        ("status='a' ANDb='c'", "expected AND or OR"),
        ("status='a' XOR b='c'", "expected AND or OR"),
        ("a='1' AND b='2' OR c='3'", "cannot mix AND with OR"),
        ("a='1' OR b='2' AND c='3'", "cannot mix AND with OR"),
        ("status≈'a'", "expected one of"),
    ],
)
def test_invalid_filters(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(text)


# -- compiled filters on a small hand-made frame --------------------------------------------

PEOPLE = pl.DataFrame(
    {
        "sourcedId": ["u1", "u2", "u3", "u4"],
        "status": pl.Series(["active", "active", "tobedeleted", "active"], dtype=pl.Enum(["active", "tobedeleted"])),
        "dateLastModified": [
            datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC),
            datetime(2026, 6, 1, 12, 30, tzinfo=UTC),
            datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
            datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        ],
        "enabledUser": [True, False, True, True],
        "familyName": ["O'Brien", "Nguyen", "nguyen-Tran", None],
        "birthDate": [date(2012, 3, 1), date(2011, 9, 15), None, date(2013, 1, 1)],
        "roles.org.sourcedId": [["org-1"], ["org-2", "org-1"], ["org-2"], None],
        "grades": [["09"], ["10"], [], ["09", "10"]],
    },
    schema_overrides={"dateLastModified": pl.Datetime("ms", "UTC")},
)


def selected(text: str) -> list[str]:
    return PEOPLE.filter(compile_filter(parse_filter(text), PEOPLE.schema))["sourcedId"].to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sourcedId='u2'", ["u2"]),
        ("sourcedId>'u2'", ["u3", "u4"]),
        ("sourcedId<='u2'", ["u1", "u2"]),
        ("status='active'", ["u1", "u2", "u4"]),
        ("status!='active'", ["u3"]),
        ("status='inactive'", []),  # not a value the enum can hold
        ("status!='inactive'", ["u1", "u2", "u3", "u4"]),
        ("status~'DELETE'", ["u3"]),
        ("enabledUser='false'", ["u2"]),
        ("enabledUser='TRUE'", ["u1", "u3", "u4"]),
        ("familyName='O''Brien'", ["u1"]),
        ("familyName~'nguyen'", ["u2", "u3"]),  # contains, ignoring case
        ("familyName!='Nguyen'", ["u1", "u3", "u4"]),  # a missing value is "not equal"
        ("familyName>'N'", ["u1", "u2", "u3"]),  # by code point: "O'Brien" and "Nguyen" > "N", so is lower case
        ("familyName<'O'", ["u2"]),
        ("birthDate<'2012-01-01'", ["u2"]),
        ("birthDate>='2012-03-01'", ["u1", "u4"]),
        ("dateLastModified>'2026-01-01T00:00:00Z'", ["u2", "u4"]),
        ("dateLastModified>='2026-01-01T00:00:00.000Z'", ["u1", "u2", "u4"]),
        ("dateLastModified>'2026-01-01'", ["u2", "u4"]),
        ("dateLastModified<'2026-01-01T01:00:00+01:00'", ["u3"]),  # = midnight UTC
        ("dateLastModified='2026-06-01T12:30:00Z'", ["u2"]),
        ("dateLastModified~'2026-11'", ["u4"]),
        ("roles.org.sourcedId='org-1'", ["u1", "u2"]),  # any element of the array
        ("roles.org.sourcedId!='org-1'", ["u2", "u3", "u4"]),  # any element differs, or missing
        ("roles.org.sourcedId~'G-2'", ["u2", "u3"]),
        ("grades='10'", ["u2", "u4"]),
        ("grades>'09'", ["u2", "u4"]),
        ("status='active' AND roles.org.sourcedId='org-1'", ["u1", "u2"]),
        ("status='active' AND roles.org.sourcedId='org-1' AND enabledUser='true'", ["u1"]),
        ("familyName='Nguyen' OR grades='09'", ["u1", "u2", "u4"]),
        ("sourcedId='u1' OR sourcedId='u3' OR sourcedId='u9'", ["u1", "u3"]),
    ],
)
def test_compiled_filters_select(text: str, expected: list[str]) -> None:
    assert selected(text) == expected


@pytest.mark.parametrize(
    ("text", "allowed", "message"),
    [
        ("nickname='x'", None, "field 'nickname' is not supported"),
        ("school='org-1'", None, "field 'school' is not supported"),
        ("familyName='x'", {"sourcedId"}, "field 'familyName' is not supported"),
        ("birthDate>'last year'", None, "not a date"),
        ("dateLastModified>'yesterday'", None, "not an ISO 8601 date-time"),
    ],
)
def test_filters_that_cannot_be_compiled(text: str, allowed: set[str] | None, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        compile_filter(parse_filter(text), PEOPLE.schema, allowed_fields=allowed)
