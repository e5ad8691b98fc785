"""The faults the demo OneRoster provider can inject, so that clients can be tested against a misbehaving SIS.

A district's OneRoster provider is a busy production system: it is slow, rate-limits,
fails with 5xx, drops connections, cuts answers short and lets tokens expire early. The
demo provider imitates all of that on request, deterministically, so that a test can say
exactly what happened and expect the same outcome on every run:

- ``latency_seconds``: every request is answered this long after it arrived, at the soonest
  (the provider's response time: its own work on the answer is part of it, as on a real SIS
  whose work runs while other answers are on their way);
- ``max_concurrent_requests``: requests beyond this many in flight are answered 429 at once;
- ``rules``: each ``FaultRule`` picks requests (by target path, one distinct request in
  ``every``, after the first ``after``) and spoils each picked request ``times`` times
  before answering it normally (``times=None``: it never clears).

"Distinct request" means method, path and query: a client that asks again for the same page
gets the same treatment, whatever the order in which concurrent requests arrive. Which
requests are picked is a hash of the request and ``seed``, so it does not depend on timing.

This module is the model: what may go wrong, as ``ProviderOptions.faults`` holds it. The
provider's ``FaultInjector`` (``cers_demo.provider.fault_injector``) serves it. Paging and
record-shape quirks (no ``X-Total-Count``, a changing total, overlapping pages, dangling
references …) are fields of ``ProviderOptions`` itself; ``cers_demo.provider_flags`` gives
every one of them, and these faults, a ``demo-server`` flag.

Example::

    ProviderOptions(faults=Faults(rules=[FaultRule(kind="503", every=3, times=2)], latency_seconds=0.01))
    # the same from the command line:
    #   python -m cers_core demo-server --fault 503,every=3,times=2 --latency 0.01
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["CONNECTION_FAULTS", "FaultKind", "FaultRule", "Faults", "parse_fault_rule"]


class FaultKind(StrEnum):
    """What a picked request gets instead of its normal answer."""

    too_many_requests = "429"
    """429 with an imsx ``server_busy`` body (and ``Retry-After`` when the rule gives one)."""
    internal_error = "500"
    """500 with an imsx ``internal_server_error`` body."""
    bad_gateway = "502"
    """502 with a proxy's HTML page."""
    unavailable = "503"
    """503 with an imsx body (and ``Retry-After`` when the rule gives one)."""
    gateway_timeout = "504"
    """504 with a proxy's HTML page."""
    reset = "reset"
    """The connection is reset (TCP RST) before any answer."""
    hang = "hang"
    """No answer for ``Faults.hang_seconds`` (longer than the client's read time-out), then the normal one."""
    cut_off = "cut-off"
    """Status and headers of the normal answer, half its body, then the connection is reset."""
    truncated = "truncated"
    """200 with the JSON cut in half, as a complete HTTP message (Content-Length fits the cut body)."""
    html = "html"
    """200 with an HTML page instead of JSON (a proxy's maintenance page)."""
    empty_page = "empty-page"
    """A page of a collection comes back empty, with the usual headers (only collections are affected)."""
    expired_token = "expired-token"
    """401 as if the access token had expired early; the token is revoked (data requests only)."""


CONNECTION_FAULTS = frozenset({FaultKind.reset, FaultKind.hang, FaultKind.cut_off})
"""The kinds only a provider served on a port can inject (``DemoServer``): they drop the TCP connection,
or hold it past the client's read time-out. In process there is neither a connection nor a time-out."""


class FaultRule(BaseModel):
    """Which requests to spoil, how, and for how long.

    Example: ``FaultRule(kind="503", target="/classes", every=3, times=2)`` answers one in
    three distinct ``/classes…`` requests 503 twice, then normally.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    target: str = "data"
    """``data`` (every request under the base path), ``token`` (the token endpoint), ``all``, or a
    path relative to the base path that request paths start with (``/classes``, ``/schools``)."""
    every: int = Field(default=1, ge=1)
    """One distinct request in ``every`` is picked (by a hash of method, path, query and the seed)."""
    times: int | None = Field(default=1, ge=1)
    """How many times a picked request is spoiled before it is answered normally; None: always."""
    after: int = Field(default=0, ge=0)
    """The first ``after`` requests that match ``target`` pass untouched (e.g. the first token)."""
    retry_after: float | None = Field(default=None, ge=0)
    """Seconds to send in ``Retry-After`` (429 and 503 only; rounded up to whole seconds)."""
    retry_after_date: bool = False
    """Send ``Retry-After`` as an HTTP-date (that many seconds ahead, rounded up) instead of seconds."""

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        if value not in ("data", "token", "all") and not value.startswith("/"):
            raise ValueError("target is 'data', 'token', 'all' or a path starting with '/', e.g. /classes")
        return value


class Faults(BaseModel):
    """The faults a demo provider injects; the defaults inject none."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[FaultRule, ...] = ()
    """Checked in order; a request gets the first rule that picks it."""
    latency_seconds: float = Field(default=0.0, ge=0, le=60)
    """Every request is answered this long after it arrived, at the soonest (its handling included)."""
    max_concurrent_requests: int | None = Field(default=None, ge=1)
    """Requests beyond this many in flight are answered 429 at once (without Retry-After)."""
    hang_seconds: float = Field(default=1.0, gt=0, le=300)
    """How long a ``hang`` lasts."""
    seed: int = 0
    """Changes which requests ``every`` picks."""

    @property
    def active(self) -> bool:
        return bool(self.rules) or self.latency_seconds > 0 or self.max_concurrent_requests is not None

    @property
    def need_a_connection(self) -> bool:
        """Whether a rule injects one of the ``CONNECTION_FAULTS``, which an in-process provider cannot."""
        return any(rule.kind in CONNECTION_FAULTS for rule in self.rules)


def parse_fault_rule(text: str) -> FaultRule:
    """A rule from its command-line form ``KIND[,key=value…]``, e.g. ``503,every=3,times=2,target=/classes``.

    ``times=always`` makes a fault that never clears; ``retry_after=1`` sends ``Retry-After: 1``,
    ``retry_after_date=yes`` sends it as an HTTP-date.
    """
    kind, *options = [part.strip() for part in text.split(",")]
    values: dict[str, Any] = {"kind": kind}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise ValueError(f"{option!r}: write options as key=value, e.g. every=3")
        key = key.strip().replace("-", "_")
        if key == "times" and value in ("always", "forever"):
            values[key] = None
        elif key == "retry_after_date":
            values[key] = value.lower() in ("1", "yes", "true", "on")
        else:
            values[key] = value
    try:
        return FaultRule.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'rule'}: {e['msg']}" for e in error.errors())
        kinds = ", ".join(k.value for k in FaultKind)
        raise ValueError(f"{text!r}: {problems} (kinds: {kinds})") from None
