"""The console's door: sign in with a password and a second factor, sign out.

The console asks every staff account for its second factor, whatever its
role: an account with no confirmed TOTP is refused here (audited as
``second_factor_required``) and told how to enrol one. The refusals say no
more than ``mamori.auth.login`` already does: an unknown name and a wrong
password get the same message. Sign-in is rate limited like the API's, and
sets the same cookie (HttpOnly, SameSite=Strict, Secure over https).

The sign-in form carries no CSRF token (there is no session yet to bind one
to); instead a sign-in whose ``Origin`` (or, without it, ``Referer``) names
another site is refused, and the Strict cookie is never sent by another
site's form. Sign-out spends a CSRF token, so no other site can end a session.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.api.deps import SESSION_COOKIE, WorkDep
from mamori.api.limits import limit_login
from mamori.auth import credentials, sessions
from mamori.auth.login import ACTION, PURPOSE, verify_login
from mamori.auth.trail import refuse
from mamori.db.engine import Tx
from mamori.errors import Denied, MamoriError, RateLimited
from mamori.guard.rules import Actor
from mamori.portal.console.common import (
    HOME,
    PAGE_RESPONSES,
    SIGNIN,
    check_csrf,
    cookie,
    no_store,
    refused,
    signed_in,
)
from mamori.portal.web import render
from mamori.runtime import Runtime

router = APIRouter(tags=["staff console"])
HANDLE_MAX = 100
PASSWORD_MAX = 1024
ENROL_COMMAND = "mamori staff totp"
# A refusal's rule -> the one message the page shows for it (see signin.html).
PROBLEMS = {
    "bad_credentials": "credentials",
    "bad_totp": "code",
    "totp_required": "no_second_factor",
    "second_factor_required": "no_second_factor",
    "account_locked": "locked",
    "actor_disabled": "disabled",
}


def _form(request: Request, rt: Runtime, *, status: int = 200, **context: object) -> HTMLResponse:
    defaults: dict[str, object] = {
        "ended": False,
        "out": False,
        "problem": "",
        "errors": {},
        "handle": "",
        "enrol": ENROL_COMMAND,
    }
    page = render(request, rt, "console/signin.html", status=status, **{**defaults, **context})
    return no_store(page)


@router.get("/console/signin", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def signin_form(request: Request, work: WorkDep, ended: str = "", out: str = "") -> Response:
    """The sign-in form (public); says so when a session ended or the person signed out."""
    return _form(request, work.rt, ended=bool(ended), out=bool(out))


def foreign_origin(request: Request) -> bool:
    """True when the browser says the form came from another site."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return sent == "null"
    origin = urlsplit(sent)
    return (origin.scheme, origin.netloc) != (request.url.scheme, request.url.netloc)


def field_errors(handle: str, password: str, totp: str) -> dict[str, str]:
    """What is wrong with the form itself, by field (nothing about the account)."""
    wrong = {
        "handle": not handle.strip() or len(handle) > HANDLE_MAX,
        "password": not password or len(password) > PASSWORD_MAX,
        "totp": not (len(totp) == 6 and totp.isascii() and totp.isdigit()),
    }
    return {field: "bad" for field, bad in wrong.items() if bad}


def second_factor_kept(tx: Tx, rt: Runtime, actor: Actor) -> None:
    """The console's own rule: no confirmed TOTP, no console (audited after the rollback)."""
    found = credentials.load(tx, actor.name)
    if found is not None and found.totp_sealed is not None:
        return
    message = "the console needs a second factor, and this account has none confirmed"
    raise refuse(
        rt,
        message,
        rule="second_factor_required",
        actor=actor.name,
        purpose=PURPOSE,
        action=ACTION,
    )


@router.post("/console/signin", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def signin(
    request: Request,
    work: WorkDep,
    handle: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    totp: Annotated[str, Form()] = "",
) -> Response:
    """Check password and code, open a session, and go on to the queue (public)."""
    rt = work.rt
    if foreign_origin(request):
        return refused(request, rt, Denied("the form came from another site", rule="csrf_origin"))
    errors = field_errors(handle, password, totp.strip())
    if errors:
        return _form(request, rt, status=422, errors=errors, handle=handle[:HANDLE_MAX])
    try:
        limit_login(request, handle)
        with work.begin() as tx:
            actor = verify_login(
                tx, rt, handle=handle, password=password, totp_code=totp.strip(), now=rt.now()
            )
            second_factor_kept(tx, rt, actor)
            secret = sessions.open_session(tx, rt, actor=actor)
    except RateLimited:
        return _form(request, rt, status=429, problem="slow", handle=handle)
    except Denied as denied:
        problem = PROBLEMS.get(str(denied.rule), "credentials")
        # What was typed as a name may be a password: not shown back when it matched nothing.
        kept = "" if problem == "credentials" else handle
        return _form(request, rt, status=denied.status, problem=problem, handle=kept)
    response = RedirectResponse(HOME, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(sessions.ABSOLUTE.total_seconds()),
        path="/",
    )
    return no_store(response)


@router.post("/console/signout", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def signout(request: Request, work: WorkDep, csrf: Annotated[str, Form()] = "") -> Response:
    """End the session (CSRF-checked), then back to the sign-in page."""
    rt = work.rt
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if not isinstance(actor, Actor):
                return actor
            check_csrf(tx, rt, request, csrf[:200])
            sessions.close_session(tx, rt, cookie=cookie(request))
    except MamoriError as error:
        return refused(request, rt, error)
    response = RedirectResponse(SIGNIN + "?out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return no_store(response)
