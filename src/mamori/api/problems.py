"""RFC 9457 problem documents: the one shape of every error Mamori's API returns.

``problem_for`` maps each ``MamoriError`` to a status and a body with a
stable ``code``; the app installs one handler for Mamori's errors, one for
request validation and one for everything else, so no input a client can
send produces a 500 page or a stack trace. Bodies never carry a personal
value: validation errors name the field and the reason, not the input.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mamori.errors import Denied, MamoriError

PROBLEM_TYPE = "urn:mamori:problem:"
MEDIA_TYPE = "application/problem+json"

# Refusals that mean "we do not know who you are" rather than "you may not".
UNAUTHENTICATED = frozenset(
    {
        "unauthenticated",
        "bad_credentials",
        "token_invalid",
        "token_expired",
        "token_revoked",
        "session_invalid",
        "session_expired",
        "unknown_actor",
        "totp_required",
        "bad_totp",
        "totp_not_enrolled",
    }
)


class FieldProblem(BaseModel):
    field: str = Field(description="Where the problem is: location and name, e.g. body.values.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document, extended with Mamori's stable code."""

    type: str = Field(description="urn:mamori:problem:<code>")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code; never changes meaning.")
    request_id: str | None = None
    rule: str | None = Field(None, description="For refusals: the guard rule that failed.")
    allowed_purposes: list[str] | None = Field(None, description="Purposes the caller may use.")
    errors: list[FieldProblem] | None = Field(None, description="Each invalid field, for 422.")
    problems: list[str] | None = Field(None, description="Each problem, for batch or file input.")
    retry_after_s: int | None = None


TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Refused",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


def status_for(error: MamoriError) -> int:
    if isinstance(error, Denied):
        if error.rule in UNAUTHENTICATED:
            return 401
        if error.rule == "account_locked":
            return 429
    return error.status


def problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_for(error: MamoriError, request_id: str | None) -> dict[str, Any]:
    fields = dict(error.fields)
    extra: dict[str, Any] = {"request_id": request_id}
    if isinstance(error, Denied):
        extra["rule"] = error.rule
    for name in ("allowed_purposes", "problems", "retry_after_s"):
        if name in fields:
            extra[name] = fields[name]
    status = status_for(error)
    code = "unauthenticated" if status == 401 else error.code
    return problem(status, code, error.message, **extra)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer with."""
    return {
        s: {"model": Problem, "description": TITLES.get(s, "Error"), "content": {MEDIA_TYPE: {}}}
        for s in statuses
    }
