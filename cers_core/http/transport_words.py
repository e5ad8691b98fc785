"""A connection that failed, in plain words: what happened at which address, and what to check.

Both clients (OneRoster, the CERS import service) say it this way, so that a wrong port reads
"nothing answered at 127.0.0.1:1234 — is the Base URL's port right?" rather than the name of
an exception class. What happened is found in the error's chain of causes: httpx wraps the
socket's own error (``ConnectionRefusedError``, ``socket.gaierror``, ``ssl.SSLError``).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping

import httpx

__all__ = ["transport_words"]


def transport_words(error: httpx.TransportError, url: str, *, urls: Mapping[str, str]) -> str:
    """What went wrong reaching ``url`` (the request's address), with the setting to check.

    ``urls`` names the settings a person typed (``{"Base URL": …, "Token URL": …}``); those on
    the same host and port as ``url`` are the ones named in the question.

    >>> refused = httpx.ConnectError("All connection attempts failed")
    >>> refused.__cause__ = ConnectionRefusedError(111, "Connect call failed")
    >>> transport_words(refused, "http://127.0.0.1:1234/v1p2/schools", urls={"Base URL": "http://127.0.0.1:1234/v1p2"})
    "nothing answered at 127.0.0.1:1234 — is the Base URL's port right?"
    >>> transport_words(httpx.ReadTimeout("timed out"), "https://sis.example.org/x", urls={})
    'sis.example.org did not answer in time'
    """
    where = httpx.URL(url)
    host, address = where.host, f"{where.host}:{where.port or _DEFAULT_PORTS.get(where.scheme, '')}"
    named = _names_for(where, urls)
    cause = _cause(error)
    if isinstance(error, httpx.ConnectTimeout):
        return f"{address} did not accept a connection in time{_check(named, 'host and port')}"
    if isinstance(error, httpx.TimeoutException):
        return f"{host} did not answer in time"
    if isinstance(error, httpx.ConnectError):
        if isinstance(cause, socket.gaierror):
            return f"no computer named {host} was found{_check(named, 'host name')}"
        if isinstance(cause, ConnectionRefusedError):
            return f"nothing answered at {address}{_check(named, 'port')}"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the certificate of {host} could not be verified (is it the right host, or a proxy in between?)"
        if isinstance(cause, ssl.SSLError):
            return f"the secure connection to {address} failed{_check(named, 'scheme (https or http) and port')}"
        return f"could not connect to {address}{_check(named, 'host and port')}"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"{host} closed the connection without an answer"
    return f"the connection to {host} broke"


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _cause(error: BaseException) -> BaseException | None:
    """The socket-level error under httpx's (and anyio's) wrappers, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and not isinstance(current, httpx.TransportError) and current.errno:
            return current
        if isinstance(current, ssl.SSLError | socket.gaierror):
            return current
        # httpcore wraps the socket's error as an argument, and an error re-raised on its way out of a
        # connection pool may have lost its __cause__ while keeping that argument.
        wrapped = next((arg for arg in current.args if isinstance(arg, BaseException)), None)
        current = current.__cause__ or wrapped or current.__context__
    return None


def _names_for(where: httpx.URL, urls: Mapping[str, str]) -> list[str]:
    """The names of the settings whose address is ``where``'s (scheme, host and port)."""
    found = []
    for name, value in urls.items():
        try:
            other = httpx.URL(value)
        except httpx.InvalidURL:
            continue
        if (other.scheme, other.host, other.port) == (where.scheme, where.host, where.port):
            found.append(name)
    return found


def _check(names: list[str], part: str) -> str:
    if not names:
        return ""
    if len(names) == 1:
        return f" — is the {names[0]}'s {part} right?"
    return f" — is the {part} of the {' and the '.join(names)} right?"
