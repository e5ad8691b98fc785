"""The shared OAuth 2 token flow against a token endpoint and an API in process (``httpx.MockTransport``):
both grants, the Basic → body fallback, the token's life cycle, and each failure in both families' words."""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from cers_core.cers_import.errors import ImportTokenFaults
from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    CersError,
    ImportAuthFailed,
    ImportRequestFailed,
    NotFound,
    PermissionDenied,
    ServerError,
)
from cers_core.http.oauth import ClientCredentials, Grant, PasswordGrant, TokenAuth, TokenCache, TokenFaults
from cers_core.http.retry import TransientFailure
from cers_core.oneroster.errors import OneRosterTokenFaults

TOKEN_URL = "https://sso.example.org/oauth2/token?realm=/district"
API_URL = "https://api.example.org/data"
SECRET = "s3cret-Value-42"
PASSWORD = "pa55-Word-77"
CLIENT = ClientCredentials(client_id="district-app", client_secret=SecretStr(SECRET), scope="roster-core.readonly")
USER = PasswordGrant(client_id="rdw", username="groups.admin", password=SecretStr(PASSWORD))
ONEROSTER = OneRosterTokenFaults()
IMPORT = ImportTokenFaults(with_client_secret=True)

Answer = Callable[[httpx.Request], httpx.Response]


class Service:
    """A token endpoint and an API behind it. By default the endpoint issues ``tok-1``, ``tok-2`` …
    (``expires_in`` 3600) and the API accepts every token issued; ``token_answer`` and
    ``api_answer`` script them otherwise."""

    def __init__(self, token_answer: Answer | None = None, api_answer: Answer | None = None) -> None:
        self.numbers = itertools.count(1)
        self.issued: list[str] = []
        self.token_answer = token_answer or (lambda request: self.token())
        self.api_answer = api_answer or self.accept_issued
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []

    def token(self, *, expires_in: object = 3600, headers: dict[str, str] | None = None) -> httpx.Response:
        """A token answer (``expires_in`` left out when None); the API accepts its token from then on."""
        value = f"tok-{next(self.numbers)}"
        self.issued.append(value)
        lifetime = {"expires_in": expires_in} if expires_in is not None else {}
        return httpx.Response(200, json={"access_token": value, "token_type": "bearer", **lifetime}, headers=headers)

    def accept_issued(self, request: httpx.Request) -> httpx.Response:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return httpx.Response(200 if scheme == "Bearer" and value in self.issued else 401, json={})

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # others run meanwhile, as they would while a network answers
        if request.url.path == "/oauth2/token":
            self.token_requests.append(request)
            return self.token_answer(request)
        self.api_requests.append(request)
        return self.api_answer(request)


def auth(
    grant: Grant = CLIENT,
    faults: TokenFaults = ONEROSTER,
    *,
    token_url: str = TOKEN_URL,
    cache: TokenCache | None = None,
    default_lifetime: float = 3600.0,
) -> TokenAuth:
    return TokenAuth(token_url=token_url, grant=grant, faults=faults, cache=cache, default_lifetime=default_lifetime)


def get(service: Service, token_auth: TokenAuth, *, requests: int = 1, rounds: int = 1) -> list[httpx.Response]:
    """``requests`` concurrent callers, each sending ``rounds`` requests one after the other."""

    async def caller(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.get(API_URL) for _ in range(rounds)]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(auth=token_auth, transport=httpx.MockTransport(service)) as client:
            answers = await asyncio.gather(*(caller(client) for _ in range(requests)))
        return [response for answers_of_one in answers for response in answers_of_one]

    return asyncio.run(run())


def form(request: httpx.Request) -> dict[str, str]:
    return dict(httpx.QueryParams(request.content.decode()))


