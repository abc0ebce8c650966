"""``mamori requests``: the privacy desk from a terminal.

Staff enter requests that came by phone, letter or visit, check identity, record
fees, complete, reject, and see the queue. Every command acts as ``--actor`` (a
staff account whose role lists the request's purpose) and prints JSON with
``--json``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import (
    ActorOpt,
    JsonOpt,
    console,
    emit,
    handle_errors,
    require_actor,
    runtime,
)
from mamori.dsr import erasure, fulfil, inquiries, queue, verification, workflow
from mamori.dsr import store as requests
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import IdentityMethod, Reason, State, Via
from mamori.errors import ValidationFailed
from mamori.policy.schemas import RequestKind

app = typer.Typer(
    help="Data-subject requests and inquiries: the privacy desk.", no_args_is_help=True
)
Ref = Annotated[str, typer.Argument(help="The request's reference (r...).")]
DESK = "dsr.disclosure"


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            "give the time as ISO 8601 with its zone, e.g. 2026-12-01T10:30+09:00",
            code="time_invalid",
        ) from None
    if moment.tzinfo is None:
        raise ValidationFailed("the time needs its zone, e.g. +09:00", code="time_invalid")
    return moment


def _values(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        category, sep, value = pair.partition("=")
        if not sep:
            raise ValidationFailed("give corrections as CATEGORY=VALUE", code="values_invalid")
        values[category.strip()] = value
    return values


def _render_one(data: dict[str, Any]) -> None:
    due = data.get("due_at") or "-"
    console.print(
        f"request {data['ref']}: {data['kind']} — {data['state']}"
        f"{' (OVERDUE)' if data.get('overdue') else ''}\n"
        f"  subject {data.get('subject') or '-'}, received {data['received_at']} via "
        f"{data['received_via']}, due {due}, assigned to {data['assigned_to']}\n"
        f"  fee {data['fee_yen']} yen{' (paid)' if data.get('fee_paid') else ''}",
        soft_wrap=True,
    )
    for event in data.get("history", []):
        console.print(f"  {event['at']}  {event['actor']}  {event['action']} → {event['to']}")


def _show(row: requests.RequestRow, rt: Any, as_json: bool, **extra: Any) -> None:
    data = {**queue.view(rt, row, now=rt.now()), **extra}
    emit(data, as_json=as_json, render=_render_one)


@app.command("new")
@handle_errors
def new(
    kind: Annotated[RequestKind, typer.Argument(help="What is asked.")],
    subject: Annotated[str, typer.Option(help="The subject's reference.")],
    via: Annotated[Via, typer.Option(help="How it reached the company.")] = Via.PHONE,
    purpose: Annotated[
        list[str] | None, typer.Option(help="For cessation: a purpose; repeatable.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="For correction: CATEGORY=VALUE.")
    ] = None,
    identity: Annotated[
        str | None, typer.Option(help="phone_callback or document_seen, if checked already.")
    ] = None,
    received_at: Annotated[
        str | None, typer.Option(help="When it came in (ISO 8601 with zone).")
    ] = None,
    language: Annotated[str, typer.Option(help="ja or en.")] = "ja",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Enter a request that came by phone, letter, visit or mail."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="request_received")
        request = NewRequest(
            kind=kind,
            via=via,
            subject=subject,
            purposes=purpose or [],
            values=_values(set_ or []),
            language=language,
            received_at=_when(received_at),
        )
        row = create(tx, rt, actor=who, new=request)
        if identity and row.state is State.RECEIVED:
            row = verification.record_identity(
                tx, rt, actor=who, ref=row.ref, method=IdentityMethod(identity)
            )
        _show(row, rt, as_json)


@app.command("inquiry")
@handle_errors
def inquiry(
    via: Annotated[str, typer.Option(help="phone, email or form.")] = "phone",
    complaint: Annotated[bool, typer.Option(help="A complaint rather than an inquiry.")] = False,
    name: Annotated[str | None, typer.Option()] = None,
    company: Annotated[str | None, typer.Option()] = None,
    division: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    received_at: Annotated[str | None, typer.Option(help="When the call came in.")] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an inquiry or complaint; says when a call came outside business hours."""
    if via not in ("phone", "email", "form"):
        raise ValidationFailed("--via is phone, email or form", code="via_invalid")
    fields = {
        "name": name,
        "company": company,
        "division": division,
        "email": email,
        "phone": phone,
        "description": description,
    }
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose="inquiry_handling", action="request_received")
        got = inquiries.receive(
            tx,
            rt,
            actor=who,
            kind=RequestKind.COMPLAINT if complaint else RequestKind.INQUIRY,
            via=Via(via),
            fields=fields,
            received_at=_when(received_at),
        )
        hours = got.hours.to_dict()
        if not hours["open"] and not as_json:
            console.print(
                f"note: the desk was closed ({hours['closed_because']}); "
                f"it opens {hours['next_opening']}",
                soft_wrap=True,
            )
        _show(got.request, rt, as_json, hours=hours)


