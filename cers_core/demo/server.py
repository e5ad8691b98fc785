"""Run the demo OneRoster provider on a loopback port: embedded (``DemoServer``) or in the foreground (``serve``).

Tests and the Streamlit app embed a ``DemoServer``: uvicorn in a background thread on an
ephemeral port, so several can run in one process and each can be started and stopped
again. ``serve`` is what ``python -m cers_core demo-server`` runs.

uvicorn's access log stays off, and its log configuration is left alone (``log_config=None``):
an embedded server must not reconfigure the host application's logging, and request lines
could carry filter values, which may be student data.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import signal
import sys
import threading
import time
from types import FrameType, TracebackType

import uvicorn

from cers_core.demo.district import DemoDistrict, Scale, generate_district
from cers_core.demo.faults import PROBE_HEADER, FaultInjector
from cers_core.demo.provider import ProviderOptions, RequestLog, create_provider_app

__all__ = ["DemoServer", "serve"]


class DemoServer:
    """The demo provider served by uvicorn in a background thread.

    Example::

        with DemoServer(generate_district(), options=ProviderOptions(max_page_size=500)) as server:
            httpx.post(server.token_url, auth=(server.client_id, server.client_secret),
                       data={"grant_type": "client_credentials"})

    ``port=0`` (the default) takes a free port; the bound one is in ``base_url`` once started.
    """

    def __init__(
        self,
        district: DemoDistrict | None = None,
        *,
        options: ProviderOptions | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
    ) -> None:
        self.district = district if district is not None else generate_district()
        self.options = options or ProviderOptions()
        self.app = create_provider_app(self.district, self.options)
        self._host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # -- addresses and credentials ---------------------------------------------------------

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``: how a client on this computer reaches the server."""
        if self._port is None:
            raise RuntimeError("The demo OneRoster server is not running; call start() first.")
        return f"http://{_client_host(self._host)}:{self._port}"

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
        """Every access token this server handed out (for tests that prove none leaks)."""
        return list(self.app.state.issued_tokens)

    @property
    def running(self) -> bool:
        return self._server is not None

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> DemoServer:
        """Start serving and return once the server answers HTTP; a no-op when already running."""
        if self._server is not None:
            return self
        config = uvicorn.Config(
            self.app,
            host=self._host,
            port=self._requested_port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="demo-oneroster-server", daemon=True)
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                raise RuntimeError(
                    f"The demo OneRoster server could not start on {self._host}:{self._requested_port}"
                    " (is the port in use?)."
                )
            time.sleep(0.01)
        self._server, self._thread = server, thread
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        self._wait_until_answering(deadline)
        return self

    def _wait_until_answering(self, deadline: float) -> None:
        # Plain http.client: an httpx client would build a TLS context (tens of ms) for nothing.
        host = _client_host(self._host).strip("[]")
        while True:
            connection = http.client.HTTPConnection(host, self._port, timeout=2.0)
            try:
                # Unauthenticated, so the answer is a 401: all we want is an answer. The probe
                # header exempts it from faults, which would otherwise hang or reset it.
                connection.request("GET", f"{self.options.base_path}/orgs", headers={PROBE_HEADER.decode(): "1"})
                connection.getresponse().read()
                self.request_log.clear()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("The demo OneRoster server started but does not answer.") from None
                time.sleep(0.02)
            finally:
                connection.close()

    def stop(self) -> None:
        """Stop serving (open connections get two seconds to finish); a no-op when stopped."""
        server, thread = self._server, self._thread
        self._server, self._thread, self._port = None, None, None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout=10)

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def _client_host(host: str) -> str:
    """The address a local client uses: a wildcard bind is reached on loopback; IPv6 goes in brackets."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"[{address}]" if address.version == 6 else str(address)


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
