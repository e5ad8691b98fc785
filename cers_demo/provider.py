"""A OneRoster 1.2 rostering provider serving a ``DemoDistrict``, as a Starlette app.

It exists so that the app, the command line and the tests can talk to a real HTTP
OneRoster server without district credentials. It follows the 1.2 REST binding and the
official OpenAPI file (all 41 GET paths, envelopes, scopes, paging, filter/sort/fields,
imsx error bodies), and it can imitate what real vendors do differently: the "quirk"
switches of ``ProviderOptions``, all off by default.

Every request passes through one ASGI middleware (``_RequestGate``) that counts requests
per path for tests (``app.state.request_log``) and injects the faults of
``ProviderOptions.faults`` (latency, a concurrency cap, 429 bursts, 5xx answers, resets,
hangs, cut-off or non-JSON bodies, expired tokens: see ``faults.py``). Paging and record
quirks (a changing total, overlapping pages, extra fields, dangling references) are
``ProviderOptions`` fields applied where pages and records are made.

Records are served from the district's polars frames: a query (nested route, filter,
sort) becomes row indices, computed once and cached for the pages that follow, and only
the rows of the page asked for are encoded to JSON (by polars, not as Python dicts).

Example::

    app = create_provider_app(generate_district(), ProviderOptions(max_page_size=500))
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cers_demo.district import DemoDistrict
from cers_demo.faults import FaultInjector, Faults, imsx_failure
from cers_demo.filters import FilterError, compile_filter, parse_filter

__all__ = [
    "ALL_SCOPES",
    "DANGLING_CLASS",
    "DANGLING_USER",
    "DEMOGRAPHICS_SCOPE",
    "ROSTER_CORE_SCOPE",
    "ROSTER_SCOPE",
    "ProviderOptions",
    "RequestLog",
    "create_provider_app",
]

ROSTER_CORE_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
ROSTER_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"
DEMOGRAPHICS_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly"
ALL_SCOPES = frozenset({ROSTER_CORE_SCOPE, ROSTER_SCOPE, DEMOGRAPHICS_SCOPE})
AFFINITY_COOKIE = "ARRAffinity"
# sourcedIds that ``dangling_references`` enrollments name and that no record has.
DANGLING_USER = "usr-does-not-exist"
DANGLING_CLASS = "cls-does-not-exist"


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
    (``DANGLING_USER``, ``DANGLING_CLASS``): references a client must report, not trip over."""

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

    @field_validator("base_path", "token_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value.endswith("/") or "?" in value:
            raise ValueError("a path starts with '/' and has no trailing '/' or query string")
        return value


# ---------------------------------------------------------------------------------------
# Request log and the gate every request passes.


class RequestLog:
    """How many requests each path received, so tests can check how a client behaved.

    Paths are as requested, e.g. ``/ims/oneroster/rostering/v1p2/classes``; ``count`` also
    takes a path relative to the service's base path (``"/classes"``). Query strings are
    not kept: they can hold filter values, and this log must never hold student data.
    """

    def __init__(self, base_path: str) -> None:
        self._base_path = base_path
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def record(self, path: str, status: int) -> None:
        with self._lock:
            self._counts[path] += 1
            self._statuses[path, status] += 1

    def count(self, path: str | None = None, *, status: int | None = None) -> int:
        """Requests to ``path`` (all paths if None), optionally only those answered with ``status``."""
        with self._lock:
            paths = list(self._counts) if path is None else [self._full(path)]
            if status is None:
                return sum(self._counts[p] for p in paths)
            return sum(self._statuses[p, status] for p in paths)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._statuses.clear()

    def _full(self, path: str) -> str:
        return path if path in self._counts or path.startswith(self._base_path) else self._base_path + path


class _RequestGate:
    """Outermost ASGI middleware: injects faults, and records each request's path and final status
    (status 0: the connection was dropped on purpose, without an answer)."""

    def __init__(self, app: ASGIApp, *, log: RequestLog, faults: FaultInjector) -> None:
        self.app = app
        self.log = log
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded = False

        async def send_and_note(message: Message) -> None:
            nonlocal recorded
            # Noted before the response leaves: a client that has its answer sees it counted.
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                self.log.record(scope["path"], message["status"])
            await send(message)

        dropped = False
        try:
            dropped = await self.faults.serve(scope, receive, send_and_note, self.app)
        finally:
            if not recorded:
                self.log.record(scope["path"], 0 if dropped else 500)


# ---------------------------------------------------------------------------------------
# Errors.


class _Problem(Exception):
    """A request that fails with an imsx_StatusInfo body."""

    def __init__(
        self, status: int, code_minor: str, description: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code_minor = code_minor
        self.description = description
        self.headers = headers


_MINOR_BY_STATUS = {
    400: "invaliddata",
    401: "unauthorisedrequest",
    403: "forbidden",
    404: "unknownobject",
    405: "invaliddata",
    429: "server_busy",
    500: "internal_server_error",
}


def _imsx(status: int, code_minor: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(imsx_failure(code_minor, description), status_code=status, headers=headers)


def _unknown(what: str, sourced_id: str) -> _Problem:
    return _Problem(404, "unknownobject", f"Unknown Object: no {what} with sourcedId '{sourced_id}'.")


# ---------------------------------------------------------------------------------------
# Collections and views.

# The properties of each *DType in the OpenAPI file: what ``fields=`` may select.
# fmt: off
_SCHEMA_FIELDS: dict[str, frozenset[str]] = {
    "orgs": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "name", "type", "identifier", "parent", "children"
    }),
    "academicSessions": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "title", "startDate", "endDate", "type", "parent",
        "children", "schoolYear"
    }),
    "courses": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "title", "schoolYear", "courseCode", "grades",
        "subjects", "org", "subjectCodes", "resources"
    }),
    "classes": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "title", "classCode", "classType", "location",
        "grades", "subjects", "course", "school", "terms", "subjectCodes", "periods", "resources"
    }),
    "enrollments": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "user", "class", "school", "role", "primary",
        "beginDate", "endDate"
    }),
    "users": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "userMasterIdentifier", "username", "userIds",
        "enabledUser", "givenName", "familyName", "middleName", "preferredFirstName", "preferredMiddleName",
        "preferredLastName", "pronouns", "roles", "userProfiles", "primaryOrg", "identifier", "email", "sms", "phone",
        "agents", "grades", "password", "resources"
    }),
    "demographics": frozenset({
        "sourcedId", "status", "dateLastModified", "metadata", "birthDate", "sex", "americanIndianOrAlaskaNative",
        "asian", "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
        "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity", "countryOfBirthCode",
        "stateOfBirthAbbreviation", "cityOfBirth", "publicSchoolResidenceStatus"
    }),
}
# fmt: on
_LEGACY_USER_FIELDS = frozenset({"role", "orgs"})


