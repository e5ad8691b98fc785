"""Who may open the app, and as what: sign-in settings, the allow-list, the two roles.

The app holds saved credentials and shows student data, so every page asks first who is there
(:mod:`cers_app.sign_in` asks; this module decides, without Streamlit, so each rule is tested
with plain pytest):

- **with sign-in** (``[auth]`` in ``.streamlit/secrets.toml``, Streamlit's OpenID Connect
  ``st.login``): the signed-in e-mail address gets the role the allow-list gives it
  (``[cers.access]``, an :class:`AccessList`), else no entry;
- **without sign-in**, the app is one person's tool on one computer only when it listens on
  loopback and the browser reached it by a loopback name, not through a proxy
  (:func:`reachable_from_elsewhere`): then whoever opens it is an administrator. Anywhere
  else it shows nothing but how to set up sign-in.

Two roles: an *analyst* previews and downloads section groups and checks files; an
*administrator* does that too, and manages applications, connections and their secrets, and
sends files to CERS.

Example::

    >>> access = AccessList(administrators=["it@district.org"], analysts=["@district.org"])
    >>> [access.role_of(e) for e in ("IT@District.org", "teacher@district.org", "x@other.org")]
    [<Role.administrator: 'administrator'>, <Role.analyst: 'analyst'>, None]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from cers_core.errors import SettingsError
from cers_core.settings import is_loopback_host

__all__ = [
    "NO_SIGN_IN",
    "AccessList",
    "Role",
    "SignIn",
    "Visitor",
    "reachable_from_elsewhere",
    "read_sign_in",
    "signed_in_email",
]

NO_SIGN_IN = "this computer (no sign-in)"
"""Who the download log names when the app runs without sign-in on one computer."""

# A domain as e-mail addresses write it (internationalized ones in their xn-- form).
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
# Headers a reverse proxy adds: a request that has one came from elsewhere, whatever the socket says.
_PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")
_MIN_COOKIE_SECRET = 32
_SECRETS_FILE = ".streamlit/secrets.toml"


class Role(StrEnum):
    """What a person may do; an administrator may do all an analyst may."""

    analyst = "analyst"
    administrator = "administrator"

    def allows(self, needed: Role) -> bool:
        """Whether this role may do what ``needed`` may.

        >>> Role.administrator.allows(Role.analyst), Role.analyst.allows(Role.administrator)
        (True, False)
        """
        return self is Role.administrator or needed is Role.analyst


@dataclass(frozen=True, slots=True)
class Visitor:
    """The person using this browser session: their role, and their e-mail address when signed in."""

    role: Role
    email: str | None = None
    """The signed-in address; None without sign-in (the app on one computer)."""

    @property
    def who(self) -> str:
        """How the download log names them."""
        return self.email or NO_SIGN_IN

    def may(self, needed: Role) -> bool:
        """Whether they may do what ``needed`` may."""
        return self.role.allows(needed)


def _entry(raw: object) -> str:
    """An allow-list entry, lower-cased: ``name@domain`` (one address) or ``@domain`` (everyone there)."""
    if not isinstance(raw, str):
        raise ValueError(f"{raw!r} is not text: write each address or domain in quotes")
    text = raw.strip().lower()
    local, at, domain = text.rpartition("@")
    if "*" in text:
        raise ValueError(f"“{raw}”: wildcards are not needed; write @district.org for everyone at a domain")
    if not at:
        hint = f"; for everyone at {text}, write @{text}" if _DOMAIN.fullmatch(text) else ""
        raise ValueError(f"“{raw}” is neither an address (it@district.org) nor a domain (@district.org){hint}")
    if not _DOMAIN.fullmatch(domain) or any(c.isspace() or c in "@,;<>" for c in local):
        raise ValueError(f"“{raw}” is neither an address (it@district.org) nor a domain (@district.org)")
    return text


def _domain_of(email: str) -> str:
    return "@" + email.rpartition("@")[2]


class AccessList(BaseModel):
    """``[cers.access]`` in ``.streamlit/secrets.toml``: who may sign in, and as what.

    Each entry is one address (``"it@district.org"``) or everyone at a domain
    (``"@district.org"``; not its subdomains). Case is ignored. Someone listed in both lists
    is an administrator; someone in neither is turned away.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    administrators: tuple[str, ...] = ()
    """May do everything: applications, connections and their secrets, sending to CERS; and all an analyst does."""
    analysts: tuple[str, ...] = ()
    """May preview and download section groups and check files; not see or change connections, nor send to CERS."""

    @field_validator("administrators", "analysts", mode="before")
    @classmethod
    def _entries(cls, value: object) -> object:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list | tuple):
            raise ValueError('write a list in brackets, e.g. ["it@district.org", "@district.org"]')
        return tuple(_entry(item) for item in values)

    @model_validator(mode="after")
    def _someone(self) -> AccessList:
        if not self.administrators and not self.analysts:
            raise ValueError("it lists nobody, so nobody could sign in: add administrators and analysts")
        return self

    def role_of(self, email: str) -> Role | None:
        """The role the list gives ``email``, or None when it is not on the list."""
        email = email.strip().lower()
        for role, entries in ((Role.administrator, self.administrators), (Role.analyst, self.analysts)):
            if email in entries or _domain_of(email) in entries:
                return role
        return None


