"""What a deployment lets its HTTP clients do: where they may connect, how long they wait, how much they read.

One :class:`Egress` per process, built from the deployment's settings once at start
(:func:`egress_from_config`, then :func:`use_egress`): the app from ``CERS_*`` variables and the
address it listens on, the command line from the same variables as a local run. Both clients
(OneRoster and the CERS import) open their ``httpx.AsyncClient`` with :func:`open_client`, which
applies it whatever the call site: a place that forgets to pass a policy still gets the process's.
A test gives its own ``Egress`` (or its own transport) explicitly instead.

Every client opened here:

- connects only where :class:`~cers_core.http.network.NetworkPolicy` allows, checked on the
  address connected to (so ``HTTP_PROXY``-style variables are not used: a proxy would hide the
  address; where one is needed, it is the proxy's rules that apply, and the app goes direct);
- never follows a redirect by itself: a token request must not carry the secret to whatever
  another host says, and the OneRoster client follows same-origin redirects itself;
- has the time-outs and the answer cap of :class:`~cers_core.http.bounds.Limits`.

Example (the app, once at start; the command line passes its egress to each export instead)::

    egress = egress_from_config(load_config(), listen_address="0.0.0.0")
    use_egress(egress.allowing_service(demo_server.origin))
    async with open_client(auth=auth) as client: ...
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import httpx

from cers_core.config import Config
from cers_core.http.bounds import Limits, capped_answers
from cers_core.http.network import NetworkPolicy
from cers_core.http.tls import tls_context

__all__ = ["Egress", "current_egress", "egress_from_config", "open_client", "use_egress"]


@dataclass(frozen=True, slots=True)
class Egress:
    """Where connections may go (``network``) and how long and how much (``limits``)."""

    network: NetworkPolicy = field(default_factory=lambda: NetworkPolicy.for_deployment(None, listen_address=None))
    limits: Limits = field(default_factory=Limits)

    def allowing_service(self, origin: str) -> Egress:
        """This egress, letting the service at ``origin`` through too (the app's embedded demo provider,
        ``http://127.0.0.1:<port>``), whatever the networks allowed."""
        return replace(self, network=self.network.allowing_service(origin))


_current = Egress()
_lock = threading.Lock()


def current_egress() -> Egress:
    """The process's egress: a local run's until :func:`use_egress` sets another."""
    return _current


def use_egress(egress: Egress) -> None:
    """Set the process's egress (the app and the command line, once at start)."""
    global _current
    with _lock:
        _current = egress


def egress_from_config(config: Config, *, listen_address: str | None) -> Egress:
    """The egress a deployment's settings ask for: ``CERS_ALLOWED_NETWORKS`` (else the default for
    ``listen_address``: see ``NetworkPolicy.for_deployment``; None for the command line),
    ``CERS_EXPORT_DEADLINE`` and ``CERS_MAX_ANSWER_MB``."""
    network = NetworkPolicy.for_deployment(config.allowed_networks, listen_address=listen_address)
    limits = Limits(export_seconds=config.export_deadline, answer_bytes=config.max_answer_mb * 2**20)
    return Egress(network=network, limits=limits)


def open_client(
    *,
    auth: httpx.Auth,
    egress: Egress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for one of our services, under ``egress`` (default: the process's).

    ``transport`` replaces the network (a test's in-process app); the answer cap applies to it too.
    ``timeout`` replaces the limits' time-outs (the CERS post waits longer for its answer).
    """
    egress = egress or current_egress()
    return httpx.AsyncClient(
        auth=auth,
        transport=transport or egress.network.transport(verify=tls_context()),
        timeout=timeout or egress.limits.timeout(),
        headers={"Accept": "application/json"},
        follow_redirects=False,
        trust_env=False,
        event_hooks={"response": [capped_answers(egress.limits.answer_bytes)]},
    )
