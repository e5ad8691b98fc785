"""OAuth 2 bearer tokens for both of our HTTP clients, as one ``httpx.Auth``.

The OneRoster client and the CERS import client get their tokens the same way; what differs
is how a token is asked for (a :class:`Grant`) and how its failures are put in words (the
caller's :class:`TokenFaults`). The whole token life cycle lives here, in one place:

- the token request is a form post to the Token URL exactly as configured (its query string,
  e.g. Infinite Campus's ``?appName=`` or OpenAM's ``?realm=``, is kept), with the time-out of
  the request it is for;
- :class:`ClientCredentials` (``grant_type=client_credentials&scope=…``) authenticates the client
  with HTTP Basic first, and falls back to ``client_id`` / ``client_secret`` in the body when the
  server answers ``invalid_client`` or 401 (Aeries and Visma accept the body form; some servers
  only it); what worked is remembered;
- :class:`PasswordGrant` (``grant_type=password&username=…&password=…&client_id=…``, and
  ``&client_secret=…`` when given) puts everything in the body, as RDW's OpenAM and Okta
  set-ups take it;
- the token is kept until shortly before ``expires_in`` (a tenth of its lifetime early, at most
  30 s); a lifetime of 0 or less means "use once": the requests that waited for the token use
  it, and the next request asks anew; concurrent requests share one token request (single
  flight) instead of each asking for a token;
- on a 401 from the API the token is dropped, a new one fetched (twice at most), and the request retried
  (and again whenever another request has replaced the token meanwhile: an early expiry fails
  every request in flight with the old token). A service answers 401 before it reads a body,
  so this never makes an upload reach a service twice;
- a token answer of 429 or 5xx raises :class:`~cers_core.http.retry.TransientFailure` for the
  client's retry loop; any other answer without a token raises the caller's typed error at
  once. No message ever holds a secret or a token, in any form the request carried it
  (:func:`~cers_core.http.error_bodies.secret_forms`, the Basic pair);
- the token request is never redirected: the client it goes through follows no redirect
  (``cers_core.http.egress.open_client``), and a redirect answer is the caller's
  ``redirected`` error. Followed, a 307 would post the secret to whatever host it names.

The token request goes through the same ``httpx.AsyncClient`` as the data requests, so the
cookies a provider sets on it (load-balancer affinity) are sent on every later call.

Example (``OneRosterTokenFaults`` words the failures as OneRoster errors)::

    auth = TokenAuth(
        token_url="https://sis.example.org/campus/oauth2/token?appName=district",
        grant=ClientCredentials(
            client_id="district-app", client_secret=SecretStr("…"), scope="roster-core.readonly"
        ),
        faults=OneRosterTokenFaults(),
    )
    async with httpx.AsyncClient(auth=auth, verify=tls_context(), timeout=60.0) as client:
        answer = await client.get("https://sis.example.org/campus/api/ims/oneroster/rostering/v1p2/orgs")
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol, TypedDict

import httpx
from pydantic import SecretStr

from cers_core.errors import CersError
from cers_core.http.bounds import AnswerTooDeep, load_json
from cers_core.http.error_bodies import basic_pair, describe_error_body, minor_codes, secret_forms
from cers_core.http.retry import RETRYABLE_STATUSES, TransientFailure, parse_retry_after

__all__ = [
    "TOKEN_ENDPOINT",
    "AnswerDetails",
    "ClientCredentials",
    "Grant",
    "PasswordGrant",
    "TokenAnswer",
    "TokenAuth",
    "TokenCache",
    "TokenFaults",
]

TOKEN_ENDPOINT = "the token endpoint"
"""How messages name the token request (``endpoint=``)."""

# Refresh this long before the server's expiry (at most a tenth of the lifetime).
_EARLY_REFRESH_SECONDS = 30.0
# Sends of one request at most, whatever happens to the tokens meanwhile (see async_auth_flow).
_MAX_SENDS = 6
# Tokens a request fetches for itself after a 401 with the current token, before the 401 is final.
_OWN_RENEWALS = 2
# Tokens kept to scrub from messages (a run of hours with short-lived tokens gets thousands).
_TOKENS_HIDDEN = 16


@dataclass(slots=True)
class TokenCache:
    """The token of one connection, shared by the exports of one browser session (in memory only),
    so that reading another school does not start with a token request."""

    token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0
    credentials_in_body: bool = False
    granted_scope: str | None = None


# -- the grants -------------------------------------------------------------------------------


class Grant(Protocol):
    """How one OAuth 2 grant asks for a token: its own form fields, and who the client is."""

    basic_first: ClassVar[bool]
    """Try the client id and secret by HTTP Basic before putting them in the body."""

    @property
    def client_id(self) -> str: ...

    @property
    def client_secret(self) -> SecretStr | None: ...

    @property
    def secrets(self) -> tuple[str, ...]:
        """What of the grant must never appear in a message."""
        ...

    def fields(self) -> dict[str, str]:
        """The grant's form fields, ``grant_type`` first; the client's are added by the flow."""
        ...


def _scope_field(scope: str) -> dict[str, str]:
    return {"scope": scope.strip()} if scope.strip() else {}


def _secret_values(*secrets: SecretStr | None) -> tuple[str, ...]:
    return tuple(s.get_secret_value() for s in secrets if s is not None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientCredentials:
    """``grant_type=client_credentials``: the application itself, by its client id and secret."""

    client_id: str
    client_secret: SecretStr | None
    scope: str = ""
    basic_first: ClassVar[bool] = True

    @property
    def secrets(self) -> tuple[str, ...]:
        return _secret_values(self.client_secret)

    def fields(self) -> dict[str, str]:
        return {"grant_type": "client_credentials", **_scope_field(self.scope)}


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordGrant:
    """``grant_type=password``: a user's name and password, with the client id (and secret, if any)."""

    client_id: str
    username: str
    password: SecretStr
    client_secret: SecretStr | None = None
    scope: str = ""
    # RDW's OpenAM and Okta set-ups take the client in the body; none of them wants Basic first.
    basic_first: ClassVar[bool] = False

    @property
    def secrets(self) -> tuple[str, ...]:
        return _secret_values(self.client_secret, self.password)

    def fields(self) -> dict[str, str]:
        grant = {"grant_type": "password", "username": self.username, "password": self.password.get_secret_value()}
        return grant | _scope_field(self.scope)


