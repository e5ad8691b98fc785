"""Send a group file to CERS's import service (the RDW import API) and wait for CERS's verdict.

What :func:`upload_group_file` does (reference §4–§6, §10.12–15):

1. It checks the file with our validator first and refuses one it rejects
   (:class:`~cers_core.errors.UploadRefused`): CERS would answer ``BAD_DATA``, or the file
   would quietly damage data (a phantom student). Nothing is sent.
2. It posts the file as ``multipart/form-data`` (part ``file``) to ``{import_url}/groups/imports``
   under a **unique batch**: RDW names a multipart import's batch after the file name, so the
   file name sent is the batch, e.g. ``cers_section_groups_01612590130146_2026-11-28.20261128T101500Z-3fa9c1.csv``.
3. It reads the import resource from the 202 answer and polls ``GET {import_url}/groups/imports?batch=…``
   (which a GROUP_ADMIN account may read, unlike ``/imports/{id}``) until the status leaves
   ``ACCEPTED``, waiting longer between reads, for at most ``UploadContext.max_wait`` seconds.
   ``PROCESSED`` is success; ``BAD_DATA`` and the other failure statuses come back as an
   :class:`ImportResult` whose ``failures`` map CERS's ``Row: n Failure:`` lines to groups and people.

**A file is never sent twice without the analyst knowing.** The post is tried again only when
it surely did not reach the service: the connection was refused or could not be opened, or
the token request before it failed (a 401 from the service also gets one more try with a new
token, since the service answers 401 before reading anything). When the post broke after it
may have reached the service (a time-out waiting for the answer, a dropped connection, a 5xx
from a proxy), it is *not* sent again: the import is looked up by its batch; when found, the
upload carries on from there and says so; when not, :class:`~cers_core.errors.UploadOutcomeUnknown`
says to check the import status in CERS (by the batch it names) before sending again.

**The identical-file rule** (§5): CERS compares a file's MD5 with earlier imports; for the same
bytes it answers with the earlier import itself (its id and batch, not ours). When that import
was ``PROCESSED``, CERS does nothing more: the result says so (``already_processed``).

Status reads are safe to repeat and are retried on 429/5xx/time-outs with the backoff of
``cers_core.http.retry``; a status that cannot be read leaves the result unfinished
(``ACCEPTED``) with a note, never a second post. No message holds a secret or a token.

**Every wait is bounded** (the egress's ``Limits``, ``cers_core.http.egress``): the post, the
file's bytes and CERS's answer included, takes at most ``UploadContext.post_seconds`` however
slowly the answer trickles in; each status read at most ``attempt_seconds``, and with its
retries at most the retry policy's ``max_total_time``, and never past the end of ``max_wait``;
an answer larger than the cap, or JSON nested too deeply, is an error rather than a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Any, Final

import httpx
import polars as pl

from cers_core.cers_csv import validate_cers_csv
from cers_core.cers_import.errors import ImportTokenFaults
from cers_core.cers_import.failures import FAILURE_COLUMNS, map_failures
from cers_core.errors import (
    CersError,
    ImportAuthFailed,
    ImportPermissionDenied,
    ImportRequestFailed,
    ImportUnreachable,
    UploadError,
    UploadOutcomeUnknown,
    UploadRefused,
)
from cers_core.http.bounds import AnswerTooDeep, AnswerTooLarge, describe_size, load_json
from cers_core.http.egress import Egress, current_egress, open_client
from cers_core.http.error_bodies import describe_error_body, endpoint_of, hide_secrets
from cers_core.http.network import AddressRefused
from cers_core.http.oauth import ClientCredentials, Grant, PasswordGrant, TokenAuth
from cers_core.http.retry import RETRYABLE_STATUSES, RetryPolicy, TransientFailure, parse_retry_after
from cers_core.http.sync import run_sync
from cers_core.http.transport_words import transport_words
from cers_core.settings import CersImportSettings

__all__ = [
    "FAILURE_STATUSES",
    "ImportResult",
    "UploadContext",
    "batch_name",
    "check_import_connection",
    "upload_group_file",
]

FAILURE_STATUSES: Final = frozenset(
    {"BAD_DATA", "BAD_FORMAT", "INVALID", "UNAUTHORIZED", "UNKNOWN_ASMT", "UNKNOWN_SCHOOL", "PIPELINE_FAILURE"}
)
"""RDW's ``ImportStatus`` values that end an import without applying it (§4.3)."""
_CONNECT_ATTEMPTS: Final = 3
_LOOKUP_SECONDS: Final = 10.0
_MAX_POLL_INTERVAL: Final = 10.0
_SAFE_NAME: Final = re.compile(r"[^A-Za-z0-9._-]+")
_REFUSALS_SHOWN: Final = 3
# How long a token whose answer gives no expires_in is kept: a short guess costs one token
# request more, a long one a refused request (answered before the file is read) and a new token.
_DEFAULT_TOKEN_LIFETIME: Final = 300.0
_TOKEN_REQUEST: Final = "the token request"


