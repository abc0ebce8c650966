"""Collection: registering subjects through a channel, one, a hundred thousand or a stream.

A registration names the channel (which says the subject kind and the
purposes announced there), the purpose the data is collected for, and the
consents the person gave on the same form. The notice in force must
announce those purposes. The guard decides once for each batch; each
value is validated, sealed under the new subject's own key, and its look-up
digests, consent events and one audit entry per batch are written in the
same transaction.

``register_stream`` takes records from any iterable, batch by batch, with
memory bounded by the batch size. Validation needs no grant and no key, so
it runs in worker processes (``validation.normalize_many``) while this
process seals and writes the batch before; sealing stays here, under the
grant the guard minted, which never leaves the process.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mamori.consents.service import projection_entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import NotFound, ValidationFailed
from mamori.guard.grant import Grant
from mamori.guard.rules import Actor, SubjectFacts
from mamori.guard.service import authorize
from mamori.policy import service as notices
from mamori.policy.schemas import Action, Channel, Validator
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.pipeline import stream_validation
from mamori.subjects.validation import Problem, lookup_key_of_normalized, normalize_many

FIRST_KEY_VERSION = 1
_Row = TypeVar("_Row", bound=tuple[Any, ...])
MAX_REPORTED = 50


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


class InvalidRecords(ValidationFailed):
    """Records of a stream failed validation; nothing of the stream was registered.

    ``invalid`` counts every invalid record of the ``seen``; ``first`` holds the
    first ``MAX_REPORTED`` problems, each with the record's index in the stream.
    """

    def __init__(self, *, invalid: int, seen: int, first: list[BatchProblem]) -> None:
        more = f" (first {len(first)} shown)" if invalid > len(first) else ""
        super().__init__(
            f"{invalid} of {seen} records are invalid; nothing was registered{more}",
            problems=[f"record {p.index + 1}: {p.message}" for p in first],
        )
        self.invalid = invalid
        self.seen = seen
        self.first = first


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
    checks = _Checks(rt, channel)
    return checks.collect(records, normalize_many(checks.validators, [r.values for r in records]))


class _Checks:
    """One channel's checks of a record: its consents here, its values by ``validation``."""

    def __init__(self, rt: Runtime, channel: Channel) -> None:
        self.rt = rt
        self.channel = channel
        self.validators: dict[str, Validator] = {
            key: spec.validator for key, spec in rt.policy.categories.items()
        }
        self._consents: dict[tuple[str, ...], str | None] = {}

    def collect(
        self,
        records: Sequence[Registration],
        results: Sequence[dict[str, str] | list[Problem]],
        offset: int = 0,
    ) -> Prepared:
        """``records`` with their values' ``results``, as ``prepare`` returns them."""
        prepared = Prepared()
        refs = store.new_ref
        for index, (record, result) in enumerate(zip(records, results, strict=True), offset):
            refused = self.consent_problem(record.consents) if record.consents else None
            if refused is not None:
                prepared.problems.append(BatchProblem(index, [refused]))
            elif isinstance(result, dict):
                prepared.values.append(result)
                prepared.refs.append(refs())
            else:
                prepared.problems.append(BatchProblem(index, self.messages(result)))
        return prepared

    def consent_problem(self, consents: Sequence[str]) -> str | None:
        """Why a record may not give ``consents`` here, or None; the same for the same ones."""
        key = tuple(consents)
        if key not in self._consents:
            try:
                _check_consents(self.rt, self.channel, key)
                self._consents[key] = None
            except ValidationFailed as exc:
                self._consents[key] = exc.message
        return self._consents[key]

    def messages(self, problems: list[Problem]) -> list[str]:
        return [message or self._unknown(category) for category, message in problems]

    def _unknown(self, category: str) -> str:
        try:
            self.rt.policy.category(category)
        except NotFound as exc:
            return exc.message
        raise AssertionError(f"the policy declares {category}, yet it went unchecked")


def _check_consents(rt: Runtime, channel: Channel, consents: Sequence[str]) -> None:
    for purpose in consents:
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


