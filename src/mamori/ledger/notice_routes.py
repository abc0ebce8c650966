"""HTTP routes of the public notice (APPI Art. 32): public, no credentials.

The law asks that these matters be "in a state where the person can know
them", so anyone may read them. The page of a numbered version never changes
(it is built from the snapshot frozen at publication), so a browser may keep
it; the notice in force changes when the next version takes effect, so a
browser asks again. The page's inline style is allowed by its hash in the
page's own Content-Security-Policy; there is no script to allow.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from mamori.api.deps import Work, WorkDep
from mamori.api.pages import html_page
from mamori.api.problems import responses
from mamori.db.base import to_utc_text
from mamori.ledger import notice_html
from mamori.ledger.notice import matters
from mamori.policy import service

router = APIRouter(prefix="/notice", tags=["notice"])

Language = Literal["ja", "en"]
Format = Literal["html", "json"]
DEFAULT_LANGUAGE: Language = "ja"
# A numbered version is fixed: a day in a browser's cache costs nothing and saves a trip.
FIXED = "public, max-age=86400"
# The notice in force changes when the next version takes effect: always revalidate.
CHANGING = "no-cache"
PAGE_ERRORS = responses(404, 422, 429)
PAGE = {
    **PAGE_ERRORS,
    200: {
        "description": "The notice as an HTML page, or its matters as JSON.",
        "content": {"text/html": {}, "application/json": {}},
    },
}
LangQuery = Annotated[
    Language | None,
    Query(description="ja or en; by default from Accept-Language, else ja."),
]
FormatQuery = Annotated[Format, Query(description="html (the page) or json (the same matters).")]


class NoticeVersionRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    effective_at: str
    in_force: bool


@router.get("", responses=PAGE, response_class=Response)
def current_notice(
    request: Request, work: WorkDep, lang: LangQuery = None, format: FormatQuery = "html"
) -> Response:
    """The notice in force now, as a page or as JSON (public)."""
    return _page(work, request, None, lang, format, cache=CHANGING)


@router.get("/versions", responses=responses(429))
def notice_versions(work: WorkDep, response: Response) -> list[NoticeVersionRead]:
    """Every published notice version, oldest first, and which one is in force (public)."""
    with work.begin() as tx:
        versions = service.list_versions(tx)
        current = service.current(tx, work.rt)
    response.headers["Cache-Control"] = CHANGING
    in_force = current.version if current else None
    return [
        NoticeVersionRead(
            version=n.version,
            effective_at=to_utc_text(n.effective_at),
            in_force=n.version == in_force,
        )
        for n in versions
    ]


@router.get("/{version}", responses=PAGE, response_class=Response)
def notice_version(
    request: Request,
    work: WorkDep,
    version: Annotated[int, Path(ge=1, le=1_000_000, description="The notice version.")],
    lang: LangQuery = None,
    format: FormatQuery = "html",
) -> Response:
    """One notice version as it was published; it never changes (public)."""
    return _page(work, request, version, lang, format, cache=FIXED)


def _page(
    work: Work,
    request: Request,
    version: int | None,
    lang: Language | None,
    format: Format,
    *,
    cache: str,
) -> Response:
    chosen = lang or preferred_language(request.headers.get("accept-language", ""))
    with work.begin() as tx:
        notice, snapshot = service.frozen(tx, work.rt, version)
    body: dict[str, Any] = matters(notice, snapshot, chosen)
    headers = {"Content-Language": chosen, "Cache-Control": cache, "Vary": "Accept-Language"}
    if format == "json":
        return JSONResponse(body, headers=headers)
    return html_page(notice_html.render(body), headers)


def preferred_language(header: str) -> Language:
    """The first of ja and en the Accept-Language header prefers, by weight; ja otherwise."""
    best: tuple[float, int, Language] | None = None
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in ("ja", "en"):
            continue
        weight = _weight(params)
        code: Language = "ja" if primary == "ja" else "en"
        candidate = (weight, -position, code)
        if weight > 0 and (best is None or candidate > best):
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


def _weight(params: str) -> float:
    name, _, value = params.strip().partition("=")
    if name.strip().lower() != "q":
        return 1.0
    try:
        weight = float(value)
    except ValueError:
        return 0.0
    return max(0.0, min(1.0, weight)) if math.isfinite(weight) else 0.0
