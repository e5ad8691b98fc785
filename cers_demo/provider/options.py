"""How the demo OneRoster provider behaves: ``ProviderOptions``, and the OAuth scopes it grants.

The defaults are a well-behaved OneRoster 1.2 server. Every other value imitates something a
real vendor does: a prefix before the base path, small clamped pages, no nested routes (Ed-Fi),
no filtering, a required affinity cookie (Aeries), 1.1-style records, paging that shifts under
the client, and the request-level faults of ``cers_demo.faults``. The ``demo-server`` command
has a flag for each (``cers_demo.provider_flags``).

Example::

    ProviderOptions(base_path="/campus/api/ims/oneroster/rostering/v1p2", max_page_size=500)
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cers_demo.faults import Faults, Hostile, HostileMode

__all__ = ["ALL_SCOPES", "DEMOGRAPHICS_SCOPE", "ROSTER_CORE_SCOPE", "ROSTER_SCOPE", "ProviderOptions"]

ROSTER_CORE_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
ROSTER_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"
DEMOGRAPHICS_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly"
ALL_SCOPES = frozenset({ROSTER_CORE_SCOPE, ROSTER_SCOPE, DEMOGRAPHICS_SCOPE})


class ProviderOptions(BaseModel):
    """How the demo provider behaves. The defaults are a well-behaved OneRoster 1.2 server.

    The demo credentials are deliberately not secret (they are printed and shown in the app),
    so they are plain strings rather than ``SecretStr``.

    Example::

        ProviderOptions(base_path="/campus/api/ims/oneroster/rostering/v1p2", max_page_size=500)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_path: str = "/ims/oneroster/rostering/v1p2"
    """Where the rostering service lives, e.g. a vendor prefix like ``/campus/api/ims/oneroster/rostering/v1p2``."""
    token_path: str = "/oauth/token"
    """The OAuth 2 token endpoint; clients may add a query string (``?appName=x``), which is ignored."""
    client_id: str = "demo-district"
    client_secret: str = "demo-secret-not-private"
    client_scopes: frozenset[str] = ALL_SCOPES
    """The scopes this client may be granted, e.g. only ``ROSTER_CORE_SCOPE`` (no nested routes)."""
    token_lifetime_seconds: int = Field(default=3600, ge=1)
    require_cookie: bool = False
    """Refuse (401) data requests that do not send back the cookie of the token response (like Aeries)."""

    max_page_size: int = Field(default=1000, ge=1)
    """Larger ``limit`` values are silently clamped to this, as OneRoster allows."""
    total_count_header: bool = True
    """Send ``X-Total-Count`` on collections."""
    link_header: bool = True
    """Send an RFC 8288 ``Link`` header (first, prev, next, last) on collections."""
    nested_routes: bool = True
    """Serve the nested routes (``/schools/{id}/classes`` ...); off, they are 404 like on Ed-Fi."""
    filter_fields: frozenset[str] | None = None
    """Fields that may be filtered on (None: every field; empty: filtering is refused)."""
    dotted_filters: bool = True
    """Allow filters on dotted paths such as ``school.sourcedId``."""

    # Quirks of real servers. The first four break the 1.2 OpenAPI file; ext: values are
    # legal 1.2 but surprise clients that expect the listed vocabulary only.
    json_booleans: bool = False
    """``enabledUser`` and ``primary`` as JSON true/false (1.1 style) instead of "true"/"false"."""
    legacy_user_role: bool = False
    """Users carry a 1.1-style single ``role`` and ``orgs`` list instead of ``roles``."""
    null_identifiers: bool = False
    """Every org and user ``identifier`` is JSON null (Aeries sends this for the district)."""
    relative_hrefs: bool = False
    """GUIDRef hrefs without scheme and host (``/ims/oneroster/...``)."""
    ext_values: bool = False
    """``ext:`` vocabulary: trimesters typed ``ext:trimester``, co-teachers' role ``ext:coteacher``."""
    extra_fields: bool = False
    """Every record carries properties the spec does not define (a vendor's ``x_vendor`` object and
    ``metadata``), as real providers add."""
    dangling_references: bool = False
    """Each school gets enrollments naming a user and a class that the provider does not have
    (``DANGLING_USER``, ``DANGLING_CLASS`` in ``cers_demo.provider.store``): references a client must
    report, not trip over."""

    # Paging faults: the data stays the same, the paging around it misbehaves.
    total_drift: int = 0
    """The first page of a collection reports ``X-Total-Count`` off by this many (records added or
    removed meanwhile); later pages report the true count."""
    overlapping_pages: bool = False
    """As if a record had been inserted at the front once the first page was served: every later
    page starts one record early (the previous page's last record comes again) and
    X-Total-Count counts one more. The inserted record itself is never served."""

    faults: Faults = Faults()
    """Request-level faults (latency, concurrency cap, 429/5xx, resets, hangs, bad bodies, expired
    tokens): see ``cers_demo.faults``."""
    hostile: tuple[Hostile, ...] = ()
    """Hostile modes (answers that trickle or never end, huge or deeply nested answers, echoed
    credentials, redirects elsewhere, markup in names …): see ``cers_demo.faults.HostileMode``."""

    def hostile_mode(self, mode: HostileMode) -> Hostile | None:
        """The settings of ``mode`` when it is on, else None."""
        return next((h for h in self.hostile if h.mode is mode), None)

    @field_validator("base_path", "token_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value.endswith("/") or "?" in value:
            raise ValueError("a path starts with '/' and has no trailing '/' or query string")
        return value
