"""What the public pages need beyond a template: the notice's matters, error pages.

The notice shown in the privacy center is the same frozen snapshot the
``/notice`` API serves (``mamori.ledger.notice.matters``), so the portal never
says anything the published version did not. Errors on ``/privacy`` paths are
pages in the visitor's language carrying the request id, never a JSON problem
or a traceback: a person reading a page cannot act on a problem document.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import NotFound
from mamori.ledger import notice
from mamori.policy import service
from mamori.portal.web import render
from mamori.runtime import Runtime

PREFIX = "/privacy"
PAGE_PREFIXES = (PREFIX, "/console")
# Japan's supervisory authority: the one outside link of the public pages.
PPC_URL = "https://www.ppc.go.jp/"
ErrorKind = Literal["not_found", "no_notice", "server"]
STATUS: dict[ErrorKind, int] = {"not_found": 404, "no_notice": 404, "server": 500}
# A version number is at most this many digits; anything else is no page, not a 422.
VERSION_DIGITS = 7


def parse_version(text: str) -> int | None:
    """The version a path names, or None when it cannot name one (a 404 page, not a 422)."""
    if not text.isascii() or not text.isdigit() or len(text) > VERSION_DIGITS:
        return None
    number = int(text)
    return number if number >= 1 else None


def notice_matters(
    tx: Tx, rt: Runtime, lang: str, version: int | None = None
) -> dict[str, Any] | None:
    """The matters of ``version`` (the one in force when None), or None when unpublished."""
    try:
        published, snapshot = service.frozen(tx, rt, version)
    except NotFound:
        return None
    return notice.matters(published, snapshot, lang)


def policy_contact(rt: Runtime, lang: str) -> dict[str, Any]:
    """The desk's contact from the policy, for the front page before any notice exists."""
    company = rt.policy.source.company.model_dump(mode="json")

    def pick(text: dict[str, str] | None) -> str | None:
        return text[lang] if text else None

    contact = company["contact"]
    return {
        "department": pick(contact["department"]),
        "phone": contact["phone"],
        "email": contact.get("email"),
        "hours": notice._hours(company.get("business_hours") or {}, lang),
    }


def versions_rows(tx: Tx, rt: Runtime) -> list[dict[str, Any]]:
    """Each published version with its local effective date and whether it is in force."""
    current = service.current(tx, rt)
    in_force = current.version if current else None
    now = rt.now()
    local = ZoneInfo(rt.policy.source.company.timezone or "Asia/Tokyo")
    return [
        {
            "version": published.version,
            "effective_at": to_utc_text(published.effective_at),
            "effective_date": published.effective_at.astimezone(local).date().isoformat(),
            "in_force": published.version == in_force,
            "upcoming": published.effective_at > now,
        }
        for published in service.list_versions(tx)
    ]


def request_id(request: Request) -> str | None:
    """The id the middleware gave this request, for the visitor to quote to the desk."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def wants_page(request: Request) -> bool:
    """Whether an error on this request should be a page: the privacy center and the console."""
    path = request.url.path
    return any(path == prefix or path.startswith(prefix + "/") for prefix in PAGE_PREFIXES)


def error_page(
    request: Request, rt: Runtime, kind: ErrorKind, *, status: int | None = None
) -> HTMLResponse:
    """The error page of ``kind`` in the visitor's language, with the request id.

    It reads nothing from the database, so it renders when the database is down.
    """
    response = render(
        request,
        rt,
        "error.html",
        status=status or STATUS[kind],
        kind=kind,
        request_id=request_id(request),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def page_for_status(request: Request, status: int) -> HTMLResponse:
    """For ``api/app.py``'s handlers: the page for a 404 or a 5xx on a ``/privacy`` path."""
    kind: ErrorKind = "server" if status >= 500 else "not_found"
    return error_page(request, request.app.state.rt, kind, status=status)