@dataclass(frozen=True, slots=True)
class _View:
    """A collection as an endpoint sees it: a frame, maybe restricted to some rows."""

    name: str
    frame: str
    envelope: str
    single: str
    rows: pl.Expr | None = None
    what: str = ""
    """How a 404 names a missing record ("school", "term", ...)."""


_VIEWS = {
    view.name: view
    for view in (
        _View("orgs", "orgs", "orgs", "org", what="org"),
        _View("schools", "orgs", "orgs", "org", pl.col("type") == "school", "school"),
        _View("academicSessions", "academicSessions", "academicSessions", "academicSession", what="academic session"),
        _View(
            "terms",
            "academicSessions",
            "academicSessions",
            "academicSession",
            pl.col("type") != "gradingPeriod",
            "term",
        ),
        _View(
            "gradingPeriods",
            "academicSessions",
            "academicSessions",
            "academicSession",
            pl.col("type") == "gradingPeriod",
            "grading period",
        ),
        _View("classes", "classes", "classes", "class", what="class"),
        _View("courses", "courses", "courses", "course", what="course"),
        _View("enrollments", "enrollments", "enrollments", "enrollment", what="enrollment"),
        _View("users", "users", "users", "user", what="user"),
        _View("students", "users", "users", "user", pl.col("roles.role").list.contains("student"), "student"),
        _View("teachers", "users", "users", "user", pl.col("roles.role").list.contains("teacher"), "teacher"),
        _View("demographics", "demographics", "demographics", "demographics", what="demographics record"),
    )
}

# Which scopes each kind of endpoint accepts (the OpenAPI file's security lists).
_FLAT_SCOPES = frozenset({ROSTER_SCOPE, ROSTER_CORE_SCOPE})
_NESTED_SCOPES = frozenset({ROSTER_SCOPE})
_DEMOGRAPHICS_SCOPES = frozenset({DEMOGRAPHICS_SCOPE})


@dataclass(frozen=True, slots=True)
class _Selection:
    """The rows a collection request is about, before paging."""

    view: _View
    rows: Callable[[], pl.Expr] | None = None
    """Makes the condition on the view's rows; called only when the query cache misses,
    because for nested routes it can mean a scan of 2,000,000 enrollments."""
    key: str = ""
    """Identifies ``rows`` for the query cache (the request path does)."""


