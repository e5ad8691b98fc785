"""Faults the demo provider can inject, so that clients can be tested against a misbehaving SIS.

A district's OneRoster provider is a busy production system: it is slow, rate-limits,
fails with 5xx, drops connections, cuts answers short and lets tokens expire early. The
demo provider imitates all of that on request, deterministically, so that a test can say
exactly what happened and expect the same outcome on every run:

- ``latency_seconds``: every request is answered this long after it arrived, at the soonest
  (the provider's response time: its own work on the answer is part of it, as on a real SIS
  whose work runs while other answers are on their way);
- ``max_concurrent_requests``: requests beyond this many in flight are answered 429 at once;
- ``rules``: each ``FaultRule`` picks requests (by target path, one distinct request in
  ``every``, after the first ``after``) and spoils each picked request ``times`` times
  before answering it normally (``times=None``: it never clears).

"Distinct request" means method, path and query: a client that asks again for the same page
gets the same treatment, whatever the order in which concurrent requests arrive. Which
requests are picked is a hash of the request and ``seed``, so it does not depend on timing.

Paging and record-shape quirks (no ``X-Total-Count``, a changing total, overlapping pages,
dangling references …) are fields of ``ProviderOptions`` itself; ``add_fault_arguments``
gives every one of them, and these faults, a ``demo-server`` flag, and ``fault_options`` /
``provider_options`` turn the parsed flags back into options.

Example::

    ProviderOptions(faults=Faults(rules=[FaultRule(kind="503", every=3, times=2)], latency_seconds=0.01))
    # the same from the command line:
    #   python -m cers_core demo-server --fault 503,every=3,times=2 --latency 0.01
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import json
import math
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cers_core.errors import SettingsError

if TYPE_CHECKING:
    from cers_demo.provider import ProviderOptions

__all__ = [
    "FaultInjector",
    "FaultKind",
    "FaultRule",
    "Faults",
    "add_fault_arguments",
    "fault_options",
    "parse_fault_rule",
    "provider_options",
]

# The DemoServer's readiness check sends this header; it is never spoiled.
PROBE_HEADER = b"x-demo-readiness-probe"


class FaultKind(StrEnum):
    """What a picked request gets instead of its normal answer."""

    too_many_requests = "429"
    """429 with an imsx ``server_busy`` body (and ``Retry-After`` when the rule gives one)."""
    internal_error = "500"
    """500 with an imsx ``internal_server_error`` body."""
    bad_gateway = "502"
    """502 with a proxy's HTML page."""
    unavailable = "503"
    """503 with an imsx body (and ``Retry-After`` when the rule gives one)."""
    gateway_timeout = "504"
    """504 with a proxy's HTML page."""
    reset = "reset"
    """The connection is reset (TCP RST) before any answer."""
    hang = "hang"
    """No answer for ``Faults.hang_seconds`` (longer than the client's read time-out), then the normal one."""
    cut_off = "cut-off"
    """Status and headers of the normal answer, half its body, then the connection is reset."""
    truncated = "truncated"
    """200 with the JSON cut in half, as a complete HTTP message (Content-Length fits the cut body)."""
    html = "html"
    """200 with an HTML page instead of JSON (a proxy's maintenance page)."""
    empty_page = "empty-page"
    """A page of a collection comes back empty, with the usual headers (only collections are affected)."""
    expired_token = "expired-token"
    """401 as if the access token had expired early; the token is revoked (data requests only)."""


_STATUS_OF = {
    FaultKind.too_many_requests: 429,
    FaultKind.internal_error: 500,
    FaultKind.bad_gateway: 502,
    FaultKind.unavailable: 503,
    FaultKind.gateway_timeout: 504,
}
# Kinds that need the normal answer first (they spoil it rather than replace it).
_SPOILERS = frozenset({FaultKind.cut_off, FaultKind.truncated, FaultKind.empty_page})


