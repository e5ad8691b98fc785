"""A fake CERS import service (the RDW import API for student groups), for tests and the demo.

It answers like RDW's import service (reference §6; RDW_Ingest ``GroupController``,
``ScopedImportController``, ``GroupImportService``, ``DefaultImportService``):

- ``POST {token_path}``: OAuth 2 tokens, by client credentials (HTTP Basic or in the body)
  or by the password grant (``username``, ``password``, ``client_id`` [, ``client_secret``]),
  as RDW's OpenAM/Okta set-ups document;
- ``POST {base}/groups/imports``: ``multipart/form-data`` (the part named ``file``, or the
  only file part; the batch is then always the part's file name, as RDW does), or the raw
  file as the body with ``batch``/``filename`` in the query (``batch`` defaults to
  ``filename``). The file is validated at once with the port of CERS's own rules
  (``cers_core.cers_csv``, CERS's rules only, with the configured years, schools and
  subjects), all or nothing: any failure gives ``BAD_DATA`` with CERS's ``Row: n Failure:``
  report. The answer is 202 with the import resource (§6.3), ``ACCEPTED`` until
  ``processing_seconds`` have passed, then ``PROCESSED``;
- the identical-file rule (§5): the same bytes (upper-case MD5) as an earlier import reuse
  that import: returned as it is when it was ``PROCESSED`` (not processed again, its batch
  unchanged), validated and resubmitted under the same id otherwise;
- ``GET {base}/groups/imports?batch=…`` (also ``status``, ``creator``, ``content``,
  ``limit``): the matching imports by id; no parameter at all is a 400;
- ``GET {base}/imports/{id}``: 403, as RDW answers a GROUP_ADMIN user (that route needs
  ASMTDATALOAD), which is why clients poll by batch;
- 401 without a valid token, 403 for an account without GROUP_WRITE (``group_write=False``),
  400 for a post without a file, 500 where CERS's validator would crash (a header of fewer
  than six columns).

Processing applies CERS's re-upload semantics to :attr:`FakeImportService.groups` (what
"CERS" then holds): each group in the file gets exactly the file's members, groups not in the
file stay as they were, a renamed group is a new one.

Faults for tests (``FakeImportOptions``): ``status_failures`` (the next status reads answer
503), ``post_fault`` (the connection is reset, or a proxy answers 502, after the import was
recorded, or reset before reading it) and ``processing_error`` (the group processor fails,
giving ``BAD_DATA`` with that message).

>>> with FakeImportServer(FakeImportOptions(schools=("01612590130146",))) as server:
...     settings = server.settings()  # a CersImportSettings that reaches this server
...     settings.grant, settings.import_url == server.import_url
('client_credentials', True)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from cers_core.cers_csv import validate_cers_csv
from cers_core.cers_csv.java_text import fold_case
from cers_core.cers_csv.rows import iter_group_records
from cers_core.settings import CersImportSettings
from cers_demo.connection_faults import reset_connection
from cers_demo.loopback import LoopbackServer

__all__ = ["CersGroup", "FakeImportOptions", "FakeImportServer", "FakeImportService", "create_fake_import_app"]

PostFault = Literal["none", "reset_before_import", "reset_after_import", "502_after_import"]


class FakeImportOptions(BaseModel):
    """How the fake import service behaves; the defaults behave like a healthy CERS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_path: str = "/rdw-import"
    token_path: str = "/oauth2/token"
    client_id: str = "cers-import-demo"
    client_secret: str = "demo-import-secret-not-private"
    username: str = "groups.admin@demo-district.example.org"
    password: str = "demo-password-not-private"
    token_lifetime_seconds: int = Field(default=3600, ge=1)
    processing_seconds: float = Field(default=0.5, ge=0)
    """How long an accepted import stays ``ACCEPTED`` before it is ``PROCESSED``."""
    school_years: tuple[int, ...] | None = None
    """The years in CERS's ``school_year`` table; None accepts any year."""
    schools: tuple[str, ...] | None = None
    """The CDS codes the account may write groups for; None accepts any school."""
    subjects: tuple[str, ...] = ("ELA", "Math")
    group_write: bool = True
    """False: the account lacks GROUP_WRITE, so every groups request gets 403."""
    status_failures: int = Field(default=0, ge=0)
    """The next this many reads of ``GET /groups/imports`` answer 503."""
    post_fault: PostFault = "none"
    processing_error: str | None = None
    """When set, processing fails: the import ends ``BAD_DATA`` with this message."""


