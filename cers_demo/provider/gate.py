"""The gate every request to the demo provider passes: it counts requests for tests and lets faults in.

``RequestGate`` is the outermost ASGI middleware of the provider's app: each request goes to
the ``HostileAnswers`` (the hostile modes), then to the ``FaultInjector``, which spoils it or
passes it on to the routes, and its path and final
status are written to the ``RequestLog`` (``app.state.request_log``), from which tests read
how a client behaved: how many pages it asked for, how often it retried.

>>> log = RequestLog("/ims/oneroster/rostering/v1p2")
>>> log.record("/ims/oneroster/rostering/v1p2/classes", 503)
>>> log.count("/classes", status=503), log.count("/classes", status=200)
(1, 0)
"""

from __future__ import annotations

import threading
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cers_demo.provider.fault_injector import FaultInjector
from cers_demo.provider.hostile import HostileAnswers

__all__ = ["RequestGate", "RequestLog"]


class RequestLog:
    """How many requests each path received, so tests can check how a client behaved.

    Paths are as requested, e.g. ``/ims/oneroster/rostering/v1p2/classes``; ``count`` also
    takes a path relative to the service's base path (``"/classes"``). Query strings are
    not kept: they can hold filter values, and this log must never hold student data.
    """

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def record(self, path: str, status: int) -> None:
        with self._lock:
            self._counts[path] += 1
            self._statuses[path, status] += 1

    def count(self, path: str | None = None, *, status: int | None = None) -> int:
        """Requests to ``path`` (all paths if None), optionally only those answered with ``status``."""
        with self._lock:
            paths = list(self._counts) if path is None else [self._full(path)]
            if status is None:
                return sum(self._counts[p] for p in paths)
            return sum(self._statuses[p, status] for p in paths)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()

    def _full(self, path: str) -> str:
        return path if path in self._counts or path.startswith(self._base_path) else self._base_path + path


class RequestGate:
    """Outermost ASGI middleware: injects faults, and records each request's path and final status
    (status 0: the connection was dropped on purpose, without an answer)."""

    def __init__(self, app: ASGIApp, *, log: RequestLog, faults: FaultInjector, hostile: HostileAnswers) -> None:
        self.app = app
        self.log = log
        self.faults = faults
        self.hostile = hostile

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def send_and_note(message: Message) -> None:
            nonlocal recorded
            # Noted before the response leaves: a client that has its answer sees it counted.
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                self.log.record(scope["path"], message["status"])
            await send(message)

        dropped = False
        try:
            hostile = await self.hostile.serve(scope, receive, send_and_note, self.app)
            dropped = await self.faults.serve(scope, receive, send_and_note, self.app) if hostile is None else hostile
        finally:
            if not recorded:
                self.log.record(scope["path"], 0 if dropped else 500)
