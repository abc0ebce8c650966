"""Erasure at a person's request (APPI Art. 35), and what a legal duty keeps back.

Before an erasure is confirmed, ``preview`` tells the person what ends (their
membership, their subscriptions, orders and support in progress, other uses)
and what the company must keep, why and until when: a value is kept only when
a purpose with a retention duty (invoices under the Corporation Tax Act)
covers its category, the value came through a channel that announced that
purpose, and the purpose's retention, counted from the value's collection, has
not run out. ``erase`` then shreds the subject whole when nothing is kept, or
else erases everything else and stops every use but the duty's until the last
kept value's time is up; ``sweep_retained`` shreds those subjects whole then.
Everything is derived from the policy's purposes, channels and the subject's
row; no value is opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict
from mamori.guard.rules import Actor
from mamori.guard.service import authorize, refuse
from mamori.policy.schemas import Action, LegalBasis, Purpose, Text
from mamori.runtime import Runtime
from mamori.subjects import shredding, store
from mamori.subjects.changes import ERASURE, SWEEP_DUE
from mamori.subjects.service import load_or_refuse

__all__ = ["ErasurePreview", "ErasureResult", "erase", "preview", "sweep_retained"]

# Subject kinds whose channels open an account with the company: a purpose only
# such channels announce is the person's membership.
MEMBER_KINDS = frozenset({"member"})

_GROUPS: dict[str, tuple[Text, Text]] = {
    "memberships": (
        Text(ja="会員登録・アカウント", en="Memberships and accounts"),
        Text(
            ja="会員登録とアカウントは終了し、会員向けサービスはご利用いただけなくなります。",
            en="Your membership and account end, and member services are no longer available.",
        ),
    ),
    "subscriptions": (
        Text(ja="お申込みいただいた配信など", en="Subscriptions"),
        Text(
            ja="ご同意いただいたメール配信などは停止します。",
            en="The deliveries and other uses you consented to stop.",
        ),
    ),
    "services": (
        Text(ja="ご注文・サポート", en="Orders and support"),
        Text(
            ja="進行中のご注文やサポートは終了します。",
            en="Orders and support in progress end.",
        ),
    ),
    "other": (
        Text(ja="その他の利用", en="Other uses"),
        Text(
            ja="統計・分析・記録の訂正などへの利用も終わります。",
            en="Use for statistics, analyses and keeping records up to date ends too.",
        ),
    ),
}


@dataclass(frozen=True)
class KeptCategory:
    """A category an erasure must keep, the duty that keeps it, and until when."""

    category: str
    title: Text
    purpose: str
    purpose_title: Text
    reason: Text
    until: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "title": self.title.model_dump(),
            "purpose": self.purpose,
            "purpose_title": self.purpose_title.model_dump(),
            "reason": self.reason.model_dump(),
            "until": to_utc_text(self.until),
        }


@dataclass(frozen=True)
class EndingGroup:
    """Purposes whose use ends, grouped as a person thinks of them."""

    key: str
    title: Text
    note: Text
    purposes: list[Purpose]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title.model_dump(),
            "note": self.note.model_dump(),
            "purposes": [{"key": p.key, "title": p.title.model_dump()} for p in self.purposes],
        }


@dataclass
class ErasurePreview:
    """What an erasure of one subject would end, keep and erase; no values."""

    ref: str
    ends: list[EndingGroup]
    kept: list[KeptCategory]
    erased: list[str]
    retained_until: datetime | None
    titles: dict[str, Text] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "ends": [g.to_dict() for g in self.ends],
            "kept": [k.to_dict() for k in self.kept],
            "erased": [
                {"category": c, "title": self.titles[c].model_dump() if c in self.titles else None}
                for c in self.erased
            ],
            "retained_until": _text(self.retained_until),
        }


@dataclass
class ErasureResult:
    """What an erasure did: categories erased, categories kept (with reason and until)."""

    ref: str
    erased: list[str]
    kept: list[dict[str, Any]]
    retained_until: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "erased": self.erased,
            "kept": self.kept,
            "retained_until": _text(self.retained_until),
        }


@dataclass
class _Plan:
    kept: list[KeptCategory]
    erased: list[str]
    kept_for: list[str]

    @property
    def until(self) -> datetime | None:
        return max((k.until for k in self.kept), default=None)


def preview(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> ErasurePreview:
    """What erasing ``ref`` would end, keep and erase; audited as a read for dsr.erasure."""
    row = _load(tx, rt, actor=actor, ref=ref, action=Action.READ)
    plan = _plan(rt, row, rt.now())
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=ERASURE,
        action=Action.READ,
        categories=[],
        subjects=[row.facts()],
        detail={"operation": "erasure_preview"},
    )
    titles = {c: rt.policy.categories[c].title for c in plan.erased if c in rt.policy.categories}
    ends = _ends(rt, row, set(plan.kept_for))
    return ErasurePreview(ref, ends, plan.kept, plan.erased, plan.until, titles)


def erase(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> ErasureResult:
    """Erase ``ref``: whole when no duty keeps anything, else all but what a duty keeps.

    One audit entry (purpose dsr.erasure) names the categories erased and kept.
    """
    row = _load(tx, rt, actor=actor, ref=ref, action=Action.WRITE, for_update=True)
    plan = _plan(rt, row, rt.now())
    until = plan.until
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=ERASURE,
        action=Action.WRITE,
        categories=[],
        subjects=[row.facts()],
        detail={
            "operation": "erase",
            "erased": plan.erased,
            "kept": [k.category for k in plan.kept],
            "retained_until": _text(until),
        },
    )
    if until is None:
        shredding.destroy(tx, rt, subject_id=row.id, ref=ref)
    else:
        shredding.erase_categories(
            tx, rt, row, categories=plan.erased, kept_for=plan.kept_for, until=to_utc_text(until)
        )
    kept = [
        {"category": k.category, "purpose": k.purpose, "until": to_utc_text(k.until)}
        for k in plan.kept
    ]
    return ErasureResult(ref, plan.erased, kept, until)


_SELECT = f"SELECT {store.COLUMNS}, retained_until FROM subjects WHERE ref = ?"


def _load(
    tx: Tx, rt: Runtime, *, actor: Actor, ref: str, action: Action, for_update: bool = False
) -> store.SubjectRow:
    """The subject's row; an unknown one is NotFound, an erased one a Conflict, both audited."""
    found = tx.fetchone(_SELECT + (" FOR UPDATE" if for_update and tx.is_pg else ""), (ref,))
    if found is None:
        return load_or_refuse(tx, rt, actor=actor, ref=ref, purpose=ERASURE, action=action)
    row = store.SubjectRow.from_db(found[:-1])
    if row.erased_at is None and found[-1] is None:
        return row
    # The caller's right to the purpose first, so a refused caller learns nothing.
    authorize(tx, rt, actor=actor, purpose=ERASURE, action=action, categories=[], subjects=[])
    error = Conflict(
        f"subject {ref} was erased already, so there is nothing more to erase",
        code="already_erased",
    )
    detail = {"operation": "erase" if action is Action.WRITE else "erasure_preview"}
    entry = Entry(actor.name, ERASURE, action.value, [ref], [], "denied", "already_erased", detail)
    raise refuse(rt, error, entry)


