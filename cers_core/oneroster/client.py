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

A hostile or broken server must not make paging endless or unbounded (``_PagingGuard``):

- ``X-Total-Count`` is a hint, never a plan: the pages after the first are asked for a window
  at a time (twice the concurrency cap), so a total of 10^12 allocates nothing, and a total
  above any district's (``MAX_RECORDS``) is an error at once; pages that the total promises
  but that come back empty end in the "empty page" error below;
- a ``Link: next`` that points back to a page already read (a cycle), the same page again
  under another URL, or more than ``MAX_RECORDS`` records in one collection end the read
  with a typed error;
- every request stays on the Base URL's origin: a next link or a redirect to another site is
  refused (the access token and cookies go to the OneRoster server and nowhere else); a
  redirect within the origin is followed, a few hops at most. Refused rather than followed
  without the token: httpx would drop ``Authorization`` on such a hop, but our token flow adds
  it to every request it sends, the cookie jar may match the other host, and a OneRoster
  server elsewhere would only answer 401; the error tells the analyst which address to enter.

Pages are read straight into polars columns (``records.decode_page``) on a worker thread
(polars releases the GIL, so reading overlaps the network waits of other pages), and
turned into roster columns in one pass once all pages are in. Polars and the page decoder are
imported when the first answer is read, not with this module: an export's first request (the
token) does not wait for their import, a fifth of a second (``cers_core.export`` imports them
on a thread meanwhile; ``tests/test_startup.py`` guards it).

Every request holds one slot of the connection's concurrency cap while it is in flight, and
is retried on transient failures (see ``retry.py``). Each try has the time-outs and answer cap
of the egress's ``Limits`` and at most ``attempt_seconds`` in all; one request, with its tries
and waits, at most ``RetryPolicy.max_total_time``. Errors that remain are typed
(``cers_core.errors``) and never carry the secret or a token.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from cers_core.errors import BadResponse, OneRosterError, ProviderUnreachable
from cers_core.http.bounds import AnswerTooDeep, AnswerTooLarge, describe_size, load_json
from cers_core.http.egress import Egress, current_egress, open_client
from cers_core.http.error_bodies import endpoint_of
from cers_core.http.network import AddressRefused
from cers_core.http.oauth import ClientCredentials, TokenAuth, TokenCache
from cers_core.http.retry import RETRYABLE_STATUSES, RetryPolicy, TransientFailure, parse_retry_after
from cers_core.http.together import together
from cers_core.http.transport_words import transport_words
from cers_core.oneroster.errors import OneRosterTokenFaults, error_for_response
from cers_core.oneroster.snapshot import RosterSnapshot
from cers_core.settings import OneRosterSettings

if TYPE_CHECKING:
    import polars as pl

__all__ = ["MAX_RECORDS", "FetchProgress", "OneRosterClient"]

MAX_RECORDS = 10_000_000
"""Records one collection may hold: five times the enrollments of the largest district in the state.
A total or a paging run beyond it is a server gone wrong, not a district."""
# The same page this many times: the server ignores the offset (or cycles under new URLs).
_STALE_PAGES_LIMIT = 2
# Same-origin redirects followed for one request.
_MAX_REDIRECTS = 5
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
    url: httpx.URL  # where it was read

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
        import polars as pl

        from cers_core.oneroster.records import to_roster_columns

        # Take the batch here, in the event loop, so pages arriving meanwhile start a new one.
        batch, self._pending, self._pending_rows = self._pending, [], 0
        if batch:
            self._done.append(await asyncio.to_thread(to_roster_columns, self._collection, pl.concat(batch)))

    async def add(self, offset: int, page: _Page) -> None:
        import polars as pl

        self._pending.append(page.frame.with_columns(_offset=pl.lit(offset, dtype=pl.Int64)))
        self._pending_rows += page.frame.height
        if self._pending_rows >= _BATCH_ROWS:
            await self._convert()

    async def frame(self) -> pl.DataFrame:
        import polars as pl

        from cers_core.oneroster.records import finish_frame

        await self._convert()
        return await asyncio.to_thread(finish_frame, pl.concat(self._done), order_by="_offset")


