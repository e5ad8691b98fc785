"""When and how long to wait before asking a busy provider again.

A district SIS is a production system: it answers 429 when we go too fast, 5xx when it is
overloaded, and sometimes drops a connection. Those failures are retried with capped
exponential backoff and full jitter, honouring ``Retry-After`` (seconds or HTTP-date), but
only within a total waiting budget, so that an export either finishes or fails in bounded
time with an error that says what kept failing.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

from cers_core.errors import CersError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "TransientFailure", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class TransientFailure(Exception):
    """A failure worth retrying; ``final`` is the error to raise if the retries run out.

    Both clients raise it, so ``final`` is any :class:`~cers_core.errors.CersError`: a OneRoster
    error in the OneRoster client, an ``Upload*`` error in the CERS import client, whichever the
    token flow they share (:mod:`cers_core.http.oauth`) was given.

    ``max_attempts`` caps the tries below the policy's for failures that rarely clear by
    waiting: a refused connection or an unknown host is far more often a wrong URL than a
    busy server, and the person at the form should hear so in seconds, not minutes.
    """

    def __init__(self, final: CersError, *, retry_after: float | None = None, max_attempts: int | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after
        self.max_attempts = max_attempts


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff settings. The defaults suit a busy SIS: up to 8 tries, waits of 0.5 s doubling
    to at most 30 s, never more than 120 s of waiting in all for one request, and never more
    than 150 s for one request from its first try to its last answer, waits included: a server
    that is silent, or answers a byte at a time, is given up on within that, not after every
    try has run into its own time-out (8 tries of a minute each, and the waits, were 517 s)."""

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total_wait: float = 120.0
    max_total_time: float = 150.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before try number ``attempt + 1`` (``attempt`` counts from 1).

        A server's ``Retry-After`` is honoured as given (the budget check decides whether we
        can afford it); otherwise full jitter over the capped exponential step, so that
        parallel requests do not come back in lockstep.
        """
        if retry_after is not None:
            return max(0.0, retry_after)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP-date (RFC 9110); None
    for anything else (the policy's own backoff then applies).

    >>> parse_retry_after("7"), parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0)
    (7.0, 10.0)
    >>> parse_retry_after("²") is None  # a digit to str.isdigit, not to RFC 9110
    True
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²" or "٣", which str.isdigit also takes
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
