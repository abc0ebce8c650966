"""The signed-in member's pages: what we hold, consent switches, contact correction.

Every page acts as the member actor (``member:<ref>``), so the guard lets it
reach the member's own record only, whatever a form says; the subject comes
from the session, never from the form or the URL. Forms post the state wanted
and a single-use CSRF token; a GPC signal is honoured on each of these pages
(``gpc.py``). The contact form lives in ``contact.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from mamori.api.deps import WorkDep
from mamori.consents import service as consents
from mamori.db.engine import Tx
from mamori.errors import BadRequest, MamoriError
from mamori.portal import i18n
from mamori.portal.member import contact, gpc, holdings, sessions
from mamori.portal.member.common import (
    PAGE_RESPONSES,
    no_store,
    refused,
    see_other,
    signed_in,
)
from mamori.portal.web import render
from mamori.runtime import Runtime

router = APIRouter(tags=["privacy center"])
router.include_router(contact.router)
_STATES = {"on": consents.GRANTED, "off": consents.WITHDRAWN}


@router.get("/privacy/me", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def my_data(request: Request, work: WorkDep, saved: str = "") -> Response:
    """What we hold about the signed-in member, and their consent switches (member)."""
    rt = work.rt
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            honoured = gpc.apply(tx, rt, request, member)
            held = holdings.gather(tx, rt, member, i18n.chosen(request))
            csrf = {s["key"]: sessions.issue_csrf(rt, member) for s in held.switches}
            signout = sessions.issue_csrf(rt, member)
    except MamoriError as error:
        return refused(request, rt, error)
    page = render(
        request, rt, "member/me.html", held=held, csrf=csrf, signout_csrf=signout,
        gpc=honoured, saved=saved,
    )  # fmt: skip
    return no_store(page)


@router.post(
    "/privacy/me/consents/{purpose}", response_class=HTMLResponse, responses=PAGE_RESPONSES
)
def switch_consent(
    request: Request,
    work: WorkDep,
    purpose: str,
    state: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Record the consent state the member chose; pressing twice records once (member)."""
    rt = work.rt
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            sessions.check_csrf(tx, rt, member, csrf)
            if state not in _STATES or purpose not in rt.policy.rules:
                raise _bad_switch()
            gpc.apply(tx, rt, request, member)
            _record(tx, rt, member, purpose, _STATES[state])
    except MamoriError as error:
        return refused(request, rt, error)
    return see_other(request, "/privacy/me?saved=consent")


def _record(tx: Tx, rt: Runtime, member: sessions.Member, purpose: str, state: str) -> None:
    consents.record(
        tx, rt, actor=member.actor, ref=member.ref, purpose=purpose, state=state,
        channel="privacy_center", explicit=state == consents.GRANTED,
        evidence={"form": "privacy_center.consent_switch"},
    )  # fmt: skip


def _bad_switch() -> MamoriError:
    return BadRequest("the switch posted no known state", code="switch_invalid")