def _plan(rt: Runtime, row: store.SubjectRow, now: datetime) -> _Plan:
    """Which of the subject's categories a retention duty keeps, and which purposes keep them."""
    policy = rt.policy
    # A value is still kept when it was collected after now minus the duty's retention;
    # stored times are fixed-width UTC text, so the comparison needs no parsing.
    duties = [
        (p, policy.rules[p.key], to_utc_text(now - policy.rules[p.key].retention))
        for p in policy.source.purposes
        if p.retention_duty is not None
    ]
    kept: list[KeptCategory] = []
    kept_for: set[str] = set()
    erased: list[str] = []
    for category in sorted(row.entries):
        channel, collected = row.entries[category][store.CHANNEL : store.COLLECTED_AT + 1]
        announced = policy.channel_purposes.get(channel, frozenset())
        best: KeptCategory | None = None
        for purpose, rule, cutoff in duties:
            if rule.categories is not None and category not in rule.categories:
                continue
            if purpose.key not in announced or collected <= cutoff:
                continue
            kept_for.add(purpose.key)
            until = datetime.fromisoformat(collected) + rule.retention
            if best is None or until > best.until:
                best = _kept(rt, category, purpose, until)
        if best is None:
            erased.append(category)
        else:
            kept.append(best)
    return _Plan(kept, erased, sorted(kept_for))


def _kept(rt: Runtime, category: str, purpose: Purpose, until: datetime) -> KeptCategory:
    spec = rt.policy.categories.get(category)
    title = spec.title if spec is not None else Text(ja=category, en=category)
    assert purpose.retention_duty is not None
    return KeptCategory(category, title, purpose.key, purpose.title, purpose.retention_duty, until)


