"""A request arrives: checked, quoted, dated on the business calendar, linked to a
duplicate if the same person already asked for the same thing.

A correction's new values are validated and sealed under the subject's own data
key until they are applied, so an erasure before then shreds them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgpack

from mamori.db.engine import Tx
from mamori.dsr import store as requests
from mamori.dsr.states import INQUIRY_KINDS, SUBJECT_KINDS, IdentityMethod, State, Via, purpose_of
from mamori.dsr.verification import verified
from mamori.dsr.workflow import calendar, fee_for, move, record, require
from mamori.errors import Conflict, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import authorize
from mamori.policy.schemas import Action, RequestKind
from mamori.runtime import Runtime
from mamori.subjects import store as subjects
from mamori.subjects.service import load_or_refuse, normalize_values


@dataclass
class NewRequest:
    kind: RequestKind
    via: Via
    subject: str | None = None
    purposes: Sequence[str] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    language: str = "ja"
    received_at: datetime | None = None
    identity: IdentityMethod | None = None


def create(tx: Tx, rt: Runtime, *, actor: Actor, new: NewRequest) -> requests.RequestRow:
    """Receive a request: due date set, fee quoted, duplicates linked, audited."""
    ref = requests.new_ref()
    require(rt, actor, new.kind, "request_received", new.subject, ref)
    purposes = _checked_purposes(rt, new)
    now = rt.now()
    received = new.received_at or now
    if received > now:
        raise ValidationFailed("a request cannot be received in the future", code="received_future")
    subject_id: int | None = None
    pending: bytes | None = None
    categories: list[str] = []
    if new.kind in SUBJECT_KINDS:
        subject_id, pending, categories = _subject_part(tx, rt, actor, new)
    elif new.subject is not None:
        subject_id = subjects.load(tx, new.subject).id
    values: dict[str, Any] = {
        "ref": ref,
        "kind": new.kind,
        "state": State.RECEIVED,
        "subject_id": subject_id,
        "received_via": new.via.value,
        "received_at": received,
        "due_at": calendar(rt).due_date(received, rt.policy.source.requests.due_business_days),
        "paused_seconds": 0.0,
        "assigned_to": rt.policy.source.requests.responsible or "role:privacy_officer",
        "purposes": purposes,
        "categories": categories,
        "pending": pending,
        "language": "en" if new.language == "en" else "ja",
        "fee_yen": fee_for(rt, new.kind),
        "outcome": {},
        "created_by": actor.name,
        "updated_at": now,
    }
    # Two corrections carry values that cannot be compared (they are sealed), and two
    # inquiries are two questions: only requests for the very same thing are linked.
    original = (
        requests.open_duplicate(tx, subject_id, new.kind, purposes, categories)
        if subject_id is not None and new.kind not in UNLINKED
        else None
    )
    if original is not None:
        values.update(state=State.LINKED, duplicate_of=original.id, closed_at=now, due_at=None)
    row = requests.load_by_id(tx, requests.insert(tx, values))
    record(
        tx,
        rt,
        row,
        actor=actor,
        step="request_received",
        before=None,
        detail={"via": new.via.value, "fee_yen": row.fee_yen},
    )
    if original is not None:
        record(
            tx,
            rt,
            original,
            actor=actor,
            step="duplicate_linked",
            before=original.state,
            detail={"duplicate": row.ref},
        )
        return row
    return _first_step(tx, rt, row, actor, new)


UNLINKED = INQUIRY_KINDS | {RequestKind.CORRECTION}


def _first_step(
    tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor, new: NewRequest
) -> requests.RequestRow:
    """Inquiries and requests whose identity is already known go straight to work."""
    if new.kind in INQUIRY_KINDS:
        move(row, rt, State.IN_PROGRESS)
        requests.save(tx, row, rt.now())
        record(tx, rt, row, actor=actor, step="work_started", before=State.RECEIVED)
    elif new.identity is IdentityMethod.SIGNED_IN:
        verified(tx, rt, row, actor, IdentityMethod.SIGNED_IN)
    return row


def _checked_purposes(rt: Runtime, new: NewRequest) -> list[str]:
    unknown = sorted(
        p for p in set(new.purposes) if p not in rt.policy.rules or rt.policy.rules[p].system
    )
    if unknown:
        raise ValidationFailed(
            f"the policy declares no purpose {', '.join(unknown)}", code="unknown_purpose"
        )
    if new.purposes and new.kind not in (
        RequestKind.CESSATION_OF_USE,
        RequestKind.RESUMPTION_OF_USE,
        RequestKind.CESSATION_OF_PROVISION,
        RequestKind.RESUMPTION_OF_PROVISION,
    ):
        raise ValidationFailed(
            f"purposes are named only for cessation and resumption, not for {new.kind.value}",
            code="purposes_not_applicable",
        )
    return sorted(set(new.purposes))


def _subject_part(
    tx: Tx, rt: Runtime, actor: Actor, new: NewRequest
) -> tuple[int, bytes | None, list[str]]:
    """The subject a request is about, and a correction's values sealed under its key."""
    if not new.subject:
        raise ValidationFailed(
            f"a {new.kind.value} request needs the subject it is about", code="subject_missing"
        )
    purpose = purpose_of(new.kind)
    row = load_or_refuse(tx, rt, actor=actor, ref=new.subject, purpose=purpose, action=Action.READ)
    if row.erased_at is not None:
        raise Conflict(
            f"subject {row.ref} was erased: nothing is held to {new.kind.value.replace('_', ' ')}",
            code="already_erased",
        )
    if new.kind is RequestKind.ERASURE:
        _refuse_second_erasure(tx, row.id, row.ref)
    if new.kind is not RequestKind.CORRECTION:
        if new.values:
            raise ValidationFailed("only a correction carries values", code="values_not_applicable")
        return row.id, None, []
    if not new.values:
        raise ValidationFailed("a correction needs the values to correct", code="values_missing")
    normalized = normalize_values(rt, new.values)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.WRITE,
        categories=list(normalized),
        subjects=[row.facts()],
        detail={"operation": "correction_requested"},
    )
    assert decision.grant is not None
    assert row.key_version is not None
    sealed = rt.vault.seal(decision.grant, row.ref, row.wrapped(), row.key_version, normalized)
    return row.id, msgpack.packb(sealed), sorted(normalized)


def _refuse_second_erasure(tx: Tx, subject_id: int, ref: str) -> None:
    """An erasure that had to keep data under a legal duty is done; a second one changes nothing."""
    kept = tx.fetchone("SELECT retained_until FROM subjects WHERE id = ?", (subject_id,))
    if kept is not None and kept[0] is not None:
        raise Conflict(
            f"subject {ref} was erased already; what the law obliges keeping is kept until "
            f"{kept[0][:10]} and shredded then",
            code="already_erased",
        )
