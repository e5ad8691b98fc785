"""Settings at the boundary: how to reach a OneRoster provider, and how to make groups.

These are pydantic models with ``extra="forbid"`` so that a typo in a stored setting or a
form is an error, not a silently ignored value. Each connection's settings come in two:
the public part (``OneRosterPublic``, ``CersImportPublic``), which is what a saved connection
carries and never holds a secret, and the full settings that add the secrets as
``SecretStr`` (masked in ``repr`` and JSON by construction). Where a secret box meets a
saved secret, ``resolve_secret`` is the one rule. ``fingerprint()`` deliberately leaves the
secret out, so it cannot tell an edited secret apart: caches of a saved connection are keyed
by its ``version`` (see ``cers_core.store``), which any save changes.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import PurePath
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

__all__ = [
    "DEFAULT_SCOPE",
    "DEFAULT_SSID_TYPES",
    "BundleSettings",
    "CersImportPublic",
    "CersImportSettings",
    "ClassTypes",
    "GroupNameField",
    "GroupOptions",
    "OneRosterPublic",
    "OneRosterSettings",
    "is_loopback_host",
    "moved_urls",
    "resolve_secret",
    "secret_moved_message",
    "url_origin",
]

DEFAULT_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
DEFAULT_SSID_TYPES: tuple[str, ...] = ("SSID", "CALPADS", "StateID", "State")
CDS_PATTERN = re.compile(r"^[0-9]{14}$")  # ASCII digits: \\d takes any script's
# Characters CERS's two parsers disagree on; never allowed in a group name (nor its separator).
NAME_FORBIDDEN_CHARS = frozenset(',"\\\t\r\n')
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class GroupNameField(StrEnum):
    """A field that can go into a group name, in the user's words (``Include in Group Name``)."""

    course_title = "course_title"
    course_code = "course_code"
    class_title = "class_title"
    class_code = "class_code"
    period = "period"
    term = "term"
    teacher = "teacher"
    teacher_full = "teacher_full"
    location = "location"
    school_name = "school_name"
    grades = "grades"
    subject = "subject"

    @property
    def label(self) -> str:
        """The label a person sees for the field."""
        return _FIELD_LABELS[self]

    @property
    def description(self) -> str:
        return _FIELD_DESCRIPTIONS[self]


_FIELD_LABELS = {
    GroupNameField.course_title: "Course title",
    GroupNameField.course_code: "Course code",
    GroupNameField.class_title: "Section title",
    GroupNameField.class_code: "Section code",
    GroupNameField.period: "Period",
    GroupNameField.term: "Term",
    GroupNameField.teacher: "Teacher (family name)",
    GroupNameField.teacher_full: "Teacher (full name)",
    GroupNameField.location: "Room",
    GroupNameField.school_name: "School name",
    GroupNameField.grades: "Grades",
    GroupNameField.subject: "Subject",
}
_FIELD_DESCRIPTIONS = {
    GroupNameField.course_title: "the title of the section's course",
    GroupNameField.course_code: "the code of the section's course",
    GroupNameField.class_title: "the section's own title",
    GroupNameField.class_code: "the section's code",
    GroupNameField.period: "the section's periods, e.g. 3 or 1/3",
    GroupNameField.term: "the titles of the section's terms",
    GroupNameField.teacher: "family name of the section's first primary teacher",
    GroupNameField.teacher_full: "given and family name of the section's first primary teacher",
    GroupNameField.location: "the section's room or location",
    GroupNameField.school_name: "the school's name",
    GroupNameField.grades: "the section's grades, e.g. 09/10",
    GroupNameField.subject: "the section's subjects, else its course's",
}
DEFAULT_FIELDS: tuple[GroupNameField, ...] = (
    GroupNameField.course_title,
    GroupNameField.teacher,
    GroupNameField.period,
)


