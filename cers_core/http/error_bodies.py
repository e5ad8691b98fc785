"""What a server said when it failed: a short, plain summary of its error answer, secrets hidden.

Providers describe failures in many shapes: the 1.2 ``imsx_StatusInfo`` object (with the
nested ``imsx_CodeMinor`` or a flat ``imsx_codeMinor`` string), RFC 6749 ``error`` /
``error_description`` from token endpoints, ad-hoc JSON, or an HTML page from a proxy. We
read all of them leniently and keep a short, plain summary; secrets we hold are scrubbed
from it in case a server echoes them back.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable

import httpx

__all__ = ["describe_error_body", "endpoint_of", "minor_codes"]

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_MAX_MESSAGE = 200


def _json_body(response: httpx.Response) -> object:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
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
    elif body is None:
        raw = response.content[:4000].decode("utf-8", errors="replace")
        text = html.unescape(_TAG.sub(" ", raw))
    text = _SPACE.sub(" ", text).strip()
    for secret in hide:
        if secret:
            text = text.replace(secret, "[hidden]")
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1].rstrip() + "…"
    return text


def endpoint_of(request: httpx.Request) -> str:
    """The path and query of a request, for messages: never its headers (which hold the token)."""
    query = request.url.query.decode("ascii", errors="replace")
    return request.url.path + (f"?{query}" if query else "")
