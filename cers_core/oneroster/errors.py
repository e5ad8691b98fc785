"""The typed OneRoster errors for failed answers, with advice that fits each failure.

- :func:`error_for_response`: an answer of the OneRoster API (and a token endpoint that
  kept failing);
- :class:`OneRosterTokenFaults`: the token endpoint's failures, for the shared token flow
  (:mod:`cers_core.http.oauth`).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from cers_core.errors import (
    AuthenticationFailed,
    BadResponse,
    NotFound,
    OneRosterError,
    PermissionDenied,
    ProviderUnreachable,
    RateLimited,
    ServerError,
)
from cers_core.http.error_bodies import describe_error_body, endpoint_of
from cers_core.http.oauth import TOKEN_ENDPOINT, TokenAnswer

__all__ = ["OneRosterTokenFaults", "error_for_response"]

_CHECK_TOKEN_URL = "Check the Token URL: it should be the OAuth 2 token endpoint your SIS documents."


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


class OneRosterTokenFaults:
    """A OneRoster token endpoint's failures as OneRoster errors (see ``cers_core.http.oauth.TokenFaults``)."""

    def credentials_refused(self, answer: TokenAnswer) -> OneRosterError:
        return AuthenticationFailed(
            "The Client ID or Client Secret was not accepted by the token endpoint.",
            hint="Copy both again from the SIS (they should match the CAASPP configuration); "
            "if the credential was regenerated, the old secret no longer works.",
            **answer.details,
        )

    def scope_refused(self, answer: TokenAnswer) -> OneRosterError:
        return PermissionDenied(
            "The token endpoint refused the requested scope.",
            hint="Use the scope your SIS granted to this application (the default is "
            "roster-core.readonly), in the connection's advanced settings.",
            **answer.details,
        )

    def no_token_endpoint(self, answer: TokenAnswer) -> OneRosterError:
        return NotFound(
            "There is no token endpoint at the Token URL.",
            hint="Check the Token URL your SIS documents, including any ?appName=… part.",
            **answer.details,
        )

    def redirected(self, answer: TokenAnswer) -> OneRosterError:
        return BadResponse(
            "The Token URL redirects elsewhere; a token request is never redirected, so that the Client "
            "Secret goes to the Token URL and nowhere else.",
            hint="Enter the address it redirects to as the Token URL, if that is your SIS's token endpoint.",
            **answer.details,
        )

    def grant_refused(self, answer: TokenAnswer) -> OneRosterError:
        # Only a password grant has a user to refuse; from a client-credentials endpoint it is
        # just one more way of not giving a token.
        return self.refused(answer)

    def refused(self, answer: TokenAnswer) -> OneRosterError:
        return AuthenticationFailed(
            "The token endpoint did not give us an access token.",
            hint="Check the Token URL, Client ID and Client Secret.",
            **answer.details,
        )

    def not_a_token(self, answer: TokenAnswer, *, is_json: bool) -> OneRosterError:
        if not is_json:
            return BadResponse(
                "The Token URL answered, but not with an OAuth token.", hint=_CHECK_TOKEN_URL, **answer.details
            )
        return BadResponse(
            "The Token URL answered without a bearer access token.",
            endpoint=TOKEN_ENDPOINT,
            status=answer.status,
            hint=_CHECK_TOKEN_URL,
        )

    def kept_failing(self, answer: TokenAnswer) -> OneRosterError:
        return error_for_response(answer.response, hide=answer.hide)

    def no_answer(self) -> OneRosterError:
        return ProviderUnreachable(
            "The token endpoint did not answer (the connection was dropped or timed out).",
            endpoint=TOKEN_ENDPOINT,
            hint="Check the Token URL; if it is right, the SIS may be busy: try again later.",
        )
