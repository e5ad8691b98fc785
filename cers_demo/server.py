"""Run the demo OneRoster provider on a loopback port: embedded (``DemoServer``) or in the foreground (``serve``).

Tests and the Streamlit app embed a ``DemoServer``: uvicorn in a background thread on an
ephemeral port, so several can run in one process and each can be started and stopped
again. ``serve`` is what ``python -m cers_core demo-server`` runs. Tests that need no socket
use a ``DemoProvider`` (``cers_demo.provider.in_process``) instead.

uvicorn's access log stays off, and its log configuration is left alone (``log_config=None``):
an embedded server must not reconfigure the host application's logging, and request lines
could carry filter values, which may be student data.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from types import FrameType

import httpx

from cers_demo.district import DemoDistrict, Scale, generate_district
from cers_demo.loopback import LoopbackServer
from cers_demo.provider import DemoProvider, ProviderOptions
from cers_demo.provider.fault_injector import PROBE_HEADER

__all__ = ["DemoServer", "serve"]


class DemoServer(LoopbackServer, DemoProvider):
    """The demo provider served by uvicorn in a background thread (see ``cers_demo.loopback``).

    Everything a ``DemoProvider`` has (settings, request log, faults, issued tokens), reached
    over a real connection: for the faults that drop or hold one, read time-outs, and clients
    that open their own (the command line, the Streamlit app). Elsewhere ``DemoProvider`` is
    cheaper: no port, no thread, no start.

    >>> import httpx
    >>> with DemoServer(generate_district(), options=ProviderOptions(max_page_size=500)) as server:
    ...     answer = httpx.post(
    ...         server.token_url,
    ...         auth=(server.client_id, server.client_secret),
    ...         data={"grant_type": "client_credentials"},
    ...     )
    >>> answer.status_code, sorted(answer.json())
    (200, ['access_token', 'expires_in', 'scope', 'token_type'])

    ``port=0`` (the default) takes a free port; the bound one is in ``base_url`` once started.
    """

    name = "demo OneRoster server"

    def __init__(
        self,
        district: DemoDistrict | None = None,
        *,
        options: ProviderOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
    ) -> None:
        DemoProvider.__init__(self, district, options=options)
        LoopbackServer.__init__(self, self.app, host=host, port=port, startup_timeout=startup_timeout)

    # ``origin`` is the loopback server's: http://127.0.0.1:<port>, once started.

    def transport(self) -> httpx.AsyncBaseTransport | None:
        """None: a client's own network transport reaches this server, through its port."""
        return None

    # Unauthenticated, so the answer is a 401: all we want is an answer. The probe header
    # exempts it from faults, which would otherwise hang or reset it.
    def _probe(self) -> tuple[str, dict[str, str]]:
        return f"{self.options.base_path}/orgs", {PROBE_HEADER.decode(): "1"}

    def _ready(self) -> None:
        self.request_log.clear()


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    scale: Scale = "demo",
    seed: int = 7,
    options: ProviderOptions | None = None,
) -> None:
    """Serve a generated district in the foreground until Ctrl-C or SIGTERM.

    Once the server answers, the first line on stdout is one JSON object with
    ``base_url``, ``token_url``, ``client_id`` and ``client_secret``, so a script can read
    where to connect; what follows goes to stderr, for people.
    """
    started = time.monotonic()
    district = generate_district(scale=scale, seed=seed)
    with DemoServer(district, options=options, host=host, port=port) as server:
        connection = {
            "base_url": server.base_url,
            "token_url": server.token_url,
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        }
        print(json.dumps(connection), flush=True)
        counts = ", ".join(f"{count:,} {name}" for name, count in district.record_counts().items())
        changed = server.options.model_dump(exclude_defaults=True, mode="json")
        print(
            f"Demo OneRoster 1.2 provider for {district.name} (scale {scale}, seed {seed}, "
            f"school year {district.school_year}), ready in {time.monotonic() - started:.1f} s.\n"
            f"  {counts}\n"
            f"  Base URL:  {server.base_url}\n"
            f"  Token URL: {server.token_url}\n"
            + (f"  Misbehaving on purpose: {json.dumps(changed)}\n" if changed else "")
            + "Press Ctrl-C to stop.",
            file=sys.stderr,
            flush=True,
        )
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
    print("Demo OneRoster provider stopped.", file=sys.stderr, flush=True)
