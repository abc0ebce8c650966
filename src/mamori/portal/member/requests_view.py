"""What the member's request pages show: their own requests, one request's state and history.

A member reaches only requests about their own subject. The subject comes
from the session, never from the URL: a reference of someone else's request
is refused by the guard's ``own_subject_only`` rule (the refusal is audited),
and an unknown one is refused as unknown, audited too, without saying
whether it exists. Rows carry keys, dates and states only: no value of the
person, and no staff names from the history.
"""

from __future__ import annotations

from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import from_utc_text
from mamori.db.engine import Tx
from mamori.dsr import queue
from mamori.dsr import store as requests
from mamori.dsr.inquiries import intake_actor
from mamori.dsr.states import State, purpose_of
from mamori.dsr.workflow import calendar
from mamori.errors import Denied, NotFound
from mamori.guard.service import authorize, refuse
from mamori.policy.schemas import Action, RequestKind
from mamori.portal.member.sessions import Member
from mamori.runtime import Runtime
from mamori.subjects import store as subjects

REPORT_KINDS = frozenset({RequestKind.DISCLOSURE, RequestKind.NOTIFICATION})
SHOWN = 200  # the newest requests the list shows
_REF_LENGTH = 17
# About the member's own subject, or an inquiry the member typed (filed by the center for them).
_OWN = f"SELECT {requests.COLUMNS} {requests.FROM} WHERE (r.subject_id = ? OR r.created_by = ?)"


def well_formed(ref: str) -> bool:
    """A reference as ``store.new_ref`` makes them: ``r`` and 16 base32 letters."""
    return (
        len(ref) == _REF_LENGTH
        and ref.startswith("r")
        and all(c in "abcdefghijklmnopqrstuvwxyz234567" for c in ref[1:])
    )


def own_requests(tx: Tx, rt: Runtime, member: Member) -> list[dict[str, Any]]:
    """The member's requests, newest first, as the list shows them."""
    rows = tx.fetchall(
        _OWN + " ORDER BY r.received_at DESC, r.id DESC LIMIT ?",
        (member.subject_id, intake_actor(member.ref).name, SHOWN),
    )
    now = rt.now()
    return [_shown(queue.view(rt, requests.RequestRow.from_db(r), now=now)) for r in rows]


def own_request(tx: Tx, rt: Runtime, member: Member, ref: str) -> requests.RequestRow:
    """The member's request ``ref``; another's is refused by the guard, an unknown one audited."""
    try:
        row = requests.load(tx, ref) if well_formed(ref) else None
    except NotFound:
        row = None
    if row is None:
        shown = ref if well_formed(ref) else "<malformed>"
        missing = NotFound("there is no such request", code="unknown_request")
        entry = Entry(
            member.actor.name, "dsr.*", "view_request", [], [], "denied", "unknown_request",
            {"request": shown},
        )  # fmt: skip
        raise refuse(rt, missing, entry)
    if row.subject_id != member.subject_id and row.created_by != intake_actor(member.ref).name:
        _refuse_others(tx, rt, member, row)
    return row


def _refuse_others(tx: Tx, rt: Runtime, member: Member, row: requests.RequestRow) -> None:
    """Ask the guard about another person's request: it refuses and audits (own_subject_only)."""
    facts = None
    if row.subject_ref is not None:
        try:
            facts = subjects.load(tx, row.subject_ref).facts()
        except NotFound:  # shredded since: refused below all the same
            facts = None
    if facts is not None:
        authorize(
            tx, rt, actor=member.actor, purpose=purpose_of(row.kind), action=Action.READ,
            categories=[], subjects=[facts], detail={"request": row.ref},
        )  # fmt: skip
    denied = Denied(
        f"'{member.actor.name}' may follow only their own requests", rule="own_subject_only"
    )
    entry = Entry(
        member.actor.name, purpose_of(row.kind), "view_request", [], [], "denied",
        denied.rule, {"request": row.ref},
    )  # fmt: skip
    raise refuse(rt, denied, entry)


def report_ready(row: requests.RequestRow) -> bool:
    """A completed disclosure (or notification of purposes) has a report to download."""
    return row.kind in REPORT_KINDS and row.state is State.COMPLETED


def page(tx: Tx, rt: Runtime, row: requests.RequestRow) -> dict[str, Any]:
    """One request as its page shows it: state, due date, history, the original of a duplicate."""
    shown = _shown(queue.view(rt, row, now=rt.now()))
    zone = calendar(rt).zone
    shown["history"] = [
        {
            "when": from_utc_text(e["at"]).astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "step": e["action"],
            "to": e["to"],
        }
        for e in requests.events(tx, row.id)
    ]
    shown["original"] = (
        requests.load_by_id(tx, row.duplicate_of).ref if row.duplicate_of is not None else None
    )
    shown["report"] = report_ready(row)
    return shown


def _shown(view: dict[str, Any]) -> dict[str, Any]:
    """The keys a member page uses; dates cut to the day in the company's zone."""
    return {
        "ref": view["ref"],
        "kind": view["kind"],
        "state": view["state"],
        "received": view["received_at"][:10],
        "due": (view["due_at"] or "")[:10],
        "overdue": view["overdue"],
        "paused": view["state"] in (State.IDENTITY_CHECK, State.AWAITING_FEE),
        "closed": (view["closed_at"] or "")[:10],
        "fee_yen": view["fee_yen"],
        "fee_paid": view["fee_paid"],
        "reason": view["reason"],
        "purposes": view["purposes"],
    }
