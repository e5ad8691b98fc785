"""The typed import errors for the failures of CERS's token endpoint, for the shared token flow
(:mod:`cers_core.http.oauth`).

Every one of them means the request the token was for was *not* sent: the upload may say
"the file was not sent", and the token failures that may clear by waiting (429, 5xx, no
answer) are asked again within the upload's retry policy.
"""

from __future__ import annotations

from cers_core.errors import ImportAuthFailed, ImportRequestFailed, ImportUnreachable, UploadError
from cers_core.http.oauth import TOKEN_ENDPOINT, TokenAnswer

__all__ = ["ImportTokenFaults"]


class ImportTokenFaults:
    """CERS's token endpoint's failures as ``Upload*`` errors (see ``cers_core.http.oauth.TokenFaults``).

    ``with_client_secret``: the connection has a Client Secret, so a refused client may mean either.
    """

    def __init__(self, *, with_client_secret: bool) -> None:
        self._with_client_secret = with_client_secret

    def credentials_refused(self, answer: TokenAnswer) -> UploadError:
        return ImportAuthFailed(
            "The CERS token endpoint did not accept the Client ID"
            + (" or Client Secret." if self._with_client_secret else "."),
            hint="Copy them again from TOMS; credentials generated there expire every year, and "
            "regenerating them makes the old ones stop working.",
            **answer.details,
        )

    def scope_refused(self, answer: TokenAnswer) -> UploadError:
        # Most import services need no scope; one that refuses the one given says no more than any refusal.
        return self.refused(answer)

    def no_token_endpoint(self, answer: TokenAnswer) -> UploadError:
        return ImportRequestFailed(
            "There is no token endpoint at the CERS import connection's Token URL.",
            hint="Check the Token URL, including any ?realm=… part.",
            **answer.details,
        )

    def redirected(self, answer: TokenAnswer) -> UploadError:
        return ImportRequestFailed(
            "The CERS Token URL redirects elsewhere; a token request is never redirected, so that the "
            "credentials go to the Token URL and nowhere else. The file was not sent.",
            hint="Enter the address it redirects to as the Token URL, if that is CERS's token endpoint.",
            **answer.details,
        )

    def grant_refused(self, answer: TokenAnswer) -> UploadError:
        return ImportAuthFailed(
            "The CERS token endpoint did not accept the user name and password.",
            hint="Check them (the password may have been reset, or the account locked).",
            **answer.details,
        )

    def refused(self, answer: TokenAnswer) -> UploadError:
        return ImportAuthFailed(
            "The CERS token endpoint did not give us an access token.",
            hint="Check the Token URL and the credentials of the CERS import connection.",
            **answer.details,
        )

    def not_a_token(self, answer: TokenAnswer, *, is_json: bool) -> UploadError:
        # JSON or not, the advice is the same: this is not the import service's token endpoint.
        return ImportRequestFailed(
            "The CERS Token URL answered, but not with an access token.",
            endpoint=TOKEN_ENDPOINT,
            status=answer.status,
            hint="Check the Token URL: it should be the OAuth 2 token endpoint of the CERS import service.",
        )

    def kept_failing(self, answer: TokenAnswer) -> UploadError:
        return ImportRequestFailed("The CERS token endpoint kept failing.", hint="Try again later.", **answer.details)

    def no_answer(self) -> UploadError:
        return ImportUnreachable(
            "The CERS token endpoint did not answer (the connection was dropped or timed out); the file was not sent.",
            endpoint=TOKEN_ENDPOINT,
            hint="Check the Token URL; if it is right, the service may be busy: try again later.",
        )
