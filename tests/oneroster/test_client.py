"""The OneRoster client against scripted provider answers (respx): auth, paging, retries, errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    NotFound,
    PermissionDenied,
    ProviderUnreachable,
    RateLimited,
    ServerError,
)
from cers_core.http.retry import RetryPolicy, parse_retry_after
from cers_core.oneroster.client import OneRosterClient
from cers_core.oneroster.fetch import ProviderCapabilities, fetch_roster
from cers_core.settings import OneRosterSettings

BASE = "https://sis.example.org/campus/api/ims/oneroster/rostering/v1p2"
TOKEN = "https://sis.example.org/campus/oauth2/token?appName=district"
SECRET = "s3cret-Value-42"
FAST = RetryPolicy(max_attempts=4, base_delay=0.0, max_delay=0.0, max_total_wait=1.0)


def settings(**changes) -> OneRosterSettings:
    values = {"base_url": BASE, "token_url": TOKEN, "client_id": "district-app", "client_secret": SECRET}
    return OneRosterSettings(**{**values, **changes})


def token_ok(token: str = "tok-1", token_type: str = "bearer", expires_in: int = 3600) -> httpx.Response:
    return httpx.Response(200, json={"access_token": token, "token_type": token_type, "expires_in": expires_in})


def users(*ids: str) -> list[dict]:
    return [{"sourcedId": i, "status": "active"} for i in ids]


def run(coro):
    return asyncio.run(coro)


def one_page(records: list[dict], envelope: str = "users", **extra):
    """A server with one page of records: an empty page at any later offset."""

    def answer(request: httpx.Request) -> httpx.Response:
        page = records if request.url.params.get("offset", "0") == "0" else []
        return httpx.Response(200, json={envelope: page}, **extra)

    return answer


async def collect(path: str, envelope: str = "users", **client_args) -> tuple[list[str], OneRosterClient]:
    """The sourcedIds the client reads from a collection, in order."""
    client_args.setdefault("retry", FAST)
    collection = {"users": "users", "classes": "classes"}[envelope]
    async with OneRosterClient(settings(**client_args.pop("settings", {})), **client_args) as client:
        frame = await client.collection(path, collection=collection, envelope=envelope)
        return frame["sourced_id"].to_list(), client


@respx.mock
def test_token_by_basic_auth_then_bearer_on_every_request_with_the_base_url_as_given():
    token = respx.post(TOKEN).mock(return_value=token_ok(token_type="Bearer"))
    api = respx.get(f"{BASE}/users").mock(side_effect=one_page(users("a")))
    records, _ = run(collect("/users"))
    assert records == ["a"]
    sent = token.calls.last.request
    assert sent.headers["Authorization"].startswith("Basic ")
    assert sent.url.params["appName"] == "district"
    body = dict(x.split("=", 1) for x in sent.content.decode().split("&"))
    assert body["grant_type"] == "client_credentials"
    assert "roster-core.readonly" in httpx.QueryParams(sent.content.decode())["scope"]
    assert api.calls.last.request.headers["Authorization"] == "Bearer tok-1"


@respx.mock
def test_falls_back_to_credentials_in_the_body_and_remembers_it():
    def token_endpoint(request: httpx.Request) -> httpx.Response:
        form = httpx.QueryParams(request.content.decode())
        if "Authorization" in request.headers:
            return httpx.Response(401, json={"error": "invalid_client"})
        assert form["client_id"] == "district-app" and form["client_secret"] == SECRET
        return token_ok(expires_in=0)  # expires at once: every request needs a new token

    token = respx.post(TOKEN).mock(side_effect=token_endpoint)
    respx.get(f"{BASE}/users").mock(side_effect=one_page(users("a")))

    async def twice():
        async with OneRosterClient(settings(), retry=FAST) as client:
            await client.collection("/users", collection="users", envelope="users")
            await client.collection("/users", collection="users", envelope="users")

    run(twice())
    with_basic = [c for c in token.calls if "Authorization" in c.request.headers]
    assert len(with_basic) == 1  # Basic was tried once; the body form was remembered
    assert len(token.calls) == 5  # 4 data requests (2 pages each), each with a fresh token


@respx.mock
def test_wrong_secret_is_an_authentication_error_that_never_shows_the_secret():
    respx.post(TOKEN).mock(
        return_value=httpx.Response(401, json={"error": "invalid_client", "error_description": f"bad {SECRET}"})
    )
    with pytest.raises(AuthenticationFailed) as caught:
        run(collect("/users"))
    assert "Client ID or Client Secret" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "[hidden]" in str(caught.value)


@respx.mock
def test_a_401_from_the_api_gets_one_new_token_and_one_retry():
    tokens = iter(["old", "new"])
    respx.post(TOKEN).mock(side_effect=lambda request: token_ok(next(tokens)))

    def api(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer old":
            return httpx.Response(401, json={"imsx_codeMajor": "failure", "imsx_description": "expired"})
        return one_page(users("a"))(request)

    respx.get(f"{BASE}/users").mock(side_effect=api)
    records, _ = run(collect("/users"))
    assert len(records) == 1


@respx.mock
def test_a_token_the_api_never_accepts_ends_in_an_authentication_error():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(401, json={"imsx_description": "no"}))
    with pytest.raises(AuthenticationFailed, match="did not accept our access token"):
        run(collect("/users"))


@respx.mock
def test_concurrent_requests_share_one_token_request():
    token = respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(url__startswith=f"{BASE}/users").mock(return_value=httpx.Response(200, json={"users": users("a")}))

    async def many():
        async with OneRosterClient(settings(), retry=FAST) as client:
            await asyncio.gather(*(client.get_json(f"{BASE}/users/{n}") for n in range(10)))

    run(many())
    assert len(token.calls) == 1


@respx.mock
def test_cookies_from_the_token_answer_are_sent_on_data_calls():
    respx.post(TOKEN).mock(
        return_value=httpx.Response(
            200, json={"access_token": "t", "token_type": "bearer"}, headers={"Set-Cookie": "ARRAffinity=node7; Path=/"}
        )
    )
    api = respx.get(f"{BASE}/users").mock(return_value=httpx.Response(200, json={"users": []}))
    run(collect("/users"))
    assert "ARRAffinity=node7" in api.calls.last.request.headers["Cookie"]


def paged(all_records: list[dict], *, clamp: int, total: bool = True, link: bool = False):
    """A server that clamps page sizes, with or without X-Total-Count and Link."""

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        limit = min(int(request.url.params.get("limit", 100)), clamp)
        page = all_records[offset : offset + limit]
        headers = {"X-Total-Count": str(len(all_records))} if total else {}
        if link:
            links = [f'<{BASE}/users?limit={limit}&offset=0>; rel="first"']
            if offset + limit < len(all_records):
                links.append(f'<{BASE}/users?limit={limit}&offset={offset + limit}>; rel="next"')
            headers["Link"] = ", ".join(links)
        return httpx.Response(200, json={"users": page}, headers=headers)

    return answer


@pytest.mark.parametrize(
    ("total", "link", "expected_requests"),
    [
        (True, False, 5),  # 5 pages of 2, fetched concurrently once the total is known
        (False, False, 6),  # walks by offset until the empty page
        (False, True, 5),  # follows Link rel=next; the page without one is the last
    ],
)
@respx.mock
def test_paging_advances_by_what_was_received_when_the_server_clamps(total, link, expected_requests):
    respx.post(TOKEN).mock(return_value=token_ok())
    everyone = users(*(f"u{n}" for n in range(10)))
    api = respx.get(f"{BASE}/users").mock(side_effect=paged(everyone, clamp=2, total=total, link=link))
    records, _client = run(collect("/users", settings={"page_size": 5}))
    assert records == [f"u{n}" for n in range(10)]
    assert len(api.calls) == expected_requests


@respx.mock
def test_the_same_record_on_two_pages_is_kept_once():
    respx.post(TOKEN).mock(return_value=token_ok())
    pages = {0: users("a", "b"), 2: users("b", "c"), 4: []}
    respx.get(f"{BASE}/users").mock(
        side_effect=lambda r: httpx.Response(200, json={"users": pages[int(r.url.params["offset"])]})
    )
    records, _ = run(collect("/users", settings={"page_size": 2}))
    assert records == ["a", "b", "c"]


@respx.mock
def test_a_server_that_ignores_offset_is_stopped_with_a_clear_error():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(200, json={"users": users("a", "b")}))
    with pytest.raises(BadResponse, match="ignoring the offset"):
        run(collect("/users", settings={"page_size": 2}))


@respx.mock
def test_an_empty_page_in_the_middle_is_asked_again():
    respx.post(TOKEN).mock(return_value=token_ok())
    everyone = users(*(f"u{n}" for n in range(6)))
    served = paged(everyone, clamp=2)
    hiccup = {"done": False}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["offset"] == "2" and not hiccup["done"]:
            hiccup["done"] = True
            return httpx.Response(200, json={"users": []}, headers={"X-Total-Count": "6"})
        return served(request)

    respx.get(f"{BASE}/users").mock(side_effect=answer)
    records, _ = run(collect("/users", settings={"page_size": 2}))
    assert len(records) == 6


@respx.mock
def test_transient_failures_are_retried_then_succeed():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(
        side_effect=[
            httpx.Response(503, text="<html><body>Service Unavailable</body></html>"),
            httpx.Response(429, headers={"Retry-After": "0"}),
            httpx.Response(200, content=b'{"users": [{"sourcedId": "a"'),  # cut off
            httpx.ReadError("connection reset by peer"),
            httpx.Response(200, json={"users": users("a")}, headers={"X-Total-Count": "1"}),
        ]
    )
    records, _client = run(collect("/users", retry=RetryPolicy(max_attempts=6, base_delay=0, max_total_wait=1)))
    assert records == ["a"]


@respx.mock
def test_a_refused_connection_is_given_up_after_three_quick_tries():
    respx.post(TOKEN).mock(return_value=token_ok())
    api = respx.get(f"{BASE}/users").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(ProviderUnreachable, match="Could not connect"):
        run(collect("/users", retry=RetryPolicy(base_delay=0, max_total_wait=60)))
    assert len(api.calls) == 3


@respx.mock
def test_a_failure_that_does_not_clear_is_a_typed_error_naming_the_endpoint():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/classes").mock(
        return_value=httpx.Response(
            500,
            json={
                "imsx_codeMajor": "failure",
                "imsx_severity": "error",
                "imsx_description": "database timeout",
                "imsx_CodeMinor": {"imsx_codeMinorField": [{"imsx_codeMinorFieldValue": "internal_server_error"}]},
            },
        )
    )
    with pytest.raises(ServerError) as caught:
        run(collect("/classes", envelope="classes"))
    text = str(caught.value)
    assert "/campus/api/ims/oneroster/rostering/v1p2/classes" in text
    assert "database timeout" in text and "HTTP 500" in text


@respx.mock
def test_retry_after_longer_than_the_budget_gives_up_at_once():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimited, match="slow down"):
        run(collect("/users"))


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, PermissionDenied), (404, NotFound), (400, BadResponse)],
)
@respx.mock
def test_statuses_map_to_typed_errors(status, error):
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(status, json={"imsx_codeMinor": "forbidden"}))
    with pytest.raises(error):
        run(collect("/users"))


def test_retry_after_in_both_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("soon") is None


@pytest.mark.parametrize(
    ("base_url", "ok"),
    [
        ("https://sis.example.org/ims/oneroster/rostering/v1p2", True),
        ("http://127.0.0.1:8000/ims/oneroster/rostering/v1p2", True),
        ("http://localhost/ims", True),
        ("http://[::1]:9/x", True),
        ("http://sis.example.org/ims/oneroster/rostering/v1p2", False),
        ("ftp://sis.example.org/", False),
        ("sis.example.org/ims", False),
        ("https://sis.example.org/a b", False),
    ],
)
def test_base_url_rules(base_url, ok):
    if ok:
        assert settings(base_url=base_url).base_url == base_url
    else:
        with pytest.raises(ValueError, match="Base URL"):
            settings(base_url=base_url)


def test_the_secret_never_shows_in_repr_or_json():
    s = settings()
    assert SECRET not in repr(s)
    assert SECRET not in s.model_dump_json()
    assert settings().fingerprint() == settings(client_secret="other").fingerprint()


ROSTER = {
    "orgs": [{"sourcedId": "s1", "status": "active", "name": "One", "type": "school", "identifier": "01612590130146"}],
    "academicSessions": [
        {
            "sourcedId": "t1",
            "status": "active",
            "title": "Year",
            "type": "schoolYear",
            "startDate": "2026-08-01",
            "endDate": "2027-07-01",
            "schoolYear": "2027",
        }
    ],
    "classes": [
        {
            "sourcedId": "c1",
            "status": "active",
            "title": "Math",
            "course": {"sourcedId": "k1"},
            "school": {"sourcedId": "s1"},
            "terms": [{"sourcedId": "t1"}],
        },
        {
            "sourcedId": "c2",
            "status": "active",
            "title": "Other school",
            "course": {"sourcedId": "k1"},
            "school": {"sourcedId": "s2"},
            "terms": [{"sourcedId": "t1"}],
        },
    ],
    "courses": [{"sourcedId": "k1", "status": "active", "title": "Math", "courseCode": "M"}],
    "enrollments": [
        {
            "sourcedId": "e1",
            "status": "active",
            "role": "student",
            "user": {"sourcedId": "u1"},
            "class": {"sourcedId": "c1"},
            "school": {"sourcedId": "s1"},
        },
        {
            "sourcedId": "e2",
            "status": "active",
            "role": "student",
            "user": {"sourcedId": "u2"},
            "class": {"sourcedId": "c2"},
            "school": {"sourcedId": "s2"},
        },
    ],
    "users": users("u1", "u2"),
}


@respx.mock
def test_school_scope_falls_back_nested_then_filter_then_flat_and_remembers_what_worked():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(url__regex=rf"{BASE}/schools/[^/]+/.*").mock(
        return_value=httpx.Response(403, json={"imsx_codeMinor": "forbidden"})
    )

    def flat(request: httpx.Request) -> httpx.Response:
        if "filter" in request.url.params:
            return httpx.Response(400, json={"imsx_codeMinor": "invalid_filter_field"})
        name = request.url.path.rsplit("/", 1)[-1]
        envelope = {"schools": "orgs"}.get(name, name)
        return httpx.Response(
            200, json={envelope: ROSTER[envelope]}, headers={"X-Total-Count": str(len(ROSTER[envelope]))}
        )

    collections = r"(schools|academicSessions|classes|courses|enrollments|users)(\?.*)?$"
    respx.get(url__regex=rf"{BASE}/{collections}").mock(side_effect=flat)
    capabilities = ProviderCapabilities()

    async def twice():
        async with OneRosterClient(settings(), retry=FAST) as client:
            first = await fetch_roster(client, school_ids=["s1"], capabilities=capabilities)
            before = client.requests_sent
            await fetch_roster(client, school_ids=["s1"], capabilities=capabilities)
            return first, before, client.requests_sent - before

    roster, first_requests, second_requests = run(twice())
    assert roster.classes["sourced_id"].to_list() == ["c1"]  # the other school's section is filtered out
    assert roster.enrollments["sourced_id"].to_list() == ["e1"]
    assert roster.users["sourced_id"].to_list() == ["u1"]
    assert capabilities.way == {"classes": "flat", "enrollments": "flat", "users": "flat", "courses": "flat"}
    # First time: 2 nested (users has two) + ... failed tries; the second time goes straight to flat.
    assert second_requests == 6
    assert first_requests > second_requests
