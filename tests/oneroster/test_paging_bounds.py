"""Paging a hostile server cannot make endless or unbounded, and requests never leave the Base URL's site
(scripted answers: respx)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from cers_core.errors import BadResponse
from tests.oneroster.test_client import BASE, TOKEN, collect, token_ok, users

OTHER = "https://evil.example/ims/oneroster/rostering/v1p2"


def collect_run_records(*, page_size: int, concurrency: int = 4) -> tuple[list[str], object]:
    return asyncio.run(collect("/users", settings={"page_size": page_size, "max_concurrency": concurrency}))


def collect_run(*, page_size: int, concurrency: int = 4) -> None:
    collect_run_records(page_size=page_size, concurrency=concurrency)


def pages_of(records: list[dict], *, total: int | None, link: str | None = None):
    """Pages of two records each from ``records``, with ``total`` as X-Total-Count, empty past the end."""

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        headers = {"X-Total-Count": str(total)} if total is not None else {}
        if link is not None:
            headers["Link"] = link
        return httpx.Response(200, json={"users": records[offset : offset + 2]}, headers=headers)

    return answer


@respx.mock
def test_a_total_far_beyond_the_pages_is_a_hint_never_a_plan():
    """Ten million promised, six records served: the pages past the end come back empty, the export says
    so, and the client never asked for more than a window of pages at a time."""
    respx.post(TOKEN).mock(return_value=token_ok())
    api = respx.get(f"{BASE}/users").mock(side_effect=pages_of(users(*"abcdef"), total=10_000_000))
    with pytest.raises(BadResponse, match="an empty page of users although it says it has 10000000 records"):
        collect_run(page_size=2, concurrency=2)
    assert len(api.calls) <= 1 + 2 * 4 * 4  # the first page, a window of 2 × concurrency, and its retries


@respx.mock
def test_a_total_no_district_has_is_refused_at_the_first_page():
    respx.post(TOKEN).mock(return_value=token_ok())
    api = respx.get(f"{BASE}/users").mock(side_effect=pages_of(users("a", "b"), total=10**12))
    with pytest.raises(BadResponse, match=r"says it has 1,000,000,000,000 users \(X-Total-Count\)"):
        collect_run(page_size=2)
    assert len(api.calls) == 1


@respx.mock
def test_a_server_ignoring_the_offset_under_a_total_is_an_error_not_a_silently_short_file():
    """Every page the same two records, under a total of ten: the file would have held two people."""
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(
        return_value=httpx.Response(200, json={"users": users("a", "b")}, headers={"X-Total-Count": "10"})
    )
    with pytest.raises(BadResponse, match="ignoring the offset"):
        collect_run(page_size=2)


@respx.mock
def test_a_next_link_to_a_page_already_read_is_a_cycle():
    respx.post(TOKEN).mock(return_value=token_ok())
    back_to_start = f'<{BASE}/users?offset=0&limit=2>; rel="next"'
    respx.get(f"{BASE}/users").mock(side_effect=pages_of(users(*"abcd"), total=None, link=back_to_start))
    with pytest.raises(BadResponse, match="goes round in circles"):
        collect_run(page_size=2)


@respx.mock
def test_a_next_link_to_another_site_is_not_followed():
    respx.post(TOKEN).mock(return_value=token_ok())
    elsewhere = respx.get(url__startswith=OTHER).mock(return_value=httpx.Response(200, json={"users": []}))
    link = f'<{OTHER}/users?offset=4&limit=2>; rel="next"'
    respx.get(f"{BASE}/users").mock(side_effect=pages_of(users(*"abcd"), total=None, link=link))
    with pytest.raises(BadResponse, match=r"another site \(a link to https://evil.example\)"):
        collect_run(page_size=2)
    assert not elsewhere.called


@respx.mock
def test_a_redirect_within_the_site_is_followed_with_the_token():
    respx.post(TOKEN).mock(return_value=token_ok("tok-1"))
    respx.get(f"{BASE}/users").mock(
        side_effect=lambda r: httpx.Response(308, headers={"Location": f"{BASE}/people?{r.url.query.decode()}"})
    )
    moved = respx.get(f"{BASE}/people").mock(side_effect=pages_of(users("a", "b", "c"), total=None))
    records, _ = collect_run_records(page_size=5)
    assert records == ["a", "b", "c"]
    assert moved.calls[0].request.headers["Authorization"] == "Bearer tok-1"


@respx.mock
def test_a_redirect_to_another_site_is_refused_before_anything_is_sent_there():
    respx.post(TOKEN).mock(return_value=token_ok())
    respx.get(f"{BASE}/users").mock(return_value=httpx.Response(302, headers={"Location": f"{OTHER}/users"}))
    elsewhere = respx.get(url__startswith=OTHER).mock(return_value=httpx.Response(200, json={"users": []}))
    with pytest.raises(BadResponse, match=r"another site \(a redirect to https://evil.example\)"):
        collect_run(page_size=5)
    assert not elsewhere.called


@respx.mock
def test_a_token_url_that_redirects_posts_nothing_anywhere_else():
    """A 307 keeps the method and body: followed, the client secret would be posted to the other host."""
    respx.post(TOKEN).mock(return_value=httpx.Response(307, headers={"Location": "http://10.0.0.9/steal"}))
    stolen = respx.post("http://10.0.0.9/steal").mock(return_value=httpx.Response(401))
    with pytest.raises(BadResponse, match="The Token URL redirects elsewhere") as caught:
        collect_run(page_size=5)
    assert not stolen.called
    assert caught.value.server_message == "a redirect to http://10.0.0.9/steal"