@dataclass(frozen=True, slots=True)
class UploadContext:
    """What an upload needs besides the settings; all optional.

    ``retry`` paces the token request, status reads and refused connections (not the post
    itself); ``max_wait`` bounds the wait for CERS to leave ``ACCEPTED``; ``on_progress`` gets
    a short sentence at each step (for a spinner or the command line).
    """

    transport: httpx.AsyncBaseTransport | None = None
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5, max_total_wait=60.0))
    max_wait: float = 300.0
    poll_interval: float = 1.0
    send_timeout: float = 300.0
    """Seconds of silence allowed while waiting for the answer to the post: CERS validates the whole
    file before answering."""
    post_seconds: float = 900.0
    """The whole post at most: sending the file (a district's is over 100 MB) and CERS's whole answer."""
    on_progress: Callable[[str], None] | None = None
    egress: Egress | None = None
    """Where requests may go, their time-outs and the answer cap; None: the process's."""


@dataclass(frozen=True)
class ImportResult:
    """What CERS made of an upload.

    ``status`` is RDW's import status (``PROCESSED``, ``BAD_DATA``, still ``ACCEPTED`` when we
    stopped waiting…); ``message`` CERS's own text; ``failures`` that text mapped to the file
    (see ``cers_core.cers_import.failures``); ``batch`` the batch CERS lists the import under, which
    is an earlier one's when CERS matched an identical file (``already_processed`` when it did
    nothing more); ``recovered`` when the answer to the post was lost and the import was found
    by its batch; ``notes`` says, in plain words, everything else that happened.
    """

    status: str
    import_id: int | None
    batch: str
    sent_batch: str
    digest: str
    message: str
    created: str | None
    updated: str | None
    creator: str | None
    already_processed: bool
    recovered: bool
    failures: pl.DataFrame
    notes: tuple[str, ...]

    @property
    def succeeded(self) -> bool:
        return self.status == "PROCESSED"

    @property
    def finished(self) -> bool:
        """CERS has decided (the status has left ``ACCEPTED``)."""
        return self.status != "ACCEPTED"

    @property
    def rejected(self) -> bool:
        return self.finished and not self.succeeded

    def headline(self) -> str:
        """One sentence: what happened in CERS."""
        which = f"import {self.import_id}" if self.import_id is not None else "the import"
        if self.succeeded and self.already_processed:
            return (
                f"CERS had already processed an identical file ({which}, batch {self.batch}), so it did not "
                "process it again: nothing changed in CERS."
            )
        if self.succeeded:
            return (
                f"CERS processed the file ({which}): every group in it now has exactly these teachers and "
                "students. Teachers see the change within a few minutes."
            )
        if not self.finished:
            return (
                f"CERS accepted the file ({which}) but had not finished processing it when we stopped waiting. "
                f"Check its status in CERS later (batch {self.batch}); do not send it again meanwhile."
            )
        return f"CERS rejected the file ({which}, status {self.status}): nothing in it was applied."

    def to_text(self) -> str:
        """The result for the command line: the headline, the notes, CERS's report, the failures mapped."""
        lines = [self.headline(), *(f"Note: {note}" for note in self.notes)]
        if self.rejected and self.failures.height:
            lines += ["", "What CERS reported, and where it is in the file:"]
            for item in self.failures.head(100).iter_rows(named=True):
                where = f"Row {item['row']:,}: " if item["row"] is not None else ""
                lines.append(f"  - {where}{item['failure']}")
                lines.append(f"      in: {item['where']}")
                if item["fix"]:
                    lines.append(f"      Fix: {item['fix']}")
        elif self.message:
            lines += ["", "CERS said:", *(f"  {line}" for line in self.message.splitlines())]
        return "\n".join(lines)