class ClassTypes(StrEnum):
    """Which class types become groups; a missing or ``ext:`` class type counts as scheduled."""

    all = "all"
    scheduled = "scheduled"
    homeroom = "homeroom"


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` and ``::1`` count as loopback (where plain http is allowed)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Names of cloud metadata services (Google's; AWS's older one): no SIS or CERS service lives there.
_METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "instance-data.ec2.internal", "instance-data"}
)


def _nowhere_a_service_lives(host: str) -> bool:
    """A cloud metadata name, or an address no server is reached at (link-local, unspecified, multicast).

    Which private networks a deployment may reach is decided when connecting (``cers_core.http.network``);
    these are refused in the form already, for every deployment, since no roster service is ever there.
    """
    host = host.strip("[]").lower().rstrip(".")
    if host in _METADATA_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_link_local or address.is_unspecified or address.is_multicast


def _check_url(value: str, what: str, *, query_allowed: bool = True) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"Enter the {what}.")
    if _CONTROL_CHARS.search(value) or " " in value:
        raise ValueError(f"The {what} contains spaces or control characters; paste it again.")
    if len(value) > 2000:
        raise ValueError(f"The {what} is too long (over 2,000 characters).")
    try:
        parts = urlsplit(value)
        port = parts.port  # raises for a port that is not a number from 0 to 65535
    except ValueError:
        raise ValueError(f"The {what} is not a valid web address (check the host name and the port).") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            f"The {what} must be a full web address starting with https://, e.g. https://sis.example.org/..."
        )
    if port == 0:
        raise ValueError(f"The {what} has port 0; leave the port out, or give the right one.")
    # Bad input handling: a user name or password in the address would be sent, and logged, with
    # every request; a '#' cuts off what follows; a query string on the Base URL would swallow the
    # paths we add to it.
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            f"The {what} must not hold a user name or password (…@ before the host): put the Client ID "
            "and Client Secret in their own fields."
        )
    if "#" in value:
        raise ValueError(f"The {what} must not contain '#'.")
    if not query_allowed and "?" in value:
        raise ValueError(f"The {what} must not contain a query string ('?…'); use the address up to the version.")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"The {what} must use https:// (plain http:// is allowed only for this computer).")
    if _nowhere_a_service_lives(parts.hostname):
        raise ValueError(
            f"The {what} points at a cloud metadata or link-local address, where no SIS or CERS service is; "
            "enter the address your SIS documents."
        )
    return value


class OneRosterPublic(BaseModel):
    """How to reach a district's OneRoster 1.2 provider, all but the Client Secret: what a saved
    connection shows, and what a form or a cache may hold; ``OneRosterSettings`` adds the secret.

    >>> public = OneRosterPublic(
    ...     base_url="https://sis.example.org/campus/api/ims/oneroster/rostering/v1p2/",
    ...     token_url="https://sis.example.org/campus/oauth2/token?appName=district",
    ...     client_id="abc",
    ... )
    >>> public.base_url  # used as given, without a trailing slash
    'https://sis.example.org/campus/api/ims/oneroster/rostering/v1p2'
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    base_url: str
    """The API root exactly as the SIS gives it, vendor prefix included; used as is."""
    token_url: str
    """The OAuth 2 token endpoint; its query string (e.g. ``?appName=``) is kept."""
    client_id: Annotated[str, Field(min_length=1, max_length=500)]
    scope: Annotated[str, Field(max_length=2000)] = DEFAULT_SCOPE
    """Space-separated scopes; the default is the core read-only scope every 1.2 provider grants."""
    page_size: Annotated[int, Field(ge=1, le=100_000)] = 1000
    """Records asked for per page; servers may send fewer (we never rely on getting this many)."""
    max_concurrency: Annotated[int, Field(ge=1, le=16)] = 4
    """Requests in flight at once; many SIS vendors ask for at most 5, or 1 at peak hours."""

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return _check_url(value, "Base URL", query_allowed=False).rstrip("/")

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        return _check_url(value, "Token URL")

    @field_validator("client_id", "scope")
    @classmethod
    def _no_control_chars(cls, value: str) -> str:
        if _CONTROL_CHARS.search(value):
            raise ValueError("Remove the control characters (tabs, line breaks) from this field.")
        return value

    @property
    def token_host_differs(self) -> bool:
        """True when the token endpoint is on another host than the API (allowed, but worth showing)."""
        return urlsplit(self.token_url).hostname != urlsplit(self.base_url).hostname

    def fingerprint(self) -> str:
        """A hash of every setting except the secret, to key caches without ever holding the secret."""
        public = self.model_dump(include=set(OneRosterPublic.model_fields))
        return hashlib.sha256(repr(sorted(public.items())).encode()).hexdigest()[:16]


class OneRosterSettings(OneRosterPublic):
    """How to reach a district's OneRoster 1.2 provider (the "Edit OneRoster Connection" form).

    >>> settings = OneRosterSettings(
    ...     base_url="https://sis.example.org/campus/api/ims/oneroster/rostering/v1p2",
    ...     token_url="https://sis.example.org/campus/oauth2/token?appName=district",
    ...     client_id="abc",
    ...     client_secret="s3cret",
    ... )
    >>> settings.client_secret  # masked wherever the settings are shown
    SecretStr('**********')
    """

    client_secret: SecretStr

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if not raw.strip():
            raise ValueError("Enter the Client Secret.")
        if len(raw) > 2000:
            raise ValueError("The Client Secret is too long (over 2,000 characters).")
        if _CONTROL_CHARS.search(raw):
            raise ValueError("The Client Secret contains control characters; paste it again.")
        return value

    @property
    def public(self) -> OneRosterPublic:
        """These settings without the secret."""
        return OneRosterPublic.model_validate(self.model_dump(exclude={"client_secret"}))


class GroupOptions(BaseModel):
    """How sections become CERS groups: the "Include in Group Name" choice and the advanced rules.

    >>> GroupOptions(fields=["course_title", "period"], separator=" | ").fields
    (<GroupNameField.course_title: 'course_title'>, <GroupNameField.period: 'period'>)
    >>> GroupOptions(separator=", ")
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for GroupOptions
    ...
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    fields: tuple[GroupNameField, ...] = DEFAULT_FIELDS
    """Fields in the group name, in this order; empty values are skipped."""
    separator: Annotated[str, Field(min_length=1, max_length=20)] = " - "
    class_types: ClassTypes = ClassTypes.all
    primary_teachers_only: bool = False
    """Give CERS access only to each section's primary teachers."""
    subject_from_course: bool = False
    """Map sections to ``ELA``/``Math`` from their subjects (else ``All``) instead of ``All`` for every group."""
    ssid_types: tuple[str, ...] = DEFAULT_SSID_TYPES
    """``userIds`` types that hold the SSID, compared case-insensitively, first match in the record's order."""
    cds_map: dict[str, str] = Field(default_factory=dict)
    """School sourcedId -> 14-digit CDS code, for schools whose ``identifier`` is not a CDS code."""
    split_large: bool = False
    """Split sections over 200 students into ``<name> (1 of N)`` groups instead of reporting them."""

    @field_validator("fields")
    @classmethod
    def _fields(cls, value: tuple[GroupNameField, ...]) -> tuple[GroupNameField, ...]:
        if not value:
            raise ValueError("Choose at least one field for the group name.")
        if len(set(value)) != len(value):
            raise ValueError("Each group-name field can be chosen once.")
        return value

    @field_validator("separator")
    @classmethod
    def _separator(cls, value: str) -> str:
        bad = sorted(NAME_FORBIDDEN_CHARS.intersection(value))
        if bad:
            shown = ", ".join(repr(c) for c in bad)
            raise ValueError(f"The separator may not hold {shown}: CERS cannot read those in a group name.")
        # Bad input handling: CERS trims control characters and cannot store characters beyond
        # the Basic Multilingual Plane (emoji), so a separator must hold neither.
        if _CONTROL_CHARS.search(value) or any(ord(c) > 0xFFFF for c in value):
            raise ValueError("The separator may not hold control characters or emoji: CERS cannot store those.")
        return value

    @field_validator("ssid_types")
    @classmethod
    def _ssid_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(t.strip() for t in value if t.strip())
        if not cleaned:
            raise ValueError("List at least one userIds type that holds the SSID (e.g. SSID).")
        return cleaned

    @field_validator("cds_map")
    @classmethod
    def _cds_map(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for sourced_id, cds in value.items():
            sourced_id, cds = sourced_id.strip(), cds.strip()
            if not sourced_id:
                raise ValueError("A CDS mapping is missing the school's sourcedId.")
            if not CDS_PATTERN.match(cds) or cds.endswith("0000000"):
                raise ValueError(
                    f"{cds!r} (for school {sourced_id}) is not a school CDS code: "
                    "it must be 14 digits and not end in 0000000."
                )
            cleaned[sourced_id] = cds
        return cleaned


def _check_secret(raw: str, what: str) -> None:
    if len(raw) > 2000:
        raise ValueError(f"The {what} is too long (over 2,000 characters).")
    if _CONTROL_CHARS.search(raw):
        raise ValueError(f"The {what} contains control characters; paste it again.")


class BundleSettings(BaseModel):
    """Where a OneRoster CSV bundle connection finds its bundle: a folder or a ``.zip`` file on the
    server, which a nightly job refreshes (``path``), or nowhere (``None``): a person uploads the
    zip on the Section Groups page. A bundle holds no secret.

    Only the form of the path is checked here; whether the app may read it (inside
    ``CERS_BUNDLE_FOLDERS``), and whether it is there, is asked when it is set and when it is read
    (``cers_core.oneroster_csv.server_bundle``).

    >>> BundleSettings(path=" /srv/sis-exports/oneroster.zip ").path
    '/srv/sis-exports/oneroster.zip'
    >>> BundleSettings(path="").path is None
    True
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    path: str | None = None

    @field_validator("path", mode="before")
    @classmethod
    def _path(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = value.strip()
        if not value:
            return None
        if _CONTROL_CHARS.search(value) or len(value) > 4096:
            raise ValueError("The path has control characters or is too long; paste it again.")
        if not PurePath(value).is_absolute():
            raise ValueError("Give the full path on the server, starting with /, e.g. /srv/sis-exports/oneroster.zip.")
        return value


class CersImportPublic(BaseModel):
    """How to reach CERS's import service, the RDW import API, all but the secrets: what a saved
    "CERS import (RDW API)" connection shows. See ``CersImportSettings`` for the two grants.

    >>> CersImportPublic(
    ...     import_url="https://import.cers.example.org",
    ...     token_url="https://sso.cers.example.org/auth/oauth2/access_token?realm=/sbac",
    ...     client_id="rdw",
    ...     username="groups.admin@district.example.org",
    ... ).username
    'groups.admin@district.example.org'
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True)

    import_url: str
    """The import service's root: files go to ``{import_url}/groups/imports``."""
    token_url: str
    """The OAuth 2 token endpoint; its query string (e.g. ``?realm=/sbac``) is kept."""
    client_id: Annotated[str, Field(min_length=1, max_length=500)]
    username: Annotated[str, Field(max_length=500)] = ""
    """The CERS account for the password grant (blank: client credentials)."""
    scope: Annotated[str, Field(max_length=2000)] = ""
    """Space-separated scopes; most import services need none (Okta asks for ``openid profile``)."""

    @field_validator("import_url")
    @classmethod
    def _import_url(cls, value: str) -> str:
        return _check_url(value, "Import URL").rstrip("/")

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        return _check_url(value, "Token URL")

    @field_validator("client_id", "username", "scope")
    @classmethod
    def _no_control_chars(cls, value: str) -> str:
        if _CONTROL_CHARS.search(value):
            raise ValueError("Remove the control characters (tabs, line breaks) from this field.")
        return value

    @property
    def grant(self) -> str:
        """``password`` when a user name is given, else ``client_credentials``."""
        return "password" if self.username else "client_credentials"


class CersImportSettings(CersImportPublic):
    """How to reach CERS's import service, the RDW import API (the "CERS import (RDW API)" connection).

    Two ways to get a token, chosen by whether a user name is given:

    - **client credentials** (no ``username``): ``client_id`` and ``client_secret``, as the
      Client ID / Client Secret pairs that California's CAASPP configuration uses;
    - **password grant** (``username`` and ``password``): what RDW deployments document
      (OpenAM/Okta), with ``client_id`` and, when the token endpoint wants one, ``client_secret``.

    Both secrets are ``SecretStr``; a blank one counts as not given.

    >>> CersImportSettings(
    ...     import_url="https://import.cers.example.org",
    ...     token_url="https://sso.cers.example.org/auth/oauth2/access_token?realm=/sbac",
    ...     client_id="rdw",
    ...     username="groups.admin@district.example.org",
    ...     password="…",
    ... ).grant
    'password'
    """

    client_secret: SecretStr | None = Field(default=None, validate_default=True)
    password: SecretStr | None = Field(default=None, validate_default=True)

    @field_validator("client_secret", "password", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if raw is None or (isinstance(raw, str) and not raw.strip()) else value

    @field_validator("client_secret")
    @classmethod
    def _client_secret(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if not info.data.get("username"):
                raise ValueError("Enter the Client Secret (or a user name and password for the password grant).")
            return None
        _check_secret(value.get_secret_value(), "Client Secret")
        return value

    @field_validator("password")
    @classmethod
    def _password(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is None:
            if info.data.get("username"):
                raise ValueError("Enter the password of this user name (or leave the user name blank).")
            return None
        if not info.data.get("username"):
            raise ValueError("A password needs a user name: enter it, or leave the password blank.")
        _check_secret(value.get_secret_value(), "password")
        return value

    @property
    def public(self) -> CersImportPublic:
        """These settings without the secrets."""
        return CersImportPublic.model_validate(self.model_dump(exclude={"client_secret", "password"}))


def url_origin(url: str) -> tuple[str, str, int | None]:
    """Where a URL's requests go: scheme, host (lower case) and port (the scheme's default when none).

    >>> url_origin("https://SIS.example.org/v1p2?x=1") == url_origin("https://sis.example.org:443/token")
    True
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ("", url.strip(), None)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def moved_urls(urls: Mapping[str, str], saved: Mapping[str, str]) -> list[str]:
    """The names of the URLs (``{"Token URL": …}``) whose origin is not the saved one's.

    >>> moved_urls({"Base URL": "https://sis.example.org/v2", "Token URL": "https://evil.example/t"},
    ...            {"Base URL": "https://sis.example.org/v1", "Token URL": "https://sis.example.org/t"})
    ['Token URL']
    """
    return [name for name, url in urls.items() if url_origin(str(url or "")) != url_origin(str(saved.get(name, "")))]


def secret_moved_message(moved: list[str], secret: str) -> str:
    """Why a saved secret was not used: the URLs named in ``moved`` point to another server now.

    >>> print(secret_moved_message(["Token URL"], "Client Secret").split(":")[0])
    The Token URL points to another server than when the Client Secret was saved
    """
    verb = "points" if len(moved) == 1 else "point"
    return (
        f"The {' and the '.join(moved)} {verb} to another server than when the {secret} was saved: type the "
        f"{secret} again (a saved secret is sent only where it was saved for)."
    )


def resolve_secret(
    typed: str | None,
    saved: SecretStr | None,
    *,
    urls: Mapping[str, str] | None = None,
    saved_urls: Mapping[str, str] | None = None,
) -> SecretStr | None:
    """The secret a person means: the one typed, or, when the box was left blank, the saved one.

    The one rule wherever a secret box meets a saved secret. A form never shows a saved secret,
    so a blank box (spaces count as blank) means "keep it". ``saved`` is None for a new
    connection, and for a secret that no longer applies (the password of a CERS import
    connection whose user name was removed): then blank stays blank, for validation to judge.

    **A saved secret stays with its origin.** ``urls`` are the connection's URLs as typed and
    ``saved_urls`` as saved, by name: when any of them now points to another scheme, host or
    port, the saved secret is not used (it was given for those servers, and must not be sent to
    another one on a blank box's say-so): it must be typed again. See :func:`moved_urls`.

    >>> resolve_secret("  ", SecretStr("kept")).get_secret_value()
    'kept'
    >>> resolve_secret("new", SecretStr("kept")).get_secret_value()
    'new'
    >>> resolve_secret("", None) is None
    True
    >>> saved = {"Token URL": "https://sis.example.org/oauth/token"}
    >>> resolve_secret("", SecretStr("kept"), urls={"Token URL": "https://evil.example/token"},
    ...                saved_urls=saved) is None
    True
    >>> resolve_secret("", SecretStr("kept"), urls={"Token URL": "https://sis.example.org/oauth2/token"},
    ...                saved_urls=saved).get_secret_value()
    'kept'
    """
    if typed is not None and typed.strip():
        return SecretStr(typed)
    if saved is not None and moved_urls(urls or {}, saved_urls or {}):
        return None
    return saved