class _Store:
    """The district's frames, lookups by sourcedId and a small cache of query results."""

    _CACHE_SIZE: ClassVar[int] = 32

    def __init__(self, district: DemoDistrict, *, dangling_references: bool = False) -> None:
        self.frames = district.frames() | {
            "demographics": pl.DataFrame(
                schema={"sourcedId": pl.String, "status": pl.String, "dateLastModified": pl.Datetime("ms", "UTC")}
            )
        }
        if dangling_references:
            self.frames["enrollments"] = _with_dangling_enrollments(district)
        self._cache: OrderedDict[tuple[Any, ...], pl.Series] = OrderedDict()
        self._lock = threading.Lock()

    def find(self, view: _View, sourced_id: str) -> pl.DataFrame | None:
        """The one-row frame of ``sourced_id`` in ``view`` (frames are sorted by sourcedId)."""
        frame = self.frames[view.frame]
        ids = frame.get_column("sourcedId")
        at = int(ids.search_sorted(sourced_id))
        if at >= frame.height or ids[at] != sourced_id:
            return None
        row = frame.slice(at, 1)
        if view.rows is not None and row.filter(view.rows).is_empty():
            return None
        return row

    def exists(self, view: _View, sourced_id: str) -> bool:
        return self.find(view, sourced_id) is not None

    def column(self, frame: str, column: str, where: pl.Expr) -> pl.Series:
        return self.frames[frame].filter(where).get_column(column)

    def session_parents(self) -> dict[str, str | None]:
        sessions = self.frames["academicSessions"]
        return dict(zip(sessions["sourcedId"].to_list(), sessions["parent.sourcedId"].to_list(), strict=True))

    def rows(self, selection: _Selection, spec: _Query) -> pl.Series | None:
        """Row indices of the selection after filter and sort, or None for "every row, in order"."""
        view = selection.view
        if view.rows is None and selection.rows is None and spec.filter is None and spec.sort is None:
            return None
        key = (view.name, selection.key, spec.filter_text, spec.sort, spec.descending)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        subset = selection.rows() if selection.rows is not None else None
        conditions = [c for c in (view.rows, subset, spec.filter) if c is not None]
        query = self.frames[view.frame].lazy().with_row_index("_row")
        if conditions:
            query = query.filter(*conditions)
        if spec.sort is not None:
            # sourcedId breaks ties, so that pages of a sorted collection are stable.
            query = query.sort([spec.sort, "sourcedId"], descending=[spec.descending, False], nulls_last=True)
        rows = query.select("_row").collect().get_column("_row")
        with self._lock:
            self._cache[key] = rows
            while len(self._cache) > self._CACHE_SIZE:
                self._cache.popitem(last=False)
        return rows


def _with_dangling_enrollments(district: DemoDistrict) -> pl.DataFrame:
    """The enrollments plus, per school, two current ones that point nowhere: one names
    ``DANGLING_USER`` in a real class, one names a real student in ``DANGLING_CLASS``."""
    enrollments = district.enrollments
    day = district.reference_date
    current = enrollments.filter(
        (pl.col("role") == "student")
        & (pl.col("status") == "active")
        & (pl.col("beginDate").is_null() | (pl.col("beginDate") <= day))
        & (pl.col("endDate").is_null() | (pl.col("endDate") > day))
    )
    templates = current.group_by("school.sourcedId", maintain_order=True).first()
    school = pl.col("school.sourcedId")
    no_user = templates.with_columns(
        (pl.lit("enr-zz-dangling-user-") + school).alias("sourcedId"), pl.lit(DANGLING_USER).alias("user.sourcedId")
    )
    no_class = templates.with_columns(
        (pl.lit("enr-zz-dangling-class-") + school).alias("sourcedId"), pl.lit(DANGLING_CLASS).alias("class.sourcedId")
    )
    added = [extra.select(enrollments.columns) for extra in (no_user, no_class)]
    return pl.concat([enrollments, *added]).sort("sourcedId")


@dataclass(frozen=True, slots=True)
class _Query:
    limit: int
    offset: int
    filter: pl.Expr | None
    filter_text: str | None
    sort: str | None
    descending: bool
    fields: frozenset[str] | None


# ---------------------------------------------------------------------------------------
# Records: frame rows to OneRoster JSON, encoded by polars.
#
# Each record is built as a polars struct and encoded with ``struct.json_encode`` (in Rust,
# several times faster than dicts and ``json.dumps`` for a page of 1,000 users). A struct
# has every field, so absent values come out as ``"field":null``; those are then cut out of
# the text, because the 1.2 schemas have no nulls. The cut is safe: in JSON text a quote
# inside a string is always escaped, so ``,"name":null`` can only be structure.


