"""What the member pages share: the session cookie, the signed-in member, the refusal page."""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from mamori.db.engine import Tx
from mamori.errors import MamoriError
from mamori.portal import i18n, public
from mamori.portal.member import sessions
from mamori.portal.web import REMEMBER_S, page_response, render
from mamori.portal.web import no_store as no_store  # the member pages import it from here
from mamori.runtime import Runtime

SIGNIN = "/privacy/signin"
PENDING = "mamori_member_pending"
PENDING_S = 15 * 60


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def session_cookie(request: Request) -> str:
    """The member cookie under either name (``__Host-`` over https, plain otherwise)."""
    return request.cookies.get(sessions.cookie_name(True)) or request.cookies.get(
        sessions.cookie_name(False), ""
    )


def signed_in(tx: Tx, rt: Runtime, request: Request) -> sessions.Member | Response:
    """The signed-in member, or the 303 to the sign-in page (saying when a session ended)."""
    found = sessions.live(tx, rt, session_cookie(request))
    if isinstance(found, sessions.Member):
        return found
    target = SIGNIN + ("?ended=1" if found == "expired" else "")
    return see_other(request, target)


def see_other(request: Request, target: str) -> RedirectResponse:
    """The 303 after a form or to sign-in, keeping a language the request's ``?lang=`` chose.

    The language is remembered in its cookie on the redirect itself, so the
    page after it is in the language of the form that was sent.
    """
    response = RedirectResponse(target, status_code=303)
    language = i18n.asked(request)
    if language:
        set_cookie(request, response, i18n.COOKIE, language, REMEMBER_S)
    return response


def set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    response.set_cookie(
        name, value, max_age=age, httponly=True, samesite="lax", secure=secure(request), path="/"
    )


def refused(request: Request, rt: Runtime, error: MamoriError) -> HTMLResponse:
    """The page for a refused step: a CSRF token, another's record, anything the guard said no to.

    The message is chosen by the rule, never the error's own text (which is English).
    """
    rule = str(getattr(error, "rule", "") or error.code)
    kind = "csrf" if rule.startswith("csrf_") else "refused"
    status = 403 if kind == "csrf" or error.status == 403 else error.status
    response = render(
        request,
        rt,
        "member/refused.html",
        status=status,
        kind=kind,
        rule=rule,
        request_id=public.request_id(request),
    )
    return no_store(response)


# What a member page may answer besides its page: documented, so the schema tells the truth.
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "On to the next page: sign-in, the code form, or back after a change."},
    403: page_response("The form's CSRF token was refused, or the record is not the member's."),
    404: page_response("Nothing of that name."),
    410: page_response("The sign-in code has expired."),
    422: page_response("The form has mistakes, each shown next to its field."),
    429: page_response("Too many tries; wait and try again."),
}
