"""The member's requests: file one, follow its state and due date, download a ready report.

Each page is one unit of work acting as the member (``member:<ref>``), who
reaches only requests about their own subject (``requests_view``). Filing goes
through the request desk's own services: ``dsr.arrival.create`` with via
``portal`` and the signed-in session as the identity check, so the request
starts in progress; an inquiry through ``dsr.inquiries.receive``, filed by the
center's intake actor (``center:<ref>``), since it makes the inquirer's own record. Every form
carries a single-use CSRF token, so a double submit records once; the same
request filed again is linked to the open one by the desk. A disclosure
report is built when asked, through the guard, and never stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from mamori.api.deps import Work, WorkDep
from mamori.db.engine import Tx
from mamori.dsr import arrival, disclosure, erasure, fulfil, inquiries
from mamori.dsr.states import INQUIRY_KINDS
from mamori.dsr.workflow import fee_for
from mamori.errors import MamoriError
from mamori.policy.schemas import RequestKind
from mamori.portal import i18n, public
from mamori.portal.member import gpc, holdings, sessions
from mamori.portal.member import requests_forms as forms
from mamori.portal.member import requests_view as view
from mamori.portal.member.common import PAGE_RESPONSES, no_store, refused, signed_in
from mamori.portal.web import render
from mamori.runtime import Runtime

router = APIRouter(tags=["privacy center"])
LIST = "/privacy/me/requests"
RESPONSES: dict[int | str, dict[str, Any]] = {
    **PAGE_RESPONSES,
    409: {
        "description": "The report is not ready yet, or the data was erased already.",
        "content": {"text/html": {}},
    },
}


@router.get(LIST, response_class=HTMLResponse, responses=RESPONSES)
def my_requests(request: Request, work: WorkDep) -> Response:
    """The signed-in member's own requests, newest first, and the kinds they may file (member)."""
    rt = work.rt
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            honoured = gpc.apply(tx, rt, request, member)
            rows = view.own_requests(tx, rt, member)
    except MamoriError as error:
        return refused(request, rt, error)
    page = render(request, rt, "member/requests.html", rows=rows, kinds=forms.KINDS, gpc=honoured)
    return no_store(page)


@router.get(LIST + "/new", response_class=HTMLResponse, responses=RESPONSES)
def new_request(request: Request, work: WorkDep, kind: str = "") -> Response:
    """The form of one kind of request; an erasure shows what ends and what is kept first (member)."""
    rt = work.rt
    chosen = forms.kind_named(kind[:40])
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            if not kind:
                return RedirectResponse(LIST, status_code=303)
            if chosen is None:
                return public.error_page(request, rt, "not_found")
            context = _context(tx, rt, member, chosen, i18n.chosen(request), None)
            token = sessions.issue_csrf(rt, member)
    except MamoriError as error:
        return _failed(request, rt, error)
    return _form(request, rt, chosen, context, token, {}, {})


@router.post(LIST, response_class=HTMLResponse, responses=RESPONSES)
async def file_request(request: Request, work: WorkDep) -> Response:
    """File the request the form describes (CSRF-checked); problems come back by the field."""
    form = await request.form()
    posted: dict[str, Any] = {
        k: str(v)[: forms.POSTED_MAX] for k, v in form.items() if isinstance(v, str)
    }
    posted["purpose"] = [str(p)[:100] for p in form.getlist("purpose")[:100]]
    return await run_in_threadpool(_file, request, work, posted)


def _file(request: Request, work: Work, posted: dict[str, Any]) -> Response:
    rt = work.rt
    language = i18n.chosen(request)
    kind = forms.kind_named(str(posted.get("kind", ""))[:40])
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            sessions.check_csrf(tx, rt, member, posted.get("csrf"))
            if kind is None:
                return public.error_page(request, rt, "not_found")
            held = holdings.read_values(tx, rt, member) if kind in forms.NEEDS_VALUES else None
            checked = forms.check(rt, kind, posted, member.ref, held)
            if checked.problems:
                context = _context(tx, rt, member, kind, language, held)
                token = sessions.issue_csrf(rt, member)
            else:
                ref = _lodge(tx, rt, member, kind, checked, language)
    except MamoriError as error:
        return _failed(request, rt, error)
    if checked.problems:
        return _form(request, rt, kind, context, token, checked.fields, checked.problems)
    return RedirectResponse(f"{LIST}/{ref}", status_code=303)


def _lodge(
    tx: Tx,
    rt: Runtime,
    member: sessions.Member,
    kind: RequestKind,
    checked: forms.Checked,
    language: str,
) -> str:
    """Hand the checked form to the request desk; the new request's reference."""
    if checked.new is None:
        got = inquiries.receive(
            tx, rt, actor=inquiries.intake_actor(member.ref), kind=kind, via=forms.VIA,
            fields=checked.fields, language=language,
        )  # fmt: skip
        return got.request.ref
    checked.new.language = language
    return arrival.create(tx, rt, actor=member.actor, new=checked.new).ref


