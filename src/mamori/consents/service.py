"""Consent: append-only events per subject and purpose, and the state they imply.

An event records a grant or a withdrawal with the channel, the time, the
notice version in force and how it was given (evidence, never a personal
value). The current state is the last event per purpose; it is also kept as
a projection on the subject's row, rewritten in the same transaction as each
event, so the guard reads it without a second query. ``derive_state`` is the
definition; the projection must always equal it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict, NotFound
from mamori.guard.rules import Actor, SubjectFacts
from mamori.guard.service import authorize
from mamori.policy import service as notices
from mamori.policy.schemas import Action
from mamori.runtime import Runtime
from mamori.subjects.service import load_or_refuse

GRANTED = "granted"
WITHDRAWN = "withdrawn"


def projection_entry(granted: bool, notice: int | None, explicit: bool) -> list[int]:
    """The projected state of one purpose: [granted, notice version, explicit]."""
    return [int(granted), notice or 0, int(explicit)]


@dataclass(frozen=True)
class ConsentEventView:
    id: int
    purpose: str
    state: str
    explicit: bool
    channel: str
    at: str
    notice_version: int | None
    actor: str
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def derive_state(events: Iterable[ConsentEventView]) -> dict[str, list[int]]:
    """The consent state implied by events in order: the last word per purpose counts."""
    state: dict[str, list[int]] = {}
    for event in events:
        state[event.purpose] = projection_entry(
            event.state == GRANTED, event.notice_version, event.explicit
        )
    return state


def record(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purpose: str,
    state: str,
    channel: str,
    explicit: bool = False,
    evidence: Mapping[str, Any] | None = None,
) -> tuple[ConsentEventView | None, bool]:
    """Record a grant or withdrawal; returns the event and whether the state changed.

    Asking for the state already in force changes nothing and records nothing
    twice (a switch pressed twice); the access is still audited.
    """
    _check(rt, purpose, state, channel)
    row = load_or_refuse(
        tx,
        rt,
        actor=actor,
        ref=ref,
        purpose=purpose,
        action=Action.WRITE,
        for_update=True,
        consent_record=True,
    )
    consents = row.consents
    facts = SubjectFacts(ref, consents, (), row.erased_at is not None, {})
    detail = {"consent": state, "channel": channel, "explicit": explicit}
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.WRITE,
        categories=[],
        subjects=[facts],
        consent_record=True,
        detail=detail,
    )
    if _unchanged(consents.get(purpose), state, explicit):
        return None, False
    version = _notice_version(tx, rt, purpose, state)
    at = to_utc_text(rt.now())
    evidence_text = json.dumps(dict(evidence or {}), sort_keys=True, ensure_ascii=False)
    cursor = tx.execute(
        "INSERT INTO consent_events (subject_id, purpose, state, explicit, channel, at, notice_version,"
        " actor, evidence) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
        (row.id, purpose, state, explicit, channel, at, version, actor.name, evidence_text),
    )
    event_id = cursor.fetchone()[0]
    consents[purpose] = projection_entry(state == GRANTED, version, explicit)
    tx.execute(
        "UPDATE subjects SET consents = ?, updated_at = ? WHERE id = ?",
        (json.dumps(consents, separators=(",", ":")), at, row.id),
    )
    view = ConsentEventView(
        event_id, purpose, state, explicit, channel, at, version, actor.name, dict(evidence or {})
    )
    return view, True


def _unchanged(current: list[int] | None, state: str, explicit: bool) -> bool:
    if current is None:
        return False  # a first "no" is worth recording too (an opt-out signal, say)
    if state == WITHDRAWN:
        return not current[0]
    return bool(current[0]) and (bool(current[2]) or not explicit)


def _notice_version(tx: Tx, rt: Runtime, purpose: str, state: str) -> int | None:
    # A grant needs the purpose announced; a withdrawal is honoured whatever the notice says.
    if state == GRANTED:
        return notices.require_announced(tx, rt, [purpose])
    notice = notices.current(tx, rt)
    return notice.version if notice else None


def _check(rt: Runtime, purpose: str, state: str, channel: str) -> None:
    if state not in (GRANTED, WITHDRAWN):
        raise Conflict(
            f"a consent is either granted or withdrawn, not '{state}'", code="bad_consent_state"
        )
    rule = rt.policy.rules.get(purpose)
    if rule is not None and not rule.needs_consent:
        basis = rt.policy.purposes[purpose].legal_basis.value
        raise Conflict(
            f"purpose '{purpose}' rests on {basis}, not on consent", code="consent_not_applicable"
        )
    if channel not in rt.policy.channels and channel not in CONSENT_CHANNELS:
        raise NotFound(f"the policy declares no channel '{channel}'", code="unknown_channel")


# Ways a person can change a consent that are not collection channels.
CONSENT_CHANNELS = frozenset({"staff", "privacy_center", "gpc", "unsubscribe_link"})


def history(tx: Tx, rt: Runtime, *, actor: Actor, ref: str, purpose: str) -> list[ConsentEventView]:
    """A subject's consent events, oldest first: all of them for a system purpose."""
    row = load_or_refuse(
        tx, rt, actor=actor, ref=ref, purpose=purpose, action=Action.READ, consent_record=True
    )
    facts = SubjectFacts(ref, row.consents, (), False, {})
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.READ,
        categories=[],
        subjects=[facts],
        consent_record=True,
        detail={"consent_history": True},
    )
    system = purpose in rt.policy.rules and rt.policy.rules[purpose].system
    sql = "SELECT id, purpose, state, explicit, channel, at, notice_version, actor, evidence FROM consent_events WHERE subject_id = ?"
    params: tuple[Any, ...] = (row.id,)
    if not system:
        sql += " AND purpose = ?"
        params = (row.id, purpose)
    rows = tx.fetchall(sql + " ORDER BY id", params)
    return [
        ConsentEventView(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], json.loads(r[8]))
        for r in rows
    ]


def events_for(tx: Tx, subject_id: int) -> list[ConsentEventView]:
    rows = tx.fetchall(
        "SELECT id, purpose, state, explicit, channel, at, notice_version, actor, evidence"
        " FROM consent_events WHERE subject_id = ? ORDER BY id",
        (subject_id,),
    )
    return [
        ConsentEventView(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6], r[7], json.loads(r[8]))
        for r in rows
    ]
