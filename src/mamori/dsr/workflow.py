"""The life of a request: received, identity checked, worked, paid for, closed.

Every step checks that the caller may work requests of that kind (the policy
role must list the kind's purpose), that the request is in a state the step may
start from, writes one history event and one audit entry in the same
transaction, and moves the due date when a pause ends. A refused step leaves its
audit entry and nothing else. Fulfilment itself lives in ``fulfil``.
"""

from __future__ import annotations

from typing import Any

from mamori.audit.service import Entry
from mamori.calendar import BusinessCalendar
from mamori.db.engine import Tx
from mamori.dsr import store as requests
from mamori.dsr.states import (
    PAUSED,
    STEPS,
    Reason,
    State,
    purpose_of,
)
from mamori.errors import Conflict, Denied, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.compiled import SYSTEM_REQUESTS_ROLE
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime

_CALENDARS: dict[int, tuple[object, BusinessCalendar]] = {}


def calendar(rt: Runtime) -> BusinessCalendar:
    """The company's business calendar, built once per loaded policy."""
    source = rt.policy.source
    known = _CALENDARS.get(id(source))
    if known is None or known[0] is not source:
        known = (source, BusinessCalendar.from_company(source.company))
        _CALENDARS[id(source)] = known
    return known[1]


def requester(ref: str) -> Actor:
    """Mamori acting for the person behind a request (a download, a portal step)."""
    return Actor(f"request:{ref}", (SYSTEM_REQUESTS_ROLE,), kind="system")


def fee_for(rt: Runtime, kind: RequestKind) -> int:
    """The fee the policy sets for ``kind``, in yen: shown before a request is made."""
    return int(rt.policy.source.requests.fees.get(kind, 0))


def may_work(rt: Runtime, actor: Actor, kind: RequestKind) -> bool:
    return actor.active and bool(rt.policy.actions_for(actor.roles, purpose_of(kind)))


def require(
    rt: Runtime, actor: Actor, kind: RequestKind, step: str, subject: str | None, ref: str
) -> None:
    if may_work(rt, actor, kind):
        return
    purpose = purpose_of(kind)
    denied = Denied(
        f"'{actor.name}' may not work {kind.value} requests: no role of theirs lists '{purpose}'",
        rule="role_not_permitted",
    )
    entry = Entry(
        actor.name,
        purpose,
        step,
        [subject] if subject else [],
        [],
        "denied",
        denied.rule,
        {"request": ref},
    )
    raise refuse(rt, denied, entry)


