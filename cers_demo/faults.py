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

Faults are what a busy SIS does by accident. ``Hostile`` modes are what a hostile or badly
broken one does, to prove the client ends in bounded time and memory and never hands a secret
on (``ProviderOptions.hostile``; ``demo-server --hostile MODE``): see :class:`HostileMode`.

This module is the model: what may go wrong, as ``ProviderOptions.faults`` holds it. The
provider's ``FaultInjector`` (``cers_demo.provider.fault_injector``) serves it. Paging and
record-shape quirks (no ``X-Total-Count``, a changing total, overlapping pages, dangling
references …) are fields of ``ProviderOptions`` itself; ``cers_demo.provider_flags`` gives
every one of them, and these faults, a ``demo-server`` flag.

The flag ``--fault 503,every=3,times=2`` of ``python -m cers_core demo-server`` is this rule:

>>> parse_fault_rule("503,every=3,times=2") == FaultRule(kind="503", every=3, times=2)
True
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "CONNECTION_FAULTS",
    "FaultKind",
    "FaultRule",
    "Faults",
    "Hostile",
    "HostileMode",
    "parse_fault_rule",
    "parse_hostile",
]


_Model = TypeVar("_Model", bound=BaseModel)


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
    return _validated(FaultRule, values, text, choices=f"kinds: {', '.join(k.value for k in FaultKind)}")


def _validated(model: type[_Model], values: dict[str, Any], text: str, *, choices: str) -> _Model:
    """``model`` from a command-line form's ``values``; a ``ValueError`` quoting ``text`` says what is wrong."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in error.errors())
        raise ValueError(f"{text!r}: {problems} ({choices})") from None


# -- hostile modes ----------------------------------------------------------------------------


class HostileMode(StrEnum):
    """What a hostile (or very broken) provider does; each never clears.

    The modes that hold or stream a connection (``trickle``, ``silent``, ``silent-token``,
    ``endless-body``, ``huge-page``) need a provider on a port (``DemoServer``): in process, httpx's
    ASGI transport reads a whole answer before the client sees any of it.
    """

    trickle = "trickle"
    """Data answers: status and headers at once, then the body one byte every ``seconds`` (default 5)."""
    silent = "silent"
    """Data requests: the connection is accepted and never answered."""
    silent_token = "silent-token"
    """The token endpoint: the connection is accepted and never answered."""
    cycle_link = "cycle-link"
    """Collections: no ``X-Total-Count``; ``Link: next`` leads from the first page to the second and back."""
    huge_total = "huge-total"
    """Collections: ``X-Total-Count: 1000000000000``; the pages themselves are the real ones."""
    huge_page = "huge-page"
    """Data answers: the page padded to ``size`` bytes (default 500 MB), streamed."""
    endless_body = "endless-body"
    """Data answers: 200, the start of a page, then records without end (no Content-Length)."""
    deep_json = "deep-json"
    """Data answers (``target=token``: the token answer): 200 with JSON nested ``depth`` deep (default 100,000)."""
    echo_credentials = "echo-credentials"
    """The token endpoint (``target=data``: data requests) answers 400 quoting the request: its
    ``Authorization`` header and form body (``Cookie`` too on data requests)."""
    redirect_to = "redirect-to"
    """Every request (``target=token`` or ``data``: only those) answered 307 to ``url`` + the request's path
    and query: ``redirect-to=http://127.0.0.2:9000``."""
    markup_names = "markup-names"
    """School, course and teacher names hold Markdown and HTML (``[Sign in again](https://evil.example)``,
    ``![x](https://evil.example/x.png)``, ``<img src=x onerror=alert(1)>``, ``**bold**``): an app must show
    them as text."""


_TOKEN_FIRST = frozenset({HostileMode.silent_token, HostileMode.echo_credentials})


class Hostile(BaseModel):
    """One hostile mode and its settings. Example: ``Hostile(mode="trickle", seconds=0.05)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: HostileMode
    target: Literal["data", "token", "all"] | None = None
    """Which requests: the mode's own default when None (``token`` for ``silent-token`` and
    ``echo-credentials``, ``all`` for ``redirect-to``, else ``data``)."""
    url: str | None = None
    """``redirect-to``: where to send requests (scheme and host, maybe a port and a path)."""
    seconds: float = Field(default=5.0, gt=0, le=60)
    """``trickle``: the pause between bytes."""
    size: int = Field(default=500 * 2**20, ge=1)
    """``huge-page``: the size of the answer in bytes."""
    depth: int = Field(default=100_000, ge=1)
    """``deep-json``: how deep the JSON is nested."""

    @model_validator(mode="after")
    def _url_for_redirects(self) -> Hostile:
        if (self.mode is HostileMode.redirect_to) != (self.url is not None):
            raise ValueError("redirect-to needs a URL (redirect-to=http://host:port), and only it takes one")
        return self

    @property
    def applies_to(self) -> str:
        """``data``, ``token`` or ``all``."""
        if self.target is not None:
            return self.target
        if self.mode in _TOKEN_FIRST:
            return "token"
        return "all" if self.mode is HostileMode.redirect_to else "data"


def parse_hostile(text: str) -> Hostile:
    """A hostile mode from its command-line form ``MODE[,key=value…]`` (``redirect-to=URL`` for that mode),
    e.g. ``trickle,seconds=0.5``, ``deep-json,target=token``, ``redirect-to=http://127.0.0.2:9000``.

    >>> hostile = parse_hostile("redirect-to=http://127.0.0.2:9000,target=token")
    >>> hostile.mode.value, hostile.url, hostile.applies_to
    ('redirect-to', 'http://127.0.0.2:9000', 'token')
    """
    first, *options = [part.strip() for part in text.split(",")]
    mode, _, url = first.partition("=")
    values: dict[str, Any] = {"mode": mode, **({"url": url} if url else {})}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise ValueError(f"{option!r}: write options as key=value, e.g. seconds=0.5")
        values[key.strip()] = value
    return _validated(Hostile, values, text, choices=f"modes: {', '.join(m.value for m in HostileMode)}")
