"""The single gate: decide an access and leave its trace in one step.

Every personal-data operation calls ``authorize``. It decides with
``rules.decide`` and appends one audit entry for the decision in the
caller's transaction. A refusal is raised as ``Denied`` carrying its audit
entry: the unit of work rolls back everything it did and then writes that
entry alone (``MamoriError.keep``, see ``mamori.db.engine``), so a refused
operation leaves exactly its trace and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Denied, MamoriError
from mamori.guard.parties import Party
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
    party: Party | None = None,
) -> Decision:
    """Decide and audit. With ``all_or_nothing`` any refused subject refuses the call.

    ``party`` (a provision's recipient or a hand-over's processor) is named in
    the audit entry whatever the outcome.
    """
    wanted = sorted(set(categories))
    refs = [s.ref for s in subjects]
    if party is not None:
        detail = {**(detail or {}), **party.detail()}
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
            party=party,
        )
    except Denied as static:
        entry = Entry(
            actor.name, purpose, action.value, refs, wanted, "denied", static.rule, detail
        )
        raise refuse(rt, static, entry) from None
    if decision.refusals and all_or_nothing:
        first = decision.refusals[0]
        refused = Denied(first.message, rule=first.rule, subject=first.ref)
        entry = Entry(actor.name, purpose, action.value, refs, wanted, "denied", first.rule, detail)
        raise refuse(rt, refused, entry)
    extra = dict(detail or {})
    if decision.refusals:
        extra["refused"] = {r.ref: r.rule for r in decision.refusals}
    allowed = [s.ref for s in subjects if s.ref in decision.allowed]
    _record(tx, rt, actor, purpose, action, allowed, wanted, "allowed", "granted", extra)
    return decision


def refuse(rt: Runtime, error: MamoriError, entry: Entry) -> MamoriError:
    """``error``, carrying its audit entry past the rollback of the work it refused."""

    def record(tx: Tx) -> None:
        rt.audit.append(tx, entry, at=rt.now())

    return error.keeping(record)


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
