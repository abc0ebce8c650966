"""The member room's sign-in pages, the GPC statement, and the router the center mounts.

Sign-in answers the same whether or not the address belongs to a member: the
visitor always goes on to the code form, a code goes out only when exactly one
member holds the address, and the form is rate limited per client address and
per address digest; the code form is limited per client address as well, so
one client cannot try codes for many addresses. The limits fail closed: with
their Redis out of reach, the visitor gets the "try again later" page (the
app's error handler), never an uncounted try. The typed address is kept
nowhere: a short-lived cookie carries only its keyed blind-index digest, which
the code form needs to find the code. A language chosen with ``?lang=`` on a
form is kept across its redirect (``common.see_other``). Each route is one unit
of work; "what you hold" and its forms are in ``me.py``, the postal-code lookup
in ``postal.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.background import BackgroundTask

from mamori.api.deps import WorkDep
from mamori.errors import MamoriError, ValidationFailed
from mamori.portal import i18n
from mamori.portal.member import me, postal, sessions, signin
from mamori.portal.member.common import (
    PAGE_RESPONSES,
    PENDING,
    PENDING_S,
    no_store,
    refused,
    see_other,
    session_cookie,
    set_cookie,
)
from mamori.portal.member.gpc import STATEMENT
from mamori.portal.web import render

router = APIRouter(tags=["privacy center"])
router.include_router(me.router)
router.include_router(postal.router)  # the contact form's postal-code lookup
PER_ADDRESS = (10, 15 * 60)  # sign-in forms per client address per 15 minutes
PER_DIGEST = (5, 15 * 60)  # codes asked for one e-mail address per 15 minutes
CODES_PER_ADDRESS = (10, 15 * 60)  # codes tried per client address per 15 minutes
_DIGEST_HEX = 64
_EMAIL_MAX = 320  # longer input fails validation as a form error, not a JSON one
_QUIET = {"ended": False, "out": False, "email": ""}


@router.get("/privacy/signin", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def signin_form(request: Request, work: WorkDep, ended: str = "", out: str = "") -> Response:
    """The e-mail form (public); says so when a session ended or the member signed out."""
    page = render(
        request, work.rt, "member/signin.html", ended=bool(ended), out=bool(out), error="", email=""
    )
    return no_store(page)


@router.post("/privacy/signin", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def signin_send(request: Request, work: WorkDep, email: Annotated[str, Form()] = "") -> Response:
    """Mail a code if the address is one member's; the same next page either way (public)."""
    rt = work.rt
    if not _allowed(request, "member-signin:" + _client(request), PER_ADDRESS):
        return no_store(
            render(request, rt, "member/signin.html", status=429, error="slow", **_QUIET)
        )
    try:
        if len(email) > _EMAIL_MAX:
            raise ValidationFailed("the address is too long", code="email_too_long")
        digest = signin.address_digest(rt, email)
    except ValidationFailed:
        page = render(
            request,
            rt,
            "member/signin.html",
            status=422,
            error="email",
            email=email,
            ended=False,
            out=False,
        )
        return no_store(page)
    if not _allowed(request, "member-digest:" + digest.hex(), PER_DIGEST):
        return no_store(
            render(request, rt, "member/signin.html", status=429, error="slow", **_QUIET)
        )
    with work.begin() as tx:
        member = signin.member_for(tx, digest)
        letter = signin.send_code(tx, rt, member, i18n.chosen(request)) if member else None
    response = see_other(request, "/privacy/signin/code")
    if letter is not None:
        response.background = BackgroundTask(signin.deliver, rt, letter)
    set_cookie(request, response, PENDING, digest.hex(), PENDING_S)
    return response


@router.get("/privacy/signin/code", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def code_form(request: Request, work: WorkDep) -> Response:
    """The code form, with the answer that does not tell whether a code was sent (public)."""
    if not _pending(request):
        return see_other(request, "/privacy/signin")
    return no_store(render(request, work.rt, "member/code.html", error=""))


@router.post("/privacy/signin/code", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def code_check(request: Request, work: WorkDep, code: Annotated[str, Form()] = "") -> Response:
    """A right code opens a session; a wrong one is counted and said plainly (public)."""
    rt = work.rt
    if not _allowed(request, "member-code:" + _client(request), CODES_PER_ADDRESS):
        return no_store(render(request, rt, "member/code.html", status=429, error="slow"))
    pending = _pending(request)
    if not pending:
        return see_other(request, "/privacy/signin")
    try:
        with work.begin() as tx:
            member = signin.member_for(tx, bytes.fromhex(pending))
            if member is None:
                problem = "wrong"
            else:
                signin.check_code(tx, rt, member, code[:20])
                cookie = sessions.open_session(tx, rt, subject_id=member.id, ref=member.ref)
                problem = ""
    except MamoriError as error:
        problem = signin.code_problem(error)
    if problem:
        page = render(request, rt, "member/code.html", status=422, error=problem)
        return no_store(page)
    response = see_other(request, "/privacy/me")
    set_cookie(
        request, response, sessions.cookie_name(request.url.scheme == "https"), cookie, 12 * 3600
    )
    response.delete_cookie(PENDING, path="/")
    return response


@router.post("/privacy/signout", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def signout(request: Request, work: WorkDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session (CSRF-checked, so another site cannot sign a member out)."""
    rt = work.rt
    cookie = session_cookie(request)
    try:
        with work.begin() as tx:
            found = sessions.live(tx, rt, cookie)
            if isinstance(found, sessions.Member):
                sessions.check_csrf(tx, rt, found, csrf)
                sessions.close(tx, rt, found)
    except MamoriError as error:
        return refused(request, rt, error)
    response = see_other(request, "/privacy/signin?out=1")
    for secure in (True, False):
        response.delete_cookie(sessions.cookie_name(secure), path="/")
    return response


@router.get("/.well-known/gpc.json")
def gpc_statement() -> JSONResponse:
    """The Global Privacy Control statement: this site honours the signal (public)."""
    return JSONResponse(STATEMENT, media_type="application/json")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _allowed(request: Request, key: str, rule: tuple[int, int]) -> bool:
    """Count one try of ``key``; False once it is over ``rule`` (tries, window in seconds).

    Fails closed: with the shared counts out of reach the limiter raises, and
    the visitor gets the "try again later" page rather than an uncounted try.
    """
    verdict = request.app.state.limiter.hit(key, limit=rule[0], window_s=rule[1])
    return bool(verdict.allowed)


def _pending(request: Request) -> str:
    """The address digest the sign-in form left, if it looks like one."""
    value = request.cookies.get(PENDING, "")
    if len(value) != _DIGEST_HEX or any(c not in "0123456789abcdef" for c in value):
        return ""
    return value
