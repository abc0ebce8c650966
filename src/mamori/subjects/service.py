"""The registry's use cases: register, read, find, list, correct, shred.

Every function here asks the guard first (which audits the decision) and
opens or seals values only with the grant it returns. Values are validated
and normalized before they are sealed; nothing personal is ever logged,
audited or put in an error message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import NotFound, ValidationFailed
from mamori.guard.grant import Grant
from mamori.guard.rules import Actor, Refusal
from mamori.guard.service import authorize, refuse
from mamori.policy.schemas import Action, Validator
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.validation import lookup_key, normalize


@dataclass
class SubjectView:
    """One subject's values as a permitted read returns them."""

    ref: str
    kind: str
    channel: str
    created_at: str
    values: dict[str, str]
    sources: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sources = {
            c: dict(zip(("channel", "collected_at", "notice_version"), s, strict=True))
            for c, s in self.sources.items()
        }
        return {
            "ref": self.ref,
            "kind": self.kind,
            "channel": self.channel,
            "created_at": self.created_at,
            "values": self.values,
            "sources": sources,
        }


def normalize_values(rt: Runtime, values: Mapping[str, str]) -> dict[str, str]:
    """Validate every value by its category's validator; all problems at once."""
    normalized, problems = {}, []
    for category, raw in values.items():
        try:
            spec = rt.policy.category(category)
            normalized[category] = normalize(spec.validator, raw, category=category)
        except (ValidationFailed, NotFound) as exc:
            problems.append(exc.message)
    if problems:
        raise ValidationFailed("; ".join(problems), problems=problems)
    return normalized


def read(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purpose: str,
    categories: Iterable[str] | None = None,
    action: Action = Action.READ,
) -> SubjectView:
    """One subject's values for ``purpose``: all the purpose covers, or ``categories``."""
    row = load_or_refuse(tx, rt, actor=actor, ref=ref, purpose=purpose, action=action)
    wanted = _wanted(rt, purpose, row.entries, categories)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=action,
        categories=wanted,
        subjects=[row.facts()],
    )
    assert decision.grant is not None  # authorize raises when the only subject is refused
    return _open(rt, decision.grant, row, wanted)


def read_many(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    refs: Sequence[str],
    purpose: str,
    categories: Iterable[str],
    action: Action = Action.READ,
) -> tuple[list[SubjectView], list[Refusal]]:
    """Many subjects for one purpose: one decision, one audit entry, one pass."""
    rows = store.load_many(tx, refs)
    wanted = sorted(set(categories))
    found = {r.ref for r in rows}
    missing = [
        Refusal(r, "unknown_subject", f"there is no subject {r}") for r in refs if r not in found
    ]
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=action,
        categories=wanted,
        subjects=[r.facts() for r in rows],
        all_or_nothing=False,
    )
    views = []
    grant = decision.grant
    if grant is not None:
        views = [_open(rt, grant, row, wanted) for row in rows if row.ref in grant.subjects]
    return views, missing + decision.refusals


def _open(rt: Runtime, grant: Grant, row: store.SubjectRow, wanted: list[str]) -> SubjectView:
    """The granted values of one loaded row, with where each came from."""
    values = rt.vault.open(grant, row.ref, row.wrapped(), row.sealed_values(), wanted)
    sources = {c: row.source(c) for c in values}
    return SubjectView(row.ref, row.kind, row.channel, row.created_at, values, sources)


def _wanted(
    rt: Runtime, purpose: str, entries: Mapping[str, Any], categories: Iterable[str] | None
) -> list[str]:
    if categories is not None:
        return sorted(set(categories))
    covered = rt.policy.categories_of(purpose) if purpose in rt.policy.rules else frozenset()
    return sorted(c for c in entries if c in covered)


def load_or_refuse(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purpose: str,
    action: Action,
    for_update: bool = False,
    consent_record: bool = False,
) -> store.SubjectRow:
    """Load a subject for an access; an unknown reference is still a decision worth a trace.

    The caller's right to the purpose is checked first, so a refused caller
    learns nothing about which references exist.
    """
    try:
        return store.load(tx, ref, for_update=for_update)
    except NotFound as missing:
        authorize(
            tx,
            rt,
            actor=actor,
            purpose=purpose,
            action=action,
            categories=[],
            subjects=[],
            consent_record=consent_record,
        )
        shown = ref if store.REF_PATTERN.fullmatch(ref) else "<malformed>"
        entry = Entry(
            actor.name,
            purpose,
            action.value,
            [],
            [],
            "denied",
            "unknown_subject",
            {"unknown_subject": shown},
        )
        raise refuse(rt, missing, entry) from None


def find(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    purpose: str,
    email: str | None = None,
    phone: str | None = None,
) -> list[str]:
    """References of subjects whose e-mail or phone equals the one given (blind index)."""
    category, raw, validator = _lookup_target(rt, email, phone)
    digests = [
        rt.vault.blind_digest(category, lookup_key(validator, raw), v)
        for v in rt.vault.blind_versions
    ]
    refs = store.refs_by_digests(tx, category, digests)
    rows = store.load_many(tx, refs)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.READ,
        categories=[category],
        subjects=[r.facts() for r in rows],
        detail={"lookup": category},
        all_or_nothing=False,
    )
    return sorted(decision.allowed)


def _lookup_target(rt: Runtime, email: str | None, phone: str | None) -> tuple[str, str, Validator]:
    if (email is None) == (phone is None):
        raise ValidationFailed("give exactly one of an e-mail address or a phone number to look up")
    validator = Validator.EMAIL if email is not None else Validator.PHONE
    for spec in rt.policy.lookup_categories():
        if spec.validator is validator:
            return spec.key, (email or phone or ""), validator
    raise NotFound(
        f"the policy declares no look-up category for {validator.value}", code="no_lookup_category"
    )


def list_refs(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    purpose: str,
    kind: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Subjects of a kind or channel whose data may be used for ``purpose`` (no values),
    and the reference to continue after, if more may follow."""
    clauses, params = ["erased_at IS NULL"], []
    for column, value in (("kind", kind), ("channel", channel)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if after is not None:
        clauses.append("ref > ?")
        params.append(after)
    sql = f"SELECT {store.COLUMNS} FROM subjects WHERE {' AND '.join(clauses)} ORDER BY ref LIMIT ?"
    page = max(1, min(limit, 1000))
    rows = [store.SubjectRow.from_db(r) for r in tx.fetchall(sql, (*params, page))]
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.READ,
        categories=[],
        subjects=[r.facts() for r in rows],
        detail={"list": {"kind": kind, "channel": channel}},
        all_or_nothing=False,
    )
    allowed = decision.allowed
    items = [
        {"ref": r.ref, "kind": r.kind, "channel": r.channel, "created_at": r.created_at}
        for r in rows
        if r.ref in allowed
    ]
    # The cursor follows what was scanned, not what was allowed, so a page with
    # refused subjects does not end the listing early.
    next_after = rows[-1].ref if len(rows) == page else None
    return items, next_after
