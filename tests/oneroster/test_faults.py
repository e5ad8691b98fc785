"""A misbehaving OneRoster provider (the demo provider's fault modes), and what an export does about each fault.

Transient faults must be retried until the export succeeds with exactly the bytes of a
fault-free export of the same school; faults that never clear must end in a typed error
that names the request and what the server said; nothing may ever show the secret or a
token. Faults are deterministic (see ``cers_demo.faults``), so each case injects the
same faults on every run, and the waits are kept tiny.

The provider runs in process wherever it can; faults that drop a connection or hold it past
the client's read time-out (``CONNECTION_FAULTS``) are served by a ``DemoServer`` on a port.
"""

from __future__ import annotations

import asyncio
import random
import time
import traceback
from collections.abc import Callable, Iterator

import httpx
import polars as pl
import pytest

from cers_core import GroupOptions, OneRosterSettings, export_section_groups
from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    OneRosterError,
    ProviderUnreachable,
    RateLimited,
    ServerError,
)
from cers_core.export import ExportContext, GroupExport
from cers_core.http.retry import RetryPolicy
from cers_core.oneroster.client import OneRosterClient
from cers_demo import DemoProvider, DemoServer, ProviderOptions
from cers_demo.faults import FaultKind, FaultRule, Faults, parse_fault_rule
from cers_demo.provider import DANGLING_CLASS, DANGLING_USER
from tests.support import DEMO_REFERENCE_DATE

# An elementary school of the demo district: 22 sections, about 20 requests at 100 records a page.
SCHOOL = "org-0001"
PAGE_SIZE = 100
QUICK = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, max_total_wait=5.0)


class ShortReadTimeout(httpx.AsyncHTTPTransport):
    """The client's time-outs cut to a test's scale, so that a ``hang`` fault is a read time-out (a hang
    needs a ``DemoServer`` on a port: in process, nothing times out)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions["timeout"] = {"connect": 2.0, "read": 0.25, "write": 2.0, "pool": 2.0}
        return await super().handle_async_request(request)


def settings_for(server: DemoProvider, **changes: object) -> OneRosterSettings:
    return server.settings(**({"page_size": PAGE_SIZE} | changes))


def export(
    server: DemoProvider,
    *,
    options: GroupOptions | None = None,
    schools: list[str] | None = [SCHOOL],  # noqa: B006 - never changed
    transport: httpx.AsyncBaseTransport | None = None,
    retry: RetryPolicy = QUICK,
    **changes: object,
) -> GroupExport:
    return export_section_groups(
        settings_for(server, **changes),
        options or GroupOptions(split_large=True),
        schools=schools,
        as_of=DEMO_REFERENCE_DATE,
        context=ExportContext(retry=retry, transport=transport or server.transport()),
    )


@pytest.fixture(scope="module")
def fault_server(demo_district) -> Iterator[DemoServer]:
    """One server on a port for the connection faults, reconfigured by each test (starting one costs 0.25 s)."""
    with DemoServer(demo_district) as server:
        yield server


@pytest.fixture
def faulty(request: pytest.FixtureRequest, demo_district) -> Callable[[Faults], DemoProvider]:
    """``faulty(Faults(...))``: a provider injecting those faults, counting afresh: in process, or the
    shared ``fault_server`` when a fault needs a connection (``Faults.need_a_connection``)."""

    def configure(faults: Faults) -> DemoProvider:
        if not faults.need_a_connection:
            return DemoProvider(demo_district, options=ProviderOptions(faults=faults))
        server: DemoServer = request.getfixturevalue("fault_server")
        server.faults.reconfigure(faults)
        server.request_log.clear()
        request.addfinalizer(lambda: server.faults.reconfigure(Faults()))
        return server

    return configure


@pytest.fixture(scope="module")
def baseline(demo_provider: DemoProvider) -> GroupExport:
    """The school's export from a well-behaved provider: what every recovered export must equal."""
    return export(demo_provider)


def assert_no_secret(server: DemoProvider, *texts: str) -> None:
    hidden = [server.client_secret, *server.issued_tokens]
    for text in texts:
        for secret in hidden:
            assert secret not in text


