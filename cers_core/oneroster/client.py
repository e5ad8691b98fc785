"""An async OneRoster 1.2 client: paging, retries and a cap on concurrent requests.

Paging follows what real servers do rather than what the spec hopes for:

- ``offset`` advances by the number of records actually received (servers clamp ``limit``);
- we stop on an empty page, or when the offset reaches ``X-Total-Count``; never merely
  because a page was shorter than the limit;
- when the first page gives ``X-Total-Count``, the remaining pages are fetched concurrently
  (within the per-connection cap), and any gap a short page leaves is filled afterwards;
- without a total we walk page by page, following ``Link: rel="next"`` when the server
  gives one (a server that sends Link headers marks its last page by leaving ``next`` out);
- a server that keeps sending the same page (it ignores ``offset``) is stopped with an
  error instead of looping forever;
- records are de-duplicated by ``sourcedId`` once all pages are in.

Pages are read straight into polars columns (``records.decode_page``) on a worker thread
(polars releases the GIL, so reading overlaps the network waits of other pages), and
turned into roster columns in one pass once all pages are in.

Every request holds one slot of the connection's concurrency cap while it is in flight, and
is retried on transient failures (see ``retry.py``). Errors that remain are typed
(``cers_core.errors``) and never carry the secret or a token.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import polars as pl

from cers_core.errors import BadResponse, OneRosterError, ProviderUnreachable
from cers_core.http.error_bodies import endpoint_of
from cers_core.http.oauth import ClientCredentials, TokenAuth, TokenCache
from cers_core.http.retry import RETRYABLE_STATUSES, RetryPolicy, TransientFailure, parse_retry_after
from cers_core.http.tls import tls_context
from cers_core.http.together import together
from cers_core.http.transport_words import transport_words
from cers_core.oneroster.errors import OneRosterTokenFaults, error_for_response
from cers_core.oneroster.records import decode_page, finish_frame, to_roster_columns
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_core.settings import OneRosterSettings

__all__ = ["FetchProgress", "OneRosterClient"]

# The same page this many times in a row: the server ignores the offset.
_STALE_PAGES_LIMIT = 2
# Raw page rows converted to roster columns at a time (see _Pages).
_BATCH_ROWS = 50_000
T = TypeVar("T")
# A refused connection or an unknown host: a few quick tries, since it is rarely a busy server.
_CONNECT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class FetchProgress:
    """How far the fetch of one collection has come; given to the progress callback."""

    collection: str
    pages: int
    records: int
    total: int | None


@dataclass(frozen=True, slots=True)
class _Collection:
    """What to read: the roster frame (``users``) and the envelope key of the answer (``users``)."""

    name: str
    envelope: str
    label: str


@dataclass(slots=True)
class _Page:
    frame: pl.DataFrame
    received: int  # records in the page, whatever their content: the offset advances by this
    total: int | None
    next_url: str | None
    linked: bool  # the server sends Link headers: a page without rel="next" is the last one

    @property
    def is_last(self) -> bool:
        return self.linked and self.next_url is None

    def ids(self) -> list[str | None]:
        return self.frame["sourcedId"].to_list()


class _Pages:
    """The pages of one collection as they arrive, turned into roster columns in batches.

    Raw page columns are several times larger than roster columns; converting every
    ``_BATCH_ROWS`` rows keeps memory bounded for a district of two million enrollments,
    while converting in batches (not page by page) keeps the per-call overhead low. Each
    row remembers where its page started, so that "the first record of a sourcedId wins"
    follows the server's order however the pages arrived.
    """

    def __init__(self, collection: str) -> None:
        self._collection = collection
        self._pending: list[pl.DataFrame] = []
        self._pending_rows = 0
        self._done: list[pl.DataFrame] = []

    async def _convert(self) -> None:
        # Take the batch here, in the event loop, so pages arriving meanwhile start a new one.
        batch, self._pending, self._pending_rows = self._pending, [], 0
        if batch:
            self._done.append(await asyncio.to_thread(to_roster_columns, self._collection, pl.concat(batch)))

    async def add(self, offset: int, page: _Page) -> None:
        self._pending.append(page.frame.with_columns(_offset=pl.lit(offset, dtype=pl.Int64)))
        self._pending_rows += page.frame.height
        if self._pending_rows >= _BATCH_ROWS:
            await self._convert()

    async def frame(self) -> pl.DataFrame:
        await self._convert()
        return await asyncio.to_thread(finish_frame, pl.concat(self._done), order_by="_offset")


@dataclass(slots=True)
class _Tally:
    pages: int = 0
    records: int = 0
    total: int | None = None


def _total_of(response: httpx.Response) -> int | None:
    value = response.headers.get("X-Total-Count")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target, leniently (GG4L sends URIs without angle brackets)."""
    header = response.headers.get("Link")
    if not header:
        return None
    for link in header.split(","):
        target, _, params = link.partition(";")
        rels = params.replace('"', " ").replace("=", " ").lower().split()
        if "rel" in rels and "next" in rels:
            return str(response.request.url.join(target.strip().strip("<>").strip()))
    return None


