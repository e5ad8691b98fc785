"""OAuth 2 on the demo provider: the token endpoint, the grants it made, and the bearer-token check.

Clients get tokens by RFC 6749 client credentials, authenticating by HTTP Basic (each part
form-encoded, as 2.3.1 says) or in the body, and may ask for some of their scopes. Each token
comes with an affinity cookie, which ``require_cookie`` makes data requests send back (like
Aeries behind its load balancer). The fault injector revokes a token to make it expire early.

Every token handed out is kept in ``issued_tokens``, so that tests can prove none of them leaks.

``create_provider_app`` (``routes.py``) mounts its token endpoint; ``DemoProvider``'s doctest gets a token from it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cers_demo.provider.imsx import Problem
from cers_demo.provider.options import ProviderOptions

__all__ = ["AFFINITY_COOKIE", "AccessTokens"]

AFFINITY_COOKIE = "ARRAffinity"


@dataclass(slots=True)
class _Grant:
    scopes: frozenset[str]
    expires_at: float
    cookie: str


class AccessTokens:
    """The tokens one provider issued: who may read what, until when."""

    def __init__(self, options: ProviderOptions) -> None:
        self.options = options
        self._grants: dict[str, _Grant] = {}
        self._lock = threading.Lock()
        self.issued_tokens: list[str] = []
        """Every access token handed out, in order."""

    async def token_endpoint(self, request: Request) -> Response:
        """RFC 6749 client credentials; the client may authenticate by Basic or in the body."""
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client = _basic_credentials(request.headers.get("authorization", ""))
        if client is None and "client_id" in form:
            client = (form["client_id"], form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            error = "unsupported_grant_type" if form.get("grant_type") else "invalid_request"
            return JSONResponse({"error": error}, status_code=400)
        if client is None or not (
            secrets.compare_digest(client[0], self.options.client_id)
            and secrets.compare_digest(client[1], self.options.client_secret)
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Unknown client or wrong client secret."},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="OneRoster"'},
            )
        requested = set(form.get("scope", "").split())
        granted = frozenset(requested & self.options.client_scopes) if requested else self.options.client_scopes
        if not granted:
            return JSONResponse(
                {"error": "invalid_scope", "error_description": "None of the requested scopes may be granted."},
                status_code=400,
            )
        token, cookie = secrets.token_urlsafe(32), secrets.token_hex(12)
        now = time.monotonic()
        with self._lock:
            self._grants = {t: g for t, g in self._grants.items() if g.expires_at > now}
            self._grants[token] = _Grant(granted, now + self.options.token_lifetime_seconds, cookie)
            self.issued_tokens.append(token)
        response = JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.options.token_lifetime_seconds,
                "scope": " ".join(sorted(granted)),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )
        response.set_cookie(AFFINITY_COOKIE, cookie, httponly=True)
        return response

    def revoke(self, token: str) -> None:
        """Forget a token (the ``expired-token`` fault): the client must get a new one."""
        with self._lock:
            self._grants.pop(token, None)

    def authorize(self, request: Request, accepted: frozenset[str]) -> None:
        """Pass if the bearer token is current and has one of the ``accepted`` scopes; else a ``Problem`` (401, 403)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            grant = self._grants.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant.expires_at <= time.monotonic():
            raise Problem(
                401,
                "unauthorisedrequest",
                "The access token is missing, unknown or expired.",
                headers={"WWW-Authenticate": 'Bearer realm="OneRoster", error="invalid_token"'},
            )
        if self.options.require_cookie and request.cookies.get(AFFINITY_COOKIE) != grant.cookie:
            raise Problem(
                401,
                "unauthorisedrequest",
                f"The {AFFINITY_COOKIE} cookie of the token response was not sent back.",
            )
        if not grant.scopes & accepted:
            raise Problem(403, "forbidden", f"This request needs one of the scopes: {' '.join(sorted(accepted))}.")


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, client_secret) from ``Authorization: Basic``; RFC 6749 2.3.1 form-encodes both."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (unquote(client_id.replace("+", " ")), unquote(client_secret.replace("+", " "))) if sep else None