class _Records:
    """Encodes rows of a page as OneRoster 1.2 records (or, with quirks, as vendors send them)."""

    _DATE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"

    def __init__(self, api_root: str, options: ProviderOptions) -> None:
        self.api_root = api_root
        self.options = options

    def encode(self, frame: str, page: pl.DataFrame, fields: frozenset[str] | None) -> str:
        """The records of ``page`` as JSON texts joined by commas (the inside of a JSON array)."""
        if page.is_empty():
            return ""
        if frame == "users":
            page = _zip_user_lists(page)
        record = {
            name: expression for name, expression in self._fields(frame).items() if fields is None or name in fields
        }
        if not record:  # e.g. fields=metadata: a valid property that these records never have
            return ",".join(["{}"] * page.height)
        if self.options.extra_fields and fields is None:
            record |= {
                "metadata": pl.struct(**{"vendor.rowVersion": pl.lit(7), "vendor.source": pl.lit("nightly sync")}),
                "x_vendorSyncId": pl.lit("sync-") + pl.col("sourcedId"),
            }
        # identifier is the one field a quirk sends as an explicit null.
        omitted = [name for name in record if not (name == "identifier" and self.options.null_identifiers)]
        text = pl.struct(**record).struct.json_encode()
        if omitted:
            names = "|".join(omitted)
            text = text.str.replace_all(f',"(?:{names})":null', "").str.replace_all(f'\\{{"(?:{names})":null,?', "{")
        return page.select(text.str.join(",")).item()

    # -- building blocks -------------------------------------------------------------------

    def _ref(self, column: str | pl.Expr, kind: str, path: str) -> pl.Expr:
        sourced_id = pl.col(column) if isinstance(column, str) else column
        return pl.when(sourced_id.is_not_null()).then(
            pl.struct(href=pl.lit(f"{self.api_root}/{path}/") + sourced_id, sourcedId=sourced_id, type=pl.lit(kind))
        )

    def _refs(self, column: str, kind: str, path: str) -> pl.Expr:
        return pl.col(column).list.eval(self._ref(pl.element(), kind, path))

    def _flag(self, column: str) -> pl.Expr:
        if self.options.json_booleans:
            return pl.col(column)
        return pl.when(pl.col(column)).then(pl.lit("true")).otherwise(pl.lit("false"))

    def _identifier(self) -> pl.Expr:
        return pl.lit(None, dtype=pl.String) if self.options.null_identifiers else pl.col("identifier")

    def _base(self) -> dict[str, pl.Expr]:
        return {
            "sourcedId": pl.col("sourcedId"),
            "status": pl.col("status").cast(pl.String),
            "dateLastModified": pl.col("dateLastModified").dt.strftime(self._DATE_TIME_FORMAT),
        }

    # -- the collections, fields in the order of the OpenAPI schemas -------------------------

    def _fields(self, frame: str) -> dict[str, pl.Expr]:
        ext = self.options.ext_values
        base = self._base()
        match frame:
            case "orgs":
                return base | {
                    "name": pl.col("name"),
                    "type": pl.col("type"),
                    "identifier": self._identifier(),
                    "parent": self._ref("parent.sourcedId", "org", "orgs"),
                    "children": self._refs("children.sourcedId", "org", "orgs"),
                }
            case "academicSessions":
                kind = pl.col("type")
                if ext:
                    kind = pl.when(kind == "term").then(pl.lit("ext:trimester")).otherwise(kind)
                return base | {
                    "title": pl.col("title"),
                    "startDate": pl.col("startDate").cast(pl.String),
                    "endDate": pl.col("endDate").cast(pl.String),
                    "type": kind,
                    "parent": self._ref("parent.sourcedId", "academicSession", "academicSessions"),
                    "children": self._refs("children.sourcedId", "academicSession", "academicSessions"),
                    "schoolYear": pl.col("schoolYear"),
                }
            case "courses":
                return base | {
                    "title": pl.col("title"),
                    "schoolYear": self._ref("schoolYear.sourcedId", "academicSession", "academicSessions"),
                    "courseCode": pl.col("courseCode"),
                    "grades": pl.col("grades"),
                    "subjects": pl.col("subjects"),
                    "org": self._ref("org.sourcedId", "org", "orgs"),
                    "subjectCodes": pl.col("subjectCodes"),
                }
            case "classes":
                return base | {
                    "title": pl.col("title"),
                    "classCode": pl.col("classCode"),
                    "classType": pl.col("classType"),
                    "location": pl.col("location"),
                    "grades": pl.col("grades"),
                    "subjects": pl.col("subjects"),
                    "course": self._ref("course.sourcedId", "course", "courses"),
                    "school": self._ref("school.sourcedId", "org", "orgs"),
                    "terms": self._refs("terms.sourcedId", "academicSession", "academicSessions"),
                    "subjectCodes": pl.col("subjectCodes"),
                    "periods": pl.col("periods"),
                }
            case "enrollments":
                role = pl.col("role")
                if ext:
                    role = (
                        pl.when((role == "teacher") & pl.col("primary").not_())
                        .then(pl.lit("ext:coteacher"))
                        .otherwise(role)
                    )
                return base | {
                    "user": self._ref("user.sourcedId", "user", "users"),
                    "class": self._ref("class.sourcedId", "class", "classes"),
                    "school": self._ref("school.sourcedId", "org", "orgs"),
                    "role": role,
                    "primary": self._flag("primary"),
                    "beginDate": pl.col("beginDate").cast(pl.String),
                    "endDate": pl.col("endDate").cast(pl.String),
                }
            case "users":
                if self.options.legacy_user_role:
                    roles = {
                        "role": pl.col("roles.role").list.first(),
                        "orgs": self._refs("roles.org.sourcedId", "org", "orgs"),
                    }
                else:
                    roles = {
                        "roles": pl.col("_roles").list.eval(
                            pl.struct(
                                roleType=pl.element().struct.field("roleType"),
                                role=pl.element().struct.field("role"),
                                org=self._ref(pl.element().struct.field("org"), "org", "orgs"),
                            )
                        )
                    }
                return (
                    base
                    | {
                        "enabledUser": self._flag("enabledUser"),
                        "username": pl.col("username"),
                        "userIds": pl.col("_userIds"),
                        "givenName": pl.col("givenName"),
                        "familyName": pl.col("familyName"),
                        "middleName": pl.col("middleName"),
                    }
                    | roles
                    | {
                        "primaryOrg": self._ref("primaryOrg.sourcedId", "org", "orgs"),
                        "identifier": self._identifier(),
                        "email": pl.col("email"),
                        "grades": pl.col("grades"),
                    }
                )
            case "demographics":
                return base
        raise AssertionError(frame)


