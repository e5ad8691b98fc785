"""A small OpenID Connect provider, to try and test the app's sign-in: made-up people, no passwords.

The app signs people in with Streamlit's ``st.login``: the OpenID Connect authorization-code
flow, run by Authlib, as with Google Workspace or Microsoft Entra ID. This provider answers that
flow on this computer (OpenID Connect Core 1.0 and Discovery 1.0, RFC 6749, RFC 7636):

- ``GET /.well-known/openid-configuration``: the discovery document the app's
  ``server_metadata_url`` names;
- ``GET /authorize``: checks the client and where the browser is to be sent back, then shows a
  tiny page to pick a demo person or type any e-mail address (no password: it is a demo);
- ``POST /authorize``: gives a one-time code (valid a minute) and sends the browser back to the app;
- ``POST /token``: the code, with the client's secret (HTTP Basic or in the body) and the PKCE
  verifier when the app sent a challenge, for an access token and an ``id_token`` signed with
  RS256 (issuer, audience, expiry, nonce, e-mail, verified);
- ``GET /jwks``: the public key that verifies the ``id_token``; ``GET /userinfo``: the same claims.

An unknown client or a redirect URI it does not accept gets an error page, never a redirect
(RFC 6749 §4.1.2.1), so no code is ever sent anywhere else. By default it accepts any
``…/oauth2callback`` on this computer; ``redirect_uris`` names the only ones it accepts.

>>> with DemoOidcServer() as idp:
...     idp.metadata_url.endswith("/.well-known/openid-configuration")
...     idp.secrets_toml("http://localhost:8501/oauth2callback").splitlines()[0]
True
'[auth]'
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from cers_core.settings import is_loopback_host
from cers_demo.district import EMAIL_DOMAIN
from cers_demo.loopback import LoopbackServer

__all__ = ["DEMO_PEOPLE", "DemoOidcOptions", "DemoOidcProvider", "DemoOidcServer"]

DEMO_PEOPLE = (f"it@{EMAIL_DOMAIN}", f"analyst@{EMAIL_DOMAIN}", "visitor@elsewhere.example.com")
"""Who the sign-in page offers: the district's IT (an administrator in the README's example
``[cers.access]``), an analyst of the district, and someone from elsewhere (on no list)."""

_CODE_SECONDS = 60
_DISCOVERY = "/.well-known/openid-configuration"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_REQUEST_FIELDS = ("client_id", "redirect_uri", "state", "nonce", "scope", "code_challenge", "code_challenge_method")


class DemoOidcOptions(BaseModel):
    """The demo provider's one client (the app) and who may sign in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = "cers-app-demo"
    client_secret: str = "demo-oidc-secret-not-private"
    people: tuple[str, ...] = DEMO_PEOPLE
    """Offered as buttons on the sign-in page; any other address may be typed."""
    redirect_uris: tuple[str, ...] = ()
    """The only redirect URIs accepted; empty: any http(s) ``…/oauth2callback`` on this computer."""
    token_lifetime_seconds: int = 3600


@dataclass(frozen=True, slots=True)
class _Code:
    """What a one-time code stands for, until ``expires_at``."""

    redirect_uri: str
    email: str
    nonce: str | None
    code_challenge: str | None
    expires_at: float


