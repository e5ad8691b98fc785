"""Faults that need the request's real TCP connection: resetting it, or holding it past a read time-out.

Both demo services (the OneRoster provider's fault injector and the fake CERS import service)
reset connections to test what clients do when a proxy or a load balancer drops them. ASGI
has no message for "reset the connection", so this reaches for the transport of uvicorn's
request cycle, whose bound method ``receive`` is. An app called in process (through
``httpx.ASGITransport``) has no connection: asking for one there is a ``RuntimeError``,
because the test would otherwise quietly test something else.

Example (in an ASGI app served by uvicorn)::

    await reset_connection(receive)  # the client sees a reset, and no answer
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any

from starlette.types import Receive

__all__ = ["require_connection", "reset_connection"]


def require_connection(receive: Receive) -> Any:
    """uvicorn's request cycle behind ``receive``; a ``RuntimeError`` when the app runs in process."""
    cycle = getattr(receive, "__self__", None)
    if getattr(cycle, "transport", None) is None:
        raise RuntimeError(
            "Connection faults (reset, cut-off, hang) need a real connection: serve the app on a port "
            "(DemoServer, FakeImportServer), not in process."
        )
    return cycle


async def reset_connection(receive: Receive) -> None:
    """Reset the TCP connection of this request (an RST, no answer), and return once uvicorn has noticed.

    SO_LINGER 0 makes the close an RST, as a crashed proxy or a load balancer's idle reaper would send.
    """
    cycle = require_connection(receive)
    sock = cycle.transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # the client may have gone already
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    cycle.transport.abort()
    # uvicorn notices the reset on its next loop turn; returning before would make it answer 500.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0)
