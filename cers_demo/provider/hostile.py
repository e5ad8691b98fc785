"""Serving ``Hostile`` modes: the demo provider as a hostile or badly broken SIS (see ``cers_demo.faults``).

The request gate asks :class:`HostileAnswers` first; it answers the requests its modes pick and
passes the rest on. The modes that shape pages (``cycle-link``, ``huge-total``) live where pages
are made (``routes``), and ``markup-names`` where the district is (:func:`with_markup_names`).

Modes that hold or stream a connection stop as soon as the client has gone (uvicorn notes the
disconnect on its request cycle), so a test that gives up leaves nothing trickling behind it.

``tests/oneroster/test_hostile.py`` serves every mode and shows what the clients make of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable

import polars as pl
from starlette.types import ASGIApp, Receive, Scope, Send

from cers_demo.connection_faults import require_connection
from cers_demo.district import DemoDistrict
from cers_demo.faults import Hostile, HostileMode
from cers_demo.provider.fault_injector import PROBE_HEADER, CapturedAnswer

__all__ = ["HUGE_TOTAL", "MARKUP", "HostileAnswers", "with_markup_names"]

HUGE_TOTAL = 10**12
"""The ``X-Total-Count`` of ``huge-total``."""
MARKUP = {
    "school": " [Sign in again](https://evil.example)",
    "course": " **bold** <img src=x onerror=alert(1)>",
    "teacher": " ![x](https://evil.example/x.png)",
}
"""What ``markup-names`` appends to school names, course titles and teachers' family names."""

_CHUNK = 2**20
_POLL_SECONDS = 0.05
_Serve = Callable[["HostileAnswers", Hostile, Scope, Receive, Send, ASGIApp], Awaitable[bool]]


def with_markup_names(district: DemoDistrict) -> DemoDistrict:
    """The district with Markdown and HTML in its school, course and teacher names (``MARKUP``)."""
    orgs = district.orgs.with_columns(
        name=pl.when(pl.col("type") == "school").then(pl.col("name") + MARKUP["school"]).otherwise(pl.col("name"))
    )
    courses = district.courses.with_columns(title=pl.col("title") + MARKUP["course"])
    teacher = pl.col("roles.role").list.contains("teacher")
    users = district.users.with_columns(
        familyName=pl.when(teacher).then(pl.col("familyName") + MARKUP["teacher"]).otherwise(pl.col("familyName"))
    )
    return dataclasses.replace(district, orgs=orgs, courses=courses, users=users)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _gone(receive: Receive) -> bool:
    """Whether the client has closed the connection (uvicorn's request cycle notes it; in process: never)."""
    return bool(getattr(getattr(receive, "__self__", None), "disconnected", False))


def _collection_key(scope: Scope) -> str:
    """The envelope a client of this path reads (its last part: ``users``, ``classes`` …)."""
    return str(scope["path"]).rstrip("/").rsplit("/", 1)[-1] or "records"


async def _start(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def _body(send: Send, body: bytes, *, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": more})


async def _json(send: Send, status: int, body: bytes) -> None:
    await _start(send, status, [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())])
    await _body(send, body)


class HostileAnswers:
    """Answers the requests picked by the connection-level hostile modes; see the module docstring."""

    def __init__(self, modes: tuple[Hostile, ...], *, base_path: str, token_path: str) -> None:
        self._modes = tuple(m for m in modes if m.mode in _SERVED)
        self._base_path = base_path
        self._token_path = token_path

    def _picks(self, hostile: Hostile, path: str) -> bool:
        is_token = path == self._token_path
        is_data = path == self._base_path or path.startswith(self._base_path + "/")
        target = hostile.applies_to
        return (target in ("token", "all") and is_token) or (target in ("data", "all") and is_data)

    async def serve(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool | None:
        """None when no mode picks the request; else True when the connection was dropped, False when answered."""
        if not self._modes or _header(scope, PROBE_HEADER):
            return None
        for hostile in self._modes:
            if self._picks(hostile, scope["path"]):
                return await _SERVED[hostile.mode](self, hostile, scope, receive, send, app)
        return None

    # -- the modes ---------------------------------------------------------------------------

    async def _trickle(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        captured = CapturedAnswer()
        await app(scope, receive, captured.send)
        await _start(send, captured.status, captured.headers_for(len(captured.body)))
        for index in range(len(captured.body)):
            await asyncio.sleep(hostile.seconds)
            if _gone(receive):
                return True
            await _body(send, bytes(captured.body[index : index + 1]), more=True)
        await _body(send, b"")
        return False

    async def _silent(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        require_connection(receive)  # in process nothing times out: the test would wait for ever
        while not _gone(receive):
            await asyncio.sleep(_POLL_SECONDS)
        return True

    async def _huge_page(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        captured = CapturedAnswer()
        await app(scope, receive, captured.send)
        body = bytes(captured.body)
        if captured.status != 200 or not body.endswith(b"}"):
            await captured.replay(send)
            return False
        head, tail = body[:-1] + b',"x_padding":"', b'"}'
        padding = max(0, hostile.size - len(head) - len(tail))
        await _start(send, 200, captured.headers_for(len(head) + padding + len(tail)))
        await _body(send, head, more=True)
        while padding:
            if _gone(receive):
                return True
            piece = min(padding, _CHUNK)
            await _body(send, b"x" * piece, more=True)
            padding -= piece
        await _body(send, tail)
        return False

    async def _endless_body(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        require_connection(receive)  # in process, the ASGI transport would read it into memory for ever
        await _start(send, 200, [(b"content-type", b"application/json")])
        await _body(send, f'{{"{_collection_key(scope)}":['.encode(), more=True)
        number = 0
        while not _gone(receive):
            records = [f'{{"sourcedId":"endless-{number + i:09d}","status":"active"}},' for i in range(1000)]
            number += 1000
            await _body(send, "".join(records).encode(), more=True)
            await asyncio.sleep(0)
        return True

    async def _deep_json(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        key = "access_token" if scope["path"] == self._token_path else _collection_key(scope)
        await _json(send, 200, f'{{"{key}":'.encode() + b"[" * hostile.depth + b"]" * hostile.depth + b"}")
        return False

    async def _echo(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        said = f"Rejected request. Authorization: {_header(scope, b'authorization')}"
        if scope["path"] == self._token_path:
            said += f"; body: {body.decode('utf-8', 'replace')}"
            answer = {"error": "invalid_request", "error_description": said}
        else:
            said += f"; Cookie: {_header(scope, b'cookie')}"
            answer = {"imsx_codeMajor": "failure", "imsx_severity": "error", "imsx_description": said}
        await _json(send, 400, json.dumps(answer).encode())
        return False

    async def _redirect(self, hostile: Hostile, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> bool:
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"{str(hostile.url).rstrip('/')}{scope['path']}{'?' + query if query else ''}"
        body = b"<html><body>Moved.</body></html>"
        headers = [(b"location", target.encode()), (b"content-type", b"text/html")]
        await _start(send, 307, [*headers, (b"content-length", str(len(body)).encode())])
        await _body(send, body)
        return False


_SERVED: dict[HostileMode, _Serve] = {
    HostileMode.trickle: HostileAnswers._trickle,
    HostileMode.silent: HostileAnswers._silent,
    HostileMode.silent_token: HostileAnswers._silent,
    HostileMode.huge_page: HostileAnswers._huge_page,
    HostileMode.endless_body: HostileAnswers._endless_body,
    HostileMode.deep_json: HostileAnswers._deep_json,
    HostileMode.echo_credentials: HostileAnswers._echo,
    HostileMode.redirect_to: HostileAnswers._redirect,
}