@dataclass(slots=True)
class _Tally:
    pages: int = 0
    records: int = 0
    total: int | None = None


class _PagingGuard:
    """What one collection's paging has seen, so that a server cannot make it endless (see the
    module docstring): the links followed, a fingerprint of every page, and the records counted."""

    def __init__(self, what: _Collection, url: str) -> None:
        self._what = what
        self._endpoint = httpx.URL(url).path
        self._read: set[tuple[object, ...]] = set()
        self._pages: set[int] = set()
        self._repeats = 0
        self._records = 0

    def _error(self, message: str, hint: str) -> BadResponse:
        return BadResponse(message, endpoint=self._endpoint, hint=hint)

    def check_total(self, total: int | None) -> None:
        """An error for an ``X-Total-Count`` beyond any district (it is never used to plan all the pages)."""
        if total is not None and total > MAX_RECORDS:
            raise self._error(
                f"The OneRoster server says it has {total:,} {self._what.envelope} (X-Total-Count), more than "
                f"any district has (at most {MAX_RECORDS:,} are read).",
                "Tell the SIS vendor that its X-Total-Count is wrong.",
            )

    def follow(self, link: str) -> None:
        """Check a ``Link: next`` about to be followed; an error when it points at a page already read (a cycle)."""
        if _page_key(httpx.URL(link)) in self._read:
            raise self._error(
                "The OneRoster server's paging goes round in circles: its next-page link points back to a "
                "page already read.",
                "Tell the SIS vendor that its Link headers never reach the last page.",
            )

    def check(self, page: _Page) -> None:
        """Count a page with records: an error for the same page again, or for more records than any district."""
        self._read.add(_page_key(page.url))
        fingerprint = hash(tuple(page.ids()))
        if fingerprint in self._pages:
            self._repeats += 1
            if self._repeats >= _STALE_PAGES_LIMIT:
                raise self._error(
                    "The OneRoster server keeps sending the same records; it may be ignoring the offset.",
                    "Tell the SIS vendor that paging does not advance.",
                )
        self._pages.add(fingerprint)
        self._records += page.received
        if self._records > MAX_RECORDS:
            raise self._error(
                f"The OneRoster server keeps sending {self._what.envelope}: over {MAX_RECORDS:,} records, more "
                "than any district has, and its paging does not end.",
                "Tell the SIS vendor that paging never reaches the end.",
            )


@dataclass(slots=True)
class _CollectionRead:
    """One read of a collection: what is read, its guard, and the pages so far."""

    what: _Collection
    guard: _PagingGuard
    pages: _Pages

    async def add(self, offset: int, page: _Page) -> None:
        self.guard.check_total(page.total)
        if page.received:
            self.guard.check(page)
        await self.pages.add(offset, page)


