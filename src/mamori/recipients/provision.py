"""Provision to a third party (APPI Art. 27-29): one guarded decision, its record, its file.

A provision names a declared recipient, a purpose and what it rests on
(consent, an announced joint use, or an Art. 27(1) exception). The guard
decides once for every candidate subject; whoever it refuses is listed with
the rule and left out, never dropped in silence. The record (Art. 29) is
written in the caller's transaction before the file is handed back, so no
file leaves without its record, and a record that cannot be written leaves
no file. Records and files name subjects by reference only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict, ValidationFailed
from mamori.guard.grant import Grant
from mamori.guard.parties import ProvisionTo
from mamori.guard.rules import Actor, Refusal
from mamori.guard.service import authorize, refuse
from mamori.policy.schemas import Action, ProvisionBasis
from mamori.recipients import access, declarations
from mamori.recipients.export import ExportFile, ExportFormat, build
from mamori.runtime import Runtime
from mamori.subjects import store

MAX_REFS = 100_000
CHUNK = 2000
KEEP_YEARS, KEEP_YEARS_BY_CONTRACT = (
    3,
    1,
)  # Rule 21: three years; one when the contract is the record


@dataclass(frozen=True)
class Selection:
    """Who is to be provided: the references given, or every subject (of a kind or channel)."""

    refs: Sequence[str] | None = None
    kind: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class ProvisionResult:
    record: dict[str, Any]
    refused: list[Refusal]
    export: ExportFile


def provide(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    recipient: str,
    purpose: str,
    basis: ProvisionBasis,
    selection: Selection,
    fmt: ExportFormat,
    categories: Sequence[str] | None = None,
    exception: str | None = None,
    reason: str | None = None,
) -> ProvisionResult:
    """Provide the permitted items of every permitted subject to ``recipient``, with its record."""
    party = ProvisionTo(recipient, basis, exception, reason)
    wanted = _items(rt, party, purpose, categories)
    rows, unknown = _candidates(tx, rt, selection)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.PROVIDE,
        categories=wanted,
        subjects=[r.facts() for r in rows],
        all_or_nothing=False,
        party=party,
    )
    refused = unknown + decision.refusals
    if decision.grant is None:
        raise _nobody(rt, actor, purpose, party, wanted, rows, refused)
    included = [r for r in rows if r.ref in decision.grant.subjects]
    export = build(fmt, wanted, _opened(rt, decision.grant, included, wanted))
    record = _record(tx, rt, actor, party, purpose, wanted, included, len(refused), export)
    return ProvisionResult(record, refused, export)


def _items(
    rt: Runtime, party: ProvisionTo, purpose: str, categories: Sequence[str] | None
) -> list[str]:
    """The items chosen, or by default all the recipient may receive; never none."""
    wanted = (
        sorted(set(categories))
        if categories is not None
        else default_categories(rt, party, purpose)
    )
    if not wanted and purpose in rt.policy.rules:
        raise ValidationFailed(
            "a provision hands over at least one item; none was chosen or may be received",
            code="categories_missing",
        )
    return wanted


def default_categories(rt: Runtime, party: ProvisionTo, purpose: str) -> list[str]:
    """What the recipient may receive within the purpose (or the joint use's items)."""
    policy = rt.policy
    if purpose not in policy.rules:
        return []  # the guard refuses the unknown purpose, with its audit entry
    covered = policy.categories_of(purpose)
    if party.basis is ProvisionBasis.JOINT_USE:
        today = rt.now().astimezone(policy.zone).date()
        for use in policy.joint_uses.values():
            if party.recipient in use.users and purpose in use.purposes and use.since <= today:
                return sorted(covered & frozenset(use.categories))
        return sorted(covered)  # no joint use covers it: the guard refuses and says so
    declared = policy.recipients.get(party.recipient)
    if declared is not None and declared.categories is not None:
        return sorted(covered & frozenset(declared.categories))
    return sorted(covered)


def _candidates(
    tx: Tx, rt: Runtime, selection: Selection
) -> tuple[list[store.SubjectRow], list[Refusal]]:
    """The rows to decide on, and a refusal for each reference that names no subject."""
    if selection.refs is None:
        _check_selection(rt, selection)
        return list(_every(tx, selection.kind, selection.channel)), []
    refs = list(dict.fromkeys(selection.refs))  # a reference given twice is provided once
    rows = store.load_many(tx, refs)
    found = {r.ref for r in rows}
    unknown = [
        Refusal(r, "unknown_subject", f"there is no subject {r}") for r in refs if r not in found
    ]
    return rows, unknown


def _check_selection(rt: Runtime, selection: Selection) -> None:
    """A kind or channel the policy does not declare is a mistake, not an empty selection."""
    if selection.channel is not None:
        rt.policy.channel(selection.channel)
    kinds = {k.key for k in rt.policy.source.subject_kinds}
    if selection.kind is not None and selection.kind not in kinds:
        raise ValidationFailed(
            f"the policy declares no subject kind '{selection.kind}'", code="unknown_kind"
        )


def _every(tx: Tx, kind: str | None, channel: str | None) -> Iterator[store.SubjectRow]:
    """Every subject not erased (of a kind or channel), read in chunks by row id."""
    clauses, params = ["erased_at IS NULL", "id > ?"], []
    for column, value in (("kind", kind), ("channel", channel)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    sql = f"SELECT {store.COLUMNS} FROM subjects WHERE {' AND '.join(clauses)} ORDER BY id LIMIT ?"
    after = 0
    while True:
        chunk = tx.fetchall(sql, (after, *params, CHUNK))
        for row in chunk:
            yield store.SubjectRow.from_db(row)
        if len(chunk) < CHUNK:
            return
        after = chunk[-1][0]


def _opened(
    rt: Runtime, grant: Grant, rows: Sequence[store.SubjectRow], wanted: Sequence[str]
) -> Iterator[tuple[str, dict[str, str]]]:
    for row in rows:
        yield row.ref, rt.vault.open(grant, row.ref, row.wrapped(), row.sealed_values(), wanted)


def _nobody(
    rt: Runtime,
    actor: Actor,
    purpose: str,
    party: ProvisionTo,
    wanted: list[str],
    rows: Sequence[store.SubjectRow],
    refused: Sequence[Refusal],
) -> Exception:
    """Nobody may be provided: a refusal with the counts by rule, audited; no record, no file."""
    counts = dict(sorted(Counter(r.rule for r in refused).items()))
    shown = ", ".join(f"{rule} {n}" for rule, n in counts.items()) or "no subjects selected"
    error = Conflict(
        f"nobody may be provided to '{party.recipient}' for '{purpose}' ({shown})",
        code="nobody_to_provide",
        refused_by_rule=counts,
        problems=[f"{rule}: {n} subject(s) refused" for rule, n in counts.items()],
    )
    detail = {**party.detail(), "refused": counts}
    refs = [r.ref for r in rows]
    entry = Entry(
        actor.name,
        purpose,
        Action.PROVIDE.value,
        refs,
        wanted,
        "denied",
        "nobody_to_provide",
        detail,
    )
    return refuse(rt, error, entry)


def _record(
    tx: Tx,
    rt: Runtime,
    actor: Actor,
    party: ProvisionTo,
    purpose: str,
    wanted: list[str],
    included: Sequence[store.SubjectRow],
    refused: int,
    export: ExportFile,
) -> dict[str, Any]:
    """The provision record (Art. 29, Rule 20) and one row per subject, in ``tx``."""
    recipient = rt.policy.recipient(party.recipient)
    version = declarations.current_version(tx, rt, declarations.RECIPIENT, recipient.key)
    now = rt.now()
    years = KEEP_YEARS_BY_CONTRACT if recipient.record_by_contract else KEEP_YEARS
    record = {
        "ref": access.new_ref("p"),
        "at": to_utc_text(now),
        "actor": actor.name,
        "recipient": recipient.key,
        "party_version": version,
        "purpose": purpose,
        "categories": wanted,
        "basis": party.basis.value,
        "exception_code": party.exception if party.basis is ProvisionBasis.EXCEPTION else None,
        "reason": (party.reason or "").strip() or None,
        "subject_count": len(included),
        "refused_count": refused,
        "export_format": export.format.value,
        "export_digest": export.digest,
        "keep_until": to_utc_text(access.kept_until(rt, now, years)),
    }
    _insert(tx, record, included, party.basis)
    return record


def _insert(
    tx: Tx, record: dict[str, Any], included: Sequence[store.SubjectRow], basis: ProvisionBasis
) -> None:
    """The ``provisions`` row, then one ``provision_subjects`` row per included subject."""
    row = tx.fetchone(
        "INSERT INTO provisions (ref, at, actor, recipient, party_version, purpose, categories,"
        " basis, exception_code, reason, subject_count, refused_count, export_format,"
        " export_digest, keep_until) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        [json.dumps(v) if k == "categories" else v for k, v in record.items()],
    )
    consents = _consents_rested_on(tx, record["purpose"], [r.id for r in included], basis)
    tx.executemany(
        "INSERT INTO provision_subjects (provision_id, subject_id, consent_at, consent_notice)"
        " VALUES (?,?,?,?)",
        [(row[0], r.id, *consents.get(r.id, (None, None))) for r in included],
    )


def _consents_rested_on(
    tx: Tx, purpose: str, ids: Sequence[int], basis: ProvisionBasis
) -> dict[int, tuple[str, int | None]]:
    """Each subject's latest ``granted`` event for ``purpose``: its time and notice version.

    Fetched in bulk; for a basis other than consent nothing rested on a consent.
    """
    if basis is not ProvisionBasis.CONSENT or not ids:
        return {}
    latest = (
        "SELECT e.subject_id, e.at, e.notice_version FROM consent_events e JOIN"
        " (SELECT subject_id, MAX(id) AS id FROM consent_events"
        " WHERE purpose = ? AND state = 'granted'{only} GROUP BY subject_id) m ON e.id = m.id"
    )
    if len(ids) > 20 * CHUNK:  # most of a registry: one pass over the purpose's events
        wanted = set(ids)
        rows = tx.fetchall(latest.format(only=""), (purpose,))
        return {r[0]: (r[1], r[2]) for r in rows if r[0] in wanted}
    found: dict[int, tuple[str, int | None]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        only = f" AND subject_id IN ({','.join('?' * len(chunk))})"
        for r in tx.fetchall(latest.format(only=only), (purpose, *chunk)):
            found[r[0]] = (r[1], r[2])
    return found
