"""Serving ``Faults``: the provider's fault injector, called by its request gate for every request.

The injector decides which requests a ``FaultRule`` picks (see ``cers_demo.faults`` for the
rules, and why the choice is a hash rather than a count) and answers them as a misbehaving SIS
would: an imsx body with 429 or 5xx, a proxy's HTML page, an answer cut short or emptied, a
revoked token, a reset connection or one held past the client's read time-out. The last three
(``CONNECTION_FAULTS``) need uvicorn's connection (``cers_demo.connection_faults``): in process
they raise a ``RuntimeError`` rather than quietly testing something else.

The request gate (``gate.py``) asks it first; ``tests/oneroster/test_faults.py`` shows every fault served.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cers_demo.connection_faults import require_connection, reset_connection
from cers_demo.faults import FaultKind, FaultRule, Faults
from cers_demo.provider.imsx import imsx_failure

__all__ = ["PROBE_HEADER", "CapturedAnswer", "FaultInjector"]

# The DemoServer's readiness check sends this header; it is never spoiled.
PROBE_HEADER = b"x-demo-readiness-probe"

_STATUS_OF = {
    FaultKind.too_many_requests: 429,
    FaultKind.internal_error: 500,
    FaultKind.bad_gateway: 502,
    FaultKind.unavailable: 503,
    FaultKind.gateway_timeout: 504,
}


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


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


class CapturedAnswer:
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
            await reset_connection(receive)
            return True
        if kind is FaultKind.hang:
            require_connection(receive)  # in process no read time-out runs out: a hang would only be slow
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
        captured = CapturedAnswer()
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
            await reset_connection(receive)
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


def _answered_no_sooner(send: Send, deadline: float) -> Send:
    """``send``, holding the start of the answer until ``deadline`` (``time.monotonic``)."""

    async def held(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        await send(message)

    return held
