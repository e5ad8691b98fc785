"""What a server said when it failed: a short, plain summary of its error answer, secrets hidden.

Providers describe failures in many shapes: the 1.2 ``imsx_StatusInfo`` object (with the
nested ``imsx_CodeMinor`` or a flat ``imsx_codeMinor`` string), RFC 6749 ``error`` /
``error_description`` from token endpoints, ad-hoc JSON, or an HTML page from a proxy. We
read all of them leniently and keep a short, plain summary.

Secrets we hold are scrubbed from it in case a server echoes the request back, in every form
the request carried them (:func:`secret_forms`): as typed, URL-encoded as a form body encodes
them, and inside the base64 of HTTP Basic's ``client_id:secret``. A redirect is described by
where it points, never by its body, and the body of an answer that came by way of a redirect
is quoted only when it is JSON: a redirect to an internal service must not bring its page
into a message.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

import httpx

from cers_core.http.bounds import AnswerTooDeep, load_json

__all__ = ["basic_pair", "describe_error_body", "endpoint_of", "hide_secrets", "minor_codes", "secret_forms"]

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_MAX_MESSAGE = 200


def secret_forms(secret: str) -> tuple[str, ...]:
    """The forms in which a request may carry ``secret``, and a server echo it: as is, and URL-encoded.

    >>> secret_forms("p@ss w/rd")
    ('p@ss w/rd', 'p%40ss%20w%2Frd', 'p%40ss+w%2Frd', 'p%40ss%20w/rd')
    """
    return tuple(dict.fromkeys((secret, quote(secret, safe=""), quote_plus(secret), quote(secret))))


def basic_pair(client_id: str, secret: str) -> str:
    """The base64 of HTTP Basic's ``client_id:secret``, as an ``Authorization`` header carries it."""
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


def hide_secrets(text: str, hide: Iterable[str]) -> str:
    """``text`` with every one of ``hide`` replaced by ``[hidden]`` (ignoring case, which only hides more:
    a server may re-encode ``%2F`` as ``%2f``).

    >>> hide_secrets("bad client c2VjcmV0 (SeCrEt)", ["secret", "c2VjcmV0"])
    'bad client [hidden] ([hidden])'
    """
    secrets = sorted({s for s in hide if s}, key=len, reverse=True)
    if not secrets:
        return text
    return re.sub("|".join(map(re.escape, secrets)), "[hidden]", text, flags=re.IGNORECASE)


def _json_body(response: httpx.Response) -> object:
    try:
        return load_json(response.content)
    except (ValueError, UnicodeDecodeError, AnswerTooDeep):
        return None


def minor_codes(response: httpx.Response) -> list[str]:
    """The imsx codeMinor values (e.g. ``invalid_filter_field``), whichever shape they came in."""
    body = _json_body(response)
    if not isinstance(body, dict):
        return []
    codes: list[str] = []
    nested = body.get("imsx_CodeMinor")
    if isinstance(nested, dict):
        fields = nested.get("imsx_codeMinorField")
        if isinstance(fields, dict):
            fields = [fields]
        if isinstance(fields, list):
            codes += [str(f.get("imsx_codeMinorFieldValue")) for f in fields if isinstance(f, dict)]
    flat = body.get("imsx_codeMinor")
    if isinstance(flat, str):
        codes.append(flat)
    if isinstance(body.get("error"), str):
        codes.append(body["error"])
    return [c for c in codes if c and c != "None"]


def describe_error_body(response: httpx.Response, *, hide: Iterable[str] = ()) -> str:
    """A one-line summary of what the server said, at most 200 characters, secrets hidden."""
    hide = tuple(hide)
    if response.is_redirect:
        where = response.next_request.url if response.next_request is not None else None
        text = f"a redirect to {where.scheme}://{where.netloc.decode()}{where.path}" if where else "a redirect"
        return _short(hide_secrets(text, hide))
    body = _json_body(response)
    text = ""
    if isinstance(body, dict):
        parts = [
            body.get("imsx_description"),
            body.get("error_description"),
            body.get("message"),
            body.get("detail"),
        ]
        text = " ".join(str(p) for p in parts if isinstance(p, str) and p.strip())
        codes = minor_codes(response)
        if codes and not any(code in text for code in codes):
            text = f"{text} ({', '.join(codes)})" if text else ", ".join(codes)
    elif body is None and not response.history:
        raw = hide_secrets(response.content[:4000].decode("utf-8", errors="replace"), hide)
        text = html.unescape(_TAG.sub(" ", raw))
    return _short(hide_secrets(_SPACE.sub(" ", hide_secrets(text, hide)).strip(), hide))


def _short(text: str) -> str:
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1].rstrip() + "…"
    return text


def endpoint_of(request: httpx.Request) -> str:
    """The path and query of a request, for messages: never its headers (which hold the token)."""
    query = request.url.query.decode("ascii", errors="replace")
    return request.url.path + (f"?{query}" if query else "")