def _ends(rt: Runtime, row: store.SubjectRow, kept_for: set[str]) -> list[EndingGroup]:
    """The purposes whose use ends: those the subject's channels announced, and those the
    person consented to, grouped from the policy's legal bases and channels."""
    policy = rt.policy
    channels = {row.channel, *(e[store.CHANNEL] for e in row.entries.values())}
    reached = {p for ch in channels for p in policy.channel_purposes.get(ch, frozenset())}
    granted = {p for p, state in row.consents.items() if state and state[0]}
    grouped: dict[str, list[Purpose]] = {key: [] for key in _GROUPS}
    for key in sorted(reached | granted):
        rule = policy.rules.get(key)
        if rule is None or rule.system or key in kept_for:
            continue
        purpose = policy.purposes[key]
        if purpose.legal_basis is LegalBasis.CONSENT:
            if key in granted:
                grouped["subscriptions"].append(purpose)
        elif _membership(rt, key):
            grouped["memberships"].append(purpose)
        elif purpose.legal_basis is LegalBasis.CONTRACT:
            grouped["services"].append(purpose)
        else:
            grouped["other"].append(purpose)
    return [
        EndingGroup(key, *_GROUPS[key], purposes) for key, purposes in grouped.items() if purposes
    ]


def _membership(rt: Runtime, purpose: str) -> bool:
    """A purpose only channels that enrol members announce."""
    kinds = {c.subject_kind for c in rt.policy.channels.values() if purpose in c.purposes}
    return bool(kinds) and kinds <= MEMBER_KINDS


SWEEP_BATCH = 500


def sweep_retained(rt: Runtime) -> list[str]:
    """Shred whole every partly erased subject whose retention duty has ended.

    An erasure that had to keep values for a legal duty kept them only until
    ``retained_until``; from then on nothing justifies them. Until the earliest
    such time (an installation fact every partial erasure lowers) this costs one
    select; then one pass finds every partly erased subject, those due are
    shredded in batches of their own transactions, each audited as the system
    under rule ``retention_ended`` and ledgered after its commit, and the next
    due time is kept. The workflow's periodic job (or the CLI) calls it;
    returns the references shredded.
    """
    now = to_utc_text(rt.now())
    with rt.db.transaction() as tx:
        due = tx.fetchone("SELECT value FROM installation WHERE name = ?", (SWEEP_DUE,))
        if due is None or due[0] > now:
            return []
        rows = tx.fetchall(
            "SELECT id, retained_until FROM subjects"
            " WHERE retained_until IS NOT NULL AND erased_at IS NULL"
        )
    ended = [int(i) for i, until in rows if until <= now]
    swept: list[str] = []
    for start in range(0, len(ended), SWEEP_BATCH):
        with rt.db.transaction() as tx:
            swept += _shred_ended(tx, rt, ended[start : start + SWEEP_BATCH], now)
    later = [str(until) for _, until in rows if until > now]
    with rt.db.transaction() as tx:
        current = tx.fetchone("SELECT value FROM installation WHERE name = ?", (SWEEP_DUE,))
        if current is not None and current[0] != due[0]:
            later.append(current[0])  # an erasure since the pass lowered it
        tx.execute("DELETE FROM installation WHERE name = ?", (SWEEP_DUE,))
        if later:
            tx.execute(
                "INSERT INTO installation (name, value) VALUES (?, ?)", (SWEEP_DUE, min(later))
            )
    return swept


def _shred_ended(tx: Tx, rt: Runtime, ids: list[int], now: str) -> list[str]:
    """Shred the subjects of ``ids`` that are still partly erased and due (checked again
    in this transaction); returns their references."""
    marks = ",".join("?" * len(ids))
    rows = tx.fetchall(
        f"SELECT id, ref FROM subjects WHERE id IN ({marks}) AND erased_at IS NULL"
        " AND retained_until IS NOT NULL AND retained_until <= ?",
        (*ids, now),
    )
    for subject_id, ref in rows:
        shredding.destroy(tx, rt, subject_id=int(subject_id), ref=str(ref))
    refs = sorted(str(ref) for _, ref in rows)
    if refs:
        entry = Entry("system", ERASURE, "shred", refs, [], "done", "retention_ended")
        rt.audit.append(tx, entry, at=from_utc_text(now))
    return refs


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else to_utc_text(moment)
