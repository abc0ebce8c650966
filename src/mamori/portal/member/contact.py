"""Contact and address correction by the signed-in member.

Only the contact and address categories the member's record holds are
offered. Each field is checked by its category's validator before anything
is written, so an error is shown next to its field (and the form comes back
with status 422); the postal code must exist, and a blank prefecture or
municipality is filled from it (``subjects.postal``). The change goes through
``subjects.changes.correct`` under ``dsr.correction`` as the member, which
keeps the replaced values as sealed history and audits the access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mamori.api.deps import Work, WorkDep
from mamori.db.engine import Tx
from mamori.errors import MamoriError, ValidationFailed
from mamori.portal import i18n
from mamori.portal.member import gpc, holdings, sessions
from mamori.portal.member.common import (
    PAGE_RESPONSES,
    no_store,
    refused,
    see_other,
    signed_in,
)
from mamori.portal.web import render
from mamori.runtime import Runtime
from mamori.subjects import changes, postal
from mamori.subjects.validation import normalize

router = APIRouter(tags=["privacy center"])
PREFIX = "user.contact."
POSTAL = "user.contact.address.postal_code"
PREFECTURE = "user.contact.address.prefecture"
MUNICIPALITY = "user.contact.address.municipality"
_FIELD_MAX = 300


def field_name(category: str) -> str:
    """An HTML field name for a category: ``user.contact.address.postal_code`` → ``postal_code``."""
    return category.removeprefix(PREFIX).replace(".", "_")


def offered(rt: Runtime, values: Mapping[str, str]) -> list[str]:
    """The contact and address categories the member holds, in the policy's order."""
    return [key for key in rt.policy.categories if key.startswith(PREFIX) and key in values]


def check(rt: Runtime, typed: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Typed values, completed from the postal code, and each field's problem key."""
    problems: dict[str, str] = {}
    digits = postal.postal_code_digits(typed.get(POSTAL, "")) if POSTAL in typed else None
    if POSTAL in typed and digits is None:
        problems[POSTAL] = "postal_malformed"
    elif digits is not None:
        place = postal.address_for_digits(digits)
        if place is None:
            problems[POSTAL] = "postal_unknown"
        else:
            for key, known in ((PREFECTURE, place.prefecture), (MUNICIPALITY, place.municipality)):
                if key in typed and not typed[key].strip() and known:
                    typed[key] = known
    for key, raw in typed.items():
        if key in problems:
            continue
        if not raw.strip():
            problems[key] = "required"
            continue
        try:
            normalize(rt.policy.categories[key].validator, raw, category=key)
        except ValidationFailed:
            problems[key] = "invalid"
    return typed, problems


def _form(
    request: Request, rt: Runtime, keys: list[str], values: Mapping[str, str], **ctx: Any
) -> Response:
    language = i18n.chosen(request)
    fields = [
        {
            "key": key,
            "name": field_name(key),
            "title": getattr(rt.policy.categories[key].title, language),
            "value": values.get(key, ""),
        }
        for key in keys
    ]
    return no_store(render(request, rt, "member/contact.html", fields=fields, **ctx))


def _open(
    tx: Tx, rt: Runtime, request: Request
) -> tuple[sessions.Member, dict[str, str]] | Response:
    member = signed_in(tx, rt, request)
    if not isinstance(member, sessions.Member):
        return member
    gpc.apply(tx, rt, request, member)
    return member, holdings.read_values(tx, rt, member).values


@router.get("/privacy/me/contact", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def contact_form(request: Request, work: WorkDep) -> Response:
    """The member's contact and address, ready to correct (member)."""
    rt = work.rt
    try:
        with work.begin() as tx:
            opened = _open(tx, rt, request)
            if isinstance(opened, Response):
                return opened
            member, values = opened
            token = sessions.issue_csrf(rt, member)
    except MamoriError as error:
        return refused(request, rt, error)
    return _form(request, rt, offered(rt, values), values, csrf=token, problems={})


@router.post("/privacy/me/contact", response_class=HTMLResponse, responses=PAGE_RESPONSES)
async def contact_save(request: Request, work: WorkDep) -> Response:
    """Apply the corrections (CSRF-checked); field errors come back next to their fields."""
    form = await request.form()
    posted = {k: str(v)[:_FIELD_MAX] for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_save, request, work, posted)


def _save(request: Request, work: Work, posted: dict[str, str]) -> Response:
    rt = work.rt
    try:
        with work.begin() as tx:
            opened = _open(tx, rt, request)
            if isinstance(opened, Response):
                return opened
            member, values = opened
            sessions.check_csrf(tx, rt, member, posted.get("csrf"))
            keys = offered(rt, values)
            typed, problems = check(rt, {k: posted.get(field_name(k), "") for k in keys})
            if problems:
                token = sessions.issue_csrf(rt, member)
            else:
                changed = {k: v for k, v in typed.items() if v != values.get(k)}
                if changed:
                    changes.correct(
                        tx, rt, actor=member.actor, ref=member.ref,
                        purpose=holdings.CORRECTION, values=changed,
                    )  # fmt: skip
    except MamoriError as error:
        return refused(request, rt, error)
    if problems:
        return _form(request, rt, keys, typed, csrf=token, problems=problems, status=422)
    return see_other(request, "/privacy/me?saved=contact")
