"""A hostile provider (the demo provider's ``--hostile`` modes) against a whole export: each mode ends in a
typed error within its deadline, never hands a secret or a token on, and never leaves this site.

The deadlines are cut to a test's scale (``SHORT``: a try of a request at most a second, a request
with its retries at most two); the modes that hold or stream a connection run on a ``DemoServer``.
Memory is proven in ``tests/cli/test_hostile_memory.py``, in a process of its own under a memory limit.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from cers_core import export_section_groups
from cers_core.errors import AuthenticationFailed, BadResponse, OneRosterError, ProviderUnreachable
from cers_core.export import ExportContext, GroupExport, list_schools
from cers_core.http.bounds import Limits
from cers_core.http.egress import Egress
from cers_core.http.oauth import TokenCache
from cers_core.http.retry import RetryPolicy
from cers_demo import DemoProvider, DemoServer, ProviderOptions
from cers_demo.faults import Hostile
from cers_demo.provider.hostile import MARKUP
from tests.support import DEMO_REFERENCE_DATE

SCHOOL = "org-0001"
SHORT = Egress(limits=Limits(connect_seconds=1.0, silence_seconds=0.5, attempt_seconds=1.0, answer_bytes=2**20))
RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_total_time=2.0)
# A request ends within RETRY.max_total_time; an export within a few of them, plus start-up.
PROMPTLY = 6.0
# Characters that every encoding of a form or a URL changes: the secret must be hidden in each form.
AWKWARD_SECRET = "p@ss w/rd+&=é"


def export(
    provider: DemoProvider,
    *,
    schools: list[str] | None = [SCHOOL],  # noqa: B006 - never changed
    settings: dict[str, object] | None = None,
    **context: object,
) -> GroupExport:
    fields = {"retry": RETRY, "egress": SHORT, "transport": provider.transport()} | context
    return export_section_groups(
        provider.settings(**({"page_size": 100} | (settings or {}))),
        schools=schools,
        as_of=DEMO_REFERENCE_DATE,
        context=ExportContext(**fields),  # type: ignore[arg-type]
    )


def texts_of(error: BaseException) -> str:
    """Everything an error could show: text, repr and traceback of it and its whole chain."""
    parts, current = [], error
    while current is not None:
        parts += [str(current), repr(current), "".join(traceback.format_exception(current))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def secret_forms(provider: DemoProvider) -> list[str]:
    import base64

    secret = provider.client_secret
    pair = base64.b64encode(f"{provider.client_id}:{secret}".encode()).decode()
    return [secret, quote(secret, safe=""), quote_plus(secret), pair, *provider.issued_tokens]


@pytest.fixture
def hostile_server(demo_district) -> Iterator[callable]:
    servers: list[DemoServer] = []

    def make(*modes: Hostile, **options: object) -> DemoServer:
        server = DemoServer(demo_district, options=ProviderOptions(hostile=modes, **options)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def hostile_provider(demo_district, *modes: Hostile, **options: object) -> DemoProvider:
    return DemoProvider(demo_district, options=ProviderOptions(hostile=modes, **options))


def fails_promptly(provider: DemoProvider, error_type: type[OneRosterError], **options: object) -> OneRosterError:
    started = time.monotonic()
    with pytest.raises(error_type) as caught:
        export(provider, **options)  # type: ignore[arg-type]
    assert time.monotonic() - started < PROMPTLY
    assert caught.value.hint
    return caught.value


# -- waits without end ------------------------------------------------------------------------------


def test_an_answer_trickling_a_byte_at_a_time_is_given_up_on(hostile_server):
    """httpx's read time-out restarts with every byte; the try's own deadline does not."""
    server = hostile_server(Hostile(mode="trickle", seconds=0.05))
    error = fails_promptly(server, ProviderUnreachable)
    assert "did not answer in time" in str(error)


# Silent data: the school list or the terms, whichever is given up on first (both are asked at once).
@pytest.mark.parametrize(("mode", "endpoint"), [("silent", "/rostering/v1p2/"), ("silent-token", "/oauth/token")])
def test_a_silent_provider_or_token_endpoint_is_given_up_on(hostile_server, mode, endpoint):
    server = hostile_server(Hostile(mode=mode))
    error = fails_promptly(server, ProviderUnreachable)
    assert "did not answer in time" in str(error) and endpoint in error.endpoint


def test_the_export_has_a_deadline_of_its_own(hostile_server):
    """Each request within its own bounds, the export still ends at its deadline."""
    server = hostile_server(Hostile(mode="trickle", seconds=0.05))
    patient = Egress(limits=Limits(silence_seconds=5.0, attempt_seconds=60.0, export_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(ProviderUnreachable, match=r"within the export's time limit \(0 seconds\)|time limit"):
        export(server, egress=patient, retry=RetryPolicy())
    assert time.monotonic() - started < 2.0


def test_a_next_link_that_cycles_ends_in_a_typed_error(demo_district):
    provider = hostile_provider(demo_district, Hostile(mode="cycle-link"))
    error = fails_promptly(provider, BadResponse)
    assert "goes round in circles" in str(error)
    assert provider.request_log.count() < 20


def test_an_absurd_total_is_a_typed_error_and_plans_nothing(demo_district):
    provider = hostile_provider(demo_district, Hostile(mode="huge-total"))
    error = fails_promptly(provider, BadResponse)
    assert "1,000,000,000,000" in str(error) and "X-Total-Count" in str(error)
    assert provider.request_log.count() <= 4  # the token, and the first page of each collection read at once


# -- memory and crashes ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Hostile(mode="huge-page", size=8 * 2**20), Hostile(mode="endless-body")])
def test_an_answer_past_the_size_cap_is_not_read_to_its_end(hostile_server, mode):
    server = hostile_server(mode)
    error = fails_promptly(server, BadResponse)
    assert "answer was too large (over 1 MB)" in str(error) and "page size" in error.hint


@pytest.mark.parametrize(
    ("target", "said"),
    [("data", "JSON nested too deeply"), ("token", "The Token URL answered, but not with an OAuth token")],
)
def test_json_nested_a_hundred_thousand_deep_is_a_typed_error(demo_district, target, said):
    provider = hostile_provider(demo_district, Hostile(mode="deep-json", target=target))
    error = fails_promptly(provider, BadResponse)
    assert said in str(error)
    assert "RecursionError" not in texts_of(error)


# -- secrets stay with their origin ----------------------------------------------------------------


@pytest.mark.parametrize("in_body", [False, True], ids=["by Basic", "in the form body"])
def test_a_token_endpoint_that_echoes_the_request_never_shows_the_secret(demo_district, in_body):
    provider = hostile_provider(demo_district, Hostile(mode="echo-credentials"), client_secret=AWKWARD_SECRET)
    # A short scope, so that the secret comes within the 200 characters of the server's words that are shown.
    cache = TokenCache(credentials_in_body=in_body)
    error = fails_promptly(provider, AuthenticationFailed, token_cache=cache, settings={"scope": "roster"})
    shown = texts_of(error)
    assert "Rejected request" in shown and "[hidden]" in shown
    for form in secret_forms(provider):
        assert form not in shown


def test_an_api_that_echoes_the_token_and_cookies_never_shows_them(demo_district):
    provider = hostile_provider(demo_district, Hostile(mode="echo-credentials", target="data"), require_cookie=True)
    error = fails_promptly(provider, BadResponse)
    shown = texts_of(error)
    assert "Authorization: Bearer [hidden]" in shown
    for form in secret_forms(provider):
        assert form not in shown


@pytest.fixture(scope="module")
def other_host(demo_district) -> Iterator[DemoServer]:
    """Another host (127.0.0.2) that notes every request that reaches it."""
    with DemoServer(demo_district, host="127.0.0.2") as server:
        yield server


def test_a_token_url_that_redirects_elsewhere_is_not_followed(hostile_server, other_host):
    """A 307 would post the secret to the other host (Basic is dropped on the way, and the 401 that follows
    used to make the client send it in the form body)."""
    server = hostile_server(Hostile(mode="redirect-to", url=other_host.origin + "/internal", target="token"))
    other_host.request_log.clear()
    error = fails_promptly(server, BadResponse)
    assert "The Token URL redirects elsewhere" in str(error)
    assert f"a redirect to {other_host.origin}/internal/oauth/token" in str(error)
    assert other_host.request_log.count() == 0


def test_an_api_redirect_to_another_site_is_refused(hostile_server, other_host):
    server = hostile_server(Hostile(mode="redirect-to", url=other_host.origin, target="data"))
    other_host.request_log.clear()
    error = fails_promptly(server, BadResponse)
    assert f"another site (a redirect to {other_host.origin})" in str(error)
    assert other_host.request_log.count() == 0  # the token never went there, nor the cookies


# -- names that look like markup --------------------------------------------------------------------


def test_names_holding_markup_come_through_as_text(demo_district):
    """The engine keeps such names as they are (the app must show them as text: the pages' tests check that)."""
    provider = hostile_provider(demo_district, Hostile(mode="markup-names"))
    result = export(provider)
    names = "\n".join(result.groups["group_name"].to_list())
    assert MARKUP["course"].strip() in names and MARKUP["teacher"].strip() in names
    schools = list_schools(provider.settings(), context=ExportContext(transport=provider.transport()))
    assert all(name.endswith(MARKUP["school"]) for name in schools["name"].to_list())