class FaultRule(BaseModel):
    """Which requests to spoil, how, and for how long.

    Example: ``FaultRule(kind="503", target="/classes", every=3, times=2)`` answers one in
    three distinct ``/classes…`` requests 503 twice, then normally.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    target: str = "data"
    """``data`` (every request under the base path), ``token`` (the token endpoint), ``all``, or a
    path relative to the base path that request paths start with (``/classes``, ``/schools``)."""
    every: int = Field(default=1, ge=1)
    """One distinct request in ``every`` is picked (by a hash of method, path, query and the seed)."""
    times: int | None = Field(default=1, ge=1)
    """How many times a picked request is spoiled before it is answered normally; None: always."""
    after: int = Field(default=0, ge=0)
    """The first ``after`` requests that match ``target`` pass untouched (e.g. the first token)."""
    retry_after: float | None = Field(default=None, ge=0)
    """Seconds to send in ``Retry-After`` (429 and 503 only; rounded up to whole seconds)."""
    retry_after_date: bool = False
    """Send ``Retry-After`` as an HTTP-date (that many seconds ahead, rounded up) instead of seconds."""

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if value not in ("data", "token", "all") and not value.startswith("/"):
            raise ValueError("target is 'data', 'token', 'all' or a path starting with '/', e.g. /classes")
        return value


class Faults(BaseModel):
    """The faults a demo provider injects; the defaults inject none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[FaultRule, ...] = ()
    """Checked in order; a request gets the first rule that picks it."""
    latency_seconds: float = Field(default=0.0, ge=0, le=60)
    """Every request is answered this long after it arrived, at the soonest (its handling included)."""
    max_concurrent_requests: int | None = Field(default=None, ge=1)
    """Requests beyond this many in flight are answered 429 at once (without Retry-After)."""
    hang_seconds: float = Field(default=1.0, gt=0, le=300)
    """How long a ``hang`` lasts."""
    seed: int = 0
    """Changes which requests ``every`` picks."""

    @property
    def active(self) -> bool:
        return bool(self.rules) or self.latency_seconds > 0 or self.max_concurrent_requests is not None


def parse_fault_rule(text: str) -> FaultRule:
    """A rule from its command-line form ``KIND[,key=value…]``, e.g. ``503,every=3,times=2,target=/classes``.

    ``times=always`` makes a fault that never clears; ``retry_after=1`` sends ``Retry-After: 1``,
    ``retry_after_date=yes`` sends it as an HTTP-date.
    """
    kind, *options = [part.strip() for part in text.split(",")]
    values: dict[str, Any] = {"kind": kind}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise ValueError(f"{option!r}: write options as key=value, e.g. every=3")
        key = key.strip().replace("-", "_")
        if key == "times" and value in ("always", "forever"):
            values[key] = None
        elif key == "retry_after_date":
            values[key] = value.lower() in ("1", "yes", "true", "on")
        else:
            values[key] = value
    try:
        return FaultRule.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'rule'}: {e['msg']}" for e in error.errors())
        kinds = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"{text!r}: {problems} (kinds: {kinds})") from None


# ---------------------------------------------------------------------------------------
# Injecting them: called by the provider's request gate for every request.


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def imsx_failure(code_minor: str, description: str) -> dict[str, Any]:
    """A OneRoster ``imsx_StatusInfo`` failure body, as providers send with an error status."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code_minor}
            ]
        },
    }


def _imsx(code_minor: str, description: str) -> bytes:
    return json.dumps(imsx_failure(code_minor, description)).encode()


_IMSX_OF = {
    429: ("server_busy", "Too many requests; slow down."),
    500: ("internal_server_error", "Unexpected error while reading the rosters."),
    503: ("server_busy", "The service is temporarily unavailable; try again later."),
}
_PROXY_PAGE = (
    "<html><head><title>{status} {reason}</title></head><body><center><h1>{status} {reason}</h1></center>"
    "<hr><center>nginx</center></body></html>"
)
_MAINTENANCE_PAGE = (
    b"<!DOCTYPE html><html><head><title>Scheduled maintenance</title></head><body>"
    b"<h1>We'll be back soon</h1><p>The student information system is down for maintenance.</p></body></html>"
)


async def _answer(send: Send, status: int, body: bytes, content_type: str, headers: Iterable[tuple[str, str]] = ()):
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _drop_connection(receive: Receive) -> Any:
    """Reset the TCP connection of this request; returns the server's request cycle.

    ASGI has no message for "reset the connection", so this reaches for the transport of
    uvicorn's request cycle (``receive`` is its bound method). SO_LINGER 0 makes the close
    an RST, as a crashed proxy or a load balancer's idle reaper would send.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("Connection faults need a real connection: serve the provider with DemoServer.")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # the client may have gone already
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    return cycle


