"""The CERS import client against a hostile service: every wait is bounded, every answer capped, nothing
leaves for another host, no secret is shown.

The hostile service is the demo OneRoster provider in its ``--hostile`` modes, posing as the import
service: its token endpoint grants client credentials, and its data paths (the Import URL's
``/groups/imports``) misbehave. Deadlines are cut to a test's scale.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from urllib.parse import quote_plus

import pytest

from cers_core.cers_import import UploadContext, check_import_connection, upload_group_file
from cers_core.errors import ImportAuthFailed, ImportRequestFailed, ImportUnreachable, UploadError, UploadOutcomeUnknown
from cers_core.http.bounds import Limits
from cers_core.http.egress import Egress
from cers_core.http.retry import RetryPolicy
from cers_core.settings import CersImportSettings
from cers_demo import DemoServer, ProviderOptions
from cers_demo.faults import Hostile
from tests.cers_import.test_upload import small_file

SHORT = Egress(limits=Limits(connect_seconds=1.0, silence_seconds=0.5, attempt_seconds=1.0, answer_bytes=2**20))
RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05, max_total_time=2.0)
CONTEXT = UploadContext(egress=SHORT, retry=RETRY, send_timeout=0.5, post_seconds=1.0, max_wait=1.0, poll_interval=0.05)
PROMPTLY = 6.0
SECRET = "imp@rt s/cret+&="


@pytest.fixture
def hostile(demo_district) -> Iterator[Callable[..., DemoServer]]:
    servers: list[DemoServer] = []

    def make(*modes: Hostile) -> DemoServer:
        server = DemoServer(demo_district, options=ProviderOptions(hostile=modes, client_secret=SECRET)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def import_settings(server: DemoServer) -> CersImportSettings:
    return CersImportSettings(
        import_url=server.base_url, token_url=server.token_url, client_id=server.client_id, client_secret=SECRET
    )


def checking(server: DemoServer) -> Callable[[], object]:
    """The connection check (a token, then a status read) against ``server``, to be run."""
    return lambda: check_import_connection(import_settings(server), context=CONTEXT)


def fails_promptly(work: Callable[[], object], error_type: type[UploadError]) -> UploadError:
    started = time.monotonic()
    with pytest.raises(error_type) as caught:
        work()
    assert time.monotonic() - started < PROMPTLY
    return caught.value


def test_a_status_read_that_trickles_is_given_up_on(hostile):
    server = hostile(Hostile(mode="trickle", seconds=0.05))
    error = fails_promptly(checking(server), ImportUnreachable)
    assert "no complete answer in time" in str(error)


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        (Hostile(mode="silent"), "127.0.0.1 did not answer in time"),  # the read time-out
        (Hostile(mode="trickle", seconds=0.05), "no complete answer in time"),  # the post's own deadline
    ],
    ids=["silent", "trickle"],
)
def test_a_post_that_is_never_answered_ends_with_the_outcome_unknown_in_bounded_time(hostile, mode, reason):
    """The file may have arrived: it is not sent again, the batch is looked up (no better answered), and
    the analyst is told to check CERS."""
    server = hostile(mode)

    def send() -> object:
        return upload_group_file(import_settings(server), small_file(), file_name="groups.csv", context=CONTEXT)

    error = fails_promptly(send, UploadOutcomeUnknown)
    assert f"may or may not have reached CERS ({reason})" in str(error)
    assert server.request_log.count("/groups/imports") <= 1 + 3  # one post; status reads within the wait


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        (Hostile(mode="endless-body"), "an answer larger than 1 MB to the status request"),
        (Hostile(mode="deep-json"), "something that is not a list of imports"),
    ],
)
def test_an_endless_or_deeply_nested_status_answer_is_a_typed_error(hostile, mode, said):
    server = hostile(mode)
    error = fails_promptly(checking(server), ImportRequestFailed)
    assert said in str(error)
    assert "RecursionError" not in "".join(traceback.format_exception(error))


def test_a_token_endpoint_that_echoes_the_credentials_never_shows_them(hostile):
    server = hostile(Hostile(mode="echo-credentials"))
    error = fails_promptly(checking(server), ImportAuthFailed)
    shown = "".join(traceback.format_exception(error))
    assert "Rejected request" in shown
    assert SECRET not in shown and quote_plus(SECRET) not in shown and quote_plus(SECRET, safe="") not in shown


def test_a_token_url_that_redirects_is_not_followed(hostile, demo_district):
    with DemoServer(demo_district, host="127.0.0.2") as other:
        server = hostile(Hostile(mode="redirect-to", url=other.origin, target="token"))
        other.request_log.clear()
        error = fails_promptly(checking(server), ImportRequestFailed)
        assert "The CERS Token URL redirects elsewhere" in str(error)
        assert other.request_log.count() == 0