def basic(request: httpx.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return base64.b64decode(value).decode() if scheme == "Basic" else None


# -- asking for a token ---------------------------------------------------------------------------


def test_client_credentials_go_by_basic_first_to_the_token_url_as_configured():
    service = Service()
    [answer] = get(service, auth())
    [sent] = service.token_requests
    assert answer.status_code == 200 and answer.request.headers["Authorization"] == "Bearer tok-1"
    assert sent.method == "POST" and str(sent.url) == TOKEN_URL
    assert basic(sent) == f"district-app:{SECRET}"
    assert form(sent) == {"grant_type": "client_credentials", "scope": "roster-core.readonly"}


@pytest.mark.parametrize(
    "refusal",
    [httpx.Response(401, json={"error": "invalid_client"}), httpx.Response(400, json={"error": "invalid_client"})],
    ids=["401", "400 invalid_client"],
)
def test_a_refused_basic_falls_back_to_the_body_and_the_body_is_remembered(refusal):
    def endpoint(request: httpx.Request) -> httpx.Response:
        return refusal if basic(request) else service.token(expires_in=0)

    service = Service(token_answer=endpoint)
    cache = TokenCache()
    get(service, auth(cache=cache), rounds=3)  # a lifetime of 0: each request asks anew
    first, *later = service.token_requests
    assert basic(first) is not None and all(basic(r) is None for r in later) and len(later) == 3
    assert form(later[0]) == {
        "grant_type": "client_credentials",
        "scope": "roster-core.readonly",
        "client_id": "district-app",
        "client_secret": SECRET,
    }
    assert cache.credentials_in_body  # the next client of this connection starts with the body


@pytest.mark.parametrize("client_secret", [None, "cl1ent-Secret-9"])
def test_the_password_grant_puts_everything_in_the_body(client_secret):
    grant = PasswordGrant(
        client_id="rdw",
        username="groups.admin",
        password=SecretStr(PASSWORD),
        client_secret=SecretStr(client_secret) if client_secret else None,
        scope="openid profile",
    )
    service = Service()
    get(service, auth(grant))
    [sent] = service.token_requests
    assert basic(sent) is None
    expected = {"grant_type": "password", "username": "groups.admin", "password": PASSWORD, "scope": "openid profile"}
    expected["client_id"] = "rdw"
    if client_secret:
        expected["client_secret"] = client_secret
    assert form(sent) == expected


# -- the token's life ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expires_in", "default_lifetime", "kept"),
    [
        (3600, 3600.0, 3570.0),  # 30 s early
        (100, 3600.0, 90.0),  # a tenth early, when that is less
        (None, 3600.0, 3570.0),  # no expires_in: the default lifetime
        ("", 300.0, 270.0),
        ("soon", 300.0, 270.0),
        ("120", 3600.0, 108.0),  # a number in a string, as some servers send it
        (0, 3600.0, 0.0),  # use once
        (-5, 3600.0, 0.0),
    ],
)
def test_the_token_is_kept_until_shortly_before_it_expires(expires_in, default_lifetime, kept):
    service = Service(token_answer=lambda request: service.token(expires_in=expires_in))
    cache = TokenCache()
    before = time.monotonic()
    get(service, auth(cache=cache, default_lifetime=default_lifetime))
    assert cache.expires_at - before == pytest.approx(kept, abs=1.0)


def test_a_fresh_token_is_used_again_and_an_expired_one_renewed():
    service = Service()
    cache = TokenCache()
    get(service, auth(cache=cache), rounds=2)
    assert len(service.token_requests) == 1
    get(service, auth(cache=cache))  # another client of the same connection: the token is shared
    assert len(service.token_requests) == 1
    cache.expires_at = time.monotonic() - 1
    [answer] = get(service, auth(cache=cache))
    assert len(service.token_requests) == 2 and answer.request.headers["Authorization"] == "Bearer tok-2"


def test_concurrent_requests_share_one_token_request():
    service = Service()
    answers = get(service, auth(), requests=10)
    assert len(service.token_requests) == 1 and {a.status_code for a in answers} == {200}


@pytest.mark.parametrize("expires_in", [0, -5])
def test_tokens_without_a_lifetime_serve_concurrent_requests(expires_in):
    """A token already stale when the requests waiting for it wake is theirs to use once;
    it used to crash them (``AssertionError``) when another request was asking anew meanwhile."""
    service = Service(token_answer=lambda request: service.token(expires_in=expires_in))
    answers = get(service, auth(), requests=8, rounds=5)
    assert len(answers) == 40 and {a.status_code for a in answers} == {200}
    assert len(service.token_requests) < 40  # requests that waited together shared a token


def test_a_401_gets_one_new_token_and_one_more_send():
    sent: list[str] = []  # the request is sent again as it is: keep what it carried each time

    def api(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401 if len(sent) == 1 else 200)

    service = Service(api_answer=api)
    [answer] = get(service, auth())
    assert answer.status_code == 200
    assert len(service.token_requests) == 2 and sent == ["Bearer tok-1", "Bearer tok-2"]


def test_a_token_revoked_again_before_it_is_used_gets_a_second_renewal():
    """Under load a provider may revoke the token a request has just fetched for itself (another
    request's 401 did it); only a refusal that outlasts that is real."""
    sent: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers["Authorization"])
        return httpx.Response(401 if len(sent) <= 2 else 200)

    service = Service(api_answer=api)
    [answer] = get(service, auth())
    assert answer.status_code == 200 and sent == ["Bearer tok-1", "Bearer tok-2", "Bearer tok-3"]


def test_a_token_the_api_never_accepts_is_answered_with_its_401_after_two_renewals():
    service = Service(api_answer=lambda request: httpx.Response(401))
    [answer] = get(service, auth())
    assert answer.status_code == 401 and len(service.api_requests) == 3 and len(service.token_requests) == 3


