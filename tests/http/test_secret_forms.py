"""A server's words are shown without any secret, in whatever form the request carried it, and never the
page of a service a redirect pointed at."""

from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote, quote_plus

import httpx
import pytest
from pydantic import SecretStr

from cers_core.http.error_bodies import describe_error_body
from cers_core.http.oauth import ClientCredentials, PasswordGrant, TokenAuth
from cers_core.oneroster.errors import OneRosterTokenFaults

SECRET = "p@ss w/rd+&=é"
PAIR = base64.b64encode(f"district-app:{SECRET}".encode()).decode()
REQUEST = httpx.Request("POST", "https://sis.example.org/oauth2/token")


def answer(status: int, body: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body.encode(), headers=headers, request=REQUEST)


def auth(grant: ClientCredentials | PasswordGrant) -> TokenAuth:
    return TokenAuth(token_url=str(REQUEST.url), grant=grant, faults=OneRosterTokenFaults())


CLIENT = ClientCredentials(client_id="district-app", client_secret=SecretStr(SECRET))


@pytest.mark.parametrize(
    "echoed",
    [
        SECRET,
        quote(SECRET, safe=""),
        quote_plus(SECRET),
        quote_plus(SECRET).lower(),  # a server that re-encodes %2F as %2f
        f"Basic {PAIR}",
        f"client_id=district-app&client_secret={quote_plus(SECRET)}",
    ],
    ids=["as typed", "URL-encoded", "form-encoded", "lower-case escapes", "Basic pair", "the whole form"],
)
@pytest.mark.parametrize("shape", ["json", "html"])
def test_a_secret_echoed_in_any_form_is_hidden(echoed, shape):
    said = f"invalid_request: we got {echoed} here"
    body = json.dumps({"error_description": said}) if shape == "json" else f"<p>{said}</p>"
    text = describe_error_body(answer(400, body), hide=auth(CLIENT).secrets)
    assert text.startswith("invalid_request: we got ") and "[hidden]" in text
    for form in (SECRET, quote(SECRET, safe=""), quote_plus(SECRET), PAIR, "w%2Frd", "w%2frd"):
        assert form not in text


def test_a_password_grant_hides_the_password_and_the_client_secret():
    grant = PasswordGrant(
        client_id="c", username="u", password=SecretStr("pa ss/1"), client_secret=SecretStr("cs&2"), scope=""
    )
    text = describe_error_body(answer(400, "password=pa+ss%2F1&client_secret=cs%262"), hide=auth(grant).secrets)
    assert text == "password=[hidden]&client_secret=[hidden]"


def test_every_token_given_is_hidden_not_only_the_current_one():
    tokens = iter(["first-token-abc", "second-token-def"])

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": next(tokens), "token_type": "bearer", "expires_in": 0})
        return httpx.Response(200)

    flow = auth(CLIENT)

    async def two_tokens() -> None:
        async with httpx.AsyncClient(auth=flow, transport=httpx.MockTransport(service)) as client:
            await client.get("https://sis.example.org/a")
            await client.get("https://sis.example.org/b")

    asyncio.run(two_tokens())
    text = describe_error_body(answer(401, "Bearer first-token-abc expired; now second-token-def"), hide=flow.secrets)
    assert text == "Bearer [hidden] expired; now [hidden]"


def test_a_redirect_is_described_by_where_it_points_never_by_its_body():
    redirect = httpx.Response(
        307, content=b"<h1>internal admin console</h1>", headers={"Location": "http://10.0.0.9/admin?x=1"}
    )
    redirect.request = REQUEST
    redirect.next_request = httpx.Request("POST", "http://10.0.0.9/admin?x=1")
    assert describe_error_body(redirect) == "a redirect to http://10.0.0.9/admin"


def test_the_page_an_answer_came_from_by_a_redirect_is_not_quoted_unless_it_is_json():
    followed = answer(404, "<h1>internal admin console: 42 open tickets</h1>")
    followed.history = [answer(302, "", Location="http://10.0.0.9/")]
    assert describe_error_body(followed) == ""
    followed_json = answer(404, json.dumps({"error_description": "no such thing"}))
    followed_json.history = [answer(302, "", Location="/elsewhere")]
    assert describe_error_body(followed_json) == "no such thing"
