"""What the console's pages share: the staff session, its forms' CSRF tokens, refusals.

The console rides on the staff sessions of ``mamori.auth``: the same cookie
the API's sign-in sets, the same single-use CSRF tokens (sent in a form field
here rather than a header). Every page resolves the signed-in staff actor
first; a missing or ended session is a 303 to the console's sign-in page,
never a JSON problem. Values are read through the guard as that actor, so the
console can show nothing the person's roles may not see.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from mamori.api.deps import SESSION_COOKIE
from mamori.auth import sessions
from mamori.db.engine import Tx
from mamori.errors import Denied, MamoriError
from mamori.guard.rules import Actor
from mamori.portal import public
from mamori.portal.web import no_store as no_store  # the console pages import it from here
from mamori.portal.web import page_response, render
from mamori.runtime import Runtime

HOME = "/console"
SIGNIN = "/console/signin"


def cookie(request: Request) -> str:
    return request.cookies.get(SESSION_COOKIE, "")


def signed_in(tx: Tx, rt: Runtime, request: Request) -> Actor | Response:
    """The signed-in staff actor, or the 303 to the sign-in page (saying when a session ended)."""
    now = rt.now()
    try:
        session = sessions.live_session(tx, rt, cookie=cookie(request), now=now)
    except Denied as denied:
        ended = denied.rule in {"session_expired", "actor_disabled"}
        return RedirectResponse(SIGNIN + ("?ended=1" if ended else ""), status_code=303)
    # Every console page carries the sign-out form in its header; render() picks this up.
    request.state.signout_csrf = sessions.csrf_for(rt, session)
    return sessions.actor_of(tx, session, now)


def issue_csrf(tx: Tx, rt: Runtime, request: Request) -> str:
    """A fresh single-use token for one form of this page."""
    return sessions.issue_csrf(tx, rt, cookie=cookie(request))


def check_csrf(tx: Tx, rt: Runtime, request: Request, token: str) -> None:
    """Spend the form's token; ``Denied`` (audited) when missing, forged, old or replayed."""
    sessions.check_csrf(tx, rt, cookie=cookie(request), token=token)


def refused(request: Request, rt: Runtime, error: MamoriError) -> HTMLResponse:
    """The page for a refused step, chosen by its rule (the error's own text is English)."""
    rule = str(getattr(error, "rule", "") or error.code)
    kind = "csrf" if rule.startswith("csrf_") else _KINDS.get(error.status, "refused")
    status = 403 if kind == "csrf" else error.status
    response = render(
        request,
        rt,
        "console/refused.html",
        status=status,
        kind=kind,
        rule=rule,
        request_id=public.request_id(request),
    )
    return no_store(response)


# A refusal's status -> the page's wording (403 and anything else: "not allowed").
_KINDS = {404: "missing", 409: "state", 429: "slow", 500: "failed", 503: "failed"}


# What a console page may answer besides its page: documented, so the schema tells the truth.
PAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    303: {"description": "On to the next page: sign-in, or back after a step."},
    403: page_response("The form's CSRF token was refused, or the role may not do this."),
    404: page_response("Nothing of that name."),
    409: page_response("The step does not fit the request's state."),
    422: page_response("The form has mistakes, each shown next to its field."),
    429: page_response("Too many tries; wait and try again."),
}
