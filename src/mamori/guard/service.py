"""The single gate: decide an access and leave its trace in one step.

Every personal-data operation calls ``authorize``. It decides with
``rules.decide`` and appends one audit entry for the decision, allowed or
not, in the caller's transaction. A refusal of a single-subject access is
raised as ``Denied`` after its entry is written; the unit of work commits
that entry even though the operation failed (see ``mamori.db.engine``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.guard.rules import Actor, Decision, SubjectFacts, decide
from mamori.policy.schemas import Action, Channel
from mamori.runtime import Runtime


def authorize(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    purpose: str,
    action: Action,
    categories: Iterable[str],
    subjects: Sequence[SubjectFacts],
    detail: dict[str, Any] | None = None,
    all_or_nothing: bool = True,
    channel: Channel | None = None,
    consent_record: bool = False,
) -> Decision:
    """Decide and audit. With ``all_or_nothing`` any refused subject refuses the call."""
    wanted = sorted(set(categories))
    refs = [s.ref for s in subjects]
    try:
        decision = decide(
            policy=rt.policy,
            actor=actor,
            purpose=purpose,
            action=action,
            categories=wanted,
            subjects=subjects,
            now=rt.now(),
            channel=channel,
            consent_record=consent_record,
        )
    except Denied as denied:
        _record(tx, rt, actor, purpose, action, refs, wanted, "denied", denied.rule, detail)
        raise
    if decision.refusals and (all_or_nothing or decision.grant is None):
        first = decision.refusals[0]
        _record(tx, rt, actor, purpose, action, refs, wanted, "denied", first.rule, detail)
        raise Denied(first.message, rule=first.rule, subject=first.ref)
    extra = dict(detail or {})
    if decision.refusals:
        extra["refused"] = {r.ref: r.rule for r in decision.refusals}
    allowed = [s.ref for s in subjects if s.ref in decision.allowed]
    _record(tx, rt, actor, purpose, action, allowed, wanted, "allowed", "granted", extra)
    return decision


def record_denial(
    tx: Tx, rt: Runtime, *, actor: Actor, purpose: str, action: Action, denied: Denied
) -> None:
    """Audit a refusal decided before the guard could be asked (an unknown actor, say)."""
    _record(tx, rt, actor, purpose, action, [], [], "denied", denied.rule, None)


def _record(
    tx: Tx,
    rt: Runtime,
    actor: Actor,
    purpose: str,
    action: Action,
    refs: Sequence[str],
    categories: Sequence[str],
    outcome: str,
    rule: str,
    detail: dict[str, Any] | None,
) -> None:
    entry = Entry(actor.name, purpose, action.value, refs, categories, outcome, rule, detail)
    rt.audit.append(tx, entry, at=rt.now())
