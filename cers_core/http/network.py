"""Where this server may connect: the deployment's allow-list, checked on the address actually connected to.

A Base URL, Token URL or Import URL is typed into a form by whoever can open the app. On a
server that others reach, such an address must not turn the app into a proxy into the
district's network or the cloud's metadata service (SSRF). So every connection of both
clients goes through :class:`NetworkPolicy`:

- the host is resolved here, *every* address it resolves to is checked, and the connection is
  made to the checked address itself: a name that resolves to a public address when a form
  checks it and to ``10.0.0.5`` a moment later (DNS rebinding) gains nothing, since there is no
  second lookup. TLS still verifies the certificate, and sends SNI, for the URL's host name;
- the networks allowed are named by keywords and CIDRs (``CERS_ALLOWED_NETWORKS``):
  ``public`` (globally routable addresses), ``private`` (10/8, 172.16/12, 192.168/16, fc00::/7),
  ``loopback`` (127/8, ::1), and any network such as ``10.20.0.0/16`` or one address;
- whatever the list says, the cloud metadata addresses (169.254.169.254, fd00:ec2::254,
  100.100.100.200, 169.254.170.2) are always refused, and so are multicast and unspecified
  addresses: no roster lives there;
- :meth:`NetworkPolicy.allowing_service` lets one exact loopback address and port through
  (the app's embedded demo provider) without opening loopback to every form.

A local run (the command line, ``make run`` on 127.0.0.1) allows ``public,private,loopback``;
an app that others reach, ``public`` only (see :func:`NetworkPolicy.for_deployment`).

Example::

    >>> policy = NetworkPolicy.parse("public,10.20.0.0/16")
    >>> policy.refusal(ipaddress.ip_address("10.20.1.5"), 443) is None
    True
    >>> policy.refusal(ipaddress.ip_address("192.168.1.10"), 443)
    'a private address'
    >>> NetworkPolicy.parse("private").refusal(ipaddress.ip_address("169.254.169.254"), 80)
    'a cloud metadata address'
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Final
from urllib.parse import urlsplit

import httpcore
import httpx

__all__ = [
    "LOCAL_RUN_NETWORKS",
    "SERVING_OTHERS_NETWORKS",
    "AddressRefused",
    "IPAddress",
    "NetworkPolicy",
    "Resolver",
    "parse_networks",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Host and port to the addresses to try, in order (tests give a stub; see :func:`system_resolver`)."""

LOCAL_RUN_NETWORKS: Final = "public,private,loopback"
"""What a local run may reach when ``CERS_ALLOWED_NETWORKS`` is not set."""
SERVING_OTHERS_NETWORKS: Final = "public"
"""What an app that others reach may reach when ``CERS_ALLOWED_NETWORKS`` is not set."""

_KEYWORDS: Final[dict[str, tuple[str, ...]]] = {
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"),
    "loopback": ("127.0.0.0/8", "::1/128"),
}
_METADATA: Final = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
# IPv6 forms that carry an IPv4 address inside (NAT64, 6to4): the IPv4 address is checked too.
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(Exception):
    """A host resolved to an address this deployment may not connect to; nothing was sent.

    Raised by the connection itself, before any byte leaves; each client words it as its own
    typed error (``host``, ``address`` and ``reason`` say what to tell).
    """

    def __init__(self, host: str, address: IPAddress | None, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        where = f"{host} ({address})" if address is not None and str(address) != host else host
        super().__init__(
            f"This server may not connect to {where}: {reason}. Addresses it may reach are set by "
            "CERS_ALLOWED_NETWORKS."
        )


def parse_networks(text: str) -> tuple[bool, tuple[IPNetwork, ...]]:
    """``public``, the other keywords and CIDRs of a comma- or space-separated list, as
    (whether public addresses are allowed, the networks); a ``ValueError`` names a bad item.

    >>> parse_networks("public, 10.20.0.0/16")
    (True, (IPv4Network('10.20.0.0/16'),))
    """
    public = False
    networks: list[IPNetwork] = []
    for item in text.replace(",", " ").split():
        word = item.lower()
        if word == "public":
            public = True
        elif word in _KEYWORDS:
            networks += [ipaddress.ip_network(n) for n in _KEYWORDS[word]]
        else:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(
                    f"{item!r} is neither public, private, loopback nor a network such as 10.20.0.0/16"
                ) from None
    if not public and not networks:
        raise ValueError("name at least one network, e.g. public or 10.20.0.0/16")
    return public, tuple(networks)


def _inner_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: IPAddress) -> bool:
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    return address.is_global and not (address.is_multicast or address.is_reserved or site_local)