class OneRosterClient:
    """One connection to a OneRoster provider; use as ``async with OneRosterClient(settings) as c``.

    ``transport`` lets tests and benchmarks plug in an in-process transport; ``on_progress``
    is called after every page with the running totals of that collection.
    """

    def __init__(
        self,
        settings: OneRosterSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_progress: Callable[[FetchProgress], None] | None = None,
        timeout: float = 60.0,
        seed: int | None = None,
        snapshot: RosterSnapshot | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self._retry = retry or RetryPolicy()
        self._auth = TokenAuth(
            token_url=settings.token_url,
            grant=ClientCredentials(
                client_id=settings.client_id, client_secret=settings.client_secret, scope=settings.scope
            ),
            faults=OneRosterTokenFaults(),
            cache=token_cache,
        )
        self._http = httpx.AsyncClient(
            auth=self._auth,
            transport=transport,
            verify=tls_context(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            headers={"Accept": "application/json"},
            follow_redirects=True,
        )
        self._slots = asyncio.Semaphore(settings.max_concurrency)
        self._on_progress = on_progress
        self._rng = random.Random(seed)
        self._tallies: dict[str, _Tally] = {}
        self.requests_sent = 0

    async def __aenter__(self) -> OneRosterClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._http.aclose()

    @property
    def granted_scope(self) -> str | None:
        """The scopes the token endpoint says it granted (None until a token was issued)."""
        return self._auth.granted_scope

    def url(self, path: str) -> str:
        """The Base URL exactly as configured, plus a OneRoster path such as ``/classes``."""
        return self.settings.base_url + path

    # -- single requests -------------------------------------------------------------------

    async def _send_once(self, url: str, params: Mapping[str, Any] | None) -> httpx.Response:
        async with self._slots:
            self.requests_sent += 1
            try:
                return await self._http.get(url, params=params)
            except httpx.TimeoutException as error:
                raise TransientFailure(
                    ProviderUnreachable(
                        "The OneRoster server did not answer in time.",
                        endpoint=endpoint_of(error.request),
                        hint="The SIS may be busy: try again later, or lower the concurrency.",
                    )
                ) from None
            except httpx.TransportError as error:
                asked = str(error.request.url) if _has_request(error) else url
                raise TransientFailure(
                    ProviderUnreachable(
                        f"Could not connect to the OneRoster server: {self._transport_words(error, asked)}.",
                        endpoint=endpoint_of(error.request) if _has_request(error) else url,
                        hint="Check the Base URL and Token URL, and that this computer can reach the SIS.",
                    ),
                    max_attempts=_CONNECT_ATTEMPTS if isinstance(error, httpx.ConnectError) else None,
                ) from None

    def _transport_words(self, error: httpx.TransportError, url: str) -> str:
        return transport_words(
            error, url, urls={"Base URL": self.settings.base_url, "Token URL": self.settings.token_url}
        )

    async def get(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        parse: Callable[[httpx.Response], Awaitable[T]],
    ) -> T:
        """GET and ``parse`` the answer, retrying transient failures within the retry budget.

        ``parse`` raising ``ValueError`` means the body was not the JSON it should be (cut
        off, an HTML error page): that is retried too.
        """
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send_once(url, params)
                if response.status_code in RETRYABLE_STATUSES:
                    raise TransientFailure(
                        error_for_response(response, hide=self._auth.secrets),
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    )
                if response.status_code != 200:
                    raise error_for_response(response, hide=self._auth.secrets)
                try:
                    return await parse(response)
                except ValueError:
                    raise TransientFailure(
                        BadResponse(
                            "The OneRoster server sent an answer that is not valid JSON "
                            "(it may have been cut off, or be an error page).",
                            endpoint=endpoint_of(response.request),
                            status=response.status_code,
                            hint="Try again later; if it keeps happening, check the Base URL.",
                        )
                    ) from None
            except TransientFailure as failure:
                delay = self._retry.delay(attempt, failure.retry_after, self._rng)
                attempts = min(self._retry.max_attempts, failure.max_attempts or self._retry.max_attempts)
                if attempt >= attempts or waited + delay > self._retry.max_total_wait:
                    raise failure.final from None
                waited += delay
                await asyncio.sleep(delay)

    async def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a JSON document (retried like every request)."""

        async def parse(response: httpx.Response) -> Any:
            return json.loads(response.content)

        return await self.get(url, params, parse)

    # -- collections -----------------------------------------------------------------------

    def _report(self, what: _Collection, page: _Page) -> None:
        tally = self._tallies.setdefault(what.label, _Tally())
        tally.pages += 1
        tally.records += page.received
        if page.total is not None:
            tally.total = page.total
        if self._on_progress is not None:
            self._on_progress(FetchProgress(what.label, tally.pages, tally.records, tally.total))

    async def _page(self, url: str, params: Mapping[str, Any] | None, what: _Collection) -> _Page:
        async def parse(response: httpx.Response) -> _Page:
            decoded = await asyncio.to_thread(decode_page, what.name, what.envelope, response.content)
            if decoded is None:
                raise BadResponse(
                    f"The OneRoster server's answer has no list of {what.envelope}.",
                    endpoint=endpoint_of(response.request),
                    status=response.status_code,
                    hint="Check the Base URL: it should point at the OneRoster 1.2 rostering service.",
                )
            frame, received = decoded
            total = _total_of(response)
            offset = _offset_of(response.request)
            if not received and total is not None and offset is not None and offset < total:
                # Fault handling: an empty page before the server's own X-Total-Count is a hiccup
                # (a replica catching up, a cache miss), not the end of the collection; taken as
                # the end, it would silently leave students out of the file. (Without a total an
                # empty page is the end, as the spec says: a Link "next" on it is not trusted.)
                raise TransientFailure(
                    BadResponse(
                        f"The OneRoster server sent an empty page of {what.envelope} although it says it has "
                        f"{total} records (X-Total-Count).",
                        endpoint=endpoint_of(response.request),
                        status=response.status_code,
                        hint="Try again later; if it keeps happening, tell the SIS vendor that paging stops early.",
                    )
                )
            return _Page(frame, received, total, _next_link(response), "Link" in response.headers)

        page = await self.get(url, params, parse)
        self._report(what, page)
        return page

    async def _walk(
        self, url: str, params: dict[str, Any], what: _Collection, pages: _Pages, start: int, stop: int | None
    ) -> None:
        """Page by page from ``start``: by Link when given, else by offset; until an empty
        page, the offset reaching the total, or ``stop`` (the start of a page we already have)."""
        offset = start
        next_url: str | None = None
        previous: list[str | None] | None = None
        repeats = 0
        while stop is None or offset < stop:
            if next_url is not None:
                page = await self._page(next_url, None, what)
            else:
                page = await self._page(url, {**params, "offset": offset}, what)
            if not page.received:
                break
            ids = page.ids()
            repeats = repeats + 1 if ids == previous else 0
            if repeats >= _STALE_PAGES_LIMIT:
                raise BadResponse(
                    "The OneRoster server keeps sending the same records; it may be ignoring the offset.",
                    endpoint=url,
                    hint="Tell the SIS vendor that paging does not advance.",
                )
            previous = ids
            await pages.add(offset, page)
            offset += page.received
            if (page.total is not None and offset >= page.total) or (stop is None and page.is_last):
                break
            next_url = page.next_url if stop is None else None

    async def collection(
        self,
        path: str,
        *,
        collection: str,
        envelope: str,
        params: Mapping[str, Any] | None = None,
        label: str | None = None,
    ) -> pl.DataFrame:
        """Every record of a collection (``/classes``, ``/schools/x/enrollments`` …) as the
        ``collection`` roster frame (see ``cers_core.roster``), de-duplicated by sourcedId.

        With a snapshot, what was read before is asked again for its changes only."""
        what = _Collection(collection, envelope, label or collection)
        if self.snapshot is None:
            return await self._read_collection(path, what, params)
        return await self.snapshot.read(path, params, lambda changed: self._read_collection(path, what, changed))

    async def _read_collection(self, path: str, what: _Collection, params: Mapping[str, Any] | None) -> pl.DataFrame:
        collection = what.name
        url = self.url(path)
        base = {**(params or {}), "limit": self.settings.page_size}
        pages = _Pages(collection)
        first = await self._page(url, {**base, "offset": 0}, what)
        await pages.add(0, first)
        step = first.received
        if step and (first.total is None or first.total <= step):
            # A first page holding more records than its own total means the total was stale
            # (records were added meanwhile): walk on until the server says it is done.
            if (first.total is None and not first.is_last) or (first.total is not None and first.total < step):
                await self._walk(url, base, what, pages, step, None)
        elif step and first.total is not None:
            offsets = list(range(step, first.total, step))

            async def fetch(offset: int) -> tuple[int, int | None]:
                page = await self._page(url, {**base, "offset": offset}, what)
                await pages.add(offset, page)
                return page.received, page.total

            answers = await together(*(fetch(o) for o in offsets))
            last_total = first.total
            for index, (offset, (received, total)) in enumerate(zip(offsets, answers, strict=True)):
                if total is not None:
                    last_total = total
                end = offset + received
                next_start = offsets[index + 1] if index + 1 < len(offsets) else None
                # A short or empty page leaves a gap (the total changed, or a hiccup): ask again from there.
                if next_start is not None and end < next_start:
                    await self._walk(url, base, what, pages, end, next_start)
                elif next_start is None and end < last_total:
                    await self._walk(url, base, what, pages, end, None)
        return await pages.frame()

    async def record(self, path: str, *, envelope: str) -> Mapping[str, Any] | None:
        """One record (``/users/{id}`` …), or None when the server says it does not exist."""
        try:
            body = await self.get_json(self.url(path))
        except OneRosterError as error:
            if error.status == 404:
                return None
            raise
        item = body.get(envelope) if isinstance(body, dict) else None
        return item if isinstance(item, Mapping) else None


def _offset_of(request: httpx.Request) -> int | None:
    """The ``offset`` a page was asked for; None when its URL has none (a vendor's cursor link)."""
    try:
        return int(request.url.params["offset"])
    except (KeyError, ValueError):
        return None


def _has_request(error: httpx.TransportError) -> bool:
    try:
        error.request  # noqa: B018 - httpx raises when the error has no request attached
    except RuntimeError:
        return False
    return True
