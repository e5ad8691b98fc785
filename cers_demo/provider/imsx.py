"""The provider's error answers: OneRoster ``imsx_StatusInfo`` failure bodies with an HTTP status.

A handler raises ``Problem`` (status, code minor, description); the route wrapper turns it into
the body real providers send. The fault injector sends the same body for its 429, 5xx and
expired-token answers, so that a client cannot tell an injected fault from a real one.

>>> Problem(404, "unknownobject", "Unknown Object: no class with sourcedId 'x'.").status
404
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

__all__ = ["MINOR_BY_STATUS", "Problem", "imsx_failure", "imsx_response", "unknown_record"]

MINOR_BY_STATUS = {
    400: "invaliddata",
    401: "unauthorisedrequest",
    403: "forbidden",
    404: "unknownobject",
    405: "invaliddata",
    429: "server_busy",
    500: "internal_server_error",
}
"""The code minor of Starlette's own errors (an unknown path, a wrong method), by status."""


class Problem(Exception):
    """A request that fails with an imsx_StatusInfo body."""

    def __init__(
        self, status: int, code_minor: str, description: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code_minor = code_minor
        self.description = description
        self.headers = headers


def imsx_failure(code_minor: str, description: str) -> dict[str, Any]:
    """A OneRoster ``imsx_StatusInfo`` failure body, as providers send with an error status."""
    return {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code_minor}
            ]
        },
    }


def imsx_response(
    status: int, code_minor: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(imsx_failure(code_minor, description), status_code=status, headers=headers)


def unknown_record(what: str, sourced_id: str) -> Problem:
    """The 404 for a sourcedId that ``what`` ("school", "term" …) has no record of."""
    return Problem(404, "unknownobject", f"Unknown Object: no {what} with sourcedId '{sourced_id}'.")