class _Captured:
    """A normal answer, held back so that a fault can spoil it."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    def headers_for(self, body_length: int) -> list[tuple[bytes, bytes]]:
        kept = [(k, v) for k, v in self.headers if k.lower() != b"content-length"]
        return [*kept, (b"content-length", str(body_length).encode())]

    async def replay(self, send: Send, body: bytes | None = None) -> None:
        body = bytes(self.body) if body is None else body
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers_for(len(body))})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _empty_page(body: bytes) -> bytes | None:
    """The same collection answer with no records; None when the answer is not a collection."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict) and len(document) == 1:
        ((envelope, records),) = document.items()
        if isinstance(records, list) and records:
            return json.dumps({envelope: []}).encode()
    return None


class FaultInjector:
    """Applies ``Faults`` to the requests of one provider; counts what it injected in ``injected``.

    ``revoke`` is called with the bearer token of a request answered ``expired-token``.
    """

    def __init__(
        self, faults: Faults, *, base_path: str, token_path: str, revoke: Callable[[str], None] | None = None
    ) -> None:
        self.faults = faults
        self._base_path = base_path
        self._token_path = token_path
        self._revoke = revoke
        self._in_flight = 0
        self._matched: Counter[int] = Counter()
        self._spoiled: Counter[tuple[int, str]] = Counter()
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        """How many requests got each fault (``"429"``, ``"reset"`` …; ``"busy"`` for the concurrency cap)."""

    def reconfigure(self, faults: Faults) -> None:
        """Inject ``faults`` from now on, counting afresh (lets tests reuse one running server)."""
        with self._lock:
            self.faults = faults
            self._matched.clear()
            self._spoiled.clear()
            self.injected.clear()

    # -- which rule, if any ------------------------------------------------------------------

    def _matches(self, rule: FaultRule, path: str) -> bool:
        is_token = path == self._token_path
        is_data = path == self._base_path or path.startswith(self._base_path + "/")
        if rule.target == "all":
            return True
        if rule.target == "token":
            return is_token
        if rule.target == "data":
            return is_data
        return path.startswith(self._base_path + rule.target)

    def _pick(self, scope: Scope) -> tuple[int, FaultRule, str] | None:
        path = scope["path"]
        query = "&".join(sorted(scope.get("query_string", b"").decode("latin-1").split("&")))
        key = f"{scope['method']} {path}?{query}"
        with self._lock:
            for index, rule in enumerate(self.faults.rules):
                if not self._matches(rule, path):
                    continue
                self._matched[index] += 1
                if self._matched[index] <= rule.after:
                    continue
                if zlib.crc32(f"{self.faults.seed}:{index}:{key}".encode()) % rule.every != 0:
                    continue
                if rule.times is not None and self._spoiled[index, key] >= rule.times:
                    continue
                if rule.kind is FaultKind.expired_token and path == self._token_path:
                    continue
                self._spoiled[index, key] += 1
                return index, rule, key
        return None

    def _unpick(self, index: int, key: str) -> None:
        with self._lock:
            self._spoiled[index, key] -= 1

    # -- serving -----------------------------------------------------------------------------

    async def serve(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        """Handle one HTTP request, spoiled or not; True when the connection was dropped on purpose."""
        if not self.faults.active or _header(scope, PROBE_HEADER) is not None:
            await app(scope, receive, send)
            return False
        cap = self.faults.max_concurrent_requests
        with self._lock:
            busy = cap is not None and self._in_flight >= cap
            if not busy:
                self._in_flight += 1
        if busy:
            self.injected["busy"] += 1
            body = _imsx("server_busy", "Too many concurrent requests from this client; slow down.")
            await _answer(send, 429, body, "application/json")
            return False
        try:
            if self.faults.latency_seconds:
                send = _answered_no_sooner(send, time.monotonic() + self.faults.latency_seconds)
            picked = self._pick(scope)
            if picked is None:
                await app(scope, receive, send)
                return False
            return await self._spoil(*picked, scope, receive, send, app)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _spoil(
        self, index: int, rule: FaultRule, key: str, scope: Scope, receive: Receive, send: Send, app: ASGIApp
    ) -> bool:
        kind = rule.kind
        if kind in _STATUS_OF:
            self.injected[kind.value] += 1
            await self._status(rule, send)
            return False
        if kind is FaultKind.reset:
            self.injected[kind.value] += 1
            await _wait_for_disconnect(_drop_connection(receive))
            return True
        if kind is FaultKind.hang:
            self.injected[kind.value] += 1
            await asyncio.sleep(self.faults.hang_seconds)
            await app(scope, receive, send)  # the client has most likely stopped listening
            return False
        if kind is FaultKind.html:
            self.injected[kind.value] += 1
            await _answer(send, 200, _MAINTENANCE_PAGE, "text/html; charset=utf-8")
            return False
        if kind is FaultKind.expired_token:
            self.injected[kind.value] += 1
            scheme, _, token = (_header(scope, b"authorization") or b"").decode("latin-1").partition(" ")
            if self._revoke is not None and scheme.lower() == "bearer" and token.strip():
                self._revoke(token.strip())
            body = _imsx("unauthorisedrequest", "The access token is missing, unknown or expired.")
            challenge = ("WWW-Authenticate", 'Bearer realm="OneRoster", error="invalid_token"')
            await _answer(send, 401, body, "application/json", [challenge])
            return False
        # The rest spoil the normal answer, and only a successful one.
        captured = _Captured()
        await app(scope, receive, captured.send)
        body = bytes(captured.body)
        spoiled = _empty_page(body) if kind is FaultKind.empty_page else body[: len(body) // 2]
        if captured.status != 200 or spoiled is None or not body:
            self._unpick(index, key)
            await captured.replay(send)
            return False
        self.injected[kind.value] += 1
        if kind is FaultKind.cut_off:
            await send({"type": "http.response.start", "status": 200, "headers": captured.headers_for(len(body))})
            await send({"type": "http.response.body", "body": spoiled, "more_body": True})
            await _wait_for_disconnect(_drop_connection(receive))
            return True
        await captured.replay(send, spoiled)
        return False

    async def _status(self, rule: FaultRule, send: Send) -> None:
        status = _STATUS_OF[rule.kind]
        headers: list[tuple[str, str]] = []
        if rule.retry_after is not None and status in (429, 503):
            seconds = math.ceil(rule.retry_after)
            if rule.retry_after_date:
                # Whole seconds, rounded up: the client must wait at least ``retry_after``.
                when = math.ceil(time.time() + rule.retry_after)
                headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
            else:
                headers.append(("Retry-After", str(seconds)))
        if status in _IMSX_OF:
            await _answer(send, status, _imsx(*_IMSX_OF[status]), "application/json", headers)
            return
        reason = "Bad Gateway" if status == 502 else "Gateway Time-out"
        await _answer(send, status, _PROXY_PAGE.format(status=status, reason=reason).encode(), "text/html", headers)


async def _wait_for_disconnect(cycle: Any) -> None:
    # uvicorn notices the reset on its next loop turn; returning before would make it answer 500.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)


# ---------------------------------------------------------------------------------------
# The demo-server command line.


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``demo-server`` flags that make the provider misbehave (see the README's table)."""
    faults = parser.add_argument_group("faults", "make the provider misbehave, to test clients against it")
    faults.add_argument(
        "--fault",
        action="append",
        default=[],
        type=_rule_argument,
        metavar="KIND[,key=value…]",
        help="spoil requests, e.g. 503,every=3,times=2 or reset,target=token,after=1 (repeatable); "
        f"kinds: {', '.join(k.value for k in FaultKind)}; keys: target, every, times, after, retry_after, "
        "retry_after_date",
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="which requests every=N picks (default 0)")
    faults.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="answer every request this long after it arrived, at the soonest",
    )
    faults.add_argument("--max-concurrent", type=int, metavar="N", help="answer 429 beyond N requests in flight")
    faults.add_argument("--hang-seconds", type=float, default=1.0, metavar="SECONDS", help="how long a hang lasts")
    faults.add_argument("--token-lifetime", type=int, metavar="SECONDS", help="expires_in of tokens (default 3600)")
    paging = parser.add_argument_group("paging quirks")
    paging.add_argument("--max-page-size", type=int, metavar="N", help="clamp limit to N (default 1000)")
    paging.add_argument("--no-total-count", action="store_true", help="send no X-Total-Count")
    paging.add_argument("--no-link", action="store_true", help="send no Link header")
    paging.add_argument("--total-drift", type=int, default=0, metavar="N", help="first pages' total is off by N")
    paging.add_argument("--overlapping-pages", action="store_true", help="each later page repeats one record")
    scope = parser.add_argument_group("scope and vendor quirks")
    scope.add_argument("--core-scope-only", action="store_true", help="grant roster-core.readonly only")
    scope.add_argument("--no-nested-routes", action="store_true", help="no /schools/{id}/… routes (404)")
    scope.add_argument("--no-filters", action="store_true", help="refuse every filter (400 invalid_filter_field)")
    scope.add_argument("--no-dotted-filters", action="store_true", help="refuse filters on school.sourcedId …")
    scope.add_argument("--require-cookie", action="store_true", help="refuse requests without the affinity cookie")
    for flag, field in _QUIRK_FLAGS.items():
        scope.add_argument(flag, action="store_true", help=_QUIRK_HELP[field])


_QUIRK_FLAGS = {
    "--json-booleans": "json_booleans",
    "--legacy-user-role": "legacy_user_role",
    "--null-identifiers": "null_identifiers",
    "--relative-hrefs": "relative_hrefs",
    "--ext-values": "ext_values",
    "--extra-fields": "extra_fields",
    "--dangling-references": "dangling_references",
}
_QUIRK_HELP = {
    "json_booleans": "enabledUser/primary as JSON booleans",
    "legacy_user_role": "1.1-style users (role, orgs)",
    "null_identifiers": "every identifier null",
    "relative_hrefs": "hrefs without scheme and host",
    "ext_values": "ext: vocabulary (ext:trimester, ext:coteacher)",
    "extra_fields": "unknown extra properties on every record",
    "dangling_references": "enrollments naming users and classes that do not exist",
}


def _rule_argument(text: str) -> FaultRule:
    try:
        return parse_fault_rule(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def fault_options(args: argparse.Namespace) -> dict[str, Any]:
    """``ProviderOptions`` keyword arguments from the flags of ``add_fault_arguments``."""
    from cers_demo.provider import ROSTER_CORE_SCOPE

    options: dict[str, Any] = {}
    faults = Faults(
        rules=tuple(args.fault),
        seed=args.fault_seed,
        latency_seconds=args.latency,
        max_concurrent_requests=args.max_concurrent,
        hang_seconds=args.hang_seconds,
    )
    if faults != Faults():
        options["faults"] = faults
    if args.token_lifetime is not None:
        options["token_lifetime_seconds"] = args.token_lifetime
    if args.max_page_size is not None:
        options["max_page_size"] = args.max_page_size
    if args.total_drift:
        options["total_drift"] = args.total_drift
    switches = {
        "total_count_header": not args.no_total_count,
        "link_header": not args.no_link,
        "nested_routes": not args.no_nested_routes,
        "dotted_filters": not args.no_dotted_filters,
        "overlapping_pages": args.overlapping_pages,
        "require_cookie": args.require_cookie,
    }
    options |= {name: value for name, value in switches.items() if value is not _DEFAULT_SWITCH[name]}
    if args.core_scope_only:
        options["client_scopes"] = frozenset({ROSTER_CORE_SCOPE})
    if args.no_filters:
        options["filter_fields"] = frozenset()
    options |= {field: True for flag, field in _QUIRK_FLAGS.items() if getattr(args, _dest(flag))}
    return options


def provider_options(args: argparse.Namespace) -> ProviderOptions:
    """The ``ProviderOptions`` the ``demo-server`` flags ask for; a ``SettingsError`` when they do not fit."""
    from cers_demo.provider import ProviderOptions

    try:
        return ProviderOptions(**fault_options(args))
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise SettingsError(f"The demo server options do not fit: {problems}.") from None


_DEFAULT_SWITCH = {
    "total_count_header": True,
    "link_header": True,
    "nested_routes": True,
    "dotted_filters": True,
    "overlapping_pages": False,
    "require_cookie": False,
}


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def _answered_no_sooner(send: Send, deadline: float) -> Send:
    """``send``, holding the start of the answer until ``deadline`` (``time.monotonic``)."""

    async def held(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        await send(message)

    return held
