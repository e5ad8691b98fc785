"""Where the server may connect: the allow-list, checked on the address actually connected to.

No test here connects to a private or public address: names are resolved by a stub, refusals
happen before any connection (a backend that records every connection proves it), and what is
allowed is a second loopback address, 127.0.0.2, where a demo provider listens.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterator

import httpcore
import httpx
import pytest
from pydantic import ValidationError

from cers_core import export_section_groups
from cers_core.config import load_config
from cers_core.errors import ProviderUnreachable
from cers_core.export import ExportContext, list_schools
from cers_core.http.egress import Egress, egress_from_config
from cers_core.http.network import AddressRefused, IPAddress, NetworkPolicy, parse_networks
from cers_core.http.tls import tls_context
from cers_core.settings import OneRosterSettings
from cers_demo import DemoServer
from tests.support import QUICK_RETRIES


def addresses(*texts: str) -> list[IPAddress]:
    return [ipaddress.ip_address(t) for t in texts]


class StubResolver:
    """Names to addresses, one answer per lookup (the last one repeats): what a rebinding DNS does."""

    def __init__(self, **answers: list[list[IPAddress]]) -> None:
        self.answers = {name.replace("_", "."): list(seq) for name, seq in answers.items()}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.lookups.append(host)
        seq = self.answers[host]
        return seq.pop(0) if len(seq) > 1 else seq[0]


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Connects only to loopback addresses, and notes every connection asked for."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connected.append((host, port))
        assert ipaddress.ip_address(host).is_loopback, f"a test tried to connect to {host}"
        return await self.inner.connect_tcp(host, port, timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@pytest.fixture(scope="module")
def second_host(demo_district) -> Iterator[DemoServer]:
    """A demo provider on 127.0.0.2: "another host" without leaving this computer."""
    with DemoServer(demo_district, host="127.0.0.2") as server:
        yield server


def schools_via(policy: NetworkPolicy, backend: RecordingBackend, server: DemoServer, host: str) -> list[str]:
    """The school names read from ``server`` through ``host`` (a name the policy's resolver knows)."""
    port = server.origin.rsplit(":", 1)[1]
    settings = server.settings(
        base_url=f"http://{host}:{port}{server.options.base_path}", token_url=f"http://{host}:{port}/oauth/token"
    )
    transport = policy.transport(verify=tls_context(), backend=backend)
    context = ExportContext(transport=transport, retry=QUICK_RETRIES, egress=Egress(network=policy))
    return list_schools(settings, context=context)["name"].to_list()


# -- the policy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of 169.254.169.254
        ("10.1.2.3", "a private address"),
        ("172.16.0.9", "a private address"),
        ("192.168.1.10", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("::ffff:10.0.0.1", "a private address"),  # IPv4-mapped
        ("169.254.10.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("127.0.0.1", "a loopback address (this computer)"),
        ("::1", "a loopback address (this computer)"),
        ("0.0.0.0", "not an address a server can have"),
        ("224.0.0.1", "not an address a server can have"),
        ("100.64.0.1", "an address that is not public"),  # carrier-grade NAT
    ],
)
def test_an_app_that_others_reach_may_connect_to_public_addresses_only(address, reason):
    policy = NetworkPolicy.for_deployment(None, listen_address="0.0.0.0")
    assert policy.refusal(ipaddress.ip_address(address), 443) == reason


def test_a_local_run_reaches_private_and_loopback_but_never_metadata():
    policy = NetworkPolicy.for_deployment(None, listen_address=None)
    allowed = addresses("10.1.2.3", "192.168.1.10", "fd12::1", "127.0.0.1", "::1", "8.8.8.8")
    assert [policy.refusal(a, 443) for a in allowed] == [None] * len(allowed)
    assert policy.refusal(ipaddress.ip_address("169.254.169.254"), 80) == "a cloud metadata address"
    assert policy.refusal(ipaddress.ip_address("169.254.1.1"), 80) == "a link-local address"
    assert NetworkPolicy.for_deployment(None, listen_address="127.0.0.1") == policy
    assert NetworkPolicy.for_deployment(None, listen_address="localhost") == policy


def test_the_setting_names_networks_and_always_wins():
    policy = NetworkPolicy.for_deployment("10.20.0.0/16, 192.168.5.7", listen_address=None)
    assert policy.refusal(ipaddress.ip_address("10.20.9.9"), 443) is None
    assert policy.refusal(ipaddress.ip_address("192.168.5.7"), 443) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1"), 443) == "a private address"
    assert (
        policy.refusal(ipaddress.ip_address("8.8.8.8"), 443) == "a public address, which this deployment does not allow"
    )
    # Even named outright, a metadata address stays refused.
    assert NetworkPolicy.parse("169.254.0.0/16").refusal(ipaddress.ip_address("169.254.169.254"), 80) is not None


@pytest.mark.parametrize(
    ("text", "message"),
    [("pubic", "'pubic' is neither public"), ("10.0.0.0/33", "'10.0.0.0/33'"), (" , ", "name at least one")],
)
def test_a_setting_that_cannot_be_used_says_which_item(text, message):
    with pytest.raises(ValueError, match=message):
        parse_networks(text)


def test_the_deployment_setting_comes_from_the_environment():
    egress = egress_from_config(load_config({"CERS_ALLOWED_NETWORKS": "public,10.20.0.0/16"}), listen_address="0.0.0.0")
    assert egress.network == NetworkPolicy(public=True, networks=(ipaddress.ip_network("10.20.0.0/16"),))


def test_one_service_may_be_let_through_without_opening_loopback():
    policy = NetworkPolicy.parse("public").allowing_service("http://127.0.0.1:8765")
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 8765) is None
    assert policy.refusal(ipaddress.ip_address("127.0.0.1"), 8766) == "a loopback address (this computer)"


