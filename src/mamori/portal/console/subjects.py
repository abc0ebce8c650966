"""The console's look-up of a person: the purpose first, then the e-mail or phone, then the values.

Nothing is shown before the staff member says why they are looking: the form
offers the purposes their roles may use. The address or number travels in a
POST body (never a URL) and is found through the blind index, as the API's
search does (``subjects.service.find``); the values shown are those the
guard lets that purpose read (``read_many``), each access audited by the
service. A subject's page takes the purpose in its query and is read with
``subjects.service.read``; without one it asks for it first. A purpose the
roles may not use, or one that does not cover the look-up, is the refusal
page with the guard's rule, and the guard has audited it.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from mamori.api.deps import Work, WorkDep
from mamori.db.engine import Tx
from mamori.errors import MamoriError, ValidationFailed
from mamori.guard.rules import Actor
from mamori.portal import i18n
from mamori.portal.console.common import (
    PAGE_RESPONSES,
    check_csrf,
    issue_csrf,
    no_store,
    refused,
    signed_in,
)
from mamori.portal.web import render
from mamori.runtime import Runtime
from mamori.subjects import service

router = APIRouter(tags=["staff console"])
PURPOSE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
REF = re.compile(r"^s[a-z2-7]{16}$")
_MAX = 254  # the longest e-mail address there can be


def purposes(rt: Runtime, actor: Actor, lang: str) -> list[tuple[str, str]]:
    """The purposes the actor's roles may use, with their titles, for the select."""
    known = rt.policy.purposes
    return [
        (p, str(getattr(known[p].title, lang)) if p in known else p)
        for p in rt.policy.purposes_for(actor.roles)
    ]


def view_rows(rt: Runtime, lang: str, view: service.SubjectView) -> dict[str, Any]:
    """One subject's permitted values, named by category in the page's language."""
    policy = rt.policy

    def title(table: dict[str, Any], key: str) -> str:
        return str(getattr(table[key].title, lang)) if key in table else key

    values = [
        {"category": title(policy.categories, key), "value": view.values[key]}
        for key in policy.categories
        if key in view.values
    ]
    return {
        "ref": view.ref,
        "kind": view.kind,
        "channel": title(policy.channels, view.channel),
        "since": view.created_at[:10],
        "values": values,
    }


def read_form(posted: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """What was typed and each field's problem key (nothing is echoed but into its own field)."""
    typed = {k: posted.get(k, "").strip() for k in ("purpose", "email", "phone")}
    problems: dict[str, str] = {}
    if not typed["purpose"]:
        problems["purpose"] = "required"
    elif len(typed["purpose"]) > 100 or not PURPOSE.fullmatch(typed["purpose"]):
        problems["purpose"] = "unknown"
    if typed["email"] and typed["phone"]:
        problems["email"] = "both"
    elif not typed["email"] and not typed["phone"]:
        problems["email"] = "neither"
    for name in ("email", "phone"):
        if len(typed[name]) > _MAX:
            problems[name] = "long"
            typed[name] = typed[name][:_MAX]
    return typed, problems


def _form(
    request: Request, rt: Runtime, actor: Actor, *, status: int = 200, **ctx: Any
) -> Response:
    lang = i18n.chosen(request)
    ctx.setdefault("typed", {})
    ctx.setdefault("problems", {})
    page = render(
        request,
        rt,
        "console/subjects.html",
        status=status,
        staff=actor,
        section="subjects",
        purposes=purposes(rt, actor, lang),
        **ctx,
    )
    return no_store(page)


@router.get("/console/subjects", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def lookup_form(request: Request, work: WorkDep) -> Response:
    """The look-up form: the purpose first, then an e-mail address or a phone number (staff)."""
    rt = work.rt
    chosen = request.query_params.get("purpose", "")[:100]
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            token = issue_csrf(tx, rt, request)
    except MamoriError as error:
        return refused(request, rt, error)
    return _form(request, rt, actor, csrf=token, typed={"purpose": chosen})


@router.post("/console/subjects", response_class=HTMLResponse, responses=PAGE_RESPONSES)
async def lookup(request: Request, work: WorkDep) -> Response:
    """Find people by e-mail or phone for the chosen purpose (CSRF-checked; audited)."""
    form = await request.form()
    posted = {k: str(v)[: _MAX + 1] for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_lookup, request, work, posted)


def _find(tx: Tx, rt: Runtime, actor: Actor, typed: dict[str, str]) -> dict[str, Any]:
    """The permitted values of everyone the address or number finds; refusals by reference."""
    refs = service.find(
        tx,
        rt,
        actor=actor,
        purpose=typed["purpose"],
        email=typed["email"] or None,
        phone=typed["phone"] or None,
    )
    if not refs:
        return {"views": [], "refusals": []}
    covered = rt.policy.categories_of(typed["purpose"])
    views, refusals = service.read_many(
        tx, rt, actor=actor, refs=refs, purpose=typed["purpose"], categories=covered
    )
    return {"views": views, "refusals": refusals}


def _lookup(request: Request, work: Work, posted: dict[str, str]) -> Response:
    rt = work.rt
    typed, problems = read_form(posted)
    found: dict[str, Any] | None = None
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            check_csrf(tx, rt, request, posted.get("csrf", ""))
            if not problems:
                try:
                    found = _find(tx, rt, actor, typed)
                except ValidationFailed:
                    problems["phone" if typed["phone"] else "email"] = "invalid"
            token = issue_csrf(tx, rt, request)
    except MamoriError as error:
        return refused(request, rt, error)
    if found is None:
        return _form(request, rt, actor, status=422, csrf=token, typed=typed, problems=problems)
    lang = i18n.chosen(request)
    results = [view_rows(rt, lang, v) for v in found["views"]]
    return _form(
        request, rt, actor, csrf=token, typed=typed, results=results, refusals=found["refusals"]
    )


@router.get("/console/subjects/{ref}", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def subject_page(request: Request, work: WorkDep, ref: str) -> Response:
    """One person's values for the purpose in the query; without one, the purpose is asked first."""
    rt = work.rt
    lang = i18n.chosen(request)
    purpose = request.query_params.get("purpose", "")[:100]
    shown = None
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if isinstance(actor, Response):
                return actor
            if purpose:
                view = service.read(tx, rt, actor=actor, ref=ref[:40], purpose=purpose)
                shown = view_rows(rt, lang, view)
    except MamoriError as error:
        return refused(request, rt, error)
    page = render(
        request,
        rt,
        "console/subject.html",
        staff=actor,
        section="subjects",
        ref=ref if REF.fullmatch(ref) else "",  # anything else typed there is not shown again
        subject=shown,
        purpose=purpose,
        purpose_title=dict(purposes(rt, actor, lang)).get(purpose, purpose),
        purposes=purposes(rt, actor, lang),
    )
    return no_store(page)