# -- the failures, in the caller's words ------------------------------------------------------


class AnswerDetails(TypedDict):
    """What every typed error of a remote service takes: which request, its status, what was said."""

    endpoint: str
    status: int
    server_message: str


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """A token endpoint's answer that holds no token, as :class:`TokenFaults` get it."""

    response: httpx.Response
    hide: tuple[str, ...]
    """The secrets and the token we hold, scrubbed from anything quoted from the answer."""

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def details(self) -> AnswerDetails:
        """``endpoint``, ``status`` and ``server_message`` (secrets hidden), for ``**`` into an error."""
        said = describe_error_body(self.response, hide=self.hide)
        return {"endpoint": TOKEN_ENDPOINT, "status": self.status, "server_message": said}


class TokenFaults(Protocol):
    """The typed errors of one service's token endpoint, in the words its users know.

    The flow decides what went wrong; these say it, each returning the error for the flow
    to raise (wrapped in a ``TransientFailure`` where waiting may clear it).
    """

    def credentials_refused(self, answer: TokenAnswer) -> CersError:
        """401 or ``invalid_client``, with the client by Basic and (where allowed) in the body."""
        ...

    def scope_refused(self, answer: TokenAnswer) -> CersError:
        """``invalid_scope``."""
        ...

    def no_token_endpoint(self, answer: TokenAnswer) -> CersError:
        """404: there is no token endpoint at the Token URL."""
        ...

    def redirected(self, answer: TokenAnswer) -> CersError:
        """A redirect (3xx with a Location), which is not followed: the secret goes nowhere else."""
        ...

    def grant_refused(self, answer: TokenAnswer) -> CersError:
        """``invalid_grant``: the user name and password of a password grant."""
        ...

    def refused(self, answer: TokenAnswer) -> CersError:
        """Any other answer without a token."""
        ...

    def not_a_token(self, answer: TokenAnswer, *, is_json: bool) -> CersError:
        """A 200 without a bearer ``access_token``; ``is_json`` when the answer was JSON at all."""
        ...

    def kept_failing(self, answer: TokenAnswer) -> CersError:
        """429 or 5xx: the error to raise when the client's retries run out."""
        ...

    def no_answer(self) -> CersError:
        """No answer at all (a dropped connection, a time-out), for the requests that waited on it."""
        ...