# -- checked at connect time, on the address connected to ----------------------------------------


def test_a_refused_address_is_never_connected_to_and_the_error_says_why(second_host):
    resolver = StubResolver(sis_localhost=[addresses("10.0.0.5")])
    policy = NetworkPolicy(public=True, resolver=resolver)
    backend = RecordingBackend()
    with pytest.raises(ProviderUnreachable) as caught:
        schools_via(policy, backend, second_host, "sis.localhost")
    assert backend.connected == []
    assert str(caught.value).startswith(
        "This server may not connect to sis.localhost (10.0.0.5): a private address. Addresses it may reach are "
        "set by CERS_ALLOWED_NETWORKS."
    )
    assert "CERS_ALLOWED_NETWORKS" in caught.value.hint and resolver.lookups == ["sis.localhost"]  # not retried


def test_an_allowed_address_is_connected_to_by_the_address_checked(second_host):
    resolver = StubResolver(sis_localhost=[addresses("127.0.0.2")])
    backend = RecordingBackend()
    policy = NetworkPolicy(public=False, networks=(ipaddress.ip_network("127.0.0.2/32"),), resolver=resolver)
    names = schools_via(policy, backend, second_host, "sis.localhost")
    assert len(names) == 3
    assert {host for host, _ in backend.connected} == {"127.0.0.2"}


def test_a_name_that_rebinds_to_a_refused_address_gains_nothing(second_host):
    """The first lookup says 127.0.0.2 (allowed), every later one 127.0.0.3 (refused): the check and the
    connection use the same lookup, so the second connection is refused, not made."""
    resolver = StubResolver(sis_localhost=[addresses("127.0.0.2"), addresses("127.0.0.3")])
    policy = NetworkPolicy(public=False, networks=(ipaddress.ip_network("127.0.0.2/32"),), resolver=resolver)
    backend = RecordingBackend()

    async def two_connections() -> list[object]:
        port = second_host.origin.rsplit(":", 1)[1]
        client = httpx.AsyncClient(transport=policy.transport(verify=tls_context(), backend=backend))
        async with client:
            first = await client.get(f"http://sis.localhost:{port}/", headers={"Connection": "close"})
            try:
                await client.get(f"http://sis.localhost:{port}/")
            except AddressRefused as refused:
                return [first.status_code, refused.reason]
        return [first.status_code, None]

    assert asyncio.run(two_connections()) == [404, "a loopback address (this computer)"]
    assert backend.connected == [("127.0.0.2", int(second_host.origin.rsplit(":", 1)[1]))]