def _zip_user_lists(page: pl.DataFrame) -> pl.DataFrame:
    """Turn the parallel list columns of roles and userIds into lists of structs."""
    rows = page.with_row_index("_row")
    roles = (
        rows.select("_row", "roles.roleType", "roles.role", "roles.org.sourcedId")
        .explode("roles.roleType", "roles.role", "roles.org.sourcedId")
        .filter(pl.col("roles.role").is_not_null())
        .group_by("_row")
        .agg(pl.struct(roleType="roles.roleType", role="roles.role", org="roles.org.sourcedId").alias("_roles"))
    )
    ids = (
        rows.select("_row", "userIds.type", "userIds.identifier")
        .explode("userIds.type", "userIds.identifier")
        .filter(pl.col("userIds.type").is_not_null())
        .group_by("_row")
        .agg(pl.struct(type="userIds.type", identifier="userIds.identifier").alias("_userIds"))
    )
    return rows.join(roles, on="_row", how="left", maintain_order="left").join(
        ids, on="_row", how="left", maintain_order="left"
    )


# ---------------------------------------------------------------------------------------
# The application.


@dataclass(slots=True)
class _Grant:
    scopes: frozenset[str]
    expires_at: float
    cookie: str


def create_provider_app(district: DemoDistrict, options: ProviderOptions | None = None) -> Starlette:
    """A Starlette app serving ``district`` as a OneRoster 1.2 rostering provider.

    ``app.state`` holds ``district``, ``options`` and ``request_log`` (a ``RequestLog``).
    """
    return _Provider(district, options or ProviderOptions()).app


