"""The demo provider in this process: its app, the settings that reach it, and an ASGI transport to it.

Most tests of the engine only need answers from a OneRoster provider, not a socket: with
``DemoProvider`` the client's requests are calls into the Starlette app, through
``httpx.ASGITransport``, so no port, thread or server start is needed and each request is
cheaper. The app is the one ``DemoServer`` serves on a port (a ``DemoServer`` is a
``DemoProvider``), so the answers, the request log, the faults and the issued tokens are the same.

What only a port can give, a test must take from ``DemoServer``:

- the ``CONNECTION_FAULTS`` (reset, cut-off, hang): in process they raise ``RuntimeError``;
- time-outs: ``ASGITransport`` ignores httpx's, so nothing times out;
- a client that builds its own network client (the command line, the Streamlit app, a subprocess).

An exception in the app reaches the test as it is (``raise_app_exceptions``), where a served
provider would answer 500: a bug in the provider shows its own traceback.

>>> from datetime import date
>>> from cers_core import ExportContext, export_section_groups
>>> from cers_demo.district import generate_district
>>> day = date(2026, 11, 28)
>>> provider = DemoProvider(generate_district(reference_date=day), options=ProviderOptions(max_page_size=500))
>>> export = export_section_groups(
...     provider.settings(), schools=None, as_of=day, context=ExportContext(transport=provider.transport())
... )
>>> export.groups.height, provider.request_log.count("/classes")
(278, 1)
"""

from __future__ import annotations

from typing import Any

import httpx

from cers_core.settings import OneRosterSettings
from cers_demo.district import DemoDistrict, generate_district
from cers_demo.provider.fault_injector import FaultInjector
from cers_demo.provider.gate import RequestLog
from cers_demo.provider.options import ProviderOptions
from cers_demo.provider.routes import create_provider_app

__all__ = ["IN_PROCESS_ORIGIN", "DemoProvider"]

IN_PROCESS_ORIGIN = "http://demo-provider.localhost"
"""Where an in-process provider seems to be: a ``.localhost`` name (RFC 6761), which the settings
accept over plain http as this computer, and which no request ever resolves."""


class DemoProvider:
    """A demo provider, reached in process; ``DemoServer`` is the same served on a loopback port."""

    def __init__(self, district: DemoDistrict | None = None, *, options: ProviderOptions | None = None) -> None:
        self.district = district if district is not None else generate_district()
        self.options = options or ProviderOptions()
        self.app = create_provider_app(self.district, self.options)

    # -- addresses and credentials ---------------------------------------------------------

    @property
    def origin(self) -> str:
        """Scheme and host of the URLs that reach this provider."""
        return IN_PROCESS_ORIGIN

    @property
    def base_url(self) -> str:
        return self.origin + self.options.base_path

    @property
    def token_url(self) -> str:
        return self.origin + self.options.token_path

    @property
    def client_id(self) -> str:
        return self.options.client_id

    @property
    def client_secret(self) -> str:
        return self.options.client_secret

    def settings(self, **changes: Any) -> OneRosterSettings:
        """Settings that reach this provider, with any field changed (``page_size=200`` …)."""
        values = {
            "base_url": self.base_url,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        return OneRosterSettings(**(values | changes))

    def transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport a client needs to reach this provider: here an ``httpx.ASGITransport`` over the app.

        Give it to ``ExportContext(transport=…)`` or ``OneRosterClient(…, transport=…)``; a new one
        each call. (``DemoServer`` answers None: the client's own network transport reaches it.)
        """
        return httpx.ASGITransport(self.app)

    # -- what tests read ----------------------------------------------------------------------

    @property
    def request_log(self) -> RequestLog:
        log: RequestLog = self.app.state.request_log
        return log

    @property
    def faults(self) -> FaultInjector:
        """The fault injector: ``faults.injected`` counts the faults served, by kind."""
        injector: FaultInjector = self.app.state.faults
        return injector

    @property
    def issued_tokens(self) -> list[str]:
        """Every access token this provider handed out (for tests that prove none leaks)."""
        return list(self.app.state.issued_tokens)