@dataclass(frozen=True, slots=True)
class SignIn:
    """Sign-in as configured: the providers ``st.login`` may use, and who may sign in as what."""

    providers: tuple[str, ...]
    """``"default"`` for the provider given in ``[auth]`` itself, else the names of ``[auth.NAME]``."""
    access: AccessList


def read_sign_in(secrets: Mapping[str, Any]) -> SignIn | None:
    """Sign-in as ``secrets`` (the parsed ``.streamlit/secrets.toml``) configure it; None when it is not.

    ``[auth]`` is what Streamlit's ``st.login`` reads; it is checked here so that a mistake is a
    message saying what to fix, not Streamlit's error at the moment someone signs in. Raises
    ``SettingsError`` naming the setting.

    >>> read_sign_in({"cers": {"secret_key": "…"}}) is None
    True
    """
    auth = secrets.get("auth")
    cers = secrets.get("cers")
    access = cers.get("access") if isinstance(cers, Mapping) else None
    if auth is None:
        if access is not None:
            raise SettingsError(
                "[cers.access] is set, but sign-in is not: without [auth], anyone who reaches the app would get in.",
                field="auth",
                hint='Add [auth] as README "Deploying" shows, or remove [cers.access].',
            )
        return None
    if not isinstance(auth, Mapping):
        raise _auth_error("[auth] must be a section of its own ([auth] on a line, then its settings)")
    providers = _providers(auth)
    if access is None:
        raise SettingsError(
            "Sign-in is set up ([auth]), but nobody is allowed in: [cers.access] is missing.",
            field="cers.access",
            hint=f'Add to {_SECRETS_FILE}: [cers.access] with administrators = ["it@district.org"] and '
            'analysts = ["@district.org"] (addresses, or @domain for everyone there).',
        )
    if not isinstance(access, Mapping):
        raise _access_error("it must be a section ([cers.access] on a line, then administrators and analysts)")
    try:
        return SignIn(providers=providers, access=AccessList.model_validate(dict(access)))
    except ValidationError as error:
        problem = error.errors(include_input=False)[0]
        where = ".".join(str(part) for part in problem["loc"][:1])
        message = str(problem["msg"]).removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "this setting is unknown; [cers.access] holds administrators and analysts only"
        raise _access_error(f"{where}: {message}" if where else message) from None