def register_stream(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    channel: str,
    purpose: str,
    records: Iterable[Registration],
    batch: int = 5000,
    workers: int = 1,
    advance: Callable[[int], None] = lambda n: None,
) -> int:
    """Register every record of ``records`` in ``tx``, all or nothing; returns how many.

    Batch by batch, as ``register_many`` does each: one guard decision and one
    audit entry per batch. With ``workers``, processes validate the batches
    ahead while this one seals and writes (one keeps well ahead: validation
    costs a seventh of the writing); a stream of fewer than
    ``pipeline.POOL_THRESHOLD`` records, or in batches under
    ``pipeline.POOLED_BATCH``, is validated here. Once a record fails,
    nothing more is written, but every record is still checked, so that
    ``InvalidRecords`` counts them all; ``tx`` must then roll back.
    ``advance`` is told the size of each batch once it is done.
    """
    if batch < 1:
        raise ValueError("a batch holds at least one record")
    spec = rt.policy.channel(channel)
    checks = _Checks(rt, spec)
    write = functools.partial(write_batch, tx, rt, actor=actor, channel=spec, purpose=purpose)
    validation, chunks = stream_validation(checks.validators, records, batch, workers)
    with validation:
        registered = seen = invalid = 0
        first: list[BatchProblem] = []
        for chunk, prepared in validation.run(checks, chunks):
            seen += len(chunk)
            if prepared.problems:
                invalid += len(prepared.problems)
                first.extend(prepared.problems[: MAX_REPORTED - len(first)])
            elif not invalid:
                write(prepared=prepared, records=chunk)
                registered += len(chunk)
            advance(len(chunk))
    if invalid:
        raise InvalidRecords(invalid=invalid, seen=seen, first=first)
    return registered


def write_batch(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    channel: Channel,
    purpose: str,
    prepared: Prepared,
    records: Sequence[Registration],
    received_from: str | None = None,
) -> list[str]:
    """Authorize and write records that ``prepare`` found valid; one audit entry.

    ``received_from`` names the third party the records came from (a receipt),
    so the audit entry says where the data entered.
    """
    consented = sorted({p for r in records for p in r.consents})
    notice = notices.require_announced(tx, rt, [purpose, *consented])
    facts = _facts(prepared, records, notice)
    categories = sorted(set[str]().union(*prepared.values))
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
            **({"received_from": received_from} if received_from else {}),
        },
    )
    assert decision.grant is not None
    _write(tx, rt, channel, prepared, records, facts, notice, actor, decision.grant)
    return prepared.refs


def _facts(
    prepared: Prepared, records: Sequence[Registration], notice: int | None
) -> list[SubjectFacts]:
    """What the guard is told of each new subject: the consents given on the form."""
    return [
        SubjectFacts(
            ref,
            {p: projection_entry(True, notice, r.explicit) for p in r.consents}
            if r.consents
            else {},
            (),
            False,
            {},
        )
        for ref, r in zip(prepared.refs, records, strict=True)
    ]


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
    rows = _subject_rows(rt, spec, prepared, facts, notice, grant, now)
    ids = store.insert_rows(tx, _in_key_order(rows, 0))  # by reference
    store.insert_blind(tx, _in_key_order(_blind_rows(rt, prepared, ids), 3))  # by digest
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


def _subject_rows(
    rt: Runtime,
    spec: Channel,
    prepared: Prepared,
    facts: Sequence[SubjectFacts],
    notice: int | None,
    grant: Grant,
    now: str,
) -> list[tuple[Any, ...]]:
    """Each new subject's row: its data key, wrapped, and its values sealed under it."""
    new_data_key, seal, pack, dumps = rt.vault.new_data_key, rt.vault.seal, store.pack, store.dumps
    channel, kind = spec.key, spec.subject_kind
    rows = []
    for ref, values, fact in zip(prepared.refs, prepared.values, facts, strict=True):
        key, wrapped = new_data_key(ref)
        sealed = seal(grant, ref, key, FIRST_KEY_VERSION, values)
        entries = {c: [channel, now, notice, token] for c, token in sealed.items()}
        consents = dumps(fact.consents) if fact.consents else "{}"
        rows.append(
            (
                ref,
                kind,
                channel,
                now,
                now,
                wrapped.kek_version,
                FIRST_KEY_VERSION,
                wrapped.wrapped,
                pack(entries),
                consents,
                "[]",
            )
        )
    return rows


def _in_key_order(rows: list[_Row], key: int) -> list[_Row]:
    """``rows`` sorted by the column at ``key``, which an index holds.

    References and digests are random, so a batch in its own order would
    touch the index's pages at random; in key order it goes through them
    once, front to back. In a registry of a million subjects that is most
    of what a batch's commit costs. Row ids then follow the references
    within a batch; nothing reads meaning into them.
    """
    return sorted(rows, key=operator.itemgetter(key))


def _blind_rows(
    rt: Runtime, prepared: Prepared, ids: Mapping[str, int]
) -> list[tuple[int, str, int, bytes]]:
    lookups = [(c.key, c.validator) for c in rt.policy.lookup_categories()]
    version = rt.vault.blind_version
    digest = rt.vault.blind_digest
    out = []
    for ref, values in zip(prepared.refs, prepared.values, strict=True):
        for category, validator in lookups:
            value = values.get(category)
            if value is not None:
                key = lookup_key_of_normalized(validator, value)
                out.append((ids[ref], category, version, digest(category, key, version)))
    return out
