"""Every error a user of the app or the command line can meet.

Each error carries a message written for a district data analyst: what went wrong,
and what to try. Messages never hold a client secret, an access token or student data.

    CersError
    ├── SettingsError            a setting or a command-line option is not usable
    ├── RemoteServiceError       (the two below: which request failed, and what was said)
    ├── OneRosterError           talking to the district's OneRoster provider failed
    │   ├── ProviderUnreachable  no answer: DNS, refused connection, time-out
    │   ├── AuthenticationFailed wrong Client ID/Secret or Token URL (401, invalid_client)
    │   ├── PermissionDenied     the credential lacks a scope or a school (403)
    │   ├── NotFound             a wrong Base URL or an unknown record (404)
    │   ├── RateLimited          still 429 after waiting as long as allowed
    │   ├── ServerError          still 5xx after the retries
    │   └── BadResponse          an answer that is not OneRoster JSON
    ├── InvalidFile              a file given to us cannot be read at all
    │   └── InvalidBundle        a OneRoster CSV bundle with problems to fix first (``report`` lists them)
    └── UploadError              sending a group file to CERS's import service failed
        ├── UploadRefused        our validator rejects the file, so it was not sent
        ├── ImportUnreachable    no answer (DNS, refused connection, time-out) before the file was sent
        ├── ImportAuthFailed     the import credentials or the Token URL were not accepted
        ├── ImportPermissionDenied  the account may not write groups (403: GROUP_ADMIN needed)
        ├── ImportRequestFailed  any other refusal or failure (400, 404, 5xx after retries, not JSON)
        └── UploadOutcomeUnknown the file may have reached CERS: it was not sent again; check its status

An upload that CERS answers with ``BAD_DATA`` is not an error here: it is a result
(``cers_core.cers_import.ImportResult``) with CERS's messages mapped to groups and people.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cers_core.oneroster_csv.report import BundleReport

__all__ = [
    "AuthenticationFailed",
    "BadResponse",
    "CersError",
    "ImportAuthFailed",
    "ImportPermissionDenied",
    "ImportRequestFailed",
    "ImportUnreachable",
    "InvalidBundle",
    "InvalidFile",
    "NotFound",
    "OneRosterError",
    "PermissionDenied",
    "ProviderUnreachable",
    "RateLimited",
    "RemoteServiceError",
    "ServerError",
    "SettingsError",
    "UploadError",
    "UploadOutcomeUnknown",
    "UploadRefused",
]


class CersError(Exception):
    """Base of every error we raise on purpose; ``str(error)`` is fit to show to a user."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip())


class SettingsError(CersError):
    """A setting or option cannot be used; ``field`` names it so a form can show the message beside it."""

    def __init__(self, message: str, *, field: str = "", hint: str = "") -> None:
        self.field = field
        super().__init__(message, hint=hint)


class RemoteServiceError(CersError):
    """A request to a remote service failed for good (after any retries).

    ``endpoint`` is what was asked (never with a token), ``status`` the HTTP status when there
    was one, ``server_message`` what the service said about it, cut short.
    """

    _speaker = "server"  # how the message names the other side

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = None,
        server_message: str = "",
        hint: str = "",
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.server_message = server_message
        parts = [message]
        if endpoint:
            parts.append(f"(request: {endpoint}{f', HTTP {status}' if status else ''})")
        if server_message:
            parts.append(f"The {self._speaker} said: {server_message}")
        super().__init__(" ".join(parts), hint=hint)


class OneRosterError(RemoteServiceError):
    """A request to the district's OneRoster provider failed for good (after any retries)."""


class ProviderUnreachable(OneRosterError):
    """No usable answer at all: the host is unknown, refuses connections, or does not answer in time."""


class AuthenticationFailed(OneRosterError):
    """The token endpoint refused the Client ID/Secret, or the API refused a fresh token."""


class PermissionDenied(OneRosterError):
    """The credential works but may not read this (a missing scope, a school outside its reach)."""


class NotFound(OneRosterError):
    """The server has no such path or record: most often a wrong Base URL."""


class RateLimited(OneRosterError):
    """The server kept answering 429 for longer than we are allowed to wait."""


class ServerError(OneRosterError):
    """The server kept failing (5xx) through every retry."""


class BadResponse(OneRosterError):
    """The answer was not the OneRoster JSON we asked for (HTML, truncated, wrong shape)."""


class InvalidFile(CersError):
    """A file we were given cannot be opened or read at all."""


class InvalidBundle(InvalidFile):
    """A OneRoster CSV bundle that groups cannot be built from until it is fixed.

    ``report`` holds every problem found (file, line, column and what to do), warnings too;
    the message names the first error and how many there are (``headline`` says the latter alone,
    for a page or a terminal that lists the report below it).
    """

    def __init__(self, report: BundleReport) -> None:
        self.report = report
        errors = report.errors
        count = f"{report.error_count:,} problems" if report.error_count != 1 else "1 problem"
        first = f" The first: {errors[0]}" if errors else ""
        self.headline = f"The OneRoster CSV bundle cannot be used: {count} must be fixed first."
        super().__init__(
            f"{self.headline}{first}",
            hint="Fix them in the SIS or its export settings and export the bundle again; the report lists each "
            "with its file, line and column.",
        )


class UploadError(RemoteServiceError):
    """Sending a file to CERS's import service (the RDW import API) failed.

    ``endpoint`` is what was asked (never with a token), ``status`` the HTTP status when there
    was one, ``server_message`` what the service said, cut short; ``batch`` the batch name the
    file was (or would have been) sent under, so that the analyst can look it up in CERS.
    """

    _speaker = "service"

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = None,
        server_message: str = "",
        batch: str = "",
        hint: str = "",
    ) -> None:
        self.batch = batch
        super().__init__(message, endpoint=endpoint, status=status, server_message=server_message, hint=hint)


class UploadRefused(UploadError):
    """Our validator rejects the file (CERS would answer BAD_DATA, or it would damage data): not sent."""


class ImportUnreachable(UploadError):
    """The import service or its token endpoint gave no answer; the file was not sent."""


class ImportAuthFailed(UploadError):
    """The token endpoint refused the client id/secret or user name/password, or the service refused the token."""


class ImportPermissionDenied(UploadError):
    """The account is known but may not write groups (RDW needs GROUP_WRITE, given with GROUP_ADMIN)."""


class ImportRequestFailed(UploadError):
    """Any other refusal or failure: a wrong URL (404), a refused request (400), 5xx after the retries."""


class UploadOutcomeUnknown(UploadError):
    """The request broke after the file may have reached CERS; it was not sent again.

    The analyst must check the import status in CERS (by ``batch``) before sending the file again.
    """