def _providers(auth: Mapping[str, Any]) -> tuple[str, ...]:
    """The providers ``[auth]`` configures, after checking every setting ``st.login`` needs."""
    redirect_uri = auth.get("redirect_uri")
    if not isinstance(redirect_uri, str) or not redirect_uri.strip():
        raise _auth_error("redirect_uri is missing: the app's address followed by /oauth2callback")
    if not redirect_uri.rstrip().endswith("/oauth2callback"):
        raise _auth_error(f"redirect_uri must end with /oauth2callback (it is {redirect_uri!r})")
    _check_address(redirect_uri.replace("{port}", "8501"), "redirect_uri")
    cookie_secret = auth.get("cookie_secret")
    if not isinstance(cookie_secret, str) or len(cookie_secret) < _MIN_COOKIE_SECRET:
        raise _auth_error(
            f"cookie_secret must be a random text of at least {_MIN_COOKIE_SECRET} characters (it signs who is "
            "signed in); make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    sections = {"default": auth} if any(key in auth for key in _PROVIDER_KEYS) else {}
    sections |= {name: value for name, value in auth.items() if isinstance(value, Mapping) and name != "client_kwargs"}
    if not sections:
        raise _auth_error("no identity provider: give client_id, client_secret and server_metadata_url")
    for name, section in sections.items():
        where = "" if name == "default" else f"[auth.{name}] "
        if "_" in name:
            raise _auth_error(f"[auth.{name}]: a provider's name may not contain '_'")
        missing = [key for key in _PROVIDER_KEYS if not isinstance(section.get(key), str) or not section[key].strip()]
        if missing:
            raise _auth_error(f"{where}{', '.join(missing)} missing (from the app's registration with the provider)")
        _check_address(section["server_metadata_url"], f"{where}server_metadata_url")
    return tuple(sections)


def _check_address(url: str, what: str) -> None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        raise _auth_error(f"{what} is not a valid web address") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _auth_error(f"{what} must be a full web address starting with https://")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise _auth_error(f"{what} must use https:// (plain http:// is allowed only for this computer)")


def _auth_error(problem: str) -> SettingsError:
    return SettingsError(
        f"Sign-in ([auth] in {_SECRETS_FILE}) cannot be used: {problem}.",
        field="auth",
        hint='See README "Deploying" and .streamlit/secrets.toml.example.',
    )


def _access_error(problem: str) -> SettingsError:
    return SettingsError(
        f"[cers.access] in {_SECRETS_FILE} cannot be used: {problem}.",
        field="cers.access",
        hint='Each entry is an address ("it@district.org") or a whole domain ("@district.org").',
    )


def signed_in_email(user: Mapping[str, Any]) -> str | None:
    """The e-mail address of a signed-in person (``st.user``'s claims), or None when the
    identity provider gave none, or said it is not verified.

    An unverified address could be anyone's, so it never matches the allow-list.

    >>> signed_in_email({"is_logged_in": True, "email": " IT@District.org", "email_verified": True})
    'it@district.org'
    >>> signed_in_email({"is_logged_in": True, "email": "it@district.org", "email_verified": False}) is None
    True
    """
    email = user.get("email")
    verified = user.get("email_verified", True)
    if not user.get("is_logged_in") or not isinstance(email, str) or "@" not in email:
        return None
    if verified is not True and str(verified).lower() != "true":  # some providers send "true"
        return None
    return email.strip().lower()


def reachable_from_elsewhere(listening: str | None, headers: Mapping[str, str]) -> str | None:
    """How others than someone at this computer can reach this browser session's server, or None
    when nobody else can: the server listens on loopback (``listening``, Streamlit's
    ``server.address``; unset means every interface), the browser named a loopback host (so no
    DNS rebinding), and no reverse proxy forwarded the request.

    >>> reachable_from_elsewhere("127.0.0.1", {"Host": "localhost:8501"}) is None
    True
    >>> reachable_from_elsewhere(None, {"Host": "localhost:8501"})
    'it listens on every network interface'
    >>> reachable_from_elsewhere("127.0.0.1", {"Host": "127.0.0.1:8501", "X-Forwarded-For": "10.1.2.3"})
    'it is reached through a proxy'
    """
    if not listening or listening in ("0.0.0.0", "::"):
        return "it listens on every network interface"
    if not is_loopback_host(listening):
        return f"it listens on {listening}"
    lowered = {name.lower(): value for name, value in headers.items()}
    if any(name in lowered for name in _PROXY_HEADERS):
        return "it is reached through a proxy"
    host = lowered.get("host")
    if host is None:  # a browser always sends Host (WebSockets need HTTP/1.1): this is a script run in a test
        return None
    try:
        hostname = urlsplit(f"//{host}").hostname
    except ValueError:
        hostname = None
    if hostname is None or not is_loopback_host(hostname):
        return "it is reached under a name other than localhost"
    return None