# -- the flow ---------------------------------------------------------------------------------


class TokenAuth(httpx.Auth):
    """Bearer tokens from a :class:`Grant`; see the module docstring for the rules.

    ``cache`` holds the token between clients (see :class:`TokenCache`); ``default_lifetime``
    is how long a token whose answer has no ``expires_in`` is kept.
    """

    def __init__(
        self,
        *,
        token_url: str,
        grant: Grant,
        faults: TokenFaults,
        cache: TokenCache | None = None,
        default_lifetime: float = 3600.0,
    ) -> None:
        self._token_url = token_url
        self._grant = grant
        self._faults = faults
        self._cache = cache if cache is not None else TokenCache()
        self._default_lifetime = default_lifetime
        self._pending: asyncio.Future[str] | None = None
        # The last tokens this flow was given, not only the current one: an answer may quote an old one.
        self._tokens: collections.deque[str] = collections.deque(maxlen=_TOKENS_HIDDEN)
        # Cookies the token endpoint sets (load-balancer affinity); the client's jar sends them on
        # later requests, but the request that triggered the token fetch was built before they existed.
        self._token_cookies = httpx.Cookies()
        self.sending: Literal["", "token", "request"] = ""
        """What the flow sent last: ``"token"`` (a token request) or ``"request"`` (the request
        itself). A client that sends one request at a time (the CERS upload) tells by it whether
        a connection broke before its request left this computer."""

    def __repr__(self) -> str:  # never show a secret or the token
        grant = type(self._grant).__name__
        return f"TokenAuth(token_url={self._token_url!r}, client_id={self._grant.client_id!r}, grant={grant})"

    @property
    def granted_scope(self) -> str | None:
        """The scopes the token endpoint says it granted (None until it said so)."""
        return self._cache.granted_scope

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a message: the grant's secrets in every form a request carries
        them (as typed, URL-encoded, the Basic pair's base64), and every token we were given."""
        forms = [form for secret in self._grant.secrets for form in secret_forms(secret)]
        if self._grant.client_secret is not None:
            forms.append(basic_pair(self._grant.client_id, self._grant.client_secret.get_secret_value()))
        tokens = [*self._tokens, self._cache.token]
        return tuple(dict.fromkeys(s for s in (*forms, *tokens) if s))

    @property
    def _credentials_in_body(self) -> bool:
        return self._cache.credentials_in_body or not self._grant.basic_first

    def _fresh_token(self) -> str | None:
        if time.monotonic() < self._cache.expires_at:
            return self._cache.token
        return None

    def _token_request(self, request: httpx.Request) -> httpx.Request:
        """The token request for ``request``, with the client by Basic or in the body."""
        data = self._grant.fields()
        headers = {"Accept": "application/json"}
        secret = self._grant.client_secret.get_secret_value() if self._grant.client_secret is not None else ""
        if self._credentials_in_body:
            data["client_id"] = self._grant.client_id
            if secret:
                data["client_secret"] = secret
        else:
            headers["Authorization"] = "Basic " + basic_pair(self._grant.client_id, secret)
        token_request = httpx.Request("POST", self._token_url, data=data, headers=headers)
        # httpx reads a request's time-out from this extension, which only a client's build_request
        # sets: without it, a token endpoint that accepts the connection and never answers would
        # hold the request, and the command waiting for it, forever.
        if "timeout" in request.extensions:
            token_request.extensions["timeout"] = request.extensions["timeout"]
        return token_request

    async def _read(self, response: httpx.Response) -> None:
        await response.aread()
        self._token_cookies.extract_cookies(response)

    def _refused_credentials(self, response: httpx.Response) -> bool:
        return response.status_code == 401 or "invalid_client" in minor_codes(response)

    def _switch_to_body(self, response: httpx.Response) -> bool:
        """True, once, when the server refused the client by Basic: ask again with it in the body."""
        if response.status_code == 200 or self._credentials_in_body or not self._refused_credentials(response):
            return False
        self._cache.credentials_in_body = True
        return True

    def _keep_for(self, stated: object) -> float:
        """Seconds to use a token whose answer says ``expires_in: stated``: up to a tenth of its
        lifetime (at most 30 s) before it ends. A lifetime of 0 or less (or not a number) gives 0:
        the token serves the requests that waited for it, and the next request asks anew."""
        lifetime = self._default_lifetime
        if isinstance(stated, int | float | str) and stated != "":
            with contextlib.suppress(ValueError):
                lifetime = float(stated)
        if not lifetime > 0:  # also NaN
            return 0.0
        return lifetime - min(_EARLY_REFRESH_SECONDS, lifetime / 10)

    def _accept(self, response: httpx.Response) -> str:
        """The access token of a token answer, kept in the cache; the typed error for anything else."""
        if response.status_code != 200:
            raise self._failure(response)
        answer = TokenAnswer(response, self.secrets)
        try:
            body = load_json(response.content)
        except (ValueError, UnicodeDecodeError, AnswerTooDeep):
            raise self._faults.not_a_token(answer, is_json=False) from None
        fields = body if isinstance(body, dict) else {}
        token = fields.get("access_token")
        token_type = str(fields.get("token_type") or "bearer")
        if not isinstance(token, str) or not token or token_type.lower() != "bearer":
            raise self._faults.not_a_token(answer, is_json=True)
        scope = fields.get("scope")
        self._cache.token = token
        self._tokens.append(token)
        self._cache.expires_at = time.monotonic() + self._keep_for(fields.get("expires_in"))
        self._cache.granted_scope = scope if isinstance(scope, str) else None
        return token

    def _failure(self, response: httpx.Response) -> Exception:
        """The error for a token answer that is not a token."""
        answer = TokenAnswer(response, self.secrets)
        codes = minor_codes(response)
        if answer.status in RETRYABLE_STATUSES:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return TransientFailure(self._faults.kept_failing(answer), retry_after=wait)
        if response.is_redirect:
            return self._faults.redirected(answer)
        if self._refused_credentials(response):
            return self._faults.credentials_refused(answer)
        if "invalid_scope" in codes:
            return self._faults.scope_refused(answer)
        if answer.status == 404:
            return self._faults.no_token_endpoint(answer)
        if "invalid_grant" in codes:
            return self._faults.grant_refused(answer)
        return self._faults.refused(answer)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        renewals = 0
        for _ in range(_MAX_SENDS):
            token = self._fresh_token()
            if token is None and self._pending is not None:
                # Single flight: the token another request is asking for; it may already be stale
                # when we wake (a lifetime of 0), but it was fetched for us too.
                token = await asyncio.shield(self._pending)
            if token is None:
                pending = self._pending = asyncio.get_running_loop().create_future()
                self._cache.token = None
                self.sending = "token"
                try:
                    response = yield self._token_request(request)
                    await self._read(response)
                    if self._switch_to_body(response):
                        response = yield self._token_request(request)
                        await self._read(response)
                    token = self._accept(response)
                    pending.set_result(token)
                except BaseException as error:
                    # Fault handling: when the token request itself fails in transport (reset,
                    # time-out), httpx closes this flow with GeneratorExit and gives the leader
                    # the transport error; the waiters get a transient failure to retry (a
                    # GeneratorExit would crash them), as they do for a 5xx token answer.
                    shared = error if isinstance(error, Exception) else TransientFailure(self._faults.no_answer())
                    pending.set_exception(shared)
                    pending.exception()  # marks it retrieved: the waiters re-raise it themselves
                    raise
                finally:
                    self._pending = None
            request.headers["Authorization"] = f"Bearer {token}"
            self._token_cookies.set_cookie_header(request)
            self.sending = "request"
            response = yield request
            if response.status_code != 401:
                return
            # Fault handling: a token that expires early fails every request in flight with it.
            # A 401 with a token that another request has replaced since is tried again with the
            # new one; a 401 with the current token gets renewals of our own. Two, not one: a
            # provider that revokes tokens under load may revoke the one we just fetched (another
            # request's 401 did it) before we use it, and only a refusal that outlasts that is real.
            if self._cache.token != token:
                continue
            if renewals == _OWN_RENEWALS:
                return
            renewals += 1
            self._cache.expires_at = 0.0  # drop it so we fetch anew