class DemoOidcProvider:
    """The provider as a Starlette app (``app``), with what it handed out, for tests to look at."""

    def __init__(self, options: DemoOidcOptions | None = None) -> None:
        self.options = options or DemoOidcOptions()
        self.key = RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"})
        self.signed_in: list[str] = []
        """The e-mail address of every code exchanged for tokens, in order."""
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route(_DISCOVERY, self._discovery, methods=["GET"]),
                Route("/authorize", self._authorize_page, methods=["GET"]),
                Route("/authorize", self._authorize, methods=["POST"]),
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks", self._jwks, methods=["GET"]),
                Route("/userinfo", self._userinfo, methods=["GET"]),
            ]
        )

    # -- discovery and keys ------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        issuer = _issuer(request)
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "jwks_uri": f"{issuer}/jwks",
                "userinfo_endpoint": f"{issuer}/userinfo",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    # -- the browser's part: pick a person, get sent back with a code ----------------------------

    async def _authorize_page(self, request: Request) -> Response:
        asked = {name: request.query_params.get(name, "") for name in _REQUEST_FIELDS}
        refused = self._refuse_client(asked)
        if refused is not None:
            return refused
        if request.query_params.get("response_type") != "code":
            return _back_with_error(asked, "unsupported_response_type", "Only the authorization-code flow is offered.")
        if "openid" not in asked["scope"].split():
            return _back_with_error(asked, "invalid_scope", "The openid scope is required.")
        method, challenge = asked["code_challenge_method"], asked["code_challenge"]
        if (method or challenge) and (method, bool(challenge)) != ("S256", True):  # "plain" would defeat PKCE
            return _back_with_error(asked, "invalid_request", "PKCE: only S256, with a code_challenge.")
        return self._page(asked)

    async def _authorize(self, request: Request) -> Response:
        form = await request.form()
        asked = {name: str(form.get(name, "")) for name in _REQUEST_FIELDS}
        refused = self._refuse_client(asked)
        if refused is not None:
            return refused
        email = str(form.get("email", "")).strip().lower()
        if not _looks_like_email(email):
            return self._page(asked, problem="Type an e-mail address, like name@district.org.")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                redirect_uri=asked["redirect_uri"],
                email=email,
                nonce=asked["nonce"] or None,
                code_challenge=asked["code_challenge"] or None,
                expires_at=time.monotonic() + _CODE_SECONDS,
            )
        return _back(asked, {"code": code, "state": asked["state"]})

    def _refuse_client(self, asked: dict[str, str]) -> Response | None:
        """An error page for an unknown client or a redirect URI not accepted (never a redirect)."""
        if not secrets.compare_digest(asked["client_id"], self.options.client_id):
            return _error_page("This application is not known to the demo identity provider (check client_id).")
        if not self._accepts(asked["redirect_uri"]):
            return _error_page(
                "The app asked to be sent back to an address this provider does not accept "
                "(check redirect_uri in the app's [auth] settings)."
            )
        return None

    def _accepts(self, redirect_uri: str) -> bool:
        if self.options.redirect_uris:
            return redirect_uri in self.options.redirect_uris
        try:
            parts = urlsplit(redirect_uri)
        except ValueError:
            return False
        return (
            parts.scheme in ("http", "https")
            and parts.hostname is not None
            and is_loopback_host(parts.hostname)
            and parts.path.endswith("/oauth2callback")
            and not parts.fragment
        )

    def _page(self, asked: dict[str, str], *, problem: str = "") -> HTMLResponse:
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(value)}">' for name, value in asked.items()
        )
        people = "".join(
            f'<button name="email" value="{html.escape(person)}">{html.escape(person)}</button>'
            for person in self.options.people
        )
        warning = f'<p class="problem">{html.escape(problem)}</p>' if problem else ""
        body = (
            "<h1>Demo identity provider</h1>"
            "<p class='note'>Made-up people, no passwords: this stands in for your district's Google Workspace "
            "or Microsoft Entra ID sign-in. Which of them may use the app, and as what, the app's "
            f"[cers.access] says.</p>{warning}"
            f"<form method='post' action='authorize'>{hidden}{people}</form>"
            f"<form method='post' action='authorize'>{hidden}"
            "<label>Or any address <input type='email' name='email' placeholder='name@district.org' required>"
            "</label><button type='submit'>Sign in with this address</button></form>"
        )
        return HTMLResponse(
            _html("Demo sign-in", body),
            status_code=400 if problem else 200,
            headers={**_NO_STORE, "X-Frame-Options": "DENY"},
        )

    # -- the app's part: the code for tokens ---------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        client = _client_credentials(request.headers.get("authorization", ""), form)
        if client is None or not (
            secrets.compare_digest(client[0], self.options.client_id)
            and secrets.compare_digest(client[1], self.options.client_secret)
        ):
            return _token_error("invalid_client", "Unknown client or wrong client secret.", 401)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type", "Only authorization_code is offered.")
        with self._lock:
            granted = self._codes.pop(form.get("code", ""), None)  # a code works once
        if granted is None or granted.expires_at < time.monotonic():
            return _token_error("invalid_grant", "The code is unknown, used or expired.")
        if form.get("redirect_uri") != granted.redirect_uri:
            return _token_error("invalid_grant", "redirect_uri differs from the one the code was given for.")
        if granted.code_challenge is not None and _s256(form.get("code_verifier", "")) != granted.code_challenge:
            return _token_error("invalid_grant", "The PKCE code_verifier does not match the code_challenge.")
        now = int(time.time())
        person = {"sub": hashlib.sha256(granted.email.encode()).hexdigest()[:24], "email": granted.email,
                  "email_verified": True, "name": _name_of(granted.email)}  # fmt: skip
        claims = {"iss": _issuer(request), "aud": self.options.client_id, "iat": now, "auth_time": now,
                  "exp": now + self.options.token_lifetime_seconds, **person}  # fmt: skip
        if granted.nonce is not None:
            claims["nonce"] = granted.nonce
        access_token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[access_token] = person
            self.signed_in.append(granted.email)
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": self.options.token_lifetime_seconds,
                "scope": "openid email profile",
                "id_token": id_token,
            },
            headers=_NO_STORE,
        )

    async def _userinfo(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            person = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if person is None:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return JSONResponse(person, headers=_NO_STORE)


class DemoOidcServer(LoopbackServer):
    """The demo OpenID Connect provider on a loopback port, in a background thread (see
    ``cers_demo.loopback``); ``port=0`` takes a free one. Usable as a context manager."""

    name = "demo OpenID Connect provider"

    def __init__(self, options: DemoOidcOptions | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.provider = DemoOidcProvider(options)
        super().__init__(self.provider.app, host=host, port=port)

    @property
    def options(self) -> DemoOidcOptions:
        return self.provider.options

    @property
    def metadata_url(self) -> str:
        """The discovery document's address: the app's ``server_metadata_url``."""
        return self.origin + _DISCOVERY

    def _probe(self) -> tuple[str, dict[str, str]]:
        return _DISCOVERY, {}

    def connection_json(self) -> str:
        """Where the app finds it, as one JSON line (not secret: the demo's client is made up)."""
        return json.dumps(
            {
                "server_metadata_url": self.metadata_url,
                "client_id": self.options.client_id,
                "client_secret": self.options.client_secret,
            }
        )

    def secrets_toml(self, redirect_uri: str, *, cookie_secret: str | None = None) -> str:
        """``[auth]`` and an example ``[cers.access]`` for ``.streamlit/secrets.toml``, signing in here."""
        cookie_secret = cookie_secret or secrets.token_urlsafe(32)
        return (
            "[auth]\n"
            f"redirect_uri = {json.dumps(redirect_uri)}\n"
            f"cookie_secret = {json.dumps(cookie_secret)}\n"
            f"client_id = {json.dumps(self.options.client_id)}\n"
            f"client_secret = {json.dumps(self.options.client_secret)}\n"
            f"server_metadata_url = {json.dumps(self.metadata_url)}\n\n"
            "[cers.access]\n"
            f"administrators = [{json.dumps(DEMO_PEOPLE[0])}]\n"
            f"analysts = [{json.dumps('@' + EMAIL_DOMAIN)}]\n"
        )


def _issuer(request: Request) -> str:
    """This provider's issuer: its own origin, as the client reached it."""
    return str(request.base_url).rstrip("/")


def _back(asked: dict[str, str], parameters: dict[str, str]) -> Response:
    """Send the browser back to the app's redirect URI with ``parameters`` (checked by ``_refuse_client`` first)."""
    uri = asked["redirect_uri"]
    query = urlencode({key: value for key, value in parameters.items() if value})
    return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{query}", status_code=303, headers=_NO_STORE)


def _back_with_error(asked: dict[str, str], error: str, description: str) -> Response:
    return _back(asked, {"error": error, "error_description": description, "state": asked["state"]})


def _error_page(message: str) -> HTMLResponse:
    body = f"<h1>Sign-in refused</h1><p>{html.escape(message)}</p>"
    return HTMLResponse(_html("Sign-in refused", body), status_code=400, headers=_NO_STORE)


def _token_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = {**_NO_STORE, **({"WWW-Authenticate": 'Basic realm="demo-oidc"'} if status == 401 else {})}
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _client_credentials(authorization: str, form: dict[str, str]) -> tuple[str, str] | None:
    """(client_id, client_secret) from HTTP Basic (RFC 6749 §2.3.1: each part form-encoded) or the body."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, sep, client_secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except ValueError:  # not base64, or not UTF-8
            return None
        return (unquote_plus(client_id), unquote_plus(client_secret)) if sep else None
    if "client_id" in form:
        return form["client_id"], form.get("client_secret", "")
    return None


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()).rstrip(b"=").decode()


def _looks_like_email(email: str) -> bool:
    local, at, domain = email.rpartition("@")
    return bool(at and local and "." in domain.strip(".") and len(email) <= 254 and not any(c.isspace() for c in email))


def _name_of(email: str) -> str:
    """A display name made from the address: ``data.lead@…`` → ``Data Lead``."""
    return email.partition("@")[0].replace(".", " ").replace("_", " ").title()


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#262730}"
    "h1{font-size:1.4rem}form{margin:1rem 0}button{display:block;width:100%;margin:.4rem 0;padding:.6rem;"
    "font-size:1rem;border:1px solid #ccc;border-radius:.4rem;background:#fff;cursor:pointer;text-align:left}"
    "button:hover{border-color:#ff4b4b}input[type=email]{width:100%;padding:.6rem;font-size:1rem;box-sizing:"
    "border-box}.note{color:#6b6f76;font-size:.9rem}.problem{color:#c00}"
)


def _html(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )
