"""Bounded answers: a size cap that holds however the body is read or compressed, and JSON depth as a typed error."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from cers_core.config import load_config
from cers_core.errors import SettingsError
from cers_core.http.bounds import AnswerTooDeep, AnswerTooLarge, Limits, capped_answers, load_json
from cers_core.http.egress import egress_from_config
from cers_core.http.oauth import ClientCredentials, TokenAuth
from cers_core.http.retry import RetryPolicy
from cers_core.oneroster.errors import OneRosterTokenFaults

CAP = 64 * 1024


class Endless(httpx.AsyncByteStream):
    """A body that never ends (counts what was taken from it)."""

    def __init__(self) -> None:
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            self.sent += 4096
            yield b"x" * 4096


def streamed(body: bytes, **headers: str) -> httpx.Response:
    """An answer as a network transport gives it: a stream not read yet (``content=`` would be read, and
    inflated, by httpx at once)."""
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


def get(answer: httpx.Response) -> bytes:
    """The body of one GET whose answer is ``answer``, read under the cap."""

    def handler(request: httpx.Request) -> httpx.Response:
        return answer

    async def run() -> bytes:
        hooks = {"response": [capped_answers(CAP)]}
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), event_hooks=hooks) as client:
            return (await client.get("https://sis.example.org/x")).content

    return asyncio.run(run())


def test_an_answer_within_the_cap_is_read_whole():
    assert get(streamed(b"y" * CAP)) == b"y" * CAP


def test_an_endless_answer_stops_just_past_the_cap():
    endless = Endless()
    with pytest.raises(AnswerTooLarge, match="larger than 64 KB"):
        get(httpx.Response(200, stream=endless))
    assert endless.sent <= CAP + 4096


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send it
    ],
    ids=["gzip", "deflate", "raw deflate"],
)
def test_compressed_answers_are_inflated_within_the_cap(coding, compress):
    page = b'{"users":[' + b'{"sourcedId":"u"},' * 1000 + b"{}]}"
    assert get(streamed(compress(page), **{"Content-Encoding": coding})) == page
    bomb = compress(b"\0" * (100 * CAP))  # a few hundred bytes that unfold a hundred times past the cap
    assert len(bomb) < CAP / 10
    with pytest.raises(AnswerTooLarge):
        get(streamed(bomb, **{"Content-Encoding": coding}))


def test_an_answer_compressed_twice_is_refused():
    with pytest.raises(httpx.DecodingError, match="compressed twice"):
        get(streamed(b"", **{"Content-Encoding": "gzip, gzip"}))


def test_the_cap_holds_where_httpx_reads_the_body_itself():
    """httpx reads a 401 whole before the token flow asks again: that read is capped too."""
    endless = Endless()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "tok", "token_type": "bearer"})
        return httpx.Response(401, stream=endless)

    async def run() -> None:
        auth = TokenAuth(
            token_url="https://sis.example.org/token",
            grant=ClientCredentials(client_id="c", client_secret=SecretStr("s")),
            faults=OneRosterTokenFaults(),
        )
        hooks = {"response": [capped_answers(CAP)]}
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(handler), event_hooks=hooks) as client:
            await client.get("https://sis.example.org/data")

    with pytest.raises(AnswerTooLarge):
        asyncio.run(run())
    assert endless.sent <= CAP + 4096


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_too_deeply_is_a_typed_error_not_a_recursion_error(opening):
    with pytest.raises(AnswerTooDeep):
        load_json(opening * 100_000)
    assert load_json(opening * 50 + "1" + ("]" if opening == "[" else "}") * 50) is not None


def test_the_deadline_and_the_cap_come_from_the_environment():
    egress = egress_from_config(
        load_config({"CERS_EXPORT_DEADLINE": " 600 ", "CERS_MAX_ANSWER_MB": "8"}), listen_address=None
    )
    assert (egress.limits.export_seconds, egress.limits.answer_bytes) == (600.0, 8 * 2**20)
    defaults = egress_from_config(load_config({}), listen_address=None).limits
    assert (defaults.export_seconds, defaults.answer_bytes) == (7200.0, 100 * 2**20)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("CERS_EXPORT_DEADLINE", "0"), ("CERS_EXPORT_DEADLINE", "soon"), ("CERS_MAX_ANSWER_MB", "0")],
)
def test_a_deadline_or_cap_that_cannot_be_used_names_its_variable(variable, value):
    with pytest.raises(SettingsError, match=f"The environment variable {variable} cannot be used"):
        load_config({variable: value})


def test_the_defaults_give_up_on_a_silent_provider_within_three_minutes():
    """A silent provider: every try runs into its time-out, and the request's own deadline stops the tries."""
    limits, retry = Limits(), RetryPolicy()
    assert limits.connect_seconds <= limits.silence_seconds <= limits.attempt_seconds <= retry.max_total_time
    assert retry.max_total_time + limits.connect_seconds < 180
