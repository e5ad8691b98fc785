"""OAuth 2.0 client credentials for OneRoster 1.2, as an ``httpx.Auth``.

The whole token life cycle lives here, in one place:

- the token request is a form post ``grant_type=client_credentials&scope=…`` to the Token URL
  exactly as configured (its query string, e.g. Infinite Campus's ``?appName=``, is kept);
- the client authenticates with HTTP Basic first, and falls back to ``client_id`` /
  ``client_secret`` in the body when the server answers ``invalid_client`` or 401 (Aeries
  and Visma accept the body form; some servers only it); what worked is remembered;
- the token is cached until shortly before ``expires_in``; concurrent requests share one
  token request (single flight) instead of each asking for a token;
- on a 401 from the API the token is dropped, a new one fetched once, and the request retried
  (and again whenever another request has replaced the token meanwhile: an early expiry
  fails every request in flight with the old token).

The token request goes through the same ``httpx.AsyncClient`` as the data requests, so the
cookies a provider sets on it (load-balancer affinity) are sent on every later call.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

import httpx
from pydantic import SecretStr

from cers_core.errors import AuthenticationFailed, BadResponse, NotFound, PermissionDenied, ProviderUnreachable
from cers_core.http.error_bodies import describe_error_body, minor_codes
from cers_core.http.retry import RETRYABLE_STATUSES, TransientFailure, parse_retry_after
from cers_core.oneroster.errors import error_for_response

__all__ = ["ClientCredentialsAuth", "TokenCache"]

# Refresh this long before the server's expiry (at most a tenth of the lifetime).
_EARLY_REFRESH_SECONDS = 30.0
_DEFAULT_LIFETIME_SECONDS = 3600.0
# Sends of one request at most, whatever happens to the tokens meanwhile (see async_auth_flow).
_MAX_SENDS = 6


@dataclass(slots=True)
class TokenCache:
    """The token of one connection, shared by the exports of one browser session (in memory only),
    so that reading another school does not start with a token request."""

    token: str | None = field(default=None, repr=False)
    expires_at: float = 0.0
    credentials_in_body: bool = False
    granted_scope: str | None = None


class ClientCredentialsAuth(httpx.Auth):
    """Bearer tokens from a client-credentials grant; see the module docstring for the rules."""

    def __init__(
        self, *, token_url: str, client_id: str, client_secret: SecretStr, scope: str, cache: TokenCache | None = None
    ) -> None:
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._cache = cache if cache is not None else TokenCache()
        self._pending: asyncio.Future[str] | None = None
        # Cookies the token endpoint sets (load-balancer affinity); the client's jar sends them on
        # later requests, but the request that triggered the token fetch was built before they existed.
        self._token_cookies = httpx.Cookies()
        self.tokens_issued = 0

    # The token's state lives in the (possibly shared) cache.
    @property
    def _token(self) -> str | None:
        return self._cache.token

    @_token.setter
    def _token(self, value: str | None) -> None:
        self._cache.token = value

    @property
    def _expires_at(self) -> float:
        return self._cache.expires_at

    @_expires_at.setter
    def _expires_at(self, value: float) -> None:
        self._cache.expires_at = value

    @property
    def _credentials_in_body(self) -> bool:
        return self._cache.credentials_in_body

    @_credentials_in_body.setter
    def _credentials_in_body(self, value: bool) -> None:
        self._cache.credentials_in_body = value

    @property
    def granted_scope(self) -> str | None:
        return self._cache.granted_scope

    @granted_scope.setter
    def granted_scope(self, value: str | None) -> None:
        self._cache.granted_scope = value

    def __repr__(self) -> str:  # never show the secret or the token
        return f"ClientCredentialsAuth(token_url={self._token_url!r}, client_id={self._client_id!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a message: the client secret and the current token."""
        return tuple(s for s in (self._client_secret.get_secret_value(), self._token) if s)

    def _token_is_fresh(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires_at

    def _token_request(self) -> httpx.Request:
        data = {"grant_type": "client_credentials"}
        if self._scope.strip():
            data["scope"] = self._scope.strip()
        headers = {"Accept": "application/json"}
        if self._credentials_in_body:
            data["client_id"] = self._client_id
            data["client_secret"] = self._client_secret.get_secret_value()
        else:
            pair = f"{self._client_id}:{self._client_secret.get_secret_value()}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return httpx.Request("POST", self._token_url, data=data, headers=headers)

    def _refused_credentials(self, response: httpx.Response) -> bool:
        return response.status_code == 401 or "invalid_client" in minor_codes(response)

    def _accept_token(self, response: httpx.Response) -> str:
        """Read a 200 token answer; store and return the access token."""
        where = "the token endpoint"
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise BadResponse(
                "The Token URL answered, but not with an OAuth token.",
                endpoint=where,
                status=response.status_code,
                server_message=describe_error_body(response, hide=self.secrets),
                hint="Check the Token URL: it should be the OAuth 2 token endpoint your SIS documents.",
            ) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        token_type = str(body.get("token_type") or "bearer") if isinstance(body, dict) else ""
        if not isinstance(token, str) or not token or token_type.lower() != "bearer":
            raise BadResponse(
                "The Token URL answered without a bearer access token.",
                endpoint=where,
                status=response.status_code,
                hint="Check the Token URL: it should be the OAuth 2 token endpoint your SIS documents.",
            )
        try:
            stated = body.get("expires_in")
            lifetime = _DEFAULT_LIFETIME_SECONDS if stated in (None, "") else float(stated)
        except (TypeError, ValueError):
            lifetime = _DEFAULT_LIFETIME_SECONDS
        early = min(_EARLY_REFRESH_SECONDS, lifetime / 10)
        self._token = token
        self._expires_at = time.monotonic() + max(0.0, lifetime - early)
        self.granted_scope = body.get("scope") if isinstance(body.get("scope"), str) else None
        self.tokens_issued += 1
        return token

    def _token_failure(self, response: httpx.Response) -> Exception:
        """The error for a token answer that is not a token."""
        status = response.status_code
        said = describe_error_body(response, hide=self.secrets)
        common = {"endpoint": "the token endpoint", "status": status, "server_message": said}
        if status in RETRYABLE_STATUSES:
            final = error_for_response(response, hide=self.secrets)
            return TransientFailure(final, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        if self._refused_credentials(response):
            return AuthenticationFailed(
                "The Client ID or Client Secret was not accepted by the token endpoint.",
                hint="Copy both again from the SIS (they should match the CAASPP configuration); "
                "if the credential was regenerated, the old secret no longer works.",
                **common,
            )
        if "invalid_scope" in minor_codes(response):
            return PermissionDenied(
                "The token endpoint refused the requested scope.",
                hint="Use the scope your SIS granted to this application (the default is "
                "roster-core.readonly), in the connection's advanced settings.",
                **common,
            )
        if status == 404:
            return NotFound(
                "There is no token endpoint at the Token URL.",
                hint="Check the Token URL your SIS documents, including any ?appName=… part.",
                **common,
            )
        return AuthenticationFailed(
            "The token endpoint did not give us an access token.",
            hint="Check the Token URL, Client ID and Client Secret.",
            **common,
        )

    async def _fetch_token(self) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """Ask for a token (Basic first, then credentials in the body); the token is left in
        ``self._token``. Written as a sub-flow so that the requests go through the client."""
        for _ in range(2):
            response = yield self._token_request()
            if response.status_code == 200:
                self._accept_token(response)
                return
            if self._refused_credentials(response) and not self._credentials_in_body:
                self._credentials_in_body = True
                continue
            raise self._token_failure(response)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        refreshed = False
        for _ in range(_MAX_SENDS):
            if not self._token_is_fresh():
                if self._pending is None:
                    self._token = None
                    self._pending = asyncio.get_running_loop().create_future()
                    pending = self._pending
                    try:
                        flow = self._fetch_token()
                        token_request = await flow.__anext__()
                        while True:
                            response = yield token_request
                            await response.aread()
                            self._token_cookies.extract_cookies(response)
                            try:
                                token_request = await flow.asend(response)
                            except StopAsyncIteration:
                                break
                        assert self._token is not None
                        pending.set_result(self._token)
                    except BaseException as error:
                        # Fault handling: when the token request itself fails in transport (reset,
                        # time-out), httpx closes this flow with GeneratorExit and gives the leader
                        # the transport error; the waiters get a transient failure to retry (a
                        # GeneratorExit would crash them), as they do for a 5xx token answer.
                        shared = error if isinstance(error, Exception) else _token_request_abandoned()
                        pending.set_exception(shared)
                        pending.exception()  # marks it retrieved: the waiters re-raise it themselves
                        raise
                    finally:
                        self._pending = None
                else:
                    await asyncio.shield(self._pending)
            assert self._token is not None
            used = self._token
            request.headers["Authorization"] = f"Bearer {used}"
            self._token_cookies.set_cookie_header(request)
            response = yield request
            if response.status_code != 401:
                return
            # Fault handling: a token that expires early fails every request in flight with it.
            # A 401 with a token that another request has replaced since is tried again with the
            # new one; a 401 with the current token gets one refresh of our own, and a second
            # one is a real refusal.
            if self._token != used:
                continue
            if refreshed:
                return
            refreshed = True
            self._expires_at = 0.0  # drop it so we fetch anew


def _token_request_abandoned() -> TransientFailure:
    """What requests waiting on a token get when the token request got no answer at all."""
    return TransientFailure(
        ProviderUnreachable(
            "The token endpoint did not answer (the connection was dropped or timed out).",
            endpoint="the token endpoint",
            hint="Check the Token URL; if it is right, the SIS may be busy: try again later.",
        )
    )
