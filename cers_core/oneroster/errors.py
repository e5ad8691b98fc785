"""The typed OneRoster error for a failed API answer, with advice that fits its status."""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    NotFound,
    OneRosterError,
    PermissionDenied,
    RateLimited,
    ServerError,
)
from cers_core.http.error_bodies import describe_error_body, endpoint_of

__all__ = ["error_for_response"]


def error_for_response(response: httpx.Response, *, hide: Iterable[str] = ()) -> OneRosterError:
    """The typed error for a failed API answer, with advice that fits its status."""
    status = response.status_code
    said = describe_error_body(response, hide=hide)
    where = endpoint_of(response.request)
    common = {"endpoint": where, "status": status, "server_message": said}
    if status == 401:
        return AuthenticationFailed(
            "The OneRoster server did not accept our access token.",
            hint="Check the Client ID, Client Secret and Token URL; the credential may have been "
            "regenerated or may have expired.",
            **common,
        )
    if status == 403:
        return PermissionDenied(
            "The OneRoster server refused to share this data with this credential.",
            hint="Ask the SIS administrator to grant the roster-core.readonly scope and access to "
            "these schools to this application.",
            **common,
        )
    if status == 404:
        return NotFound(
            "The OneRoster server has no such address or record.",
            hint="Check the Base URL: it should end in the rostering path your SIS documents, e.g. "
            ".../ims/oneroster/rostering/v1p2.",
            **common,
        )
    if status == 429:
        return RateLimited(
            "The OneRoster server kept asking us to slow down.",
            hint="Try again later (outside school hours if you can), or lower the concurrency in the "
            "connection's advanced settings.",
            **common,
        )
    if status >= 500:
        return ServerError(
            "The OneRoster server kept failing while answering.",
            hint="This is a problem on the SIS side; try again later, and tell the SIS vendor if it lasts.",
            **common,
        )
    return BadResponse(
        "The OneRoster server rejected the request.",
        hint="The server may not support a part of OneRoster 1.2 that we used; tell us which SIS this is.",
        **common,
    )