class _Provider:
    def __init__(self, district: DemoDistrict, options: ProviderOptions) -> None:
        self.options = options
        self.store = _Store(district, dangling_references=options.dangling_references)
        self.grants: dict[str, _Grant] = {}
        self.grants_lock = threading.Lock()
        self.issued_tokens: list[str] = []
        log = RequestLog(options.base_path)
        faults = FaultInjector(
            options.faults, base_path=options.base_path, token_path=options.token_path, revoke=self._revoke
        )
        self.app = Starlette(
            routes=self._routes(),
            middleware=[Middleware(_RequestGate, log=log, faults=faults)],
            exception_handlers={HTTPException: self._http_error, Exception: self._server_error},
        )
        self.app.state.district = district
        self.app.state.options = options
        self.app.state.request_log = log
        self.app.state.faults = faults
        # Every access token handed out, so that tests can prove none of them leaks anywhere.
        self.app.state.issued_tokens = self.issued_tokens

    # -- routes ---------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        base = self.options.base_path
        routes = [Route(self.options.token_path, self._token, methods=["POST"])]
        for name in ("academicSessions", "classes", "courses", "enrollments", "gradingPeriods", "orgs", "schools",
                     "students", "teachers", "terms", "users", "demographics"):  # fmt: skip
            view = _VIEWS[name]
            scopes = _DEMOGRAPHICS_SCOPES if name == "demographics" else _FLAT_SCOPES
            routes.append(Route(f"{base}/{name}", self._endpoint(self._flat(view), scopes)))
            routes.append(Route(f"{base}/{name}/{{sourcedId}}", self._endpoint(self._single(view), scopes)))
        if self.options.nested_routes:
            nested: dict[str, Callable[[Request], _Selection]] = {
                "/classes/{classSourcedId}/students": self._class_people("students"),
                "/classes/{classSourcedId}/teachers": self._class_people("teachers"),
                "/courses/{courseSourcedId}/classes": self._course_classes,
                "/schools/{schoolSourcedId}/classes": self._school_rows("classes", "school.sourcedId"),
                "/schools/{schoolSourcedId}/classes/{classSourcedId}/enrollments": self._school_class_enrollments,
                "/schools/{schoolSourcedId}/classes/{classSourcedId}/students": self._class_people("students"),
                "/schools/{schoolSourcedId}/classes/{classSourcedId}/teachers": self._class_people("teachers"),
                "/schools/{schoolSourcedId}/courses": self._school_rows("courses", "org.sourcedId"),
                "/schools/{schoolSourcedId}/enrollments": self._school_rows("enrollments", "school.sourcedId"),
                "/schools/{schoolSourcedId}/students": self._school_people("students"),
                "/schools/{schoolSourcedId}/teachers": self._school_people("teachers"),
                "/schools/{schoolSourcedId}/terms": self._school_terms,
                "/students/{studentSourcedId}/classes": self._user_classes("students", "studentSourcedId"),
                "/teachers/{teacherSourcedId}/classes": self._user_classes("teachers", "teacherSourcedId"),
                "/users/{userSourcedId}/classes": self._user_classes("users", "userSourcedId"),
                "/terms/{termSourcedId}/classes": self._term_classes,
                "/terms/{termSourcedId}/gradingPeriods": self._term_grading_periods,
            }
            for path, select in nested.items():
                routes.append(Route(base + path, self._endpoint(self._collection(select), _NESTED_SCOPES)))
        return routes

    def _endpoint(
        self, handler: Callable[[Request], Response], scopes: frozenset[str]
    ) -> Callable[[Request], Response]:
        """Wrap a handler with the bearer-token check and turn ``_Problem`` into imsx bodies.

        The wrapper is a plain function, so Starlette runs it in a worker thread: polars
        releases the GIL, and the event loop stays free for other requests.
        """

        def endpoint(request: Request) -> Response:
            try:
                self._authorize(request, scopes)
                return handler(request)
            except _Problem as problem:
                return _imsx(problem.status, problem.code_minor, problem.description, problem.headers)

        return endpoint

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        minor = _MINOR_BY_STATUS.get(exc.status_code, "invaliddata")
        return _imsx(exc.status_code, minor, str(exc.detail), dict(exc.headers or {}))

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        """A bug answers like a OneRoster server would; the exception still reaches uvicorn's log."""
        return _imsx(500, "internal_server_error", "The demo provider failed to answer this request.")

    # -- OAuth 2 ----------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        """RFC 6749 client credentials; the client may authenticate by Basic or in the body."""
        form = {key: values[0] for key, values in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        client = _basic_credentials(request.headers.get("authorization", ""))
        if client is None and "client_id" in form:
            client = (form["client_id"], form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            error = "unsupported_grant_type" if form.get("grant_type") else "invalid_request"
            return JSONResponse({"error": error}, status_code=400)
        if client is None or not (
            secrets.compare_digest(client[0], self.options.client_id)
            and secrets.compare_digest(client[1], self.options.client_secret)
        ):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Unknown client or wrong client secret."},
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="OneRoster"'},
            )
        requested = set(form.get("scope", "").split())
        granted = frozenset(requested & self.options.client_scopes) if requested else self.options.client_scopes
        if not granted:
            return JSONResponse(
                {"error": "invalid_scope", "error_description": "None of the requested scopes may be granted."},
                status_code=400,
            )
        token, cookie = secrets.token_urlsafe(32), secrets.token_hex(12)
        now = time.monotonic()
        with self.grants_lock:
            self.grants = {t: g for t, g in self.grants.items() if g.expires_at > now}
            self.grants[token] = _Grant(granted, now + self.options.token_lifetime_seconds, cookie)
            self.issued_tokens.append(token)
        response = JSONResponse(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.options.token_lifetime_seconds,
                "scope": " ".join(sorted(granted)),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )
        response.set_cookie(AFFINITY_COOKIE, cookie, httponly=True)
        return response

    def _revoke(self, token: str) -> None:
        """Forget a token (the ``expired-token`` fault): the client must get a new one."""
        with self.grants_lock:
            self.grants.pop(token, None)

    def _authorize(self, request: Request, accepted: frozenset[str]) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self.grants_lock:
            grant = self.grants.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant.expires_at <= time.monotonic():
            raise _Problem(
                401,
                "unauthorisedrequest",
                "The access token is missing, unknown or expired.",
                headers={"WWW-Authenticate": 'Bearer realm="OneRoster", error="invalid_token"'},
            )
        if self.options.require_cookie and request.cookies.get(AFFINITY_COOKIE) != grant.cookie:
            raise _Problem(
                401,
                "unauthorisedrequest",
                f"The {AFFINITY_COOKIE} cookie of the token response was not sent back.",
            )
        if not grant.scopes & accepted:
            raise _Problem(403, "forbidden", f"This request needs one of the scopes: {' '.join(sorted(accepted))}.")

    # -- flat collections and single records -----------------------------------------------------

    def _flat(self, view: _View) -> Callable[[Request], Response]:
        return self._collection(lambda request: _Selection(view))

    def _single(self, view: _View) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            fields = self._fields(request, view)
            sourced_id = request.path_params["sourcedId"]
            row = self.store.find(view, sourced_id)
            if row is None:
                raise _unknown(view.what, sourced_id)
            record = self._records(request).encode(view.frame, row, fields)
            return _json(f'{{"{view.single}":{record}}}')

        return handler

    def _collection(self, select: Callable[[Request], _Selection]) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            selection = select(request)
            spec = self._query(request, selection.view)
            frame = self.store.frames[selection.view.frame]
            rows = self.store.rows(selection, spec)
            total = frame.height if rows is None else rows.len()
            start = spec.offset
            if self.options.overlapping_pages and start > 0:
                start, total = start - 1, total + 1  # one record "inserted" before the offset
            page = frame.slice(start, spec.limit) if rows is None else frame[rows.slice(start, spec.limit)]
            records = self._records(request).encode(selection.view.frame, page, spec.fields)
            headers = {}
            if self.options.total_count_header:
                drift = self.options.total_drift if spec.offset == 0 else 0
                headers["X-Total-Count"] = str(max(0, total + drift))
            if self.options.link_header:
                headers["Link"] = _links(request, spec.limit, spec.offset, total)
            return _json(f'{{"{selection.view.envelope}":[{records}]}}', headers)

        return handler

    def _records(self, request: Request) -> _Records:
        root = self.options.base_path
        if not self.options.relative_hrefs:
            root = f"{request.url.scheme}://{request.url.netloc}{root}"
        return _Records(root, self.options)

    # -- query parameters ----------------------------------------------------------------------

    def _query(self, request: Request, view: _View) -> _Query:
        params = request.query_params
        limit = min(_integer(request, "limit", default=100, minimum=1), self.options.max_page_size)
        offset = _integer(request, "offset", default=0, minimum=0)
        frame = self.store.frames[view.frame]
        filter_text = params.get("filter")
        expression = None
        if filter_text is not None:
            try:
                spec = parse_filter(filter_text)
                for field in spec.fields:
                    self._check_filter_field(field)
                expression = compile_filter(spec, frame.schema)
            except FilterError as error:
                raise _Problem(400, "invalid_filter_field", str(error)) from None
        sort = params.get("sort")
        order = params.get("orderBy", "asc")
        if order not in ("asc", "desc"):
            raise _Problem(400, "invaliddata", "orderBy must be 'asc' or 'desc'.")
        if sort is not None and (sort not in frame.columns or isinstance(frame.schema[sort], pl.List)):
            raise _Problem(400, "invaliddata", f"Sorting on the field '{sort}' is not supported.")
        if sort is None and order == "desc":
            sort = "sourcedId"
        return _Query(
            limit=limit,
            offset=offset,
            filter=expression,
            filter_text=filter_text,
            sort=None if sort == "sourcedId" and order == "asc" else sort,
            descending=order == "desc",
            fields=self._fields(request, view),
        )

    def _check_filter_field(self, field: str) -> None:
        allowed = self.options.filter_fields
        if (allowed is not None and field not in allowed) or ("." in field and not self.options.dotted_filters):
            raise FilterError(f"Filtering on the field '{field}' is not supported.")

    def _fields(self, request: Request, view: _View) -> frozenset[str] | None:
        values = request.query_params.getlist("fields")
        if not values:
            return None
        fields = frozenset(f.strip() for value in values for f in value.split(",") if f.strip())
        known = _SCHEMA_FIELDS[view.frame]
        if view.frame == "users" and self.options.legacy_user_role:
            known |= _LEGACY_USER_FIELDS
        unknown = sorted(fields - known)
        if unknown or not fields:
            raise _Problem(400, "invalid_selection_field", f"Unknown field(s) in 'fields': {', '.join(unknown)}.")
        return fields

    # -- nested routes ----------------------------------------------------------------------------

    def _require(self, view: str, request: Request, param: str) -> str:
        sourced_id = request.path_params[param]
        if not self.store.exists(_VIEWS[view], sourced_id):
            raise _unknown(_VIEWS[view].what, sourced_id)
        return sourced_id

    def _class_people(self, view: str) -> Callable[[Request], _Selection]:
        """Students or teachers of a class: users with an active enrollment in it in that role."""
        role = "student" if view == "students" else "teacher"

        def select(request: Request) -> _Selection:
            class_id = self._require("classes", request, "classSourcedId")
            where = (pl.col("class.sourcedId") == class_id) & (pl.col("role") == role) & (pl.col("status") == "active")
            if "schoolSourcedId" in request.path_params:
                where &= pl.col("school.sourcedId") == self._require("schools", request, "schoolSourcedId")

            def rows() -> pl.Expr:
                users = self.store.column("enrollments", "user.sourcedId", where)
                return pl.col("sourcedId").is_in(users.implode())

            return _Selection(_VIEWS[view], rows, request.url.path)

        return select

    def _course_classes(self, request: Request) -> _Selection:
        course_id = self._require("courses", request, "courseSourcedId")
        return _Selection(_VIEWS["classes"], lambda: pl.col("course.sourcedId") == course_id, request.url.path)

    def _school_rows(self, view: str, column: str) -> Callable[[Request], _Selection]:
        def select(request: Request) -> _Selection:
            school_id = self._require("schools", request, "schoolSourcedId")
            return _Selection(_VIEWS[view], lambda: pl.col(column) == school_id, request.url.path)

        return select

    def _school_class_enrollments(self, request: Request) -> _Selection:
        school_id = self._require("schools", request, "schoolSourcedId")
        class_id = self._require("classes", request, "classSourcedId")
        where = (pl.col("school.sourcedId") == school_id) & (pl.col("class.sourcedId") == class_id)
        return _Selection(_VIEWS["enrollments"], lambda: where, request.url.path)

    def _school_people(self, view: str) -> Callable[[Request], _Selection]:
        def select(request: Request) -> _Selection:
            school_id = self._require("schools", request, "schoolSourcedId")
            return _Selection(
                _VIEWS[view], lambda: pl.col("roles.org.sourcedId").list.contains(school_id), request.url.path
            )

        return select

    def _school_terms(self, request: Request) -> _Selection:
        """The terms the school's classes are in, and the sessions those belong to."""
        school_id = self._require("schools", request, "schoolSourcedId")

        def rows() -> pl.Expr:
            terms = self.store.column("classes", "terms.sourcedId", pl.col("school.sourcedId") == school_id)
            used = set(terms.explode().drop_nulls().unique().to_list())
            parents = self.store.session_parents()
            for term in list(used):
                while (term := parents.get(term)) is not None:
                    used.add(term)
            return pl.col("sourcedId").is_in(sorted(used))

        return _Selection(_VIEWS["terms"], rows, request.url.path)

    def _user_classes(self, view: str, param: str) -> Callable[[Request], _Selection]:
        """The classes a user has an active enrollment in."""

        def select(request: Request) -> _Selection:
            user_id = self._require(view, request, param)
            where = (pl.col("user.sourcedId") == user_id) & (pl.col("status") == "active")

            def rows() -> pl.Expr:
                classes = self.store.column("enrollments", "class.sourcedId", where)
                return pl.col("sourcedId").is_in(classes.implode())

            return _Selection(_VIEWS["classes"], rows, request.url.path)

        return select

    def _term_classes(self, request: Request) -> _Selection:
        term_id = self._require("terms", request, "termSourcedId")
        return _Selection(_VIEWS["classes"], lambda: pl.col("terms.sourcedId").list.contains(term_id), request.url.path)

    def _term_grading_periods(self, request: Request) -> _Selection:
        """Grading periods within the term, at any depth (a year's are its semesters' quarters)."""
        term_id = self._require("terms", request, "termSourcedId")
        parents = self.store.session_parents()

        def within(session: str | None) -> bool:
            while session is not None:
                if session == term_id:
                    return True
                session = parents.get(session)
            return False

        inside = [s for s in parents if s != term_id and within(s)]
        return _Selection(_VIEWS["gradingPeriods"], lambda: pl.col("sourcedId").is_in(inside), request.url.path)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(client_id, client_secret) from ``Authorization: Basic``; RFC 6749 2.3.1 form-encodes both."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (unquote(client_id.replace("+", " ")), unquote(client_secret.replace("+", " "))) if sep else None


def _integer(request: Request, name: str, *, default: int, minimum: int) -> int:
    values = request.query_params.getlist(name)
    if not values:
        return default
    if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() or int(values[0]) < minimum:
        raise _Problem(400, "invaliddata", f"'{name}' must be given once, as a whole number of at least {minimum}.")
    return int(values[0])


def _json(text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode(), media_type="application/json", headers=headers)


def _links(request: Request, limit: int, offset: int, total: int) -> str:
    """RFC 8288 first/prev/next/last links, keeping the request's other parameters."""
    last = max(0, (total - 1) // limit * limit)
    targets = {"first": 0}
    if offset > 0:
        targets["prev"] = max(0, offset - limit)
    if offset + limit < total:
        targets["next"] = offset + limit
    targets["last"] = last
    return ", ".join(
        f'<{request.url.include_query_params(limit=limit, offset=target)}>; rel="{rel}"'
        for rel, target in targets.items()
    )