@router.get(LIST + "/{ref}", response_class=HTMLResponse, responses=RESPONSES)
def my_request(request: Request, work: WorkDep, ref: str) -> Response:
    """One of the member's requests: state, due date, history, the report when ready (member)."""
    rt = work.rt
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            honoured = gpc.apply(tx, rt, request, member)
            row = view.own_request(tx, rt, member, ref[:40])
            shown = view.page(tx, rt, row)
    except MamoriError as error:
        return refused(request, rt, error)
    shown["purposes"] = _titles(rt, shown["purposes"], i18n.chosen(request))
    return no_store(render(request, rt, "member/request.html", req=shown, gpc=honoured))


@router.get(LIST + "/{ref}/report", response_class=HTMLResponse, responses=RESPONSES)
def my_report(request: Request, work: WorkDep, ref: str) -> Response:
    """The disclosure report of the member's own completed request, built now (member)."""
    rt = work.rt
    language = i18n.chosen(request)
    try:
        with work.begin() as tx:
            member = signed_in(tx, rt, request)
            if not isinstance(member, sessions.Member):
                return member
            row = view.own_request(tx, rt, member, ref[:40])
            ready = view.report_ready(row)
            if ready:
                body = disclosure.render_html(fulfil.build(tx, rt, member.actor, row), language)
    except MamoriError as error:
        return refused(request, rt, error)
    if not ready:
        page = render(
            request, rt, "member/request_not_ready.html", status=409, ref=row.ref, erased=False
        )
        return no_store(page)
    filename = f"{row.kind.value}-{row.ref}.html"
    response = HTMLResponse(body)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Content-Language"] = language
    return no_store(response)


def _context(
    tx: Tx,
    rt: Runtime,
    member: sessions.Member,
    kind: RequestKind,
    language: str,
    held: Any,
) -> dict[str, Any]:
    """What the form of ``kind`` offers: the member's items or purposes, an erasure's preview."""
    context: dict[str, Any] = {"fee_yen": fee_for(rt, kind)}
    if kind in INQUIRY_KINDS:
        context["inquiry_fields"] = list(inquiries.FIELDS)
        return context
    if kind is RequestKind.ERASURE:
        context["preview"] = _preview(tx, rt, member, language)
        return context
    if kind not in forms.NEEDS_VALUES:
        return context
    held = held or holdings.read_values(tx, rt, member)
    if kind is RequestKind.CORRECTION:
        items = forms.held_items(rt, held)
        context["items"] = [(k, getattr(rt.policy.categories[k].title, language)) for k in items]
    else:
        context["purposes"] = _titles(rt, forms.own_purposes(rt, held, kind), language)
    return context


def _titles(rt: Runtime, keys: list[str], language: str) -> list[tuple[str, str]]:
    purposes = rt.policy.purposes
    return [(k, getattr(purposes[k].title, language) if k in purposes else k) for k in keys]


def _preview(tx: Tx, rt: Runtime, member: sessions.Member, language: str) -> dict[str, Any]:
    """What an erasure would end and what the law keeps, as the member (audited)."""
    seen = erasure.preview(tx, rt, actor=member.actor, ref=member.ref)

    def word(text: Any) -> str:
        return str(getattr(text, language))

    return {
        "ends": [
            {"title": word(g.title), "note": word(g.note), "purposes": [word(p.title) for p in g.purposes]}
            for g in seen.ends
        ],
        "kept": [
            {"title": word(k.title), "purpose": word(k.purpose_title), "reason": word(k.reason),
             "until": k.until.astimezone(rt.policy.zone).date().isoformat()}
            for k in seen.kept
        ],
        "erased": [word(seen.titles[c]) if c in seen.titles else c for c in seen.erased],
    }  # fmt: skip


def _form(
    request: Request,
    rt: Runtime,
    kind: RequestKind,
    context: dict[str, Any],
    token: str,
    fields: dict[str, str],
    problems: dict[str, str],
) -> Response:
    status = 422 if problems else 200
    page = render(
        request, rt, "member/request_new.html", status=status, kind=kind.value, csrf=token,
        fields=fields, problems=problems, **context,
    )  # fmt: skip
    return no_store(page)


def _failed(request: Request, rt: Runtime, error: MamoriError) -> Response:
    """A subject erased already cannot file again; anything else is the refusal page."""
    if error.code == "already_erased":
        page = render(request, rt, "member/request_not_ready.html", status=409, erased=True, ref="")
        return no_store(page)
    return refused(request, rt, error)