@app.command("list")
@handle_errors
def list_(
    state: Annotated[State | None, typer.Option(help="Only this open state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open requests you may work: overdue first, then by due date."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="list_requests")
        rows = queue.open_requests(tx, rt, actor=who, state=state, limit=limit)

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("request", "kind", "state", "due", "overdue", "assigned")
        for r in data:
            table.add_row(
                r["ref"],
                r["kind"],
                r["state"],
                r["due_at"] or "-",
                "yes" if r["overdue"] else "",
                r["assigned_to"],
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@app.command("show")
@handle_errors
def show(ref: Ref, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """One request with its full history."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="view_request")
        row = workflow.load_for(tx, rt, who, ref, "view")
        _show(row, rt, as_json, history=requests.events(tx, row.id))


@app.command("metrics")
@handle_errors
def metrics(
    days: Annotated[int, typer.Option(min=1, max=3650)] = 365,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open, overdue, by state, and median business days to close per kind."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="request_metrics")
        data = queue.metrics(tx, rt, actor=who, days=days)
    emit(data, as_json=as_json, render=lambda d: console.print_json(data=d))


@app.command("code")
@handle_errors
def code(ref: Ref, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """Mail a one-time code to the address held for the subject."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="start_identity_check")
        sent = verification.send_code(tx, rt, actor=who, ref=ref)
    emit(
        {"expires_at": sent.expires_at.isoformat(), "attempts_allowed": sent.attempts_allowed},
        as_json=as_json,
        render=lambda d: console.print(f"code sent; valid until {d['expires_at']}"),
    )


@app.command("verify")
@handle_errors
def verify(
    ref: Ref,
    code: Annotated[str | None, typer.Option(help="The code the requester read out.")] = None,
    method: Annotated[str | None, typer.Option(help="phone_callback or document_seen.")] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify identity by the mailed code, or record a callback or document check."""
    if (code is None) == (method is None):
        raise ValidationFailed("give either --code or --method", code="identity_input")
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="verify_identity")
        if method is not None:
            row = verification.record_identity(
                tx, rt, actor=who, ref=ref, method=IdentityMethod(method)
            )
        else:
            row = verification.verify_code(tx, rt, actor=who, ref=ref, code=code or "")
        _show(row, rt, as_json)


@app.command("pay")
@handle_errors
def pay(
    ref: Ref,
    amount: Annotated[int, typer.Option(help="Yen received.", min=0)],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the fee as paid."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="record_payment")
        _show(workflow.record_payment(tx, rt, actor=who, ref=ref, amount_yen=amount), rt, as_json)


@app.command("assign")
@handle_errors
def assign(
    ref: Ref,
    to: Annotated[str, typer.Option(help="A staff handle whose role may work it.")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand the request to another staff member."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="assign")
        _show(workflow.assign(tx, rt, actor=who, ref=ref, to=to), rt, as_json)


@app.command("preview")
@handle_errors
def preview(ref: Ref, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """Before an erasure: what ends, what is kept and why, what is erased."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose="dsr.erasure", action="view_request")
        row = workflow.load_for(tx, rt, who, ref, "view")
        data = erasure.preview(tx, rt, actor=who, ref=workflow.subject_of(row)).to_dict()
    emit(data, as_json=as_json, render=lambda d: console.print_json(data=d))


@app.command("complete")
@handle_errors
def complete(
    ref: Ref,
    delivery: Annotated[str, typer.Option(help="link or mail (reports only).")] = "link",
    format: Annotated[str, typer.Option(help="html or json (reports only).")] = "html",
    answered_via: Annotated[
        str | None, typer.Option(help="For inquiries: email, phone or letter.")
    ] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Fulfil the request, or hold it for its fee."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="complete")
        done = fulfil.complete(
            tx, rt, actor=who, ref=ref, delivery=delivery, format=format, answered_via=answered_via
        )
        link = None if done.download_token is None else f"/downloads/{done.download_token}"
        _show(done.request, rt, as_json, download=link)
    if link and not as_json:
        console.print(f"download (works once): {link}")


@app.command("reject")
@handle_errors
def reject(
    ref: Ref,
    reason: Annotated[Reason, typer.Option(help="A reason code from the fixed list.")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Refuse the request with a reason code."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="reject")
        _show(fulfil.reject(tx, rt, actor=who, ref=ref, reason=reason), rt, as_json)


@app.command("withdraw")
@handle_errors
def withdraw(ref: Ref, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """Record that the requester withdrew the request."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=DESK, action="withdraw")
        _show(workflow.withdraw(tx, rt, actor=who, ref=ref), rt, as_json)


@app.command("hours")
@handle_errors
def hours(
    at: Annotated[
        str | None, typer.Option(help="A moment (ISO 8601 with zone); default now.")
    ] = None,
    language: Annotated[str, typer.Option(help="ja or en.")] = "en",
    as_json: JsonOpt = False,
) -> None:
    """Is the privacy desk open, and when does it open next?"""
    with runtime() as rt:
        data = inquiries.hours(rt, _when(at) or rt.now(), language).to_dict()
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(
            "open" if d["open"] else f"closed ({d['closed_because']}); opens {d['next_opening']}"
        ),
    )
