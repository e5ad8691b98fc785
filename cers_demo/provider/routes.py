"""The demo OneRoster provider as a Starlette app: its routes, and the handlers of collections and records.

It exists so that the app, the command line and the tests can talk to a real OneRoster
server without district credentials. It follows the 1.2 REST binding and the official
OpenAPI file (all 41 GET paths, envelopes, scopes, paging, filter/sort/fields, imsx error
bodies), and it imitates what real vendors do differently when ``ProviderOptions`` says so.

A collection request is answered in four steps: its rows (``RecordStore`` and, for nested
routes, ``NestedRoutes``), its query parameters (filter, sort, fields, limit, offset), the
page of rows, and their JSON (``RecordEncoder``), with ``X-Total-Count`` and ``Link``
headers. Paging quirks (a changing total, overlapping pages) are applied here, where pages
are made. Tokens are ``AccessTokens``; every request first passes the ``RequestGate``.

>>> import asyncio, httpx
>>> from cers_demo.district import generate_district
>>> app = create_provider_app(generate_district(), ProviderOptions(max_page_size=500))
>>> async def ask_without_a_token() -> int:
...     async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
...         return (await client.get("http://demo/ims/oneroster/rostering/v1p2/orgs")).status_code
>>> asyncio.run(ask_without_a_token())
401
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cers_demo.district import DemoDistrict
from cers_demo.faults import HostileMode
from cers_demo.provider.encoding import LEGACY_USER_FIELDS, SCHEMA_FIELDS, RecordEncoder
from cers_demo.provider.fault_injector import FaultInjector
from cers_demo.provider.filters import FilterError, compile_filter, parse_filter
from cers_demo.provider.gate import RequestGate, RequestLog
from cers_demo.provider.hostile import HUGE_TOTAL, HostileAnswers, with_markup_names
from cers_demo.provider.imsx import MINOR_BY_STATUS, Problem, imsx_response, unknown_record
from cers_demo.provider.nested import NestedRoutes
from cers_demo.provider.oauth import AccessTokens
from cers_demo.provider.options import DEMOGRAPHICS_SCOPE, ROSTER_CORE_SCOPE, ROSTER_SCOPE, ProviderOptions
from cers_demo.provider.store import VIEWS, Query, RecordStore, Selection, View

__all__ = ["create_provider_app"]

# Which scopes each kind of endpoint accepts (the OpenAPI file's security lists).
_FLAT_SCOPES = frozenset({ROSTER_SCOPE, ROSTER_CORE_SCOPE})
_NESTED_SCOPES = frozenset({ROSTER_SCOPE})
_DEMOGRAPHICS_SCOPES = frozenset({DEMOGRAPHICS_SCOPE})


def create_provider_app(district: DemoDistrict, options: ProviderOptions | None = None) -> Starlette:
    """A Starlette app serving ``district`` as a OneRoster 1.2 rostering provider.

    ``app.state`` holds ``district``, ``options``, ``request_log`` (a ``RequestLog``), ``faults``
    (the ``FaultInjector``) and ``issued_tokens``.
    """
    return _Provider(district, options or ProviderOptions()).app


class _Provider:
    """The app, and what its handlers share: the options, the record store and the tokens."""

    def __init__(self, district: DemoDistrict, options: ProviderOptions) -> None:
        self.options = options
        if options.hostile_mode(HostileMode.markup_names):
            district = with_markup_names(district)
        self.store = RecordStore(district, dangling_references=options.dangling_references)
        self.tokens = AccessTokens(options)
        log = RequestLog(options.base_path)
        faults = FaultInjector(
            options.faults, base_path=options.base_path, token_path=options.token_path, revoke=self.tokens.revoke
        )
        hostile = HostileAnswers(options.hostile, base_path=options.base_path, token_path=options.token_path)
        self.app = Starlette(
            routes=self._routes(),
            middleware=[Middleware(RequestGate, log=log, faults=faults, hostile=hostile)],
            exception_handlers={HTTPException: self._http_error, Exception: self._server_error},
        )
        self.app.state.district = district
        self.app.state.options = options
        self.app.state.request_log = log
        self.app.state.faults = faults
        # Every access token handed out, so that tests can prove none of them leaks anywhere.
        self.app.state.issued_tokens = self.tokens.issued_tokens

    # -- routes ---------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        base = self.options.base_path
        routes = [Route(self.options.token_path, self.tokens.token_endpoint, methods=["POST"])]
        for name in ("academicSessions", "classes", "courses", "enrollments", "gradingPeriods", "orgs", "schools",
                     "students", "teachers", "terms", "users", "demographics"):  # fmt: skip
            view = VIEWS[name]
            scopes = _DEMOGRAPHICS_SCOPES if name == "demographics" else _FLAT_SCOPES
            routes.append(Route(f"{base}/{name}", self._endpoint(self._flat(view), scopes)))
            routes.append(Route(f"{base}/{name}/{{sourcedId}}", self._endpoint(self._single(view), scopes)))
        if self.options.nested_routes:
            for path, select in NestedRoutes(self.store).selections().items():
                routes.append(Route(base + path, self._endpoint(self._collection(select), _NESTED_SCOPES)))
        return routes

    def _endpoint(
        self, handler: Callable[[Request], Response], scopes: frozenset[str]
    ) -> Callable[[Request], Response]:
        """Wrap a handler with the bearer-token check and turn ``Problem`` into imsx bodies.

        The wrapper is a plain function, so Starlette runs it in a worker thread: polars
        releases the GIL, and the event loop stays free for other requests.
        """

        def endpoint(request: Request) -> Response:
            try:
                self.tokens.authorize(request, scopes)
                return handler(request)
            except Problem as problem:
                return imsx_response(problem.status, problem.code_minor, problem.description, problem.headers)

        return endpoint

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        minor = MINOR_BY_STATUS.get(exc.status_code, "invaliddata")
        return imsx_response(exc.status_code, minor, str(exc.detail), dict(exc.headers or {}))

    async def _server_error(self, request: Request, exc: Exception) -> Response:
        """A bug answers like a OneRoster server would; the exception still reaches uvicorn's log."""
        return imsx_response(500, "internal_server_error", "The demo provider failed to answer this request.")

    # -- flat collections and single records -----------------------------------------------------

    def _flat(self, view: View) -> Callable[[Request], Response]:
        return self._collection(lambda request: Selection(view))

    def _single(self, view: View) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            fields = self._fields(request, view)
            sourced_id = request.path_params["sourcedId"]
            row = self.store.find(view, sourced_id)
            if row is None:
                raise unknown_record(view.what, sourced_id)
            record = self._records(request).encode(view.frame, row, fields)
            return _json(f'{{"{view.single}":{record}}}')

        return handler

    def _collection(self, select: Callable[[Request], Selection]) -> Callable[[Request], Response]:
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
            if self.options.hostile_mode(HostileMode.huge_total):
                headers["X-Total-Count"] = str(HUGE_TOTAL)
            if self.options.hostile_mode(HostileMode.cycle_link):
                # From the first page to the second and back, for ever, with no total to stop at.
                headers.pop("X-Total-Count", None)
                back = spec.limit if spec.offset == 0 else 0
                headers["Link"] = f'<{request.url.include_query_params(limit=spec.limit, offset=back)}>; rel="next"'
            return _json(f'{{"{selection.view.envelope}":[{records}]}}', headers)

        return handler

    def _records(self, request: Request) -> RecordEncoder:
        root = self.options.base_path
        if not self.options.relative_hrefs:
            root = f"{request.url.scheme}://{request.url.netloc}{root}"
        return RecordEncoder(root, self.options)

    # -- query parameters ----------------------------------------------------------------------

    def _query(self, request: Request, view: View) -> Query:
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
                raise Problem(400, "invalid_filter_field", str(error)) from None
        sort = params.get("sort")
        order = params.get("orderBy", "asc")
        if order not in ("asc", "desc"):
            raise Problem(400, "invaliddata", "orderBy must be 'asc' or 'desc'.")
        if sort is not None and (sort not in frame.columns or isinstance(frame.schema[sort], pl.List)):
            raise Problem(400, "invaliddata", f"Sorting on the field '{sort}' is not supported.")
        if sort is None and order == "desc":
            sort = "sourcedId"
        return Query(
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

    def _fields(self, request: Request, view: View) -> frozenset[str] | None:
        values = request.query_params.getlist("fields")
        if not values:
            return None
        fields = frozenset(f.strip() for value in values for f in value.split(",") if f.strip())
        known = SCHEMA_FIELDS[view.frame]
        if view.frame == "users" and self.options.legacy_user_role:
            known |= LEGACY_USER_FIELDS
        unknown = sorted(fields - known)
        if unknown or not fields:
            raise Problem(400, "invalid_selection_field", f"Unknown field(s) in 'fields': {', '.join(unknown)}.")
        return fields


def _integer(request: Request, name: str, *, default: int, minimum: int) -> int:
    values = request.query_params.getlist(name)
    if not values:
        return default
    if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() or int(values[0]) < minimum:
        raise Problem(400, "invaliddata", f"'{name}' must be given once, as a whole number of at least {minimum}.")
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
