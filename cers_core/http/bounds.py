"""How long and how much: the time-outs of every request, the size cap of every answer, the depth of its JSON.

A provider that answers one byte every few seconds, never stops sending, sends a page of
half a gigabyte, or JSON nested a hundred thousand deep must end an export with a typed
error in bounded time and memory, not hold it for ever or crash it. What this module gives
the two clients:

- :class:`Limits`: a connection opens within ``connect_seconds``; no read or write waits more
  than ``silence_seconds`` for the next bytes; one try of a request, its whole answer included,
  takes at most ``attempt_seconds`` (the caller wraps each try in ``asyncio.timeout``: httpx's
  read time-out restarts with every chunk, so a trickling answer never trips it); an answer
  holds at most ``answer_bytes`` (after decompression); an export takes at most ``export_seconds``;
- :func:`capped_answers`: an httpx response hook that makes every answer's body stop with
  :class:`AnswerTooLarge` past the cap, however it is read (ours, or httpx's own reading of a
  401 before the token flow retries), gzip and deflate decoded here within the cap, so that a
  small compressed answer cannot unfold into gigabytes;
- :func:`load_json`: ``json.loads`` whose failure on deep nesting (Python's parser stops at its
  recursion limit, about a thousand levels) is :class:`AnswerTooDeep` rather than a
  ``RecursionError`` traceback.

>>> load_json(b'{"a": [1]}')
{'a': [1]}
>>> load_json(b"[" * 5000 + b"]" * 5000)
Traceback (most recent call last):
...
cers_core.http.bounds.AnswerTooDeep: ...
>>> Limits().answer_bytes // 2**20  # megabytes: CERS_MAX_ANSWER_MB
100
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["AnswerTooDeep", "AnswerTooLarge", "Limits", "capped_answers", "load_json"]

_MB = 2**20
_INFLATED = frozenset({"gzip", "x-gzip", "deflate"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Time-outs and size caps of every request; the defaults suit the largest district on a busy SIS.

    A page of 1,000 records is about a megabyte and comes in well under a second; the district
    file of the largest district is read in minutes (see docs/performance.md).
    """

    connect_seconds: float = 15.0
    """To resolve the host and open the connection (TLS included)."""
    silence_seconds: float = 60.0
    """The longest wait for the next bytes of an answer, or to send the next bytes of a request."""
    attempt_seconds: float = 120.0
    """One try of a request, from sending it to the last byte of its answer."""
    answer_bytes: int = 100 * _MB
    """The largest answer read (decompressed); a larger one is an error, never read to its end."""
    export_seconds: float = 7200.0
    """A whole export: every request, its retries and the waits between them."""

    def timeout(self) -> httpx.Timeout:
        """httpx's time-outs for these limits (connect, read, write, pool)."""
        return httpx.Timeout(self.silence_seconds, connect=min(self.connect_seconds, self.silence_seconds))


class AnswerTooLarge(Exception):
    """An answer went past the size cap; it was not read further (and the connection is closed)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the answer was larger than {describe_size(limit)}")


class AnswerTooDeep(Exception):
    """An answer's JSON is nested deeper than any parser here reads (a hostile or broken answer)."""

    def __init__(self) -> None:
        super().__init__("the answer's JSON is nested too deeply to read")


def describe_size(size: int) -> str:
    """``100 MB``, ``512 KB``, ``900 bytes``: a size in words (binary units).

    >>> describe_size(100 * 2**20), describe_size(2**19), describe_size(900)
    ('100 MB', '512 KB', '900 bytes')
    """
    if size >= _MB:
        return f"{size / _MB:.0f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def load_json(data: bytes | str) -> Any:
    """``json.loads``, with deep nesting as :class:`AnswerTooDeep` (a ``ValueError`` still means "not JSON").

    >>> load_json(b'{"a": [1]}')
    {'a': [1]}
    >>> load_json("[" * 100_000)
    Traceback (most recent call last):
    ...
    cers_core.http.bounds.AnswerTooDeep: the answer's JSON is nested too deeply to read
    """
    try:
        return json.loads(data)
    except RecursionError:
        raise AnswerTooDeep() from None


class _Inflater:
    """gzip or deflate (zlib-wrapped, or raw as some servers send it), inflated a bounded amount at a time."""

    def __init__(self, coding: str) -> None:
        self._raw_fallback = coding == "deflate"
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS)
        self._started = False

    def inflate(self, data: bytes, room: int) -> bytes:
        """At most ``room`` bytes of what ``data`` inflates to (the rest stays in zlib, unread)."""
        try:
            out = self._inflate.decompress(data, room)
        except zlib.error as error:
            if not (self._raw_fallback and not self._started):
                raise httpx.DecodingError(f"the answer's compressed body is damaged ({error})") from None
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            self._raw_fallback = False
            out = self._inflate.decompress(data, room)
        self._started = True
        return out


class _CappedStream(httpx.AsyncByteStream):
    """A response body that stops past ``limit`` bytes, inflating gzip or deflate itself when given one."""

    def __init__(self, inner: httpx.AsyncByteStream, limit: int, inflater: _Inflater | None) -> None:
        self._inner = inner
        self._limit = limit
        self._inflater = inflater

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            # Inflating at most one byte past the cap is enough to know the answer is too large.
            piece = chunk if self._inflater is None else self._inflater.inflate(chunk, self._limit - seen + 1)
            seen += len(piece)
            if seen > self._limit:
                raise AnswerTooLarge(self._limit)
            if piece:
                yield piece

    async def aclose(self) -> None:
        await self._inner.aclose()


def capped_answers(limit: int) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx ``response`` event hook capping every answer's body at ``limit`` bytes (see the module docstring).

    An answer in a content coding other than gzip or deflate (httpx reads no other) is read as it
    came, within the same cap; one coded twice is refused as damaged, since no server means it.
    """

    async def cap(response: httpx.Response) -> None:
        codings = [c.strip().lower() for c in ",".join(response.headers.get_list("content-encoding")).split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise httpx.DecodingError("the answer is compressed twice over")
        inflater = _Inflater(codings[0]) if codings and codings[0] in _INFLATED else None
        if codings:
            del response.headers["content-encoding"]  # inflated here, within the cap; httpx must not again
        response.stream = _CappedStream(response.stream, limit, inflater)

    return cap
