"""Entrusted processors: whether their contracts hold, hand-overs, and supervision.

A hand-over to a processor (APPI Art. 27(5)(i)) is not a provision, but the
company stays responsible for what the processor does with the data
(Art. 25): it hands over only under a contract and a non-disclosure
agreement in force, only the purposes and items entrusted, leaves a record
of each hand-over, and checks the processor at the interval the policy
sets. The guard refuses a hand-over the contract does not cover
(``guard.parties``); this room gathers the subjects, writes the record in
the same transaction as the guard's entry, and builds the file. A file
never leaves without its record.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict, MamoriError, ValidationFailed
from mamori.guard.parties import HandoverTo
from mamori.guard.rules import Actor, Refusal
from mamori.guard.service import authorize, refuse
from mamori.policy.schemas import Action
from mamori.recipients import access, declarations, supervision
from mamori.recipients.export import ExportFile, ExportFormat, build
from mamori.recipients.receipts import party_snapshot
from mamori.recipients.supervision import last_supervision, supervision_due
from mamori.runtime import Runtime
from mamori.subjects import store

MAX_SUBJECTS = 100_000


# -- status ----------------------------------------------------------------------


def _in_force(start: date, until: date | None, today: date) -> bool:
    return start <= today and (until is None or today <= until)


def status(tx: Tx, rt: Runtime, key: str) -> dict[str, Any]:
    """One processor as declared, with what holds today (the company's zone)."""
    processor = rt.policy.processor(key)
    today = supervision.today(rt)
    contract = _in_force(processor.contract_from, processor.contract_until, today)
    nda = _in_force(processor.nda_signed, processor.nda_until, today)
    last = last_supervision(tx, key)
    due = supervision_due(processor, date.fromisoformat(last["done_on"]) if last else None, today)
    declared = processor.model_dump(mode="json")
    return {
        "key": key,
        "name": declared["name"],
        "service": declared["service"],
        "address": declared["address"],
        "country": processor.country,
        "foreign": declared["foreign"],
        "purposes": processor.purposes,
        "categories": processor.categories,
        "contract": {
            **_span(processor.contract_from, processor.contract_until),
            "in_force": contract,
        },
        "nda": {**_span(processor.nda_signed, processor.nda_until), "in_force": nda},
        "usable": contract and nda,
        "subprocessors": declared["subprocessors"],
        "supervision": {**due, "last_outcome": last["outcome"] if last else None},
        "version": declarations.current_version(tx, rt, declarations.PROCESSOR, key),
    }


def _span(start: date, until: date | None) -> dict[str, str | None]:
    return {"from": start.isoformat(), "until": until.isoformat() if until else None}


def statuses(tx: Tx, rt: Runtime) -> list[dict[str, Any]]:
    """Every declared processor's status, in the policy's order."""
    return [status(tx, rt, key) for key in rt.policy.processors]


# -- hand-over -------------------------------------------------------------------


@dataclass(frozen=True)
class HandoverResult:
    record: dict[str, Any]
    refused: list[Refusal]
    export: ExportFile


def _candidates(
    tx: Tx, refs: Sequence[str] | None, kind: str | None, channel: str | None
) -> tuple[list[store.SubjectRow], list[Refusal]]:
    """The rows asked for: the references given (unknown ones refused), or every subject."""
    if refs is not None:
        if len(refs) > MAX_SUBJECTS:
            raise ValidationFailed(
                f"at most {MAX_SUBJECTS} subjects may be handed over at once", code="too_many"
            )
        wanted = list(dict.fromkeys(refs))
        rows = store.load_many(tx, wanted)
        found = {r.ref for r in rows}
        missing = [
            Refusal(shown_ref, "unknown_subject", f"there is no subject {shown_ref}")
            for shown_ref in (
                r if store.REF_PATTERN.fullmatch(r) else "<malformed>" for r in wanted
            )
            if shown_ref not in found
        ]
        return rows, missing
    clauses, params = ["erased_at IS NULL"], []
    for column, value in (("kind", kind), ("channel", channel)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {store.COLUMNS} FROM subjects WHERE {' AND '.join(clauses)} ORDER BY ref"
    return [store.SubjectRow.from_db(r) for r in tx.fetchall(sql, params)], []


def _default_categories(rt: Runtime, processor: str, purpose: str) -> list[str]:
    """What the processor is entrusted with that the purpose uses."""
    spec = rt.policy.processors.get(processor)
    if spec is None or purpose not in rt.policy.rules:
        return []
    return sorted(frozenset(spec.categories) & rt.policy.categories_of(purpose))


def handover(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    processor: str,
    purpose: str,
    fmt: ExportFormat,
    categories: Sequence[str] | None = None,
    refs: Sequence[str] | None = None,
    kind: str | None = None,
    channel: str | None = None,
) -> HandoverResult:
    """Hand the permitted items of the permitted subjects to a processor, with its record."""
    wanted = sorted(set(categories)) if categories else _default_categories(rt, processor, purpose)
    rows, missing = _candidates(tx, refs, kind, channel)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.EXPORT,
        categories=wanted,
        subjects=[r.facts() for r in rows],
        detail={"operation": "handover", "format": fmt.value},
        all_or_nothing=False,
        party=HandoverTo(processor),
    )
    refused = missing + decision.refusals
    grant = decision.grant
    if grant is None:
        raise _nobody(rt, actor, processor, purpose, wanted, refused)
    opened = [
        (row.ref, rt.vault.open(grant, row.ref, row.wrapped(), row.sealed_values(), wanted))
        for row in rows
        if row.ref in grant.subjects
    ]
    export = build(fmt, wanted, opened)
    ref = _write_record(tx, rt, actor, processor, purpose, wanted, len(opened), refused, export)
    return HandoverResult(_handover_view(tx, _handover_row(tx, ref)), refused, export)


def _nobody(
    rt: Runtime,
    actor: Actor,
    processor: str,
    purpose: str,
    wanted: list[str],
    refused: list[Refusal],
) -> MamoriError:
    """Nobody may be handed over: refused with the counts by rule, no record, no file."""
    counts = dict(Counter(r.rule for r in refused))
    error = Conflict(
        "nobody asked for may be handed over"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(counts.items()))})" if counts else ""),
        code="nobody_permitted",
        refused=counts,
    )
    detail = {"operation": "handover", "processor": processor, "refused": counts}
    refs = [r.ref for r in refused if r.rule != "unknown_subject"]
    entry = Entry(
        actor.name, purpose, Action.EXPORT.value, refs, wanted, "denied", "nobody_permitted", detail
    )
    return refuse(rt, error, entry)