def record(
    tx: Tx,
    rt: Runtime,
    row: requests.RequestRow,
    *,
    actor: Actor,
    step: str,
    before: State | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One history event and one audit entry for a step (neither holds a value)."""
    now = rt.now()
    facts = {"request": row.ref, "kind": row.kind.value, **(detail or {})}
    requests.add_event(
        tx,
        request_id=row.id,
        at=now,
        actor=actor.name,
        action=step,
        from_state=before,
        to_state=row.state,
        detail=detail,
    )
    refs = [row.subject_ref] if row.subject_ref else []
    entry = Entry(actor.name, purpose_of(row.kind), step, refs, [], "done", "request", facts)
    rt.audit.append(tx, entry, at=now)


def check_state(row: requests.RequestRow, step: str) -> None:
    if row.state not in STEPS[step]:
        raise Conflict(
            f"request {row.ref} is {row.state.value.replace('_', ' ')}; "
            f"it cannot be {step.replace('_', ' ')} now",
            code="request_state",
            state=row.state.value,
        )


def move(row: requests.RequestRow, rt: Runtime, to: State) -> None:
    """Change state; leaving a paused state moves the due date by the business time paused."""
    now = rt.now()
    if row.state in PAUSED and to not in PAUSED and row.paused_since is not None:
        cal = calendar(rt)
        paused = cal.business_time_between(row.paused_since, now)
        due = row.due_at
        row.set(
            paused_since=None,
            paused_seconds=row.paused_seconds + paused.total_seconds(),
            due_at=None if due is None else cal.extend_by(due, paused),
        )
    if to in PAUSED and row.paused_since is None:
        row.set(paused_since=now)
    row.set(state=to)
    if to not in (State.RECEIVED, State.IDENTITY_CHECK, State.IN_PROGRESS, State.AWAITING_FEE):
        row.set(closed_at=now)


def subject_of(row: requests.RequestRow) -> str:
    """The subject a request is about; inquiries about no one have none."""
    if row.subject_ref is None:
        raise ValidationFailed(f"request {row.ref} is about no subject", code="subject_missing")
    return row.subject_ref


def load_for(tx: Tx, rt: Runtime, actor: Actor, ref: str, step: str) -> requests.RequestRow:
    """A request for a step: locked, the caller checked, the state checked."""
    row = requests.load(tx, ref, for_update=True)
    require(rt, actor, row.kind, step, row.subject_ref, row.ref)
    check_state(row, step)
    return row


# --- fee, assignment, endings ----------------------------------------------------------


def record_payment(
    tx: Tx, rt: Runtime, *, actor: Actor, ref: str, amount_yen: int
) -> requests.RequestRow:
    """The fee arrived: recorded before any result is released."""
    row = load_for(tx, rt, actor, ref, "record_payment")
    if row.fee_yen == 0 or row.fee_paid_at is not None:
        raise Conflict(f"request {row.ref} has no fee outstanding", code="no_fee_due")
    if amount_yen != row.fee_yen:
        raise ValidationFailed(
            f"the fee for request {row.ref} is {row.fee_yen} yen, not {amount_yen}",
            code="fee_amount",
        )
    before = row.state
    row.set(fee_paid_at=rt.now())
    if row.state is State.AWAITING_FEE:
        move(row, rt, State.IN_PROGRESS)
    requests.save(tx, row, rt.now())
    record(tx, rt, row, actor=actor, step="fee_paid", before=before, detail={"fee_yen": amount_yen})
    return row


def await_fee(tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor) -> None:
    """Nothing is released before the fee is paid; the clock pauses meanwhile."""
    move(row, rt, State.AWAITING_FEE)
    requests.save(tx, row, rt.now())
    record(
        tx,
        rt,
        row,
        actor=actor,
        step="fee_requested",
        before=State.IN_PROGRESS,
        detail={"fee_yen": row.fee_yen},
    )


def assign(tx: Tx, rt: Runtime, *, actor: Actor, ref: str, to: str) -> requests.RequestRow:
    """Hand a request to another staff member who may work its kind."""
    from mamori.staff import service as staff

    row = load_for(tx, rt, actor, ref, "assign")
    assignee = staff.actor(tx, rt, handle=to, purpose=purpose_of(row.kind), action="assign")
    if not may_work(rt, assignee, row.kind):
        raise ValidationFailed(
            f"'{to}' may not work {row.kind.value} requests", code="assignee_not_permitted"
        )
    previous = row.assigned_to
    row.set(assigned_to=to)
    requests.save(tx, row, rt.now())
    record(
        tx,
        rt,
        row,
        actor=actor,
        step="assigned",
        before=row.state,
        detail={"from": previous, "to": to},
    )
    return row


def reject(tx: Tx, rt: Runtime, *, actor: Actor, ref: str, reason: Reason) -> requests.RequestRow:
    row = load_for(tx, rt, actor, ref, "reject")
    before = row.state
    row.set(reason=reason.value)
    move(row, rt, State.REJECTED)
    requests.save(tx, row, rt.now())
    record(
        tx, rt, row, actor=actor, step="rejected", before=before, detail={"reason": reason.value}
    )
    return row


def withdraw(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> requests.RequestRow:
    """The requester takes the request back (staff may record it for them)."""
    row = load_for(tx, rt, actor, ref, "withdraw")
    before = row.state
    move(row, rt, State.WITHDRAWN)
    requests.save(tx, row, rt.now())
    record(tx, rt, row, actor=actor, step="withdrawn", before=before)
    return row


def finish(
    tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor, outcome: dict[str, Any]
) -> None:
    """Close a fulfilled request with what was done (never a value)."""
    before = row.state
    row.set(outcome=outcome)
    move(row, rt, State.COMPLETED)
    requests.save(tx, row, rt.now())
    record(tx, rt, row, actor=actor, step="completed", before=before, detail=outcome)
