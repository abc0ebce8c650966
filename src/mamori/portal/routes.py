"""The privacy center's pages: public ones here, the rest mounted from their rooms.

Pages are thin edges like the API's routes: one unit of work, the caller,
one service, a template in the page's language. The public pages show the
notice version that a person can rely on (frozen at publication), so they
read nothing but published notices and the company's own contact.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mamori.api.deps import Work, WorkDep
from mamori.policy import service
from mamori.portal import i18n, public
from mamori.portal.console import routes as console_routes
from mamori.portal.member import pages as member_pages
from mamori.portal.member import requests as member_requests
from mamori.portal.web import render

router = APIRouter(tags=["privacy center"])
router.include_router(member_pages.router)  # sign-in, /privacy/me*, /.well-known/gpc.json
router.include_router(member_requests.router)  # /privacy/me/requests*
router.include_router(console_routes.router)  # /console*
# A numbered version never changes; the notice in force changes when the next takes effect.
FIXED = "public, max-age=86400"
CHANGING = "no-cache"
# A page, not a problem document: the visitor reads it in their language.
MISSING_PAGE: dict[int | str, dict[str, object]] = {
    404: {
        "description": "The not-found page, in the page's language.",
        "content": {"text/html": {}},
    }
}


@router.get("/privacy", response_class=HTMLResponse)
def home(request: Request, work: WorkDep) -> HTMLResponse:
    """The privacy center's front page (public): requests, contact, the way in for members."""
    lang = i18n.chosen(request)
    with work.begin() as tx:
        matters = public.notice_matters(tx, work.rt, lang)
    contact = matters["requests"]["where"] if matters else public.policy_contact(work.rt, lang)
    response = render(
        request, work.rt, "home.html", m=matters, contact=contact, ppc_url=public.PPC_URL
    )
    response.headers["Cache-Control"] = CHANGING
    return response


@router.get("/privacy/notice", response_class=HTMLResponse, responses=MISSING_PAGE)
def notice_in_force(request: Request, work: WorkDep) -> HTMLResponse:
    """The notice in force now, inside the center's layout (public)."""
    return _notice_page(request, work, None)


@router.get("/privacy/notice/versions", response_class=HTMLResponse)
def notice_history(request: Request, work: WorkDep) -> HTMLResponse:
    """Every published version with its effective date and a link to it (public)."""
    with work.begin() as tx:
        rows = public.versions_rows(tx, work.rt)
    response = render(request, work.rt, "versions.html", versions=rows)
    response.headers["Cache-Control"] = CHANGING
    return response


@router.get("/privacy/notice/{version}", response_class=HTMLResponse, responses=MISSING_PAGE)
def notice_version(request: Request, work: WorkDep, version: str) -> HTMLResponse:
    """One version as it was published; a number that names none is the 404 page (public)."""
    number = public.parse_version(version)
    if number is None:
        return public.error_page(request, work.rt, "not_found")
    return _notice_page(request, work, number)


def _notice_page(request: Request, work: Work, version: int | None) -> HTMLResponse:
    lang = i18n.chosen(request)
    with work.begin() as tx:
        matters = public.notice_matters(tx, work.rt, lang, version)
        current = service.current(tx, work.rt)
    if matters is None:
        return public.error_page(request, work.rt, "no_notice" if version is None else "not_found")
    in_force = current is not None and current.version == matters["version"]
    response = render(request, work.rt, "notice.html", m=matters, in_force=in_force)
    response.headers["Cache-Control"] = FIXED if version is not None else CHANGING
    return response