def _write_record(
    tx: Tx,
    rt: Runtime,
    actor: Actor,
    processor: str,
    purpose: str,
    categories: list[str],
    count: int,
    refused: list[Refusal],
    export: ExportFile,
) -> str:
    version = declarations.current_version(tx, rt, declarations.PROCESSOR, processor)
    ref = access.new_ref("h")
    tx.execute(
        "INSERT INTO handovers (ref, at, actor, processor, party_version, purpose, categories,"
        " subject_count, refused_count, export_format, export_digest)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            ref,
            to_utc_text(rt.now()),
            actor.name,
            processor,
            version,
            purpose,
            json.dumps(categories),
            count,
            len(refused),
            export.format.value,
            export.digest,
        ),
    )
    return ref


_HANDOVER_COLUMNS = (
    "ref, at, actor, processor, party_version, purpose, categories, subject_count,"
    " refused_count, export_format, export_digest"
)


def _handover_row(tx: Tx, ref: str) -> Any:
    return tx.fetchone(f"SELECT {_HANDOVER_COLUMNS} FROM handovers WHERE ref = ?", (ref,))


def _handover_view(tx: Tx, row: Any) -> dict[str, Any]:
    declared = party_snapshot(tx, declarations.PROCESSOR, row[3], row[4])
    return {
        "ref": row[0],
        "at": row[1],
        "actor": row[2],
        "processor": {"key": row[3], "version": row[4], "name": declared.get("name")},
        "purpose": row[5],
        "categories": json.loads(row[6]),
        "subject_count": row[7],
        "refused_count": row[8],
        "format": row[9],
        "digest": row[10],
    }


def list_handovers(tx: Tx, rt: Runtime, *, actor: Actor, processor: str) -> list[dict[str, Any]]:
    """The hand-over records of one processor, newest first."""
    rt.policy.processor(processor)
    access.require_reader(tx, rt, actor, "hand-over records")
    rows = tx.fetchall(
        f"SELECT {_HANDOVER_COLUMNS} FROM handovers WHERE processor = ? ORDER BY at DESC, id DESC",
        (processor,),
    )
    return [_handover_view(tx, r) for r in rows]
