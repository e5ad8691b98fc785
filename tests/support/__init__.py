"""Helpers the tests share (fixtures are in ``tests/conftest.py``; helpers are imported from here).

- :mod:`tests.support.rosters`: hand-written rosters, as a provider sends them;
- :mod:`tests.support.app`: the app's store, connections and pages as a test opens them;
- :mod:`tests.support.store`: connections saved straight into a store, for the store's own tests;
- :mod:`tests.support.browser`: the app served by `streamlit run` for a browser test;
- ``context_reaching``: an export's context whose requests reach a demo provider, in process or not;
- ``http_client``: a synchronous client that reaches a demo provider, in process or not;
  ``asgi_client``: one that reaches any ASGI app in process.

The reference date is fixed so that every test sees the same school year (2026-27,
OneRoster ``schoolYear`` "2027") whatever day the suite runs.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from starlette.types import ASGIApp

from cers_core.export import ExportContext
from cers_core.http.retry import RetryPolicy
from cers_demo import DemoProvider

__all__ = ["DEMO_REFERENCE_DATE", "QUICK_RETRIES", "ROOT", "asgi_client", "context_reaching", "http_client"]

DEMO_REFERENCE_DATE = date(2026, 11, 28)
ROOT = Path(__file__).resolve().parents[2]
# The app waits up to minutes for a busy SIS; a test waits hundredths of a second.
QUICK_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02, max_total_wait=2.0)


def context_reaching(provider: DemoProvider, **fields: Any) -> ExportContext:
    """An ``ExportContext`` with ``fields`` whose requests reach ``provider``: through its in-process
    transport, or through the network to a ``DemoServer``'s port."""
    return ExportContext(transport=provider.transport(), **fields)


def http_client(provider: DemoProvider, **options: Any) -> httpx.Client:
    """A synchronous client (use it in a ``with``) that reaches ``provider``: in process through its app,
    or through a ``DemoServer``'s port."""
    if provider.transport() is None:
        return httpx.Client(verify=_tls(), **options)
    return asgi_client(provider.app, **options)


def asgi_client(app: ASGIApp, **options: Any) -> httpx.Client:
    """A synchronous client (use it in a ``with``) whose requests ``app`` answers in process."""
    return httpx.Client(transport=_InProcessTransport(app), **options)


class _InProcessTransport(httpx.BaseTransport):
    """httpx's ``ASGITransport`` (which is asynchronous only) for a synchronous client: each request on
    an event loop of its own. (Starlette's ``TestClient`` would do, but it now wants ``httpx2``.)"""

    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def answer() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=httpx.ByteStream(body),
                extensions=response.extensions,
            )

        return asyncio.run(answer())


@functools.cache
def _tls() -> ssl.SSLContext:
    # httpx builds one for every client otherwise (30 ms each), though a demo server speaks plain http.
    return ssl.create_default_context()