def _page_key(url: httpx.URL) -> tuple[object, ...]:
    """A page's address, whatever the order of its query parameters."""
    return (*_origin(url), url.path, tuple(sorted(url.params.multi_items())))


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

    ``transport`` lets tests and benchmarks plug in an in-process transport; ``egress`` gives the
    network policy and limits (default: the process's, ``cers_core.http.egress``); ``on_progress``
    is called after every page with the running totals of that collection.
    """

    def __init__(
        self,
        settings: OneRosterSettings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_progress: Callable[[FetchProgress], None] | None = None,
        egress: Egress | None = None,
        seed: int | None = None,
        snapshot: RosterSnapshot | None = None,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self._retry = retry or RetryPolicy()
        self._limits = (egress or current_egress()).limits
        self._auth = TokenAuth(
            token_url=settings.token_url,
            grant=ClientCredentials(
                client_id=settings.client_id, client_secret=settings.client_secret, scope=settings.scope
            ),
            faults=OneRosterTokenFaults(),
            cache=token_cache,
        )
        self._http = open_client(auth=self._auth, egress=egress, transport=transport)
        self._origin = _origin(httpx.URL(settings.base_url))
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

    def _same_origin(self, request: httpx.Request, *, how: str) -> None:
        """Refuse a request that would leave the Base URL's site (``how`` it got there: a link, a redirect)."""
        if _origin(request.url) != self._origin:
            elsewhere = f"{request.url.scheme}://{request.url.netloc.decode()}"
            raise BadResponse(
                f"The OneRoster server sent us to another site ({how} to {elsewhere}); the access token is "
                "only ever sent to the Base URL's site, so the request was not made.",
                endpoint=endpoint_of(request),
                hint="If the SIS has moved, enter its new address as the Base URL; otherwise tell the SIS vendor.",
            )

    async def _exchange(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``, following redirects within the Base URL's origin."""
        response = await self._http.send(request)
        for _ in range(_MAX_REDIRECTS):
            if not response.is_redirect or response.next_request is None:
                return response
            await response.aclose()
            self._same_origin(response.next_request, how="a redirect")
            response = await self._http.send(response.next_request)
        raise BadResponse(
            "The OneRoster server keeps redirecting the request.",
            endpoint=endpoint_of(request),
            status=response.status_code,
            hint="Check the Base URL: enter the address the SIS documents, as it is.",
        )

    async def _send_once(self, request: httpx.Request, seconds: float) -> httpx.Response:
        """One try of ``request``, at most ``seconds`` from sending it to the last byte of its answer."""
        async with self._slots:
            self.requests_sent += 1
            try:
                async with asyncio.timeout(seconds):
                    return await self._exchange(request)
            except (httpx.TimeoutException, TimeoutError) as error:
                late = error.request if isinstance(error, httpx.TimeoutException) and _has_request(error) else request
                raise TransientFailure(
                    ProviderUnreachable(
                        "The OneRoster server did not answer in time.",
                        endpoint=endpoint_of(late),
                        hint="The SIS may be busy: try again later, or lower the concurrency.",
                    )
                ) from None
            except AnswerTooLarge as error:
                raise BadResponse(
                    f"The OneRoster server's answer was too large (over {describe_size(error.limit)}); "
                    "it was not read to its end.",
                    endpoint=endpoint_of(request),
                    hint="Lower the page size in the connection's advanced settings; if it keeps happening, tell "
                    "the SIS vendor. (The cap is CERS_MAX_ANSWER_MB.)",
                ) from None
            except AddressRefused as refused:
                raise ProviderUnreachable(
                    f"{refused}",
                    endpoint=endpoint_of(request),
                    hint="Check the Base URL and Token URL. If the SIS really is on this network, ask whoever runs "
                    "this app to allow it in CERS_ALLOWED_NETWORKS.",
                ) from None
            except httpx.DecodingError:
                raise TransientFailure(_not_json(request)) from None
            except httpx.TransportError as error:
                asked = str(error.request.url) if _has_request(error) else str(request.url)
                words = self._transport_words(error, asked)
                stop = "" if words.endswith("?") else "."  # a question ends its own sentence
                raise TransientFailure(
                    ProviderUnreachable(
                        f"Could not connect to the OneRoster server: {words}{stop}",
                        endpoint=endpoint_of(error.request) if _has_request(error) else str(request.url),
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
        off, an HTML error page): that is retried too. JSON nested too deeply is not: it is
        a ``BadResponse`` at once.
        """
        request = self._http.build_request("GET", url, params=params)
        self._same_origin(request, how="a link")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._retry.max_total_time
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                seconds = min(self._limits.attempt_seconds, deadline - loop.time())
                response = await self._send_once(request, seconds)
                if response.status_code in RETRYABLE_STATUSES:
                    raise TransientFailure(
                        error_for_response(response, hide=self._auth.secrets),
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    )
                if response.status_code != 200:
                    raise error_for_response(response, hide=self._auth.secrets)
                try:
                    return await parse(response)
                except AnswerTooDeep:
                    raise BadResponse(
                        "The OneRoster server sent JSON nested too deeply to read (a broken or hostile answer).",
                        endpoint=endpoint_of(response.request),
                        status=response.status_code,
                        hint="Tell the SIS vendor; check that the Base URL is the SIS's OneRoster address.",
                    ) from None
                except ValueError:
                    raise TransientFailure(_not_json(response.request, response.status_code)) from None
            except TransientFailure as failure:
                delay = self._retry.delay(attempt, failure.retry_after, self._rng)
                attempts = min(self._retry.max_attempts, failure.max_attempts or self._retry.max_attempts)
                out_of_time = loop.time() + delay >= deadline
                if attempt >= attempts or waited + delay > self._retry.max_total_wait or out_of_time:
                    raise failure.final from None
                waited += delay
                await asyncio.sleep(delay)

    async def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET a JSON document (retried like every request)."""

        async def parse(response: httpx.Response) -> Any:
            return load_json(response.content)

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
            from cers_core.oneroster.records import decode_page

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
            links = "Link" in response.headers
            return _Page(frame, received, total, _next_link(response), links, response.request.url)

        page = await self.get(url, params, parse)
        self._report(what, page)
        return page

    async def _walk(
        self,
        url: str,
        params: dict[str, Any],
        read: _CollectionRead,
        start: int,
        stop: int | None,
    ) -> None:
        """Page by page from ``start``: by Link when given, else by offset; until an empty
        page, the offset reaching the total, or ``stop`` (the start of a page we already have)."""
        offset = start
        next_url: str | None = None
        while stop is None or offset < stop:
            if next_url is not None:
                read.guard.follow(next_url)
                page = await self._page(next_url, None, read.what)
            else:
                page = await self._page(url, {**params, "offset": offset}, read.what)
            if not page.received:
                break
            await read.add(offset, page)
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
        url = self.url(path)
        base = {**(params or {}), "limit": self.settings.page_size}
        read = _CollectionRead(what, _PagingGuard(what, url), _Pages(what.name))
        first = await self._page(url, {**base, "offset": 0}, what)
        await read.add(0, first)
        step = first.received
        if step and (first.total is None or first.total <= step):
            # A first page holding more records than its own total means the total was stale
            # (records were added meanwhile): walk on until the server says it is done.
            if (first.total is None and not first.is_last) or (first.total is not None and first.total < step):
                await self._walk(url, base, read, step, None)
        elif step and first.total is not None:
            await self._fan_out(url, base, read, step, first.total)
        return await read.pages.frame()

    async def _fan_out(self, url: str, base: dict[str, Any], read: _CollectionRead, step: int, total: int) -> None:
        """The pages after the first, concurrently: a few workers (twice the concurrency cap) each take
        the next offset while it is below the latest ``X-Total-Count``, so that the total says whether
        to go on, never how many pages to plan. Then any gap a short or empty page left (the total
        changed, or a hiccup) is asked again from there."""
        offsets = itertools.count(step, step)  # shared by the workers: each offset is taken once
        answers: dict[int, tuple[int, int | None]] = {}
        latest = total

        async def worker() -> None:
            nonlocal latest
            for offset in offsets:
                if offset >= latest:
                    return
                page = await self._page(url, {**base, "offset": offset}, read.what)
                await read.add(offset, page)
                answers[offset] = page.received, page.total
                latest = page.total if page.total is not None else latest

        await together(*(worker() for _ in range(2 * self.settings.max_concurrency)))
        read_offsets = sorted(answers)
        last_total = total
        for index, offset in enumerate(read_offsets):
            received, page_total = answers[offset]
            last_total = page_total if page_total is not None else last_total
            end = offset + received
            if index + 1 < len(read_offsets):
                if end < read_offsets[index + 1]:
                    await self._walk(url, base, read, end, read_offsets[index + 1])
            elif end < last_total:
                await self._walk(url, base, read, end, None)

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


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """Scheme, host and port: what "the same site" means for sending a token."""
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _not_json(request: httpx.Request, status: int | None = None) -> BadResponse:
    return BadResponse(
        "The OneRoster server sent an answer that is not valid JSON (it may have been cut off, or be an error page).",
        endpoint=endpoint_of(request),
        status=status,
        hint="Try again later; if it keeps happening, check the Base URL.",
    )


def _has_request(error: httpx.RequestError) -> bool:
    try:
        error.request  # noqa: B018 - httpx raises when the error has no request attached
    except RuntimeError:
        return False
    return True
