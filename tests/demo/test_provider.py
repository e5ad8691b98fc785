"""The demo OneRoster provider over HTTP, in process: auth, scopes, paging, filter/sort/fields, options.

The servers themselves (a loopback port, restarts, an answer to a bug, ``serve``) are tested on
real sockets, at the end.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import polars as pl
import pytest

from cers_demo import DemoDistrict, DemoProvider, DemoServer
from cers_demo.faults import CONNECTION_FAULTS, FaultKind, FaultRule, Faults
from cers_demo.provider import DEMOGRAPHICS_SCOPE, ROSTER_CORE_SCOPE, ROSTER_SCOPE
from tests.support import http_client

MakeProvider = Callable[..., DemoProvider]
ROOT = Path(__file__).resolve().parents[2]


def get(provider: DemoProvider, url: str, **options: Any) -> httpx.Response:
    with http_client(provider) as client:
        return client.get(url, **options)


def post(provider: DemoProvider, url: str, **options: Any) -> httpx.Response:
    with http_client(provider) as client:
        return client.post(url, **options)


def get_token(provider: DemoProvider, *, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = post(provider, provider.token_url, auth=(provider.client_id, provider.client_secret), data=data)
    response.raise_for_status()
    return str(response.json()["access_token"])


@contextmanager
def api(provider: DemoProvider, *, scope: str | None = None) -> Iterator[httpx.Client]:
    """A client with a bearer token whose requests take paths relative to the base URL."""
    headers = {"Authorization": f"Bearer {get_token(provider, scope=scope)}"}
    with http_client(provider, base_url=provider.base_url + "/", headers=headers) as client:
        yield client


def minor(response: httpx.Response) -> str:
    body = response.json()
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    fields = body["imsx_CodeMinor"]["imsx_codeMinorField"]
    assert fields[0]["imsx_codeMinorFieldName"] == "TargetEndSystem"
    return str(fields[0]["imsx_codeMinorFieldValue"])


def ids(response: httpx.Response, envelope: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [record["sourcedId"] for record in response.json()[envelope]]


def offsets(response: httpx.Response) -> dict[str, int]:
    """rel -> offset of each Link, and check each keeps the request's limit."""
    found = {}
    for rel, link in response.links.items():
        query = parse_qs(urlsplit(link["url"]).query)
        found[str(rel)] = int(query["offset"][0])
    return found


# -- OAuth 2 -------------------------------------------------------------------------------


