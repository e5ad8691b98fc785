"""Property tests (hypothesis): the group-name sanitizer, builder -> writer -> validator, and paging.

- Whatever text a SIS sends, a cleaned value and a finished group name hold none of
  ``, " \\ tab CR LF``, never start with ``= + - @`` or white space, and stay within 255 characters.
- Whatever the builder makes of a roster full of such text, the writer's file passes our validator
  (CERS's rules and our pre-flight checks) and no cell of it starts with ``= + - @`` tab or CR.
- Whatever a server does to paging (page sizes, clamps, totals missing or stale, Link or not,
  records shifting between pages, empty pages before the total), the client returns exactly the
  collection's records, each once.

The cases these properties found in other modules (logins starting with ``=``, emoji and control
characters in names, raw or overlong collision suffixes, a separator starting with a no-break
space) are pinned below as examples.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import io
import itertools

import httpx
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cers_core.cers_csv import order_cers_rows, validate_cers_csv, write_cers_csv
from cers_core.errors import BadResponse
from cers_core.group_names import MAX_NAME_LENGTH, clean_value, finish_name, with_suffix
from cers_core.groups import build_section_groups
from cers_core.http.retry import RetryPolicy
from cers_core.oneroster.client import OneRosterClient
from cers_core.settings import GroupNameField, GroupOptions, OneRosterSettings
from tests.support.rosters import load_records, roster_from_records

AS_OF_TEXT = "2026-11-28"
FORBIDDEN = frozenset(',"\\\t\r\n')
FORMULA_START = tuple("=+-@\t\r")
# Unicode White_Space: what polars' strip and \s treat as white space.
WHITE = frozenset(
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# Text as a SIS may send it: the characters that matter here, white space and control characters
# of all kinds, emoji, and any other character.
NASTY = st.text(
    alphabet=st.one_of(
        st.sampled_from(sorted(FORBIDDEN | WHITE | set("=+-@ ()'&;:é\x00\x1f\x7f\U0001f4d0"))),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=300,
)
# Any separator the settings accept (no , " \ nor control characters nor emoji), common ones most often.
SEPARATORS = st.one_of(
    st.sampled_from([" - ", " | ", " / ", "-", "_", " ", " · ", " – ", "::", "\u00a0=", "= "]),
    st.text(
        alphabet=st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs", "Cc"), exclude_characters=',"\\'),
        min_size=1,
        max_size=5,
    ),
)


def evaluate(expression: pl.Expr, **columns: list[str | None]) -> list[str | None]:
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    return frame.select(result=expression)["result"].to_list()


def assert_safe_text(value: str) -> None:
    assert not FORBIDDEN.intersection(value), value
    assert value[0] not in WHITE and value[-1] not in WHITE, value
    assert not any(a in WHITE and b in WHITE for a, b in itertools.pairwise(value)), value


# -- the sanitizer ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.lists(NASTY, min_size=1, max_size=20))
def test_property_a_cleaned_value_is_safe_or_nothing(values):
    for value in evaluate(clean_value(pl.col("v")), v=values):
        if value is not None:
            assert value != ""
            assert_safe_text(value)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(st.one_of(st.none(), NASTY), min_size=3, max_size=3), min_size=1, max_size=8),
    SEPARATORS,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40),
)
def test_property_a_finished_name_is_safe_and_short(rows, separator, code):
    """Names as the builder makes them: cleaned values joined, finished, and a cleaned suffix added."""
    columns = {f"f{i}": [row[i] for row in rows] for i in range(3)}
    joined = pl.concat_list([clean_value(pl.col(name)) for name in columns]).list.drop_nulls().list.join(separator)
    names = evaluate(finish_name(joined, pl.lit("cls-" + code)), **columns)
    suffixed = evaluate(with_suffix(pl.col("n"), clean_value(pl.lit(code))), n=names)
    for name, long_name in zip(names, suffixed, strict=True):
        assert name and len(name) <= MAX_NAME_LENGTH
        assert not name.startswith(("=", "+", "-", "@")), name
        assert_safe_text(name)
        assert len(long_name) <= MAX_NAME_LENGTH and long_name.endswith(f" ({code})")
        assert not long_name.startswith(("=", "+", "-", "@"))


# -- builder -> writer -> validator ------------------------------------------------------------

BASE_RECORDS = load_records("lincoln_high")
LOGIN_LOCAL = st.text(alphabet='abcdefghijklmnopqrstuvwxyz0123456789._%+-=@,"\\ ', min_size=1, max_size=20)


@st.composite
def nasty_rosters(draw: st.DrawFn) -> dict:
    """The hand-written roster with SIS free text replaced by anything (names, titles, codes, rooms)."""
    records = copy.deepcopy(BASE_RECORDS)
    for school in records["orgs"]:
        school["name"] = draw(NASTY)
    for course in records["courses"]:
        course["title"] = draw(NASTY)
        course["courseCode"] = draw(NASTY)
    same_title = draw(st.booleans())  # every section named alike: names collide and get suffixes
    for section in records["classes"]:
        section["title"] = "Same" if same_title else draw(NASTY)
        section["classCode"] = draw(st.one_of(st.none(), NASTY))
        section["location"] = draw(NASTY)
        section["periods"] = draw(st.lists(NASTY, max_size=3))
    for user in records["users"]:
        user["givenName"], user["familyName"] = draw(NASTY), draw(NASTY)
        if any(role["role"] == "teacher" for role in user.get("roles", [])):
            user["email"] = f"{draw(LOGIN_LOCAL)}@lincoln.example.org"
    return records


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    nasty_rosters(),
    st.lists(st.sampled_from(list(GroupNameField)), min_size=1, max_size=5, unique=True),
    SEPARATORS,
)
def test_property_whatever_the_builder_writes_the_validator_accepts(records, fields, separator):
    options = GroupOptions(fields=fields, separator=separator, split_large=True)
    result = build_section_groups(roster_from_records(records), options, as_of=pl.Series([AS_OF_TEXT]).str.to_date()[0])
    data = write_cers_csv(order_cers_rows(result.rows))
    report = validate_cers_csv(data, school_years={2027})
    assert report.cers_failures == [] and report.cers_crash is None, report.to_text()
    assert report.errors == [], report.to_text()
    cells = [cell for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")) for cell in row]
    assert not [cell for cell in cells if cell.startswith(FORMULA_START)]


# -- what these properties found in other modules (fixed in 39d4627), pinned as examples ----------


def _build(records: dict, **options: object) -> bytes:
    result = build_section_groups(
        roster_from_records(records), GroupOptions(**options), as_of=pl.Series([AS_OF_TEXT]).str.to_date()[0]
    )
    return write_cers_csv(order_cers_rows(result.rows))


def _file_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")) for cell in row]


def test_found_by_the_properties_a_login_starting_with_a_formula_character():
    records = copy.deepcopy(BASE_RECORDS)
    for user in records["users"]:
        if user["sourcedId"] == "t-nguyen-a":
            user["email"] = "=1+2@lincoln.example.org"
    assert not [cell for cell in _file_cells(_build(records)) if cell.startswith(FORMULA_START)]


def test_found_by_the_properties_an_emoji_in_a_course_title():
    records = copy.deepcopy(BASE_RECORDS)
    records["courses"][0]["title"] = "Algebra I \N{TRIANGULAR RULER}"
    assert validate_cers_csv(_build(records)).errors == []


def test_found_by_the_properties_a_collision_suffix_from_a_raw_sourced_id():
    records = copy.deepcopy(BASE_RECORDS)
    renamed = {}
    for section in records["classes"]:
        section["classCode"] = None
        renamed[section["sourcedId"]] = section["sourcedId"] + ',"x"'
        section["sourcedId"] = renamed[section["sourcedId"]]
    for enrollment in records["enrollments"]:
        enrollment["class"]["sourcedId"] = renamed.get(enrollment["class"]["sourcedId"], "?")
    report = validate_cers_csv(_build(records))
    assert report.errors == [], report.to_text()


def test_found_by_the_properties_a_name_of_control_characters_only():
    records = copy.deepcopy(BASE_RECORDS)
    for section in records["classes"]:
        section["location"] = "\x1f" if section["sourcedId"] == "cls-art" else section["sourcedId"]
    report = validate_cers_csv(_build(records, fields=["location"]))
    assert report.errors == [], report.to_text()


def test_found_by_the_properties_a_very_long_class_code_in_a_collision_suffix():
    names = evaluate(with_suffix(pl.col("n"), pl.col("s")), n=["Algebra I"], s=["C" * 300])
    assert len(names[0]) <= MAX_NAME_LENGTH


def test_found_by_the_properties_a_separator_that_starts_with_unicode_space():
    columns = {"a": ["="], "b": ["Algebra"]}
    joined = pl.concat_list([clean_value(pl.col("a")), clean_value(pl.col("b"))]).list.join("\u00a0=")
    names = evaluate(finish_name(joined, pl.lit("cls-1")), **columns)
    assert not names[0].startswith("=")


# -- paging ------------------------------------------------------------------------------------

BASE = "https://sis.example.org/ims/oneroster/rostering/v1p2"
TOKEN = "https://sis.example.org/oauth2/token"
QUICK = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, max_total_wait=1.0)


class PagingServer:
    """A scripted ``/users`` collection whose paging misbehaves as drawn.

    ``shift``: once the first page is served, a record is inserted at the front (never served):
    every later page starts one record early and the total counts one more.
    ``drift``: the first page's X-Total-Count is off by this many.
    ``hiccups``: numbers of the requests (1 is the first page) answered with an empty page although
    the total says more records follow (only with a total: without one, an empty page is the end).
    """

    def __init__(
        self, count: int, clamp: int, *, total: bool, link: bool, drift: int, shift: bool, hiccups: set[int]
    ) -> None:
        self.records = [f"u{n:04d}" for n in range(count)]
        self.clamp, self.total, self.link, self.drift, self.shift = clamp, total, link, drift, shift
        self.hiccups = hiccups if total else set()
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "token_type": "bearer", "expires_in": 3600})
        offset = int(request.url.params.get("offset", "0"))
        limit = min(int(request.url.params.get("limit", "100")), self.clamp)
        start, size = offset, len(self.records)
        if self.shift and offset > 0:
            start, size = offset - 1, size + 1
        page = self.records[start : start + limit]
        reported = max(0, size + (self.drift if offset == 0 else 0))
        self.requests += 1
        if self.requests in self.hiccups and offset < reported:
            page = []
        headers = {}
        if self.total:
            headers["X-Total-Count"] = str(reported)
        if self.link and offset + limit < size:
            headers["Link"] = f'<{BASE}/users?limit={limit}&offset={offset + limit}>; rel="next"'
        elif self.link:
            headers["Link"] = f'<{BASE}/users?limit={limit}&offset=0>; rel="first"'
        return httpx.Response(
            200, json={"users": [{"sourcedId": s, "status": "active"} for s in page]}, headers=headers
        )


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(0, 60),
    page_size=st.integers(1, 25),
    clamp=st.integers(1, 25),
    total=st.booleans(),
    link=st.booleans(),
    drift=st.integers(-30, 30),
    shift=st.booleans(),
    hiccups=st.sets(st.integers(1, 8), max_size=3),
)
def test_property_the_client_reads_every_record_once(count, page_size, clamp, total, link, drift, shift, hiccups):
    first_page = min(page_size, clamp, count)
    # The one case no client can see: a first page that is full, with a total exactly its size.
    assume(not (total and count > first_page and count + drift == first_page))
    server = PagingServer(count, clamp, total=total, link=link, drift=drift, shift=shift, hiccups=hiccups)
    settings_ = OneRosterSettings(
        base_url=BASE, token_url=TOKEN, client_id="app", client_secret="s", page_size=page_size, max_concurrency=3
    )

    async def read() -> list[str]:
        transport = httpx.MockTransport(server)
        async with OneRosterClient(settings_, retry=QUICK, transport=transport) as client:
            frame = await client.collection("/users", collection="users", envelope="users")
            return frame["sourced_id"].to_list()

    if total and count == 0 and drift > 0:
        # The server swears there are records and never sends one: an error, not an empty file.
        with pytest.raises(BadResponse, match="empty page"):
            asyncio.run(read())
    else:
        assert sorted(asyncio.run(read())) == server.records
