"""An ASGI app served by uvicorn on a background thread, on this computer only.

The demo OneRoster provider and the fake CERS import service are both embedded this way, in
tests, in the Streamlit app and in the benchmarks: on an ephemeral port, so several can run in
one process, each can be started and stopped again, and ``start()`` returns only once the server
answers HTTP.

uvicorn's access log stays off, and its log configuration is left alone (``log_config=None``):
an embedded server must not reconfigure the host application's logging, and request lines
could carry filter values, which may be student data.
"""

from __future__ import annotations

import http.client
import ipaddress
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

__all__ = ["LoopbackServer", "client_host"]


def client_host(host: str) -> str:
    """The address a local client uses: a wildcard bind is reached on loopback; IPv6 goes in brackets."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    return f"[{address}]" if address.version == 6 else str(address)


class LoopbackServer:
    """Serve ``app`` in a background thread; subclasses say how to probe that it answers.

    ``port=0`` (the default) takes a free port; ``origin`` gives the bound one once started.
    """

    name = "server"
    """How messages and the thread name the server."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 15.0):
        self._app = app
        self._host = host
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``: how a client on this computer reaches the server."""
        if self._port is None:
            raise RuntimeError(f"The {self.name} is not running; call start() first.")
        return f"http://{client_host(self._host)}:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def _probe(self) -> tuple[str, dict[str, str]]:
        """The path and headers of a request whose answer (any answer) means the server is ready."""
        return "/", {}

    def _ready(self) -> None:
        """Called once the server has answered its probe."""

    def start(self) -> Self:
        """Start serving and return once the server answers HTTP; a no-op when already running."""
        if self._server is not None:
            return self
        config = uvicorn.Config(
            self._app,
            host=self._host,
            port=self._requested_port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=self.name.replace(" ", "-"), daemon=True)
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                raise RuntimeError(
                    f"The {self.name} could not start on {self._host}:{self._requested_port} (is the port in use?)."
                )
            time.sleep(0.01)
        self._server, self._thread = server, thread
        self._port = int(server.servers[0].sockets[0].getsockname()[1])
        self._wait_until_answering(deadline)
        return self

    def _wait_until_answering(self, deadline: float) -> None:
        # Plain http.client: an httpx client would build a TLS context (tens of ms) for nothing.
        host = client_host(self._host).strip("[]")
        path, headers = self._probe()
        while True:
            connection = http.client.HTTPConnection(host, self._port, timeout=2.0)
            try:
                connection.request("GET", path, headers=headers)
                connection.getresponse().read()
                self._ready()
                return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"The {self.name} started but does not answer.") from None
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

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
