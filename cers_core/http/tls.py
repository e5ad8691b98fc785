"""The TLS settings of every client we open, made once per process.

httpx builds a fresh ``ssl.SSLContext`` for each client unless given one, and loading the
CA bundle into it takes tens of milliseconds: on every preview, every school's export and
every upload otherwise. Both clients pass :func:`tls_context` as ``verify=``::

    httpx.AsyncClient(verify=tls_context())
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["tls_context"]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """What httpx would make for a client (certificates verified against the system's CAs), made once."""
    return httpx.create_ssl_context()