def batch_name(file_name: str, *, now: datetime | None = None) -> str:
    """A batch no other upload has: the file's name, a UTC time stamp and a random part.

    It is also the name the file is sent under, since RDW takes a multipart file's batch
    from its name.
    """
    stem = _SAFE_NAME.sub("_", PurePath(file_name).stem).strip("._-")[:100] or "cers_groups"
    when = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{stem}.{when}-{secrets.token_hex(3)}.csv"


def upload_group_file(
    settings: CersImportSettings,
    csv_bytes: bytes,
    *,
    file_name: str,
    school_years: list[int] | None = None,
    schools: list[str] | None = None,
    context: UploadContext | None = None,
) -> ImportResult:
    """Send a group file to CERS and wait for its verdict; see the module docstring.

    ``school_years``/``schools``, when known, make our pre-check stricter, as CERS's tables do.
    Raises :class:`~cers_core.errors.UploadRefused` (our validator rejects the file; not sent),
    the other :class:`~cers_core.errors.UploadError` s for a service that cannot be reached or
    refuses the request, and :class:`~cers_core.errors.UploadOutcomeUnknown` when the file may
    have reached CERS but the import cannot be found.
    """
    context = context or UploadContext()
    report = validate_cers_csv(csv_bytes, school_years=school_years, schools=schools)
    if not report.accepted:
        reasons = list(dict.fromkeys(f"{finding.message}" for finding in report.errors))
        shown = "; ".join(reasons[:_REFUSALS_SHOWN]) + ("; …" if len(reasons) > _REFUSALS_SHOWN else "")
        raise UploadRefused(
            f"The file was not sent: CERS would reject it, or it would damage data in CERS ({shown}).",
            hint="Fix what the file check reports (the Check a CSV file page, or the validate command), then send it.",
        )
    return run_sync(_Upload(settings, context).run(csv_bytes, batch_name(file_name)))


def check_import_connection(settings: CersImportSettings, *, context: UploadContext | None = None) -> str:
    """Get a token and list the imports of a batch nobody uses: proves the URL, the credentials
    and the permission to write groups, without sending anything. Returns a sentence to show."""
    context = context or UploadContext(retry=RetryPolicy(max_attempts=2, base_delay=0.5, max_total_wait=3.0))

    async def work() -> str:
        upload = _Upload(settings, context)
        async with upload.client:
            await upload.read_batch(f"connection-test-{secrets.token_hex(4)}")
        return "Connected: CERS's import service accepted the credentials and lets this account write groups."

    return run_sync(work())


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest().upper()  # RDW's payload digest


