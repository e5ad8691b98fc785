"""Bearer tokens for CERS's import service: client credentials, or the password grant RDW documents.

- **client credentials** (no user name): ``grant_type=client_credentials``, the client id
  and secret by HTTP Basic first and in the form body when the server answers
  ``invalid_client``/401 (as the OneRoster auth does);
- **password grant** (a user name): ``grant_type=password&username=…&password=…&client_id=…``
  (``&client_secret=…`` when given) in the form body, as RDW's OpenAM and Okta set-ups take it.

The token is kept until shortly before ``expires_in``. This is an ``httpx.Auth``, so the
token request goes through the upload's own client: on a 401 from the service the token is
dropped, a new one fetched, and the request sent once more (a 401 is answered before the
service reads a file, so re-sending after it never sends a file twice).

Failures of the token request raise :class:`TokenUnavailable`, which says that the request
it was for was *not* sent, and carries the typed error to raise.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncGenerator

import httpx

from cers_core.errors import ImportAuthFailed, ImportRequestFailed, UploadError
from cers_core.http.error_bodies import describe_error_body, minor_codes
from cers_core.http.retry import RETRYABLE_STATUSES, parse_retry_after
from cers_core.settings import CersImportSettings

__all__ = ["ImportTokenAuth", "TokenUnavailable"]

_EARLY_REFRESH_SECONDS = 30.0
_DEFAULT_LIFETIME_SECONDS = 300.0


class TokenUnavailable(Exception):
    """No token: the request that needed it was not sent. ``transient`` failures may clear on a retry."""

    def __init__(self, error: UploadError, *, transient: bool, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.transient = transient
        self.retry_after = retry_after


class ImportTokenAuth(httpx.Auth):
    """Adds ``Authorization: Bearer …`` from the configured grant; see the module docstring."""

    def __init__(self, settings: CersImportSettings) -> None:
        self._settings = settings
        self._token: str | None = None
        self._expires_at = 0.0
        self._credentials_in_body = settings.grant == "password"
        self.tokens_issued = 0
        self.sending: str = ""
        """What the flow sent last: ``"token"`` (the token request) or ``"request"`` (the request
        itself), so that a transport failure can be told apart: before ``"request"``, nothing
        of the request left this computer."""

    def __repr__(self) -> str:  # never the secrets, never the token
        return f"ImportTokenAuth(token_url={self._settings.token_url!r}, grant={self._settings.grant!r})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never appear in a message: the client secret, the password, the token."""
        held = [self._token]
        for secret in (self._settings.client_secret, self._settings.password):
            held.append(secret.get_secret_value() if secret is not None else None)
        return tuple(s for s in held if s)

    def _token_request(self) -> httpx.Request:
        settings = self._settings
        secret = settings.client_secret.get_secret_value() if settings.client_secret else ""
        data = {"grant_type": settings.grant}
        headers = {"Accept": "application/json"}
        if settings.grant == "password":
            assert settings.password is not None
            data |= {"username": settings.username, "password": settings.password.get_secret_value()}
        if self._credentials_in_body:
            data["client_id"] = settings.client_id
            if secret:
                data["client_secret"] = secret
        else:
            pair = f"{settings.client_id}:{secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        if settings.scope.strip():
            data["scope"] = settings.scope.strip()
        return httpx.Request("POST", settings.token_url, data=data, headers=headers)

    def _failure(self, response: httpx.Response) -> TokenUnavailable:
        status = response.status_code
        said = describe_error_body(response, hide=self.secrets)
        common = {"endpoint": "the token endpoint", "status": status, "server_message": said}
        if status in RETRYABLE_STATUSES:
            error: UploadError = ImportRequestFailed(
                "The CERS token endpoint kept failing.", hint="Try again later.", **common
            )
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return TokenUnavailable(error, transient=True, retry_after=wait)
        codes = minor_codes(response)
        if status == 404:
            error = ImportRequestFailed(
                "There is no token endpoint at the CERS import connection's Token URL.",
                hint="Check the Token URL, including any ?realm=… part.",
                **common,
            )
        elif status == 401 or "invalid_client" in codes:
            error = ImportAuthFailed(
                "The CERS token endpoint did not accept the Client ID"
                + (" or Client Secret." if self._settings.client_secret else "."),
                hint="Copy them again from TOMS; credentials generated there expire every year, and "
                "regenerating them makes the old ones stop working.",
                **common,
            )
        elif "invalid_grant" in codes:
            error = ImportAuthFailed(
                "The CERS token endpoint did not accept the user name and password.",
                hint="Check them (the password may have been reset, or the account locked).",
                **common,
            )
        else:
            error = ImportAuthFailed(
                "The CERS token endpoint did not give us an access token.",
                hint="Check the Token URL and the credentials of the CERS import connection.",
                **common,
            )
        return TokenUnavailable(error, transient=False)

    def _accept(self, response: httpx.Response) -> None:
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            body = None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise TokenUnavailable(
                ImportRequestFailed(
                    "The CERS Token URL answered, but not with an access token.",
                    endpoint="the token endpoint",
                    status=response.status_code,
                    hint="Check the Token URL: it should be the OAuth 2 token endpoint of the CERS import service.",
                ),
                transient=False,
            )
        assert isinstance(body, dict)
        try:
            lifetime = float(body.get("expires_in") or _DEFAULT_LIFETIME_SECONDS)
        except (TypeError, ValueError):
            lifetime = _DEFAULT_LIFETIME_SECONDS
        self._token = token
        self._expires_at = time.monotonic() + max(0.0, lifetime - min(_EARLY_REFRESH_SECONDS, lifetime / 10))
        self.tokens_issued += 1

    async def _fetch(self) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for _ in range(2):
            self.sending = "token"
            response = yield self._token_request()
            await response.aread()
            if response.status_code == 200:
                self._accept(response)
                return
            refused = response.status_code == 401 or "invalid_client" in minor_codes(response)
            if refused and not self._credentials_in_body:
                self._credentials_in_body = True
                continue
            raise self._failure(response)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for attempt in range(2):
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token = None
                flow = self._fetch()
                token_request = await flow.__anext__()
                while True:
                    response = yield token_request
                    try:
                        token_request = await flow.asend(response)
                    except StopAsyncIteration:
                        break
            assert self._token is not None
            request.headers["Authorization"] = f"Bearer {self._token}"
            self.sending = "request"
            response = yield request
            if response.status_code != 401 or attempt == 1:
                return
            self._token = None  # refused: fetch a new one and send once more
