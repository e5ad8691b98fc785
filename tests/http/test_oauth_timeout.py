"""A token endpoint that accepts the connection and never answers: the token request has the
time-out of the request it is for, so both clients end with their typed "no answer" error in
seconds instead of waiting forever. The endpoint is a real loopback socket that never replies."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from cers_core.cers_import import UploadContext, check_import_connection
from cers_core.errors import ImportUnreachable, ProviderUnreachable
from cers_core.http.bounds import Limits
from cers_core.http.egress import Egress
from cers_core.http.oauth import ClientCredentials, TokenAuth
from cers_core.http.retry import RetryPolicy, TransientFailure
from cers_core.oneroster.client import OneRosterClient
from cers_core.oneroster.errors import OneRosterTokenFaults
from cers_core.settings import CersImportSettings, OneRosterSettings

SECRET = "s3cret-Value-42"
CLIENT = ClientCredentials(client_id="district-app", client_secret=SecretStr(SECRET))
QUICK = RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0, max_total_wait=1.0)
# Far more than the time-outs below add up to; far less than forever (the suite's limit is 120 s).
PROMPTLY = 10.0


@pytest.fixture
def silent() -> Iterator[str]:
    """The origin of a loopback server that accepts connections (the kernel completes them) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_the_token_request_has_the_time_out_of_the_request_it_is_for():
    seen: dict[str, object] = {}

    def service(request: httpx.Request) -> httpx.Response:
        seen[request.url.path] = request.extensions.get("timeout")
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "tok", "token_type": "bearer"})
        return httpx.Response(200)

    async def run() -> None:
        auth = TokenAuth(token_url="https://sso.example.org/oauth2/token", grant=CLIENT, faults=OneRosterTokenFaults())
        timeout = httpx.Timeout(7.0, connect=3.0)
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(service), timeout=timeout) as client:
            await client.get("https://api.example.org/data")

    asyncio.run(run())
    assert seen["/oauth2/token"] == seen["/data"] == {"connect": 3.0, "read": 7.0, "write": 7.0, "pool": 7.0}


@pytest.mark.timeout(30)
def test_requests_waiting_for_a_token_that_never_comes_get_the_no_answer_error(silent):
    async def run() -> list[object]:
        auth = TokenAuth(token_url=f"{silent}/oauth2/token", grant=CLIENT, faults=OneRosterTokenFaults())
        async with httpx.AsyncClient(auth=auth, timeout=0.3) as client:
            return await asyncio.gather(*(client.get(f"{silent}/data") for _ in range(3)), return_exceptions=True)

    started = time.monotonic()
    leader, *waiters = asyncio.run(run())
    assert time.monotonic() - started < PROMPTLY
    assert isinstance(leader, httpx.ReadTimeout)  # the client that sent it words this one (below)
    for waiter in waiters:
        assert isinstance(waiter, TransientFailure) and isinstance(waiter.final, ProviderUnreachable)
        assert waiter.final.message.startswith("The token endpoint did not answer")


@pytest.mark.timeout(30)
def test_the_oneroster_client_says_the_server_did_not_answer(silent):
    settings = OneRosterSettings(
        base_url=f"{silent}/ims/oneroster/rostering/v1p2",
        token_url=f"{silent}/oauth2/token",
        client_id="district-app",
        client_secret=SECRET,
    )

    async def run() -> None:
        async with OneRosterClient(settings, retry=QUICK, egress=Egress(limits=Limits(silence_seconds=0.3))) as client:
            await client.get_json(client.url("/orgs"))

    started = time.monotonic()
    with pytest.raises(ProviderUnreachable, match="did not answer in time") as caught:
        asyncio.run(run())
    assert time.monotonic() - started < PROMPTLY and SECRET not in str(caught.value)


@pytest.mark.timeout(30)
def test_the_cers_import_client_says_nothing_was_sent(silent):
    settings = CersImportSettings(
        import_url=f"{silent}/rdw-import", token_url=f"{silent}/oauth2/token", client_id="x", client_secret=SECRET
    )
    started = time.monotonic()
    with pytest.raises(ImportUnreachable, match=r"127.0.0.1 did not answer in time\); the file was not sent") as caught:
        check_import_connection(settings, context=UploadContext(send_timeout=0.3, retry=QUICK))
    assert time.monotonic() - started < PROMPTLY and SECRET not in str(caught.value)