class _OutcomeUnknown(Exception):
    """The post may have reached the service; ``reason`` says how it broke."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Upload:
    """One upload: its client, its notes, and the steps of the module docstring."""

    def __init__(self, settings: CersImportSettings, context: UploadContext) -> None:
        self.settings = settings
        self.context = context
        self.auth = TokenAuth(
            token_url=settings.token_url,
            grant=_grant(settings),
            faults=ImportTokenFaults(with_client_secret=settings.client_secret is not None),
            default_lifetime=_DEFAULT_TOKEN_LIFETIME,
        )
        egress = context.egress or current_egress()
        self.limits = egress.limits
        self.client = open_client(
            auth=self.auth,
            egress=egress,
            transport=context.transport,
            timeout=httpx.Timeout(
                egress.limits.silence_seconds, connect=egress.limits.connect_seconds, read=context.send_timeout
            ),
        )
        self.imports_url = f"{settings.import_url}/groups/imports"
        self.notes: list[str] = []
        self.rng = random.Random()

    def progress(self, text: str) -> None:
        if self.context.on_progress is not None:
            self.context.on_progress(text)

    def hide(self, text: str) -> str:
        return hide_secrets(text, self.auth.secrets)

    # -- the steps ------------------------------------------------------------------------------

    async def run(self, csv_bytes: bytes, batch: str) -> ImportResult:
        digest = _md5(csv_bytes)
        async with self.client:
            self.progress("Sending the file to CERS…")
            recovered = False
            try:
                resource = await self.post(csv_bytes, batch)
            except _OutcomeUnknown as unknown:
                self.progress("The answer was lost; looking the import up by its batch…")
                found = await self.lookup(batch, digest)
                if found is None:
                    raise UploadOutcomeUnknown(
                        f"The file may or may not have reached CERS ({unknown.reason}), and CERS lists no "
                        f"import with its batch {batch} yet. It was not sent again.",
                        batch=batch,
                        hint=f"Check the import status in CERS (batch {batch}) before sending the file again; "
                        "if CERS has it, sending it again is not needed.",
                    ) from None
                resource, recovered = found, True
                self.notes.append(
                    f"The connection broke after the file was sent ({unknown.reason}). CERS has it as import "
                    f"{resource.get('id')} (found by its batch), so it was not sent again."
                )
            already = self.note_identical(resource, batch, digest)
            if not already and resource.get("status") == "ACCEPTED":
                resource = await self.wait(resource)
        return self.result(resource, batch, digest, csv_bytes, already=already, recovered=recovered)

    async def post(self, csv_bytes: bytes, batch: str) -> dict[str, Any]:
        """Send the file; retry only what surely did not reach the service (see the module docstring)."""
        policy, waited, tries = self.context.retry, 0.0, 0
        while True:
            tries += 1
            try:
                async with asyncio.timeout(self.context.post_seconds):
                    response = await self.client.post(
                        self.imports_url, files={"file": (batch, csv_bytes, "text/csv")}, data={"batch": batch}
                    )
            except AddressRefused as refused:
                raise self.refused_address(refused) from None
            except (AnswerTooLarge, AnswerTooDeep) as unreadable:
                if self.auth.sending == "token":
                    raise self.unreadable(unreadable, _TOKEN_REQUEST) from None
                raise _OutcomeUnknown(f"an answer we could not read: {unreadable}") from None
            except TransientFailure as failed:  # of the token request: nothing was sent
                if tries >= policy.max_attempts:
                    raise failed.final from None
                waited = await self.pause(tries, failed.retry_after, waited, failed.final)
                continue
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                # Nothing left this computer: the connection was never made.
                if tries >= _CONNECT_ATTEMPTS:
                    raise self.unreachable(error) from None
                self.notes.append(
                    f"Could not connect to CERS ({_transport_reason(error, self.settings)}); tried again: "
                    "the file had not been sent."
                )
                waited = await self.pause(tries, None, waited, self.unreachable(error))
                continue
            except (httpx.TransportError, TimeoutError) as error:
                if self.auth.sending == "token":  # the token request broke: the file was not sent
                    if tries >= policy.max_attempts:
                        raise self.unreachable(error) from None
                    waited = await self.pause(tries, None, waited, self.unreachable(error))
                    continue
                raise _OutcomeUnknown(_transport_reason(error, self.settings)) from None
            status = response.status_code
            if status in (200, 201, 202):
                resource = _resource(response)
                if resource is None:
                    raise _OutcomeUnknown(f"HTTP {status} without an import resource")
                return resource
            if status == 429 and tries < policy.max_attempts:  # refused before it was read
                error = self.refused(response)
                waited = await self.pause(tries, parse_retry_after(response.headers.get("Retry-After")), waited, error)
                continue
            if status >= 500:
                raise _OutcomeUnknown(f"HTTP {status} from the service")
            raise self.refused(response)

    async def pause(self, tries: int, retry_after: float | None, waited: float, error: CersError) -> float:
        """Wait before another try within the policy's budget; raise ``error`` when it is spent."""
        delay = self.context.retry.delay(tries, retry_after, self.rng)
        if waited + delay > self.context.retry.max_total_wait:
            raise error
        await asyncio.sleep(delay)
        return waited + delay

    def note_identical(self, resource: dict[str, Any], batch: str, digest: str) -> bool:
        """Say what CERS did when it matched an earlier import of the same bytes; True when it did nothing."""
        theirs = resource.get("digest")
        if isinstance(theirs, str) and theirs.upper() != digest:
            self.notes.append(
                f"CERS computed another digest for the file ({theirs}) than we did ({digest}): "
                "the file may have been changed on the way. Check the groups in CERS."
            )
        if resource.get("batch") == batch:
            return False
        earlier = f"import {resource.get('id')}, batch {resource.get('batch')}"
        if resource.get("status") == "PROCESSED":
            self.notes.append(
                f"CERS matched this file to {earlier} (same bytes, processed {resource.get('updated', '?')}). "
                "CERS only processes new bytes: if groups were changed in CERS since then and this file should "
                "set them back, the file must differ."
            )
            return True
        self.notes.append(
            f"CERS recognised this file as identical to an earlier upload that was not processed ({earlier}) "
            "and handles it again under that import."
        )
        return False

    async def wait(self, resource: dict[str, Any]) -> dict[str, Any]:
        """Poll by batch until the status leaves ``ACCEPTED`` or the wait runs out."""
        batch = str(resource.get("batch") or "")
        deadline = time.monotonic() + self.context.max_wait
        interval = self.context.poll_interval
        while resource.get("status") == "ACCEPTED":
            if time.monotonic() + interval > deadline:
                self.notes.append(f"CERS was still processing the file after {self.context.max_wait:.0f} seconds.")
                break
            self.progress(f"CERS is processing the file (import {resource.get('id')})…")
            await asyncio.sleep(interval)
            interval = min(interval * 1.5, _MAX_POLL_INTERVAL)
            try:
                listed = await self.read_batch(batch, within=max(0.0, deadline - time.monotonic()))
            except UploadError as error:
                self.notes.append(f"The import's status could not be read ({error}); it was not sent again.")
                break
            resource = _pick(listed, resource.get("id")) or resource
        return resource

    async def lookup(self, batch: str, digest: str) -> dict[str, Any] | None:
        """The import of ``batch`` when the service lists it within a few seconds, else None."""
        deadline = time.monotonic() + min(_LOOKUP_SECONDS, self.context.max_wait)
        interval = 0.25
        while True:
            try:
                found = _pick(await self.read_batch(batch, within=max(0.0, deadline - time.monotonic())), None)
            except UploadError as error:
                self.notes.append(f"Looking the import up failed: {error}")
                return None
            if found is not None:
                return found
            if time.monotonic() + interval > deadline:
                return None
            await asyncio.sleep(interval)
            interval = min(interval * 2, 2.0)

    async def read_batch(self, batch: str, *, within: float | None = None) -> list[dict[str, Any]]:
        """``GET /groups/imports?batch=…``, retried on 429/5xx and broken connections within the policy,
        in ``within`` seconds at most (default: the policy's ``max_total_time``)."""
        policy, waited, tries, failures = self.context.retry, 0.0, 0, 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(policy.max_total_time, within if within is not None else policy.max_total_time)
        while True:
            tries += 1
            try:
                async with asyncio.timeout(min(self.limits.attempt_seconds, deadline - loop.time())):
                    response = await self.client.get(self.imports_url, params={"batch": batch})
            except AddressRefused as refused:
                raise self.refused_address(refused) from None
            except (AnswerTooLarge, AnswerTooDeep) as unreadable:
                raise self.unreadable(unreadable, "the status request") from None
            except TransientFailure as failed:  # of the token request: nothing was sent
                if tries >= policy.max_attempts or loop.time() >= deadline:
                    raise failed.final from None
                waited = await self.pause(tries, failed.retry_after, waited, failed.final)
                continue
            except (httpx.TransportError, TimeoutError) as error:
                if tries >= policy.max_attempts or loop.time() >= deadline:
                    raise self.unreachable(error) from None
                waited = await self.pause(tries, None, waited, self.unreachable(error))
                continue
            if response.status_code in RETRYABLE_STATUSES and tries < policy.max_attempts:
                failures += 1
                if failures == 1:
                    self.notes.append(
                        f"Reading the import status failed with HTTP {response.status_code}; it was read again "
                        "(reading is safe to repeat)."
                    )
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                waited = await self.pause(tries, retry_after, waited, self.refused(response))
                continue
            if response.status_code != 200:
                raise self.refused(response)
            try:
                body = load_json(response.content)
            except (ValueError, UnicodeDecodeError, AnswerTooDeep):
                body = None
            if isinstance(body, dict):  # a HAL collection instead of a plain list
                embedded = body.get("_embedded")
                body = next(iter(embedded.values()), None) if isinstance(embedded, dict) and embedded else None
            if not isinstance(body, list):
                raise ImportRequestFailed(
                    "CERS's import service answered the status request with something that is not a list of imports.",
                    endpoint=endpoint_of(response.request),
                    status=response.status_code,
                    server_message=describe_error_body(response, hide=self.auth.secrets),
                    hint="Check the Import URL of the CERS import connection.",
                )
            return [item for item in body if isinstance(item, dict)]

    # -- errors and the result ----------------------------------------------------------------

    def refused_address(self, refused: AddressRefused) -> ImportUnreachable:
        return ImportUnreachable(
            f"{refused} The file was not sent.",
            hint="Check the Import URL and Token URL. If CERS's service really is on this network, ask whoever "
            "runs this app to allow it in CERS_ALLOWED_NETWORKS.",
        )

    def unreadable(self, error: AnswerTooLarge | AnswerTooDeep, what: str) -> ImportRequestFailed:
        said = (
            f"an answer larger than {describe_size(error.limit)}"
            if isinstance(error, AnswerTooLarge)
            else "JSON nested too deeply to read"
        )
        return ImportRequestFailed(
            f"CERS's import service sent {said} to {what}; it was not read.",
            hint="Check the Import URL and Token URL of the CERS import connection.",
        )

    def unreachable(self, error: httpx.TransportError | TimeoutError) -> ImportUnreachable:
        host = httpx.URL(self.settings.import_url).host
        return ImportUnreachable(
            f"CERS's import service at {host} could not be reached ({_transport_reason(error, self.settings)}); "
            "the file was not sent.",
            hint="Check the Import URL and Token URL, and this computer's network; then try again.",
        )

    def refused(self, response: httpx.Response) -> UploadError:
        status = response.status_code
        common = {
            "endpoint": endpoint_of(response.request),
            "status": status,
            "server_message": self.hide(describe_error_body(response, hide=self.auth.secrets)),
        }
        if status == 401:
            return ImportAuthFailed(
                "CERS's import service did not accept our access token.",
                hint="Check the credentials and the Token URL of the CERS import connection.",
                **common,
            )
        if status == 403:
            return ImportPermissionDenied(
                "This CERS account may not upload student groups.",
                hint="Ask your CERS (TOMS) administrator for the GROUP_ADMIN role at your schools.",
                **common,
            )
        if status == 404:
            return ImportRequestFailed(
                "There is no CERS import service at the Import URL.",
                hint="Check the Import URL: files go to <Import URL>/groups/imports.",
                **common,
            )
        if status == 413:
            return ImportRequestFailed(
                "The file is too large for CERS's import service.",
                hint="Send it per school instead of the district file.",
                **common,
            )
        if status in RETRYABLE_STATUSES:
            return ImportRequestFailed("CERS's import service kept failing.", hint="Try again later.", **common)
        return ImportRequestFailed(
            "CERS's import service refused the request.",
            hint="Check the Import URL of the CERS import connection.",
            **common,
        )

    def result(
        self,
        resource: dict[str, Any],
        batch: str,
        digest: str,
        csv_bytes: bytes,
        *,
        already: bool,
        recovered: bool,
    ) -> ImportResult:
        status = str(resource.get("status") or "ACCEPTED").upper()
        message = str(resource.get("message") or "")
        failures = map_failures(message, csv_bytes) if status in FAILURE_STATUSES and message else None
        found_id = str(resource.get("id")) if isinstance(resource.get("id"), int | str) else ""
        return ImportResult(
            status=status,
            import_id=int(found_id) if found_id.isascii() and found_id.isdigit() else None,
            batch=str(resource.get("batch") or batch),
            sent_batch=batch,
            digest=digest,
            message=message,
            created=_text_or_none(resource.get("created")),
            updated=_text_or_none(resource.get("updated")),
            creator=_text_or_none(resource.get("creator")),
            already_processed=already,
            recovered=recovered,
            failures=failures if failures is not None else pl.DataFrame(schema=FAILURE_COLUMNS),
            notes=tuple(self.hide(note) for note in self.notes),
        )