def test_a_name_with_any_refused_address_is_refused():
    resolver = StubResolver(sis_example_org=[addresses("127.0.0.2", "10.0.0.5")])
    policy = NetworkPolicy(public=True, networks=(ipaddress.ip_network("127.0.0.2/32"),), resolver=resolver)
    with pytest.raises(AddressRefused, match=r"sis.example.org \(10.0.0.5\): a private address"):
        asyncio.run(policy.addresses("sis.example.org", 443))


def test_tls_is_started_for_the_host_name_not_the_address():
    """The connection goes to the checked address, but the certificate is verified (and SNI sent) for the name."""
    started: dict[str, object] = {}

    class Stream(httpcore.AsyncNetworkStream):
        async def start_tls(self, ssl_context, server_hostname=None, timeout=None):
            started["server_hostname"] = server_hostname
            raise httpcore.ConnectError("stopped here: the test has seen what it needs")

        async def read(self, max_bytes, timeout=None):
            return b""

        async def write(self, buffer, timeout=None):
            return None

        async def aclose(self):
            return None

    class Backend(httpcore.AsyncNetworkBackend):
        async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            started["address"] = host
            return Stream()

    resolver = StubResolver(sis_example_org=[addresses("127.0.0.2")])
    policy = NetworkPolicy(public=False, networks=(ipaddress.ip_network("127.0.0.2/32"),), resolver=resolver)

    async def get() -> None:
        async with httpx.AsyncClient(transport=policy.transport(verify=tls_context(), backend=Backend())) as client:
            await client.get("https://sis.example.org/ims/oneroster/rostering/v1p2/orgs")

    with pytest.raises(httpx.ConnectError):
        asyncio.run(get())
    assert started == {"address": "127.0.0.2", "server_hostname": "sis.example.org"}


def test_the_process_policy_applies_where_a_call_site_gives_none(second_host, monkeypatch):
    """A client opened without an egress gets the process's: a call site that forgets cannot open the door."""
    refusing = Egress(network=NetworkPolicy.parse("public"))
    monkeypatch.setattr("cers_core.http.egress._current", refusing)
    with pytest.raises(ProviderUnreachable, match=r"may not connect to 127\.0\.0\.2: a loopback address"):
        export_section_groups(second_host.settings(), schools=["org-0001"], context=ExportContext(retry=QUICK_RETRIES))


# -- refused in the form already ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://169.254.169.254/latest/meta-data", True),
        ("https://metadata.google.internal/computeMetadata/v1", True),
        ("https://METADATA.google.internal./x", True),
        ("https://[fe80::1]/x", True),
        ("https://[::ffff:169.254.169.254]/x", True),
        ("https://0.0.0.0/x", True),
        ("https://10.20.0.5/ims", False),  # maybe the district's own SIS: decided when connecting
        ("https://sis.example.org/ims", False),
    ],
)
def test_addresses_where_no_service_lives_are_refused_in_the_form(url, refused):
    values = {"token_url": "https://sis.example.org/token", "client_id": "c", "client_secret": "s"}
    if not refused:
        assert OneRosterSettings(base_url=url, **values).base_url == url
        return
    with pytest.raises(ValidationError, match="points at a cloud metadata or link-local address"):
        OneRosterSettings(base_url=url, **values)


def test_an_app_that_others_reach_still_reaches_its_own_demo_provider(demo_server, second_host):
    """Loopback is refused to an app others reach, but the one service it embeds is let through."""
    egress = egress_from_config(load_config({}), listen_address="0.0.0.0").allowing_service(demo_server.origin)
    context = ExportContext(retry=QUICK_RETRIES, egress=egress)
    assert list_schools(demo_server.settings(), context=context).height == 3
    with pytest.raises(ProviderUnreachable, match="a loopback address"):
        list_schools(second_host.settings(), context=context)
