"""One request in the console: its history, its dates and fee, and a form per step it allows.

The page shows the request as the desk keeps it (keys, codes and times, the
subject by reference, never a person's values) and one form for each step
its state allows (``request_steps.allowed``), each with its own single-use
CSRF token. A step is one unit of work: the token is spent, the desk's
service does the step and audits a refusal. Then a 303 back to the page with
a "done" message; a step that does not fit the state is the 409 page, a role
that may not the 403 page, a field the desk turns down the page again (422)
with the reason next to that field. An erasure shows its preview (what ends,
what the law keeps and until when) above its form, and asks for a confirmation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.api.deps import WorkDep
from mamori.audit.service import Entry
from mamori.db.base import from_utc_text
from mamori.db.engine import Tx
from mamori.dsr import erasure, outbox, queue, workflow
from mamori.dsr import store as requests
from mamori.errors import Conflict, MamoriError, NotFound
from mamori.guard.rules import Actor
from mamori.policy.schemas import RequestKind
from mamori.portal import i18n
from mamori.portal.console import labels, request_steps
from mamori.portal.console.common import (
    PAGE_RESPONSES,
    check_csrf,
    issue_csrf,
    no_store,
    refused,
    signed_in,
)
from mamori.portal.console.request_steps import Done, StepForm
from mamori.portal.web import render
from mamori.runtime import Runtime
from mamori.staff import service as staff

router = APIRouter(tags=["staff console"])
REF = re.compile(r"^r[a-z2-7]{16}$")


def unknown() -> NotFound:
    return NotFound("there is no such request", code="unknown_request")


def assignees(tx: Tx, rt: Runtime, kind: RequestKind) -> list[str]:
    """Staff whose roles may work ``kind``: the names the assign form offers."""
    people = [
        Actor(str(a["handle"]), tuple(cast(list[str], a["roles"])), "staff", bool(a["active"]))
        for a in staff.list_accounts(tx)
    ]
    return [p.name for p in people if workflow.may_work(rt, p, kind)]


def history(tx: Tx, rt: Runtime, row: requests.RequestRow, language: str) -> list[dict[str, Any]]:
    zone = workflow.calendar(rt).zone
    events = requests.events(tx, row.id)
    for event in events:
        local = from_utc_text(event["at"]).astimezone(zone).isoformat()
        event["when"] = labels.moment(local, language)
    return events


def erasure_preview(
    tx: Tx, rt: Runtime, actor: Actor, subject: str, language: str
) -> dict[str, Any]:
    """What erasing the subject would end, erase and keep (audited as a read by the desk)."""
    preview = erasure.preview(tx, rt, actor=actor, ref=subject).to_dict()
    zone = workflow.calendar(rt).zone
    for kept in preview["kept"]:
        local = from_utc_text(kept["until"]).astimezone(zone).isoformat()
        kept["until"] = labels.day(local, language)
    return preview


def page_data(tx: Tx, rt: Runtime, request: Request, actor: Actor, ref: str) -> dict[str, Any]:
    """Everything the request page shows, read as ``actor`` (who must be allowed to view it)."""
    row = workflow.load_for(tx, rt, actor, ref, "view")
    language = i18n.chosen(request)
    steps = request_steps.allowed(row)
    view = queue.view(rt, row, now=rt.now())
    preview = None
    if "complete" in steps and row.kind is RequestKind.ERASURE and row.subject_ref:
        preview = erasure_preview(tx, rt, actor, row.subject_ref, language)
    return {
        "r": view,
        "received": labels.moment(view["received_at"], language),
        "due": labels.moment(view["due_at"], language),
        "paused": labels.moment(view["paused_since"], language),
        "closed": labels.moment(view["closed_at"], language),
        "events": history(tx, rt, row, language),
        "systems": outbox.status_for_request(tx, row.id),
        "steps": steps,
        "tokens": {step: issue_csrf(tx, rt, request) for step in steps},
        "signout_csrf": issue_csrf(tx, rt, request),
        "assignees": assignees(tx, rt, row.kind) if "assign" in steps else [],
        "preview": preview,
        "inquiry": request_steps.is_inquiry(row),
    }


def show(
    request: Request,
    rt: Runtime,
    data: dict[str, Any],
    actor: Actor,
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    page = render(
        request,
        rt,
        "console/request.html",
        status=status,
        staff=actor,
        section="queue",
        labels=labels,
        reasons=request_steps.REASONS,
        methods=request_steps.IDENTITY_METHODS,
        **{"errors": {}, "done": "", "download": None, "failed_step": "", **data, **context},
    )
    return no_store(page)


@router.get("/console/requests/{ref}", response_class=HTMLResponse, responses=PAGE_RESPONSES)
def request_page(request: Request, work: WorkDep, ref: str, done: str = "") -> Response:
    """One request: history, due date, fee, subject reference, and a form per allowed step."""
    rt = work.rt
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if not isinstance(actor, Actor):
                return actor
            if not REF.match(ref):
                raise unknown()
            data = page_data(tx, rt, request, actor, ref)
    except MamoriError as error:
        return refused(request, rt, error)
    return show(request, rt, data, actor, done=done if done in labels.DONE else "")


@router.post(
    "/console/requests/{ref}/{step}", response_class=HTMLResponse, responses=PAGE_RESPONSES
)
def request_step(
    request: Request,
    work: WorkDep,
    ref: str,
    step: str,
    form: Annotated[StepForm, Form()] = StepForm(),  # noqa: B008 -- every field has a default
) -> Response:
    """Do one step on the request (CSRF-checked), then back to its page."""
    rt = work.rt
    try:
        with work.begin() as tx:
            actor = signed_in(tx, rt, request)
            if not isinstance(actor, Actor):
                return actor
            if not REF.match(ref) or step not in request_steps.HANDLERS:
                raise unknown()
            check_csrf(tx, rt, request, form.csrf[:200])
            try:
                finished = request_steps.run(tx, rt, actor, ref, step, form)
            except Conflict as conflict:  # the desk does not audit a step out of turn: we do
                raise conflict.keeping(_out_of_turn(rt, actor, ref, step)) from None
    except MamoriError as error:
        return _step_refused(request, work, ref, step, error)
    if finished.download is not None:
        return _done_with_link(request, work, ref, step, finished)
    target = f"/console/requests/{ref}?done={step.replace('-', '_')}"
    return RedirectResponse(target, status_code=303)


def _out_of_turn(rt: Runtime, actor: Actor, ref: str, step: str) -> Callable[[Tx], None]:
    """The audit entry of a step refused for the request's state, written after the rollback."""

    def record(tx: Tx) -> None:
        detail = {"request": ref, "step": step}
        entry = Entry(
            actor.name, "dsr.*", step.replace("-", "_"), [], [], "denied", "request_state", detail
        )
        rt.audit.append(tx, entry, at=rt.now())

    return record


def _step_refused(
    request: Request, work: WorkDep, ref: str, step: str, error: MamoriError
) -> Response:
    """A field the desk turned down: the page again, the reason by the field; else the refusal page."""
    field = request_steps.field_of(error)
    if field is None:
        return refused(request, work.rt, error)
    problem = getattr(error, "problem", None) or str(getattr(error, "rule", "") or error.code)
    try:
        with work.begin() as tx:
            actor = signed_in(tx, work.rt, request)
            if not isinstance(actor, Actor):
                return actor
            data = page_data(tx, work.rt, request, actor, ref)
    except MamoriError as again:
        return refused(request, work.rt, again)
    errors = {field: problem}
    return show(request, work.rt, data, actor, status=422, errors=errors, failed_step=step)


def _done_with_link(
    request: Request, work: WorkDep, ref: str, step: str, finished: Done
) -> Response:
    """A link delivery: the page shows the download path once (it is never put in a URL)."""
    with work.begin() as tx:
        actor = signed_in(tx, work.rt, request)
        if not isinstance(actor, Actor):
            return actor
        data = page_data(tx, work.rt, request, actor, ref)
    return show(request, work.rt, data, actor, done="complete", download=finished.download)