def _grant(settings: CersImportSettings) -> Grant:
    """The grant the settings choose: the password grant when they hold a password (which
    they do exactly when a user name is given), else client credentials."""
    if settings.password is not None:
        return PasswordGrant(
            client_id=settings.client_id,
            username=settings.username,
            password=settings.password,
            client_secret=settings.client_secret,
            scope=settings.scope,
        )
    return ClientCredentials(client_id=settings.client_id, client_secret=settings.client_secret, scope=settings.scope)


def _resource(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = load_json(response.content)
    except (ValueError, UnicodeDecodeError, AnswerTooDeep):
        return None
    return body if isinstance(body, dict) and "status" in body else None


def _pick(listed: list[dict[str, Any]], import_id: object) -> dict[str, Any] | None:
    """The import with ``import_id`` among those listed, else the newest (highest id)."""
    for item in listed:
        if import_id is not None and item.get("id") == import_id:
            return item
    if import_id is not None or not listed:
        return None
    return max(listed, key=lambda item: item.get("id") if isinstance(item.get("id"), int) else -1)


def _text_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _transport_reason(error: httpx.TransportError | TimeoutError, settings: CersImportSettings) -> str:
    if isinstance(error, TimeoutError):  # our own deadline on one try, body included
        return "no complete answer in time"
    try:
        url = str(error.request.url)
    except RuntimeError:  # httpx raises when the error has no request attached
        url = settings.import_url
    return transport_words(error, url, urls={"Import URL": settings.import_url, "Token URL": settings.token_url})