def test_cookies_of_the_token_answer_go_with_the_request_that_asked_for_it():
    service = Service(token_answer=lambda request: service.token(headers={"Set-Cookie": "AFFINITY=node7; Path=/"}))
    get(service, auth(token_url="https://api.example.org/oauth2/token"))  # the API's own host: its cookies
    assert service.api_requests[0].headers["Cookie"] == "AFFINITY=node7"


def test_the_client_knows_what_it_sent_last():
    token_auth = auth()
    seen: list[str] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(token_auth.sending)
        return service.token()

    service = Service(token_answer=endpoint)
    get(service, token_auth)
    assert seen == ["token"] and token_auth.sending == "request"


# -- failures, in both families' words ------------------------------------------------------------

# Token answers that hold no token: status and body (JSON, or text when a string).
NO_TOKEN = {
    "invalid_client": (401, {"error": "invalid_client"}),
    "invalid_scope": (400, {"error": "invalid_scope"}),
    "invalid_grant": (400, {"error": "invalid_grant"}),
    "404": (404, "Not Found"),
    "a web page": (200, "<html>Sign in</html>"),
    "no bearer token": (200, {"access_token": "t", "token_type": "mac"}),
}


def refusal(answer: str, faults: TokenFaults) -> CersError:
    """The error the flow raises for one of the ``NO_TOKEN`` answers, worded by ``faults``."""
    status, body = NO_TOKEN[answer]
    reply = httpx.Response(status, text=body) if isinstance(body, str) else httpx.Response(status, json=body)
    service = Service(token_answer=lambda request: reply)
    with pytest.raises(CersError) as caught:
        get(service, auth(faults=faults))
    assert not service.api_requests
    return caught.value


# What each family says for each of them (the message as it starts).
ONEROSTER_WORDS = [
    ("invalid_client", AuthenticationFailed, "The Client ID or Client Secret was not accepted by the token endpoint."),
    ("invalid_scope", PermissionDenied, "The token endpoint refused the requested scope."),
    ("invalid_grant", AuthenticationFailed, "The token endpoint did not give us an access token."),
    ("404", NotFound, "There is no token endpoint at the Token URL."),
    ("a web page", BadResponse, "The Token URL answered, but not with an OAuth token."),
    ("no bearer token", BadResponse, "The Token URL answered without a bearer access token."),
]
IMPORT_WORDS = [
    ("invalid_client", ImportAuthFailed, "The CERS token endpoint did not accept the Client ID or Client Secret."),
    ("invalid_scope", ImportAuthFailed, "The CERS token endpoint did not give us an access token."),
    ("invalid_grant", ImportAuthFailed, "The CERS token endpoint did not accept the user name and password."),
    ("404", ImportRequestFailed, "There is no token endpoint at the CERS import connection's Token URL."),
    ("a web page", ImportRequestFailed, "The CERS Token URL answered, but not with an access token."),
    ("no bearer token", ImportRequestFailed, "The CERS Token URL answered, but not with an access token."),
]


@pytest.mark.parametrize(
    ("faults", "answer", "error", "message"),
    [(ONEROSTER, *row) for row in ONEROSTER_WORDS] + [(IMPORT, *row) for row in IMPORT_WORDS],
)
def test_a_token_endpoint_that_gives_no_token_is_a_typed_error_in_the_callers_words(faults, answer, error, message):
    raised = refusal(answer, faults)
    assert type(raised) is error and raised.message.startswith(message)


def test_without_a_client_secret_only_the_client_id_was_refused():
    raised = refusal("invalid_client", ImportTokenFaults(with_client_secret=False))
    assert raised.message.startswith("The CERS token endpoint did not accept the Client ID. ")


@pytest.mark.parametrize(
    ("faults", "error", "message"),
    [
        (ONEROSTER, ServerError, "The OneRoster server kept failing while answering."),
        (IMPORT, ImportRequestFailed, "The CERS token endpoint kept failing."),
    ],
)
def test_a_busy_token_endpoint_is_a_transient_failure_for_the_clients_retries(faults, error, message):
    service = Service(token_answer=lambda request: httpx.Response(503, headers={"Retry-After": "7"}))
    with pytest.raises(TransientFailure) as caught:
        get(service, auth(faults=faults))
    assert type(caught.value.final) is error and caught.value.final.message.startswith(message)
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(("grant", "secret"), [(CLIENT, SECRET), (USER, PASSWORD)], ids=["client", "password"])
def test_no_secret_in_a_message_or_the_repr(grant, secret):
    echo = {"error": "invalid_request", "error_description": f"bad {secret}"}  # a server that echoes the form
    service = Service(token_answer=lambda request: httpx.Response(400, json=echo))
    token_auth = auth(grant, IMPORT)
    with pytest.raises(ImportAuthFailed) as caught:
        get(service, token_auth)
    shown = str(caught.value) + repr(token_auth) + repr(grant)
    assert secret not in shown and "[hidden]" in str(caught.value)
