"""A connection that fails is said in plain words, naming the address and the setting to check,
never by an exception class's name."""

from __future__ import annotations

import socket

import httpx
import pytest

from cers_core import OneRosterSettings, list_schools
from cers_core.cers_import import check_import_connection
from cers_core.errors import ImportUnreachable, ProviderUnreachable
from cers_core.export import ExportContext
from cers_core.http.retry import RetryPolicy
from cers_core.http.transport_words import transport_words
from cers_core.settings import CersImportSettings

NO_WAIT = RetryPolicy(max_attempts=1, base_delay=0, max_total_wait=0)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_wrong_port_names_the_address_and_the_setting() -> None:
    port = closed_port()
    settings = OneRosterSettings(
        base_url=f"http://127.0.0.1:{port}/ims/oneroster/rostering/v1p2",
        token_url=f"http://127.0.0.1:{port}/oauth/token",
        client_id="c",
        client_secret="s",
    )
    with pytest.raises(ProviderUnreachable) as caught:
        list_schools(settings, context=ExportContext(retry=NO_WAIT))
    message = str(caught.value)
    assert message.startswith(
        f"Could not connect to the OneRoster server: nothing answered at 127.0.0.1:{port} — "
        "is the port of the Base URL and the Token URL right? (request:"
    )  # a question ends the sentence: no full stop after it
    assert "ConnectError" not in message and "said" not in message


def test_only_the_setting_on_that_address_is_named() -> None:
    port = closed_port()
    words = transport_words(
        _refused(f"http://127.0.0.1:{port}/oauth/token"),
        f"http://127.0.0.1:{port}/oauth/token",
        urls={"Base URL": "https://sis.example.org/v1p2", "Token URL": f"http://127.0.0.1:{port}/oauth/token"},
    )
    assert words == f"nothing answered at 127.0.0.1:{port} — is the Token URL's port right?"


def test_the_import_client_says_it_the_same_way() -> None:
    port = closed_port()
    settings = CersImportSettings(
        import_url=f"http://127.0.0.1:{port}/rdw-import",
        token_url="http://127.0.0.2:1/oauth2/token",
        client_id="c",
        client_secret="s",
    )
    with pytest.raises(ImportUnreachable) as caught:
        check_import_connection(settings)
    assert "nothing answered at 127.0.0.2:1 — is the Token URL's port right?" in str(caught.value)


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (httpx.ConnectTimeout("t"), "sis.example.org:443 did not accept a connection in time — is the Base URL's "
         "host and port right?"),
        (httpx.ReadTimeout("t"), "sis.example.org did not answer in time"),
        (httpx.RemoteProtocolError("closed"), "sis.example.org closed the connection without an answer"),
        (httpx.ReadError("reset"), "the connection to sis.example.org broke"),
    ],
)  # fmt: skip
def test_each_kind_of_failure(error: httpx.TransportError, words: str) -> None:
    url = "https://sis.example.org/v1p2/schools"
    assert transport_words(error, url, urls={"Base URL": "https://sis.example.org/v1p2"}) == words


def test_an_unknown_host() -> None:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")
    words = transport_words(error, "https://sis.exmaple.org/x", urls={"Base URL": "https://sis.exmaple.org/x"})
    assert words == "no computer named sis.exmaple.org was found — is the Base URL's host name right?"


def _refused(url: str) -> httpx.ConnectError:
    error = httpx.ConnectError("All connection attempts failed", request=httpx.Request("GET", url))
    error.__cause__ = ConnectionRefusedError(111, "Connect call failed")
    return error
