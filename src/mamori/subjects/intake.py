"""Collection: registering subjects through a channel, one or a hundred thousand.

A registration names the channel (which says the subject kind and the
purposes announced there), the purpose the data is collected for, and the
consents the person gave on the same form. The notice in force must
announce those purposes. The guard decides once for the whole batch; each
value is validated, sealed under the new subject's own key, and its look-up
digests, consent events and one audit entry are written in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mamori.consents.service import projection_entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import ValidationFailed
from mamori.guard.grant import Grant
from mamori.guard.rules import Actor, SubjectFacts
from mamori.guard.service import authorize
from mamori.policy import service as notices
from mamori.policy.schemas import Action, Channel
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.service import normalize_values
from mamori.subjects.validation import lookup_key_of_normalized

FIRST_KEY_VERSION = 1


@dataclass(frozen=True)
class Registration:
    values: Mapping[str, str]
    consents: Sequence[str] = ()
    explicit: bool = False


@dataclass
class BatchProblem:
    index: int
    messages: list[str]

    @property
    def message(self) -> str:
        return "; ".join(self.messages)


@dataclass
class Prepared:
    refs: list[str] = field(default_factory=list)
    values: list[dict[str, str]] = field(default_factory=list)
    problems: list[BatchProblem] = field(default_factory=list)


def register(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    channel: str,
    purpose: str,
    registration: Registration,
) -> str:
    """Register one subject; returns its reference."""
    spec = rt.policy.channel(channel)
    prepared = prepare(rt, spec, [registration])
    if prepared.problems:
        problems = prepared.problems[0].messages
        raise ValidationFailed("; ".join(problems), problems=problems)
    return write_batch(
        tx,
        rt,
        actor=actor,
        channel=spec,
        purpose=purpose,
        prepared=prepared,
        records=[registration],
    )[0]


def prepare(rt: Runtime, channel: Channel, records: Sequence[Registration]) -> Prepared:
    """Validate every record; problems carry the record's index and no value."""
    prepared = Prepared()
    for index, record in enumerate(records):
        try:
            _check_consents(rt, channel, record)
            prepared.values.append(normalize_values(rt, record.values))
            prepared.refs.append(store.new_ref())
        except ValidationFailed as exc:
            prepared.problems.append(
                BatchProblem(index, exc.fields.get("problems") or [exc.message])
            )
    return prepared


def _check_consents(rt: Runtime, channel: Channel, record: Registration) -> None:
    for purpose in record.consents:
        rule = rt.policy.rules.get(purpose)
        if rule is None or not rule.needs_consent:
            raise ValidationFailed(f"'{purpose}' is not a purpose that rests on consent")
        if purpose not in channel.purposes:
            raise ValidationFailed(
                f"channel '{channel.key}' does not ask for consent to '{purpose}'"
            )


def register_many(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    channel: str,
    purpose: str,
    records: Sequence[Registration],
) -> list[str]:
    """Register a batch all or nothing: any invalid record refuses the whole batch."""
    spec = rt.policy.channel(channel)
    prepared = prepare(rt, spec, records)
    if prepared.problems:
        lines = [f"record {p.index + 1}: {p.message}" for p in prepared.problems]
        raise ValidationFailed(
            f"{len(lines)} of {len(records)} records are invalid", problems=lines
        )
    return write_batch(
        tx, rt, actor=actor, channel=spec, purpose=purpose, prepared=prepared, records=records
    )


def write_batch(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    channel: Channel,
    purpose: str,
    prepared: Prepared,
    records: Sequence[Registration],
) -> list[str]:
    """Authorize and write records that ``prepare`` found valid; one audit entry."""
    consented = sorted({p for r in records for p in r.consents})
    notice = notices.require_announced(tx, rt, [purpose, *consented])
    facts = [
        SubjectFacts(
            ref, {p: projection_entry(True, notice, r.explicit) for p in r.consents}, (), False, {}
        )
        for ref, r in zip(prepared.refs, records, strict=True)
    ]
    categories = sorted({c for v in prepared.values for c in v})
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.WRITE,
        categories=categories,
        subjects=facts,
        channel=channel,
        detail={
            "operation": "register",
            "channel": channel.key,
            "consents": consented,
            "notice": notice,
        },
    )
    assert decision.grant is not None
    _write(tx, rt, channel, prepared, records, facts, notice, actor, decision.grant)
    return prepared.refs


def _write(
    tx: Tx,
    rt: Runtime,
    spec: Channel,
    prepared: Prepared,
    records: Sequence[Registration],
    facts: Sequence[SubjectFacts],
    notice: int | None,
    actor: Actor,
    grant: Grant,
) -> None:
    now = to_utc_text(rt.now())
    rows = []
    for ref, values, fact in zip(prepared.refs, prepared.values, facts, strict=True):
        key, wrapped = rt.vault.new_data_key(ref)
        sealed = rt.vault.seal(grant, ref, key, FIRST_KEY_VERSION, values)
        entries = {c: [spec.key, now, notice, token] for c, token in sealed.items()}
        rows.append(
            (
                ref,
                spec.subject_kind,
                spec.key,
                now,
                now,
                wrapped.kek_version,
                FIRST_KEY_VERSION,
                wrapped.wrapped,
                store.pack(entries),
                store.dumps(fact.consents),
                "[]",
            )
        )
    ids = store.insert_rows(tx, rows)
    store.insert_blind(tx, _blind_rows(rt, prepared, ids))
    events = [
        (ids[ref], p, "granted", r.explicit, spec.key, now, notice, actor.name, "{}")
        for ref, r in zip(prepared.refs, records, strict=True)
        for p in r.consents
    ]
    if events:
        tx.executemany(
            "INSERT INTO consent_events (subject_id, purpose, state, explicit, channel, at,"
            " notice_version, actor, evidence) VALUES (?,?,?,?,?,?,?,?,?)",
            events,
        )


def _blind_rows(
    rt: Runtime, prepared: Prepared, ids: Mapping[str, int]
) -> list[tuple[int, str, int, bytes]]:
    lookups = [(c.key, c.validator) for c in rt.policy.lookup_categories()]
    version = rt.vault.blind_version
    out = []
    for ref, values in zip(prepared.refs, prepared.values, strict=True):
        for category, validator in lookups:
            if category in values:
                digest = rt.vault.blind_digest(
                    category, lookup_key_of_normalized(validator, values[category]), version
                )
                out.append((ids[ref], category, version, digest))
    return out
