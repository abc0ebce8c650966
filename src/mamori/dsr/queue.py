"""The privacy desk's view: open requests, overdue first, and how the desk is doing.

Staff see the kinds their roles may work. A request is overdue when it is open,
not paused, and its due date has passed; a paused request's due date moves when
the pause ends, so it is shown with the time it has been waiting instead.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.dsr import store as requests
from mamori.dsr.states import OPEN, PAUSED, REASON_TEXT, Reason, State
from mamori.dsr.workflow import calendar, may_work
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime


def workable_kinds(rt: Runtime, actor: Actor) -> list[RequestKind]:
    """The kinds the caller may work; none at all is a refusal, audited."""
    kinds = [k for k in RequestKind if may_work(rt, actor, k)]
    if not kinds:
        denied = Denied(
            f"'{actor.name}' may not work requests: no role of theirs lists a request purpose",
            rule="role_not_permitted",
        )
        entry = Entry(actor.name, "dsr.*", "list_requests", [], [], "denied", denied.rule)
        raise refuse(rt, denied, entry)
    return kinds


def is_overdue(row: requests.RequestRow, now: datetime) -> bool:
    return (
        row.state in OPEN
        and row.state not in PAUSED
        and row.due_at is not None
        and row.due_at < now
    )


def view(rt: Runtime, row: requests.RequestRow, *, now: datetime) -> dict[str, Any]:
    """A request as staff and requesters see it; no value, only keys and times."""
    zone = calendar(rt).zone
    reason = None
    if row.reason:
        ja, en = REASON_TEXT[Reason(row.reason)]
        reason = {"code": row.reason, "ja": ja, "en": en}
    return {
        "ref": row.ref,
        "kind": row.kind.value,
        "state": row.state.value,
        "subject": row.subject_ref,
        "received_via": row.received_via,
        "received_at": row.received_at.astimezone(zone).isoformat(),
        "due_at": None if row.due_at is None else row.due_at.astimezone(zone).isoformat(),
        "overdue": is_overdue(row, now),
        "paused_since": None
        if row.paused_since is None
        else row.paused_since.astimezone(zone).isoformat(),
        "assigned_to": row.assigned_to,
        "purposes": row.purposes,
        "categories": row.categories,
        "fee_yen": row.fee_yen,
        "fee_paid": row.fee_paid_at is not None,
        "identity": None
        if row.identity_method is None
        else {"method": row.identity_method, "by": row.identity_by},
        "reason": reason,
        "outcome": row.outcome,
        "closed_at": None if row.closed_at is None else row.closed_at.astimezone(zone).isoformat(),
        "language": row.language,
    }


def open_requests(
    tx: Tx, rt: Runtime, *, actor: Actor, state: State | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Open requests the caller may work: overdue first, then by due date."""
    kinds = [k.value for k in workable_kinds(rt, actor)]
    states = [state.value] if state is not None else sorted(s.value for s in OPEN)
    if state is not None and state not in OPEN:
        return []
    sql = (
        f"SELECT {requests.COLUMNS} {requests.FROM} WHERE r.state IN ({_marks(states)})"
        f" AND r.kind IN ({_marks(kinds)}) ORDER BY r.due_at, r.id LIMIT ?"
    )
    rows = [requests.RequestRow.from_db(r) for r in tx.fetchall(sql, (*states, *kinds, limit))]
    now = rt.now()
    rows.sort(key=lambda r: (not is_overdue(r, now), r.due_at or now, r.id))
    return [view(rt, r, now=now) for r in rows]


def _marks(values: list[str]) -> str:
    return ",".join("?" * len(values))


def metrics(tx: Tx, rt: Runtime, *, actor: Actor, days: int = 365) -> dict[str, Any]:
    """Open, overdue, by state, and median business days to close per kind."""
    kinds = [k.value for k in workable_kinds(rt, actor)]
    now = rt.now()
    since = to_utc_text(now - timedelta(days=days))
    rows = [
        requests.RequestRow.from_db(r)
        for r in tx.fetchall(
            f"SELECT {requests.COLUMNS} {requests.FROM} WHERE r.kind IN ({_marks(kinds)})"
            " AND (r.closed_at IS NULL OR r.closed_at >= ?)",
            (*kinds, since),
        )
    ]
    by_state = Counter(r.state.value for r in rows)
    cal = calendar(rt)
    durations: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        if r.state is State.COMPLETED and r.closed_at is not None:
            durations[r.kind.value].append(cal.business_days_between(r.received_at, r.closed_at))
    return {
        "open": sum(1 for r in rows if r.state in OPEN),
        "overdue": sum(1 for r in rows if is_overdue(r, now)),
        "by_state": dict(sorted(by_state.items())),
        "median_days_to_close": {k: statistics.median(v) for k, v in sorted(durations.items())},
        "window_days": days,
    }