@dataclass(slots=True)
class CersGroup:
    """A group as the fake CERS holds it after processing."""

    school_natural_id: str
    school_year: int
    group_name: str
    subject_code: str | None
    students: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    import_id: int = 0


@dataclass(slots=True)
class _Import:
    id: int
    digest: str
    content_type: str
    status: str
    batch: str | None
    creator: str
    created: str
    updated: str
    message: str | None = None
    ready_at: float = 0.0
    payload: bytes = b""


def _now_text() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _error(status: int, error: str, message: str, **headers: str) -> JSONResponse:
    body = {"timestamp": _now_text(), "status": status, "error": error, "message": message}
    return JSONResponse(body, status_code=status, headers=headers or None)


class FakeImportService:
    """The service's state and its Starlette app (``.app``); see the module docstring."""

    def __init__(self, options: FakeImportOptions | None = None) -> None:
        self.options = options or FakeImportOptions()
        self._lock = threading.Lock()
        self._imports: list[_Import] = []
        self._tokens: dict[str, tuple[str, float]] = {}
        self._groups: dict[tuple[str, str, int], CersGroup] = {}
        self._status_failures_left = self.options.status_failures
        self.posts_received = 0
        """Every POST to ``/groups/imports`` that reached the service, whatever became of it."""
        self.status_reads = 0
        self.issued_tokens: list[str] = []
        base = self.options.base_path.rstrip("/")
        self.app = Starlette(
            routes=[
                Route(self.options.token_path, self._token, methods=["POST"]),
                Route(f"{base}/groups/imports", self._post_import, methods=["POST"]),
                Route(f"{base}/groups/imports", self._list_imports, methods=["GET"]),
                Route(f"{base}/imports/{{import_id}}", self._import_by_id, methods=["GET"]),
            ],
            exception_handlers={Exception: self._server_error},
        )
        self.app.state.service = self

    # -- what tests look at ------------------------------------------------------------------

    def imports(self) -> list[dict[str, Any]]:
        """Every import as the service would list it (after any processing that is due)."""
        self.advance()
        with self._lock:
            return [self._resource(item, "") for item in self._imports]

    @property
    def groups(self) -> dict[tuple[str, str, int], CersGroup]:
        """What CERS holds now, by (school, name as CERS compares it, year)."""
        self.advance()
        with self._lock:
            return dict(self._groups)

    def advance(self) -> None:
        """Process every accepted import whose processing time has come, in id order."""
        now = time.monotonic()
        with self._lock:
            for item in self._imports:
                if item.status == "ACCEPTED" and item.ready_at <= now:
                    self._process(item)

    # -- tokens -------------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        options = self.options
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, client_secret = base64.b64decode(basic[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._oauth_error(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            if client_id != options.client_id or not secrets.compare_digest(client_secret, options.client_secret):
                return self._oauth_error(401, "invalid_client", "Client authentication failed")
            creator = client_id
        elif grant == "password":
            if client_id != options.client_id or (
                client_secret and not secrets.compare_digest(client_secret, options.client_secret)
            ):
                return self._oauth_error(401, "invalid_client", "Client authentication failed")
            username, password = form.get("username", ""), form.get("password", "")
            if username != options.username or not secrets.compare_digest(password, options.password):
                return self._oauth_error(400, "invalid_grant", "Authentication failed")
            creator = username
        else:
            return self._oauth_error(400, "unsupported_grant_type", "Use client_credentials or password")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (creator, time.monotonic() + options.token_lifetime_seconds)
            self.issued_tokens.append(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": options.token_lifetime_seconds}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @staticmethod
    def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    def _caller(self, request: Request) -> str | Response:
        """The account behind the bearer token, or the 401/403 answer to give instead."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            grant = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant[1] < time.monotonic():
            return _error(
                401,
                "Unauthorized",
                "Full authentication is required to access this resource",
                **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not self.options.group_write:
            return _error(403, "Forbidden", "Access is denied")
        return grant[0]

    # -- imports ------------------------------------------------------------------------------

    async def _post_import(self, request: Request) -> Response:
        caller = self._caller(request)
        if isinstance(caller, Response):
            return caller
        with self._lock:
            self.posts_received += 1
        if self.options.post_fault == "reset_before_import":
            return await self._drop(request)
        content_type = request.headers.get("content-type", "")
        metadata = dict(request.query_params)
        if content_type.lower().startswith("multipart/form-data"):
            async with request.form(max_part_size=1 << 20) as form:
                files = [(key, value) for key, value in form.multi_items() if isinstance(value, UploadFile)]
                if not files:
                    return _error(400, "Bad Request", "missing multipart file")
                chosen = files[0][1] if len(files) == 1 else dict(files).get("file")
                if chosen is None:
                    return _error(400, "Bad Request", "missing multipart file")
                payload = await chosen.read()
                metadata["filename"] = chosen.filename or ""
                metadata.update((k, v) for k, v in form.multi_items() if isinstance(v, str))
                metadata["batch"] = chosen.filename or ""  # RDW: a multipart file's batch is its name
                part_type = chosen.content_type or "application/octet-stream"
        else:
            payload = await request.body()
            if "filename" in metadata and "batch" not in metadata:
                metadata["batch"] = metadata["filename"]
            part_type = content_type
        options = self.options
        report = await run_in_threadpool(
            validate_cers_csv,
            payload,
            school_years=options.school_years,
            schools=options.schools,
            subjects=options.subjects,
        )
        if report.cers_crash is not None:
            # RDW's validator throws; Spring answers 500 and no import is recorded.
            return _error(500, "Internal Server Error", "Index: 5, Size: 5")
        digest = hashlib.md5(payload, usedforsecurity=False).hexdigest().upper()  # RDW's payload digest
        now = _now_text()
        with self._lock:
            item = next((i for i in self._imports if i.digest == digest), None)
            found = item is not None
            if item is None:
                item = _Import(
                    id=34000 + len(self._imports) + 1,
                    digest=digest,
                    content_type=part_type,
                    status="ACCEPTED",
                    batch=metadata.get("batch"),
                    creator=caller,
                    created=now,
                    updated=now,
                )
                self._imports.append(item)
            if report.cers_failure_count:
                item.status, item.message, item.updated = "BAD_DATA", report.cers_message(), now
            elif not (found and item.status == "PROCESSED"):
                item.status, item.message, item.updated = "ACCEPTED", report.cers_message(), now
                item.ready_at = time.monotonic() + options.processing_seconds
                item.payload = payload
            resource = self._resource(item, str(request.base_url))
        if options.post_fault == "reset_after_import":
            return await self._drop(request)
        if options.post_fault == "502_after_import":
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502)
        return JSONResponse(resource, status_code=202)

    async def _list_imports(self, request: Request) -> Response:
        caller = self._caller(request)
        if isinstance(caller, Response):
            return caller
        with self._lock:
            self.status_reads += 1
            if self._status_failures_left > 0:
                self._status_failures_left -= 1
                return _error(503, "Service Unavailable", "The import service is busy; try again.")
        query = request.query_params
        known = {"content", "status", "batch", "creator", "before", "after", "limit"}
        if not known.intersection(query.keys()):
            return _error(400, "Bad Request", "at least one query parameter must be specified")
        try:
            limit = int(query["limit"]) if "limit" in query else None
        except ValueError:
            return _error(400, "Bad Request", "limit must be a number")
        self.advance()
        with self._lock:
            found = [
                self._resource(item, str(request.base_url))
                for item in self._imports
                if ("batch" not in query or item.batch == query["batch"])
                and ("status" not in query or item.status == query["status"].upper())
                and ("creator" not in query or item.creator == query["creator"])
                and ("content" not in query or query["content"].upper() == "GROUPS")
            ]
        return JSONResponse(found[:limit] if limit is not None else found)

    async def _import_by_id(self, request: Request) -> Response:
        caller = self._caller(request)
        if isinstance(caller, Response):
            return caller
        return _error(403, "Forbidden", "Access is denied")  # needs ROLE_ASMTDATALOAD, which group admins lack

    async def _server_error(self, request: Request, error: Exception) -> Response:
        return _error(500, "Internal Server Error", type(error).__name__)

    @staticmethod
    async def _drop(request: Request) -> Response:
        await reset_connection(request.receive)
        return Response(status_code=500)  # never reaches the client: the connection is gone

    def _resource(self, item: _Import, base_url: str) -> dict[str, Any]:
        """The import resource as RDW serialises it: null fields left out, links to the import."""
        root = base_url.rstrip("/") + self.options.base_path.rstrip("/")
        body: dict[str, Any] = {
            "id": item.id,
            "content": "GROUPS",
            "contentType": item.content_type,
            "digest": item.digest,
            "status": item.status,
            "batch": item.batch,
            "creator": item.creator,
            "created": item.created,
            "updated": item.updated,
            "message": item.message,
            "_links": {
                "self": {"href": f"{root}/imports/{item.id}"},
                "payload": {"href": f"{root}/imports/{item.id}/payload"},
                "payload-properties": {"href": f"{root}/imports/{item.id}/payload/properties"},
            },
        }
        return {key: value for key, value in body.items() if value is not None}

    def _process(self, item: _Import) -> None:
        """The group processor: replace the members of every group in the file (lock held)."""
        item.updated = _now_text()
        if self.options.processing_error:
            item.status, item.message = "BAD_DATA", self.options.processing_error
            item.payload = b""
            return
        incoming: dict[tuple[str, str, int], CersGroup] = {}
        for _, (name, school, year, subject, ssid, login) in iter_group_records(item.payload):
            name, school, subject, ssid, login = (v.strip(" ") for v in (name, school, subject, ssid, login))
            key = (school, fold_case(name), int(year))
            group = incoming.setdefault(key, CersGroup(school, int(year), name, None, import_id=item.id))
            if subject and group.subject_code is None:
                group.subject_code = None if subject.lower() == "all" else subject
            if ssid:
                group.students.add(ssid)
            if login:
                group.users.add(login.lower())
        self._groups.update(incoming)
        item.status = "PROCESSED"
        item.payload = b""


def create_fake_import_app(options: FakeImportOptions | None = None) -> Starlette:
    """The fake import service as a Starlette app; ``app.state.service`` is its :class:`FakeImportService`."""
    return FakeImportService(options).app


class FakeImportServer(LoopbackServer):
    """The fake import service served by uvicorn on a loopback port, in a background thread.

    Like ``cers_demo.DemoServer`` (both are ``cers_demo.loopback`` servers): ``port=0``
    takes a free port; ``import_url`` and ``token_url`` are known once started; usable as a
    context manager.
    """

    name = "fake CERS import service"

    def __init__(
        self,
        options: FakeImportOptions | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
    ) -> None:
        self.service = FakeImportService(options)
        super().__init__(self.service.app, host=host, port=port, startup_timeout=startup_timeout)

    @property
    def options(self) -> FakeImportOptions:
        return self.service.options

    @property
    def import_url(self) -> str:
        return self.origin + self.options.base_path.rstrip("/")

    @property
    def token_url(self) -> str:
        return self.origin + self.options.token_path

    def settings(self, *, password_grant: bool = False) -> CersImportSettings:
        """Settings that reach this server: client credentials, or the password grant."""
        options = self.options
        if password_grant:
            return CersImportSettings(
                import_url=self.import_url,
                token_url=self.token_url,
                client_id=options.client_id,
                username=options.username,
                password=options.password,
            )
        return CersImportSettings(
            import_url=self.import_url,
            token_url=self.token_url,
            client_id=options.client_id,
            client_secret=options.client_secret,
        )

    def _probe(self) -> tuple[str, dict[str, str]]:
        return self.options.base_path.rstrip("/") + "/groups/imports", {}

    def connection_json(self) -> str:
        """Where to connect, as one JSON line (not secret: the fake's credentials are made up)."""
        return json.dumps(
            {
                "import_url": self.import_url,
                "token_url": self.token_url,
                "client_id": self.options.client_id,
                "client_secret": self.options.client_secret,
                "username": self.options.username,
                "password": self.options.password,
            }
        )
