"""With 100 ms per request and at most 5 in flight: a school's preview and the whole district's export
against their ideal, what a session saves when it reads again, and the naive client.

The demo provider runs with ``--latency 0.1 --max-concurrent 5``; our export runs in this process
(``export_section_groups``, as the app calls it), with a session's snapshot and token cache.

The ideal of a run is the longer of two lower bounds: throughput (the requests it sent × 100 ms
/ 5 slots) and its dependency chain (the round trips that must follow one another × 100 ms: the
token when the session has none, the school list when a school is asked for by its code and the
session has no list, the first page of each collection, which gives its total, then the others if
there are any). The chain's rounds are read off the requests the export put on the wire (every
request of this process passes ``httpx.AsyncHTTPTransport``, which is watched while it runs). Each
row says which bound it uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from bench.naive import naive_fetch
from bench.processes import AS_OF, PAGE_SIZE, Provider, largest_schools, provider, timed
from bench.report import Row, progress
from cers_core import ExportContext, GroupExport, GroupOptions, export_section_groups, list_schools
from cers_core.http.oauth import TokenCache
from cers_core.oneroster.snapshot import RosterSnapshot

__all__ = ["with_latency"]

LATENCY = 0.1
SLOTS = 5
MAX_OF_IDEAL = 1.25
MIN_REFRESH_SPEED_UP = 5
MIN_NAIVE_SPEED_UP = 5


@dataclass(frozen=True)
class Ideal:
    requests: int
    rounds: list[str]
    """The round trips that must follow one another, in order."""

    @property
    def seconds(self) -> float:
        return max(self.requests * LATENCY / SLOTS, len(self.rounds) * LATENCY)

    def which(self) -> str:
        throughput = self.requests * LATENCY / SLOTS
        chain = f"{len(self.rounds)}-round chain ({' → '.join(self.rounds)})"
        if throughput >= len(self.rounds) * LATENCY:
            return f"ideal {self.seconds:.2f} s = {self.requests} requests × 100 ms / {SLOTS} (longer than its {chain})"
        return f"ideal {self.seconds:.2f} s = its {chain} × 100 ms (longer than {self.requests} requests × 100 ms / 5)"


@contextlib.contextmanager
def _on_the_wire() -> Iterator[list[httpx.Request]]:
    """Every request this process sends while the block runs."""
    sent: list[httpx.Request] = []
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def recording(transport: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return await original(transport, request)

    httpx.AsyncHTTPTransport.handle_async_request = recording  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        httpx.AsyncHTTPTransport.handle_async_request = original  # type: ignore[method-assign]


def _ideal(result: GroupExport, sent: list[httpx.Request], *, list_first: bool) -> Ideal:
    gets = [request for request in sent if request.method == "GET"]
    rounds = ["token"] if any(request.method == "POST" for request in sent) else []
    if list_first and any(request.url.path.endswith("/schools") for request in gets):
        rounds.append("school list")
    rounds.append("first pages")
    if any(int(request.url.params.get("offset", "0")) > 0 for request in gets):
        rounds.append("further pages")
    return Ideal(result.requests, rounds)


def _session() -> ExportContext:
    return ExportContext(snapshot=RosterSnapshot(), token_cache=TokenCache())


def _export(server: Provider, schools: list[str] | None, context: ExportContext, *, list_first: bool = False):
    with _on_the_wire() as sent:
        seconds, result = timed(
            lambda: export_section_groups(
                server.settings(SLOTS), GroupOptions(split_large=True), schools=schools, as_of=AS_OF, context=context
            )
        )
    return seconds, result, _ideal(result, sent, list_first=list_first)


def _against_ideal(label: str, seconds: float, result: GroupExport, ideal: Ideal) -> Row:
    ratio = seconds / ideal.seconds
    return Row(
        f"{label}: {result.requests} requests; {ideal.which()}",
        f"{seconds:.2f} s = {ratio:.2f}x ideal",
        f"≤ {MAX_OF_IDEAL}x ideal",
        ratio <= MAX_OF_IDEAL,
    )


def with_latency(school_scale: str, district_scale: str, *, naive: bool) -> list[Row]:
    """The rows of the runs under latency: a school at ``school_scale``, the whole district at ``district_scale``."""
    rows: list[Row] = []
    slow = ("--latency", str(LATENCY), "--max-concurrent", str(SLOTS))
    progress(f"100 ms latency, {school_scale}: starting the demo provider")
    with provider(school_scale, *slow) as server:
        school, other = largest_schools(school_scale, 2)
        progress(f"100 ms latency, {school_scale}: the largest school, cold, from the app's list, refreshed")
        seconds, cold, ideal = _export(server, [school], _session(), list_first=True)
        label = f"100 ms latency, largest {school_scale} school ({school}), cold"
        rows.append(_against_ideal(label, seconds, cold, ideal))
        # As in the app: the picker shows the school list first (with the session's token and
        # snapshot), and the analyst's wait starts when a school is picked from it.
        context = _session()
        list_seconds, _ = timed(lambda: list_schools(server.settings(SLOTS), context=context))
        first_seconds, first, ideal = _export(server, [school], context)
        rows.append(
            _against_ideal(f"its preview picked from the app's school list (list shown in {list_seconds:.2f} s)",
                           first_seconds, first, ideal)
        )  # fmt: skip
        again_seconds, again, _ = _export(server, [school], context)
        speed_up = first_seconds / again_seconds
        rows.append(
            Row(f"refresh of that school, same session: {again.requests} requests",
                f"{again_seconds:.2f} s = {speed_up:.1f}x faster than its first load",
                f"≥ {MIN_REFRESH_SPEED_UP}x faster", speed_up >= MIN_REFRESH_SPEED_UP)
        )  # fmt: skip
        second_seconds, second, _ = _export(server, [other], context)
        rows.append(
            Row(f"the next largest school, same session: {second.requests} requests (its own records)",
                f"{second_seconds:.2f} s = {first_seconds / second_seconds:.1f}x faster than the first school")
        )  # fmt: skip
    progress(f"100 ms latency, {district_scale}: starting the demo provider")
    with provider(district_scale, *slow) as server:
        progress(f"100 ms latency, {district_scale}: the whole district")
        context = _session()
        whole_seconds, whole, ideal = _export(server, None, context)
        rows.append(_against_ideal(f"100 ms latency, whole {district_scale} export", whole_seconds, whole, ideal))
        school_seconds, after, _ = _export(server, [largest_schools(district_scale, 1)[0]], context)
        label = f"its largest school once the district file was made: {after.requests} requests"
        rows.append(Row(label, f"{school_seconds:.2f} s"))
        if naive:
            progress(f"100 ms latency, {district_scale}: the naive client (sequential)")
            naive_seconds, records = timed(
                lambda: naive_fetch(
                    server.base_url, server.token_url, server.client_id, server.client_secret, page_size=PAGE_SIZE
                )
            )
            speed_up = naive_seconds / whole_seconds
            rows.append(
                Row(
                    f"100 ms latency, whole {district_scale} export (above) against the naive client (sequential "
                    f"pages, one pydantic model per record; all its pages, {records:,} records, nothing extrapolated)",
                    f"naive {naive_seconds:.1f} s / ours {whole_seconds:.2f} s = {speed_up:.1f}x faster",
                    f"≥ {MIN_NAIVE_SPEED_UP}x faster",
                    speed_up >= MIN_NAIVE_SPEED_UP,
                )
            )
    return rows