def error_texts(error: BaseException) -> Iterator[str]:
    """Everything an error could show: its text, repr and traceback, and those of its whole chain."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield "".join(traceback.format_exception(current))
        stack += [current.__cause__, current.__context__]


# -- transient faults: retried, and the file is exactly the fault-free one ---------------------------

TRANSIENT: dict[str, tuple[Faults, dict[str, object]]] = {
    "429 twice, and 429 with Retry-After: 0": (
        Faults(rules=(FaultRule(kind="429", every=3, times=2), FaultRule(kind="429", every=4, retry_after=0))),
        {},
    ),
    "500, 502, 503 and 504": (
        Faults(rules=tuple(FaultRule(kind=kind, every=4, times=2) for kind in ("500", "502", "503", "504"))),
        {},
    ),
    "connection resets and answers cut off mid-body": (
        Faults(rules=(FaultRule(kind="reset", every=3), FaultRule(kind="cut-off", every=3))),
        {},
    ),
    "truncated JSON and HTML pages with 200": (
        Faults(rules=(FaultRule(kind="truncated", every=3), FaultRule(kind="html", every=3))),
        {},
    ),
    "empty pages before the total": (Faults(rules=(FaultRule(kind="empty-page", every=2, times=2),)), {}),
    "read time-outs": (
        Faults(rules=(FaultRule(kind="hang", every=4),), hang_seconds=0.6),
        {"transport": ShortReadTimeout()},
    ),
    "tokens that expire early (401)": (Faults(rules=(FaultRule(kind="expired-token", every=2),)), {}),
    "token endpoint down at first": (Faults(rules=(FaultRule(kind="503", target="token", times=2),)), {}),
    "token endpoint resets mid-run": (
        Faults(
            rules=(
                FaultRule(kind="reset", target="token", after=1, times=2),
                FaultRule(kind="expired-token", every=4),
            )
        ),
        {},
    ),
    "latency, and at most 2 requests at once": (
        Faults(max_concurrent_requests=2, latency_seconds=0.005),
        {"max_concurrency": 4, "retry": RetryPolicy(base_delay=0.01, max_delay=0.2)},
    ),
}


@pytest.mark.parametrize("case", list(TRANSIENT))
def test_transient_faults_are_retried_and_the_file_is_unchanged(case, faulty, baseline):
    faults, client = TRANSIENT[case]
    server = faulty(faults)
    result = export(server, **client)
    assert result.csv_bytes == baseline.csv_bytes
    assert result.problems.equals(baseline.problems)
    injected = server.faults.injected
    assert {rule.kind.value for rule in faults.rules} <= set(injected), f"never injected: {injected}"
    if faults.max_concurrent_requests:
        assert injected["busy"] > 0


def test_tokens_with_a_short_lifetime_are_renewed_during_the_run(make_demo_provider, baseline):
    """``expires_in`` of 1 s on a run of more than a second: the client renews early, and a request
    that still arrives with an expired token gets a new one and is asked again."""
    server = make_demo_provider(token_lifetime_seconds=1, faults=Faults(latency_seconds=0.07))
    result = export(server, page_size=20)
    assert result.csv_bytes == baseline.csv_bytes
    assert len(server.issued_tokens) >= 2


def test_every_fault_at_once_on_a_district_file(make_demo_server, demo_provider):
    expected = export(demo_provider, schools=None, page_size=1000).csv_bytes
    rules = tuple(
        FaultRule(kind=kind, every=every, times=times)
        for kind, every, times in [
            ("429", 7, 2),
            ("503", 11, 1),
            ("502", 13, 1),
            ("reset", 17, 1),
            ("truncated", 19, 1),
            ("empty-page", 23, 2),
            ("expired-token", 29, 1),
            ("html", 31, 1),
            ("cut-off", 37, 1),
        ]
    )
    server = make_demo_server(
        faults=Faults(rules=rules, max_concurrent_requests=4, latency_seconds=0.002),
        max_page_size=100,
        total_drift=9,
        overlapping_pages=True,
        extra_fields=True,
    )
    patient = RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.1)
    result = export(server, schools=None, max_concurrency=5, retry=patient, page_size=1000)
    assert result.csv_bytes == expected
    assert len(server.faults.injected) >= 8


# -- paging and record shapes: read correctly, same file --------------------------------------------

PAGING_AND_SHAPES: dict[str, dict[str, object]] = {
    "total too high on the first page": {"total_drift": 7},
    "total too low on the first page": {"total_drift": -7},
    "first page holds more than its total": {"total_drift": -500},
    "the same record on two pages": {"overlapping_pages": True},
    "the same record on two pages, no total": {"overlapping_pages": True, "total_count_header": False},
    "unknown extra fields": {"extra_fields": True},
}


@pytest.mark.parametrize("case", list(PAGING_AND_SHAPES))
def test_paging_quirks_and_vendor_shapes_give_the_same_file(case, make_demo_provider, baseline):
    server = make_demo_provider(**PAGING_AND_SHAPES[case])
    assert export(server).csv_bytes == baseline.csv_bytes


def test_dangling_references_are_reported_not_fatal(make_demo_provider, baseline):
    server = make_demo_provider(dangling_references=True)
    result = export(server)
    assert result.csv_bytes == baseline.csv_bytes
    unknown = result.problems.filter(pl.col("code") == "unknown_user")
    assert unknown["user_id"].to_list() == [DANGLING_USER]
    assert unknown["severity"].to_list() == ["warning"]
    # The enrollment naming a class the SIS does not have leaves no trace in the file.
    assert DANGLING_CLASS not in result.csv_bytes.decode()


def test_null_identifiers_work_with_a_cds_mapping(make_demo_provider, demo_district, baseline):
    schools = demo_district.orgs.filter(pl.col("type") == "school")
    mapping = dict(schools.select("sourcedId", "identifier").iter_rows())
    server = make_demo_provider(null_identifiers=True)
    result = export(server, options=GroupOptions(split_large=True, cds_map=mapping), page_size=1000)
    assert result.csv_bytes == baseline.csv_bytes
    without = export(server, page_size=1000)
    assert without.csv_bytes.count(b"\r\n") == 1  # header only: no school has a CDS code
    assert "school_without_cds" in without.problems["code"].to_list()


def test_ext_roles_are_not_teachers(make_demo_provider, demo_district, demo_provider):
    """``ext:coteacher`` is not the ``teacher`` role: the co-teacher is left out, the rest is unchanged."""
    section = demo_district.cases.co_taught_section
    school = demo_district.classes.filter(pl.col("sourcedId") == section)["school.sourcedId"][0]
    expected = export(demo_provider, schools=[school], page_size=1000)
    result = export(make_demo_provider(ext_values=True), schools=[school], page_size=1000)
    co_teachers = demo_district.enrollments.filter(
        (pl.col("class.sourcedId") == section) & (pl.col("role") == "teacher") & ~pl.col("primary")
    )["user.sourcedId"]
    logins = demo_district.users.filter(pl.col("sourcedId").is_in(co_teachers.implode()))["email"].to_list()
    kept = expected.rows.filter(~pl.col("group_user_login").is_in(logins) | pl.col("group_user_login").is_null())
    assert result.rows.equals(kept)
    assert result.validation.accepted


# -- Retry-After and the waiting budget ---------------------------------------------------------


def read_schools(server: DemoProvider, retry: RetryPolicy = QUICK) -> tuple[list[str], float]:
    """The /schools collection and how long reading it took, once the token is in hand."""

    async def work() -> tuple[list[str], float]:
        async with OneRosterClient(settings_for(server), retry=retry, seed=1, transport=server.transport()) as client:
            await client.get_json(client.url("/orgs/org-0000"))  # gets the token first
            started = time.monotonic()
            frame = await client.collection("/schools", collection="schools", envelope="orgs")
            return frame["sourced_id"].to_list(), time.monotonic() - started

    return asyncio.run(work())


@pytest.mark.parametrize(
    ("rule", "at_least"),
    [
        (FaultRule(kind="429", target="/schools", retry_after=1), 1.0),
        (FaultRule(kind="503", target="/schools", retry_after=0.5, retry_after_date=True), 0.5),
    ],
    ids=["429 Retry-After in seconds", "503 Retry-After as an HTTP-date"],
)
def test_retry_after_is_honoured_in_both_forms(faulty, rule, at_least):
    server = faulty(Faults(rules=(rule,)))
    schools, took = read_schools(server)
    assert len(schools) == 3
    assert server.request_log.count("/schools", status=int(rule.kind.value)) == 1
    assert took >= at_least - 0.02  # QUICK alone would have waited at most 0.01 s


def test_backoff_is_capped_exponential_with_jitter():
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    rng = random.Random(3)
    delays = [[policy.delay(attempt, None, rng) for attempt in range(1, 9)] for _ in range(200)]
    for attempt in range(8):
        column = [row[attempt] for row in delays]
        cap = min(4.0, 0.5 * 2**attempt)
        assert all(0 <= d <= cap for d in column)
        assert max(column) > cap * 0.8 and len(set(column)) > 100  # spread over the whole step: jitter
    assert policy.delay(1, 7.0, rng) == 7.0  # a server's Retry-After wins


def test_the_total_wait_is_bounded(faulty):
    server = faulty(Faults(rules=(FaultRule(kind="503", target="/schools", times=None),)))
    patient = RetryPolicy(max_attempts=100, base_delay=0.1, max_delay=0.1, max_total_wait=0.35)
    started = time.monotonic()
    with pytest.raises(ServerError):
        read_schools(server, retry=patient)
    # 0.35 s of waiting at most, then a few quick requests; the 100 attempts would have waited 10 s
    assert time.monotonic() - started < 3.0  # (with room for a busy machine)
    assert server.request_log.count("/schools", status=503) < 100  # the budget stopped it, not the attempts


# -- faults that do not clear: a typed error naming the request; no secret anywhere -------------------

PERSISTENT: dict[str, tuple[FaultRule, type[OneRosterError], str, str]] = {
    "503 on enrollments": (
        FaultRule(kind="503", target="/enrollments", times=None),
        ServerError,
        "/enrollments",
        "temporarily unavailable",
    ),
    "429 with a Retry-After beyond the budget": (
        FaultRule(kind="429", target="/schools", times=None, retry_after=3600),
        RateLimited,
        "/schools",
        "slow down",
    ),
    "connection resets": (
        FaultRule(kind="reset", target="/users", times=None),
        ProviderUnreachable,
        "/users",
        "Could not connect",
    ),
    "time-outs": (
        FaultRule(kind="hang", target="/academicSessions", times=None),
        ProviderUnreachable,
        "/academicSessions",
        "did not answer in time",
    ),
    "truncated JSON": (FaultRule(kind="truncated", target="/classes", times=None), BadResponse, "/classes", "JSON"),
    "HTML page with 200": (FaultRule(kind="html", target="/courses", times=None), BadResponse, "/courses", "JSON"),
    "empty pages": (
        FaultRule(kind="empty-page", target="/enrollments", times=None),
        BadResponse,
        "/enrollments",
        "empty page",
    ),
    "token endpoint down": (
        FaultRule(kind="503", target="token", times=None),
        ServerError,
        "/oauth/token",
        "temporarily unavailable",
    ),
    "every token refused": (
        FaultRule(kind="expired-token", target="/schools", times=None),
        AuthenticationFailed,
        "/schools",
        "did not accept our access token",
    ),
}


@pytest.mark.parametrize("case", list(PERSISTENT))
def test_faults_that_do_not_clear_end_in_a_typed_error_naming_the_request(case, faulty):
    rule, error_type, endpoint, said = PERSISTENT[case]
    server = faulty(Faults(rules=(rule,), hang_seconds=0.4))
    # On a port (None: the network), a hang must end in the client's read time-out, cut short.
    transport = server.transport() or ShortReadTimeout()
    with pytest.raises(error_type) as caught:
        export(server, transport=transport, retry=RetryPolicy(max_attempts=3, base_delay=0.01))
    error = caught.value
    assert endpoint in error.endpoint
    assert endpoint in str(error) and said in str(error)
    assert error.hint and error.hint in str(error)
    assert_no_secret(server, *error_texts(error))


def test_a_wrong_secret_never_shows_the_secret_even_in_the_traceback(faulty):
    server = faulty(Faults())
    wrong = "wrong-secret-8812734"
    with pytest.raises(AuthenticationFailed) as caught:
        export(server, client_secret=wrong)
    for text in error_texts(caught.value):
        assert wrong not in text and server.client_secret not in text


# -- the fault rules themselves ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("503", FaultRule(kind="503")),
        ("503,every=3,times=2", FaultRule(kind="503", every=3, times=2)),
        ("reset,target=token,after=1", FaultRule(kind="reset", target="token", after=1)),
        ("429,retry_after=1,retry-after-date=yes", FaultRule(kind="429", retry_after=1, retry_after_date=True)),
        ("empty-page,target=/users,times=always", FaultRule(kind="empty-page", target="/users", times=None)),
    ],
)
def test_fault_rules_from_the_command_line(text, rule):
    assert parse_fault_rule(text) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [("418", "kind"), ("503,every=0", "every"), ("503,target=classes", "target"), ("503,every", "key=value")],
)
def test_bad_fault_rules_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_fault_rule(text)


def test_the_same_requests_are_spoiled_on_every_run(faulty):
    counts = []
    for _ in range(2):
        server = faulty(Faults(rules=(FaultRule(kind="503", every=3),), seed=5))
        export(server)
        counts.append((server.request_log.count(status=503), server.request_log.counts()))
    assert counts[0] == counts[1]
    assert {kind.value for kind in FaultKind} >= {"429", "reset", "hang", "empty-page"}