def test_token_with_basic_credentials(demo_provider: DemoProvider) -> None:
    response = post(
        demo_provider,
        demo_provider.token_url,
        auth=(demo_provider.client_id, demo_provider.client_secret),
        data={"grant_type": "client_credentials", "scope": f"{ROSTER_CORE_SCOPE} {ROSTER_SCOPE}"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["scope"].split() == [ROSTER_CORE_SCOPE, ROSTER_SCOPE]
    assert response.cookies.get("ARRAffinity")
    assert response.headers["cache-control"] == "no-store"


def test_token_with_credentials_in_the_body_and_a_query_string_in_the_url(demo_provider: DemoProvider) -> None:
    response = post(
        demo_provider,
        demo_provider.token_url + "?appName=sierravista",
        data={
            "grant_type": "client_credentials",
            "client_id": demo_provider.client_id,
            "client_secret": demo_provider.client_secret,
        },
    )
    assert response.status_code == 200
    # No scope asked for: every scope the client may have.
    assert set(response.json()["scope"].split()) == {ROSTER_CORE_SCOPE, ROSTER_SCOPE, DEMOGRAPHICS_SCOPE}


def test_basic_credentials_are_form_decoded(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(client_id="district app", client_secret="s3cr:t+%")
    # RFC 6749 2.3.1: each part is form-encoded before the Basic encoding.
    raw = base64.b64encode(b"district+app:s3cr%3At%2B%25").decode()
    response = post(
        provider,
        provider.token_url,
        headers={"Authorization": f"Basic {raw}"},
        data={"grant_type": "client_credentials"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [("demo-district", "wrong-secret"), ("someone-else", "demo-secret-not-private"), ("demo-district", "")],
)
def test_wrong_credentials_are_invalid_client(demo_provider: DemoProvider, client_id: str, secret: str) -> None:
    basic = post(
        demo_provider, demo_provider.token_url, auth=(client_id, secret), data={"grant_type": "client_credentials"}
    )
    body = post(
        demo_provider,
        demo_provider.token_url,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    for response in (basic, body):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")


def test_token_request_errors(demo_provider: DemoProvider) -> None:
    auth = (demo_provider.client_id, demo_provider.client_secret)
    assert post(demo_provider, demo_provider.token_url, auth=auth, data={}).json() == {"error": "invalid_request"}
    wrong_grant = post(demo_provider, demo_provider.token_url, auth=auth, data={"grant_type": "password"})
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    no_client = post(demo_provider, demo_provider.token_url, data={"grant_type": "client_credentials"})
    assert no_client.status_code == 401
    bad_scope = post(
        demo_provider,
        demo_provider.token_url,
        auth=auth,
        data={"grant_type": "client_credentials", "scope": "https://example.org/x"},
    )
    assert (bad_scope.status_code, bad_scope.json()["error"]) == (400, "invalid_scope")
    assert get(demo_provider, demo_provider.token_url).status_code == 405


def test_a_core_only_client_gets_only_the_core_scope(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(client_scopes=frozenset({ROSTER_CORE_SCOPE}))
    response = post(
        provider,
        provider.token_url,
        auth=(provider.client_id, provider.client_secret),
        data={"grant_type": "client_credentials", "scope": f"{ROSTER_SCOPE} {ROSTER_CORE_SCOPE}"},
    )
    assert response.json()["scope"] == ROSTER_CORE_SCOPE
    with api(provider) as client:
        assert client.get("classes").status_code == 200
        nested = client.get("schools/org-0003/classes")
    assert nested.status_code == 403 and minor(nested) == "forbidden"


# -- bearer tokens and scopes -----------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not-a-token", "Basic ZGVtbzpkZW1v"])
def test_data_requests_need_a_valid_token(demo_provider: DemoProvider, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = get(demo_provider, f"{demo_provider.base_url}/classes", headers=headers)
    assert response.status_code == 401
    assert minor(response) == "unauthorisedrequest"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_tokens_expire(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(token_lifetime_seconds=1)
    with api(provider) as client:
        assert client.get("orgs").status_code == 200
        time.sleep(1.1)
        expired = client.get("orgs")
    assert expired.status_code == 401 and minor(expired) == "unauthorisedrequest"


def test_core_scope_reads_flat_collections_but_not_nested_routes(demo_provider: DemoProvider) -> None:
    with api(demo_provider, scope=ROSTER_CORE_SCOPE) as client:
        assert client.get("classes").status_code == 200
        assert client.get("classes/cls-000001").status_code == 200
        for path in ("schools/org-0003/classes", "classes/cls-000001/students", "users/tch-000001/classes"):
            response = client.get(path)
            assert response.status_code == 403, path
            assert minor(response) == "forbidden"


def test_demographics_need_their_own_scope(demo_provider: DemoProvider) -> None:
    with api(demo_provider, scope=ROSTER_SCOPE) as client:
        assert client.get("demographics").status_code == 403
    with api(demo_provider, scope=DEMOGRAPHICS_SCOPE) as client:
        assert client.get("demographics").json() == {"demographics": []}
        assert client.get("classes").status_code == 403
        missing = client.get("demographics/stu-0000001")
        assert missing.status_code == 404 and minor(missing) == "unknownobject"


# -- records and envelopes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "envelope", "frame", "rows"),
    [
        ("orgs", "orgs", "orgs", None),
        ("schools", "orgs", "orgs", pl.col("type") == "school"),
        ("academicSessions", "academicSessions", "academic_sessions", None),
        ("terms", "academicSessions", "academic_sessions", pl.col("type") != "gradingPeriod"),
        ("gradingPeriods", "academicSessions", "academic_sessions", pl.col("type") == "gradingPeriod"),
        ("courses", "courses", "courses", None),
        ("classes", "classes", "classes", None),
        ("enrollments", "enrollments", "enrollments", None),
        ("users", "users", "users", None),
        ("students", "users", "users", pl.col("roles.role").list.contains("student")),
        ("teachers", "users", "users", pl.col("roles.role").list.contains("teacher")),
    ],
)
def test_flat_collections_page_through_every_record(
    demo_provider: DemoProvider, demo_district: DemoDistrict, path: str, envelope: str, frame: str, rows: pl.Expr | None
) -> None:
    expected = getattr(demo_district, frame)
    if rows is not None:
        expected = expected.filter(rows)
    with api(demo_provider) as client:
        first = client.get(path, params={"limit": 1000})
        seen = ids(first, envelope)
        assert int(first.headers["x-total-count"]) == expected.height
        while "next" in first.links:
            first = client.get(first.links["next"]["url"])
            seen += ids(first, envelope)
    assert seen == expected["sourcedId"].to_list()


def test_records_look_like_oneroster_1_2(demo_provider: DemoProvider, demo_district: DemoDistrict) -> None:
    cases = demo_district.cases
    with api(demo_provider) as client:
        teacher = client.get(f"users/{cases.teacher_with_email_username}").json()["user"]
        student = client.get(f"students/{cases.student_with_malformed_ssid}").json()["user"]
        enrollment = client.get(f"enrollments/{cases.ended_enrollment}").json()["enrollment"]
        section = client.get(f"classes/{cases.class_without_type}").json()["class"]
        school = client.get("schools/org-0003").json()["org"]
    base = demo_provider.base_url
    assert teacher["enabledUser"] == "true" and "email" not in teacher
    assert teacher["username"].endswith("@sierravista.example.org")
    assert teacher["roles"] == [
        {
            "roleType": "primary",
            "role": "teacher",
            "org": {"href": f"{base}/orgs/org-0003", "sourcedId": "org-0003", "type": "org"},
        }
    ]
    assert [i["type"] for i in student["userIds"]] == ["LocalId", "SSID"]
    assert len(student["userIds"][1]["identifier"]) == 9
    assert student["grades"] == ["11"] and student["identifier"] == student["userIds"][0]["identifier"]
    assert enrollment["primary"] == "false" and enrollment["role"] == "student"
    assert enrollment["class"]["type"] == "class" and enrollment["user"]["type"] == "user"
    assert enrollment["endDate"] < "2026-11-28" <= "2027-06-12"
    assert "classType" not in section and section["periods"] == ["7"]
    assert [t["type"] for t in section["terms"]] == ["academicSession", "academicSession"]
    assert section["course"]["href"] == f"{base}/courses/{section['course']['sourcedId']}"
    assert school["identifier"] == demo_district.orgs.filter(pl.col("sourcedId") == "org-0003")["identifier"].item()
    assert school["parent"]["sourcedId"] == "org-0000"
    assert teacher["dateLastModified"].endswith("Z") and teacher["dateLastModified"][10] == "T"


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("orgs/org-0000", "org"),
        ("academicSessions/as-2026-q4", "academicSession"),
        ("terms/as-2027-t2", "academicSession"),
        ("gradingPeriods/as-2027-q1", "academicSession"),
        ("courses/crs-000001", "course"),
        ("classes/cls-000001", "class"),
        ("enrollments/enr-0000001", "enrollment"),
        ("users/stu-0000001", "user"),
        ("teachers/tch-000001", "user"),
    ],
)
def test_single_records(demo_provider: DemoProvider, path: str, key: str) -> None:
    with api(demo_provider) as client:
        response = client.get(path)
    assert response.status_code == 200
    assert list(response.json()) == [key]
    assert response.json()[key]["sourcedId"] == path.rsplit("/", 1)[1]


@pytest.mark.parametrize(
    "path",
    [
        "classes/cls-999999",
        "schools/org-0000",  # the district is an org, not a school
        "students/tch-000001",  # a teacher is not a student
        "teachers/stu-0000001",
        "terms/as-2027-q1",  # a grading period is not a term
        "gradingPeriods/as-2027",
    ],
)
def test_unknown_single_records_are_404_unknownobject(demo_provider: DemoProvider, path: str) -> None:
    with api(demo_provider) as client:
        response = client.get(path)
    assert response.status_code == 404
    assert minor(response) == "unknownobject"
    assert "Unknown Object" in response.json()["imsx_description"]


# -- paging ------------------------------------------------------------------------------------


def test_paging_clamps_the_limit_and_links_pages(make_demo_provider: MakeProvider, demo_district: DemoDistrict) -> None:
    provider = make_demo_provider(max_page_size=50)
    total = demo_district.classes.height
    with api(provider) as client:
        first = client.get("classes", params={"limit": 80})
        middle = client.get("classes", params={"limit": 80, "offset": 100, "sort": "title"})
    assert len(first.json()["classes"]) == 50
    assert first.headers["x-total-count"] == str(total)
    assert offsets(first) == {"first": 0, "next": 50, "last": (total - 1) // 50 * 50}
    assert offsets(middle) == {"first": 0, "prev": 50, "next": 150, "last": (total - 1) // 50 * 50}
    # Links keep the other parameters and carry the limit actually used.
    assert parse_qs(urlsplit(middle.links["next"]["url"]).query) == {
        "limit": ["50"],
        "offset": ["150"],
        "sort": ["title"],
    }


def test_pages_follow_sourced_id_order_by_default(demo_provider: DemoProvider, demo_district: DemoDistrict) -> None:
    with api(demo_provider) as client:
        second_page = ids(client.get("users", params={"limit": 3, "offset": 3}), "users")
    assert second_page == demo_district.users["sourcedId"][3:6].to_list()
    assert second_page == ["stu-0000004", "stu-0000005", "stu-0000006"]


def test_offset_past_the_end_is_an_empty_page(demo_provider: DemoProvider) -> None:
    with api(demo_provider) as client:
        response = client.get("orgs", params={"offset": 10})
    assert response.json() == {"orgs": []}
    assert response.headers["x-total-count"] == "4"
    assert offsets(response) == {"first": 0, "prev": 0, "last": 0}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"offset": "1.5"},
        [("limit", "5"), ("limit", "6")],
    ],
)
def test_invalid_paging_is_400(demo_provider: DemoProvider, params: dict[str, str] | list[tuple[str, str]]) -> None:
    with api(demo_provider) as client:
        response = client.get("classes", params=params)
    assert response.status_code == 400
    assert minor(response) == "invaliddata"


def test_headers_can_be_switched_off(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(total_count_header=False, link_header=False)
    with api(provider) as client:
        response = client.get("classes", params={"limit": 10})
    assert response.status_code == 200
    assert "x-total-count" not in response.headers and "link" not in response.headers


# -- filter, sort, fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "filter_text", "envelope", "frame", "expected"),
    [
        ("enrollments", "status='tobedeleted'", "enrollments", "enrollments", pl.col("status") == "tobedeleted"),
        ("classes", "school.sourcedId='org-0002'", "classes", "classes", pl.col("school.sourcedId") == "org-0002"),
        (
            "users",
            "roles.org.sourcedId='org-0001' AND roles.role='teacher'",
            "users",
            "users",
            pl.col("roles.org.sourcedId").list.contains("org-0001") & pl.col("roles.role").list.contains("teacher"),
        ),
        (
            "classes",
            "classType='homeroom' OR periods='7'",
            "classes",
            "classes",
            (pl.col("classType") == "homeroom") | pl.col("periods").list.contains("7"),
        ),
        (
            "enrollments",
            "class.sourcedId='cls-000320' AND role='student'",
            "enrollments",
            "enrollments",
            (pl.col("class.sourcedId") == "cls-000320") & (pl.col("role") == "student"),
        ),
        (
            "users",
            "familyName~'NGUYEN'",
            "users",
            "users",
            pl.col("familyName").str.to_lowercase().str.contains("nguyen"),
        ),
        (
            "courses",
            "dateLastModified>'2026-11-01T00:00:00Z'",
            "courses",
            "courses",
            pl.col("dateLastModified") > pl.datetime(2026, 11, 1, time_zone="UTC"),
        ),
    ],
)
def test_filters(
    demo_provider: DemoProvider,
    demo_district: DemoDistrict,
    path: str,
    filter_text: str,
    envelope: str,
    frame: str,
    expected: pl.Expr,
) -> None:
    wanted = getattr(demo_district, frame).filter(expected)["sourcedId"].to_list()
    assert wanted, "a filter test needs records to find"
    with api(demo_provider) as client:
        response = client.get(path, params={"filter": filter_text, "limit": 1000})
    assert ids(response, envelope) == wanted
    assert response.headers["x-total-count"] == str(len(wanted))


def test_the_large_section_by_filter(demo_provider: DemoProvider, demo_district: DemoDistrict) -> None:
    with api(demo_provider) as client:
        response = client.get(
            "enrollments",
            params={"filter": f"class.sourcedId='{demo_district.cases.large_section}' AND role='student'"},
        )
    assert response.headers["x-total-count"] == "230"


@pytest.mark.parametrize(
    "filter_text",
    ["nickname='x'", "status=active", "status='a' AND role='b' OR role='c'", "endDate>'soon'", "school='org-0003'"],
)
def test_bad_filters_are_400_invalid_filter_field(demo_provider: DemoProvider, filter_text: str) -> None:
    with api(demo_provider) as client:
        response = client.get("enrollments", params={"filter": filter_text})
    assert response.status_code == 400
    assert minor(response) == "invalid_filter_field"


def test_filter_support_can_be_restricted(make_demo_provider: MakeProvider) -> None:
    none = make_demo_provider(filter_fields=frozenset())
    flat_only = make_demo_provider(dotted_filters=False)
    with api(none) as client:
        refused = client.get("classes", params={"filter": "status='active'"})
        assert refused.status_code == 400 and minor(refused) == "invalid_filter_field"
    with api(flat_only) as client:
        assert client.get("classes", params={"filter": "status='active'"}).status_code == 200
        dotted = client.get("classes", params={"filter": "school.sourcedId='org-0003'"})
        assert dotted.status_code == 400 and minor(dotted) == "invalid_filter_field"


def test_sort_and_order(demo_provider: DemoProvider, demo_district: DemoDistrict) -> None:
    with api(demo_provider) as client:
        by_name = client.get("teachers", params={"sort": "familyName", "limit": 1000}).json()["users"]
        newest = client.get("orgs", params={"orderBy": "desc"})
        by_title_desc = client.get("courses", params={"sort": "title", "orderBy": "desc", "limit": 1000})
    names = [(u["familyName"], u["sourcedId"]) for u in by_name]
    assert names == sorted(names)  # family name, then sourcedId to break ties
    assert len(names) == demo_district.users.filter(pl.col("roles.role").list.contains("teacher")).height
    assert ids(newest, "orgs") == ["org-0003", "org-0002", "org-0001", "org-0000"]
    titles = [c["title"] for c in by_title_desc.json()["courses"]]
    assert titles == sorted(titles, reverse=True)


@pytest.mark.parametrize("params", [{"sort": "nickname"}, {"sort": "grades"}, {"orderBy": "up"}])
def test_bad_sort_is_400(demo_provider: DemoProvider, params: dict[str, str]) -> None:
    with api(demo_provider) as client:
        response = client.get("classes", params=params)
    assert response.status_code == 400 and minor(response) == "invaliddata"


def test_fields_select_properties(demo_provider: DemoProvider) -> None:
    with api(demo_provider) as client:
        listed = client.get("classes", params={"fields": "sourcedId,title,periods", "limit": 400}).json()["classes"]
        single = client.get("users/tch-000001", params={"fields": "givenName,email"}).json()["user"]
        repeated = client.get("orgs", params=[("fields", "sourcedId"), ("fields", "identifier")]).json()["orgs"]
        never_present = client.get("courses/crs-000001", params={"fields": "metadata,resources"}).json()
    assert {tuple(c) for c in listed} == {("sourcedId", "title", "periods"), ("sourcedId", "title")}  # homerooms: none
    assert set(single) == {"givenName", "email"}
    assert [set(o) for o in repeated] == [{"sourcedId", "identifier"}] * 4
    assert never_present == {"course": {}}


@pytest.mark.parametrize("fields", ["sourcedId,nickname", "role", ","])
def test_unknown_fields_are_400_invalid_selection_field(demo_provider: DemoProvider, fields: str) -> None:
    with api(demo_provider) as client:
        response = client.get("users", params={"fields": fields})
    assert response.status_code == 400 and minor(response) == "invalid_selection_field"


# -- nested routes -----------------------------------------------------------------------------


def test_nested_routes(demo_provider: DemoProvider, demo_district: DemoDistrict) -> None:
    cases = demo_district.cases
    classes, enrollments, users = demo_district.classes, demo_district.enrollments, demo_district.users
    high = "org-0003"
    with api(demo_provider) as client:

        def every(path: str, envelope: str) -> list[str]:
            return ids(client.get(path, params={"limit": 1000}), envelope)

        assert (
            every(f"schools/{high}/classes", "classes")
            == classes.filter(pl.col("school.sourcedId") == high)["sourcedId"].to_list()
        )
        assert len(every(f"classes/{cases.large_section}/students", "users")) == 230
        assert len(every(f"schools/{high}/classes/{cases.large_section}/students", "users")) == 230
        assert (
            every(f"schools/org-0001/classes/{cases.large_section}/students", "users") == []
        )  # not that school's class
        co_teachers = every(f"classes/{cases.co_taught_section}/teachers", "users")
        assert len(co_teachers) == 2 and all(t.startswith("tch-") for t in co_teachers)
        # The tobedeleted enrollment's student is not in its class any more.
        gone = enrollments.filter(pl.col("sourcedId") == cases.tobedeleted_enrollment).row(0, named=True)
        assert gone["user.sourcedId"] not in every(f"classes/{gone['class.sourcedId']}/students", "users")
        assert len(every(f"schools/{high}/classes/{cases.homeroom}/enrollments", "enrollments")) == 0
        in_class = enrollments.filter(pl.col("class.sourcedId") == cases.large_section)["sourcedId"].to_list()
        assert every(f"schools/{high}/classes/{cases.large_section}/enrollments", "enrollments") == in_class
        assert every(f"schools/{high}/enrollments", "enrollments")[:3] == (
            enrollments.filter(pl.col("school.sourcedId") == high)["sourcedId"][:3].to_list()
        )
        high_teachers = users.filter(
            pl.col("roles.org.sourcedId").list.contains(high), pl.col("roles.role").list.contains("teacher")
        )["sourcedId"].to_list()
        assert every(f"schools/{high}/teachers", "users") == high_teachers
        assert len(every(f"schools/{high}/students", "users")) == 620
        assert every("schools/org-0001/terms", "academicSessions") == ["as-2026", "as-2027"]  # homerooms: school years
        assert every(f"schools/{high}/terms", "academicSessions") == [
            "as-2026", "as-2026-s1", "as-2026-s2", "as-2027", "as-2027-s1", "as-2027-s2",
        ]  # fmt: skip
        assert every("terms/as-2027/gradingPeriods", "academicSessions") == [
            "as-2027-q1", "as-2027-q2", "as-2027-q3", "as-2027-q4",
        ]  # fmt: skip
        assert every("terms/as-2027-s2/gradingPeriods", "academicSessions") == ["as-2027-q3", "as-2027-q4"]
        wheel = every("terms/as-2027-t2/classes", "classes")
        assert {classes.filter(pl.col("sourcedId") == c)["title"].item() for c in wheel} == {"Computer Science Wheel"}
        course = classes.filter(pl.col("sourcedId") == cases.large_section)["course.sourcedId"].item()
        assert every(f"courses/{course}/classes", "classes") == [cases.large_section]
        assert every(f"schools/{high}/courses", "courses") == (
            demo_district.courses.filter(pl.col("org.sourcedId") == high)["sourcedId"].to_list()
        )
        teacher = enrollments.filter(
            pl.col("class.sourcedId") == cases.colliding_sections[0], pl.col("role") == "teacher"
        )
        taught = every(f"teachers/{teacher['user.sourcedId'].item()}/classes", "classes")
        assert cases.colliding_sections[0] in taught and cases.colliding_sections[1] not in taught
        student = enrollments.filter(pl.col("sourcedId") == cases.ended_enrollment)["user.sourcedId"].item()
        # Six periods and the period-7 weight training: the ended enrollment is still "active".
        assert len(every(f"students/{student}/classes", "classes")) == 7
        assert every(f"users/{student}/classes", "classes") == every(f"students/{student}/classes", "classes")


@pytest.mark.parametrize(
    "path",
    [
        "schools/org-0000/classes",  # the district is not a school
        "classes/cls-999999/students",
        "students/tch-000001/classes",
        "terms/as-2027-q1/classes",
        "schools/org-0003/classes/cls-999999/enrollments",
    ],
)
def test_nested_routes_with_unknown_parents_are_404(demo_provider: DemoProvider, path: str) -> None:
    with api(demo_provider) as client:
        response = client.get(path)
    assert response.status_code == 404 and minor(response) == "unknownobject"


def test_nested_routes_can_be_switched_off(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(nested_routes=False)
    with api(provider) as client:
        assert client.get("classes").status_code == 200
        response = client.get("schools/org-0003/classes")
    assert response.status_code == 404 and minor(response) == "unknownobject"


# -- provider options --------------------------------------------------------------------------


def test_vendor_base_path(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(
        base_path="/campus/api/ims/oneroster/rostering/v1p2", token_path="/campus/oauth2/token"
    )
    assert provider.base_url.endswith("/campus/api/ims/oneroster/rostering/v1p2")
    with api(provider) as client:
        section = client.get("classes/cls-000001").json()["class"]
    assert section["school"]["href"] == f"{provider.base_url}/orgs/org-0001"
    default_path = get(provider, provider.origin + "/ims/oneroster/rostering/v1p2/classes")
    assert default_path.status_code == 404


def test_the_affinity_cookie_can_be_required(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider(require_cookie=True)
    with http_client(provider) as session:
        token = session.post(
            provider.token_url,
            auth=(provider.client_id, provider.client_secret),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            session.get(f"{provider.base_url}/orgs", headers=headers).status_code == 200
        )  # the client kept the cookie
    without_cookie = get(provider, f"{provider.base_url}/orgs", headers=headers)
    assert without_cookie.status_code == 401 and minor(without_cookie) == "unauthorisedrequest"
    assert "ARRAffinity" in without_cookie.json()["imsx_description"]


def test_quirks_change_the_shape_of_records(make_demo_provider: MakeProvider, demo_district: DemoDistrict) -> None:
    provider = make_demo_provider(
        json_booleans=True, legacy_user_role=True, null_identifiers=True, relative_hrefs=True, ext_values=True
    )
    cases = demo_district.cases
    with api(provider) as client:
        user = client.get("users/tch-000001").json()["user"]
        district = client.get("orgs/org-0000").json()["org"]
        trimester = client.get("terms/as-2027-t1").json()["academicSession"]
        co_taught = client.get(
            "enrollments", params={"filter": f"class.sourcedId='{cases.co_taught_section}' AND role~'teacher'"}
        ).json()["enrollments"]
    assert user["enabledUser"] is True
    assert user["role"] == "teacher" and "roles" not in user
    assert user["orgs"] == [
        {"href": f"{provider.options.base_path}/orgs/org-0001", "sourcedId": "org-0001", "type": "org"}
    ]
    assert user["identifier"] is None and district["identifier"] is None
    assert trimester["type"] == "ext:trimester"
    assert sorted((e["role"], e["primary"]) for e in co_taught) == [("ext:coteacher", False), ("teacher", True)]


def test_request_log_counts_requests_per_path(make_demo_provider: MakeProvider) -> None:
    provider = make_demo_provider()
    with api(provider) as client:
        client.get("orgs")
        client.get("orgs", params={"offset": 2})
        client.get("classes/cls-000001")
        client.get("classes/nope")
    log = provider.request_log
    assert log.count("/orgs") == 2
    assert log.count(f"{provider.options.base_path}/orgs") == 2
    assert log.count("/classes/nope", status=404) == 1
    assert log.count(provider.options.token_path) == 1
    assert log.count() == 5
    log.clear()
    assert log.count() == 0


# -- the servers themselves --------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CONNECTION_FAULTS))
def test_in_process_a_connection_fault_asks_for_a_server(make_demo_provider: MakeProvider, kind: FaultKind) -> None:
    """No connection to drop and no time-out to run out: rather than answer something else, it says so."""
    provider = make_demo_provider(faults=Faults(rules=(FaultRule(kind=kind),)))
    assert provider.options.faults.need_a_connection
    with api(provider) as client, pytest.raises(RuntimeError, match="need a real connection"):
        client.get("orgs")


def test_servers_run_side_by_side_and_restart(demo_district: DemoDistrict) -> None:
    first, second = DemoServer(demo_district), DemoServer(demo_district)
    with first, second:
        assert first.base_url != second.base_url
        token = get_token(first)
        assert get(first, f"{first.base_url}/orgs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        # Tokens are per server.
        assert get(second, f"{second.base_url}/orgs", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        stopped_url = second.base_url
    assert not first.running and not second.running
    with pytest.raises(httpx.ConnectError):
        get(second, f"{stopped_url}/orgs")
    first.start()
    try:
        assert get(first, f"{first.base_url}/orgs").status_code == 401  # answering again
        assert first.start() is first  # starting a running server changes nothing
    finally:
        first.stop()
    first.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = first.base_url


def test_a_provider_failure_is_a_500_imsx_body(demo_district: DemoDistrict) -> None:
    broken = dataclasses.replace(demo_district, users=demo_district.users.drop("email"))
    with DemoServer(broken) as server:
        token = get_token(server)
        response = get(server, f"{server.base_url}/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500
    assert minor(response) == "internal_server_error"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_the_connection_then_stops_on_a_signal(stop_signal: signal.Signals) -> None:
    script = "from cers_demo import serve; serve(port=0)"
    process = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        connection = json.loads(process.stdout.readline())
        assert set(connection) == {"base_url", "token_url", "client_id", "client_secret"}
        assert connection["base_url"].startswith("http://127.0.0.1:")
        token = httpx.post(
            connection["token_url"],
            auth=(connection["client_id"], connection["client_secret"]),
            data={"grant_type": "client_credentials"},
        ).json()["access_token"]
        schools = httpx.get(f"{connection['base_url']}/schools", headers={"Authorization": f"Bearer {token}"})
        assert schools.headers["x-total-count"] == "3"
        process.send_signal(stop_signal)  # SIGINT is Ctrl-C
        _, errors = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "Sierra Vista Unified School District" in errors
    assert "stopped" in errors