def _kind(address: IPAddress) -> str:
    """How a refusal names an address that is not public."""
    if address.is_loopback:
        return "a loopback address (this computer)"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    return "an address that is not public"


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host``, as the operating system resolves it (IP literals included)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """The networks connections may reach; see the module docstring. The default: public addresses only."""

    public: bool = True
    networks: tuple[IPNetwork, ...] = ()
    services: frozenset[tuple[IPAddress, int]] = frozenset()
    """Exact addresses and ports allowed besides the networks (the app's embedded demo)."""
    resolver: Resolver | None = field(default=None, compare=False, repr=False)
    """How host names are resolved; None: the operating system (:func:`system_resolver`)."""

    @classmethod
    def parse(cls, text: str) -> NetworkPolicy:
        """The policy of a ``CERS_ALLOWED_NETWORKS`` value (see :func:`parse_networks`)."""
        public, networks = parse_networks(text)
        return cls(public=public, networks=networks)

    @classmethod
    def for_deployment(cls, allowed: str | None, *, listen_address: str | None) -> NetworkPolicy:
        """The policy of a process: ``allowed`` (``CERS_ALLOWED_NETWORKS``) when set; else that of a
        local run when ``listen_address`` is None (the command line) or a loopback address, else
        that of a server others reach (public addresses only).

        >>> NetworkPolicy.for_deployment(None, listen_address="0.0.0.0") == NetworkPolicy.parse("public")
        True
        >>> NetworkPolicy.for_deployment(None, listen_address="127.0.0.1") == NetworkPolicy.parse(LOCAL_RUN_NETWORKS)
        True
        """
        if allowed is not None:
            return cls.parse(allowed)
        local = listen_address is None or _is_loopback_name(listen_address)
        return cls.parse(LOCAL_RUN_NETWORKS if local else SERVING_OTHERS_NETWORKS)

    def allowing_service(self, origin: str) -> NetworkPolicy:
        """This policy, and also the service at ``origin`` (``http://127.0.0.1:8765``, an IP literal)."""
        parts = urlsplit(origin)
        address = ipaddress.ip_address((parts.hostname or "").strip("[]"))
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return replace(self, services=self.services | {(address, port)})

    def refusal(self, address: IPAddress, port: int) -> str | None:
        """Why this policy refuses ``address:port``, in words for a message; None when it allows it."""
        if (address, port) in self.services:
            return None
        inner = _inner_ipv4(address)
        if inner is not None:
            return self.refusal(inner, port)
        if address in _METADATA:
            return "a cloud metadata address"
        if address.is_multicast or address.is_unspecified:
            return "not an address a server can have"
        if any(address in network for network in self.networks):
            return None
        if self.public and _is_public(address):
            return None
        return "a public address, which this deployment does not allow" if _is_public(address) else _kind(address)

    def transport(
        self, *, verify: ssl.SSLContext | bool, backend: httpcore.AsyncNetworkBackend | None = None
    ) -> httpx.AsyncHTTPTransport:
        """An httpx transport whose connections are checked by this policy; ``backend`` is what then
        connects (default: httpcore's own; a test gives one that records what it is asked)."""
        transport = httpx.AsyncHTTPTransport(verify=verify)
        pool = transport._pool  # httpx offers no public way to give its pool a network backend
        assert isinstance(pool, httpcore.AsyncConnectionPool)
        pool._network_backend = _CheckingBackend(self, backend or pool._network_backend)
        return transport

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The addresses of ``host`` to connect to: every one checked; ``AddressRefused`` when any is refused
        (a name that resolves to both a public and a private address is a rebinding trick, or a mistake)."""
        resolve = self.resolver or system_resolver
        try:
            found = await resolve(host, port)
        except OSError as error:
            raise httpcore.ConnectError(f"could not resolve {host}: {error}") from error
        if not found:
            raise httpcore.ConnectError(f"{host} has no address")
        for address in found:
            reason = self.refusal(address, port)
            if reason is not None:
                raise AddressRefused(host, address, reason)
        return found


def _is_loopback_name(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _CheckingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, resolving and checking the host first and connecting to the checked address.

    httpcore then starts TLS on the stream with the URL's host as ``server_hostname``, so the
    certificate is verified (and SNI sent) for the name, not the address.
    """

    def __init__(self, policy: NetworkPolicy, inner: httpcore.AsyncNetworkBackend) -> None:
        self._policy = policy
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._policy.addresses(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None  # addresses is never empty
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(path, None, "a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
