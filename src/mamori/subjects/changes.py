"""Changes to a registered subject: correction, suspension of use or of provision,
shredding and partial erasure.

A correction keeps the replaced value as sealed history under the same
subject key. Suspension flags what the guard must refuse from the next
access on. Shredding destroys the subject's wrapped data key, so every copy
of its values (history and backups included) can no longer be opened, and
leaves a tombstone with no personal data. A partial erasure (values a legal
duty keeps) removes the other values' sealed bytes everywhere and stops every
use but the duty's, until the duty ends and the subject is shredded whole.
Every erasure is written to the ledger, so a restored backup is cut back again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict, ValidationFailed
from mamori.guard.rules import PROVISION_ALL, PROVISION_PREFIX, WILDCARD, Actor
from mamori.guard.service import authorize, refuse
from mamori.policy import service as notices
from mamori.policy.schemas import Action
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.service import load_or_refuse, normalize_values
from mamori.subjects.validation import lookup_key_of_normalized

CESSATION = "dsr.cessation"
ERASURE = "dsr.erasure"
# Installation fact: when the first retention duty of a partly erased subject ends.
SWEEP_DUE = "retention_sweep_due"


def correct(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purpose: str,
    values: Mapping[str, str],
    channel: str | None = None,
) -> list[str]:
    """Replace values, keeping the previous ones as sealed history; returns the categories."""
    if channel is not None:
        rt.policy.channel(channel)
    row = load_or_refuse(
        tx, rt, actor=actor, ref=ref, purpose=purpose, action=Action.WRITE, for_update=True
    )
    normalized = normalize_values(rt, values)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=Action.WRITE,
        categories=list(normalized),
        subjects=[row.facts()],
        detail={"operation": "correct"},
    )
    assert decision.grant is not None
    _refuse_erased_categories(tx, rt, row, normalized, actor=actor, purpose=purpose)
    notice = notices.require_announced(tx, rt, [purpose])
    now = to_utc_text(rt.now())
    sealed = row.sealed_values()
    _keep_history(tx, row, sealed, list(normalized), now, actor.name)
    assert row.key_version is not None
    sealed.update(rt.vault.seal(decision.grant, ref, row.wrapped(), row.key_version, normalized))
    source = channel or row.channel
    row.entries.update({c: [source, now, notice, sealed[c]] for c in normalized})
    tx.execute(
        "UPDATE subjects SET sealed = ?, updated_at = ? WHERE id = ?",
        (store.pack(row.entries), now, row.id),
    )
    _reindex(tx, rt, row.id, normalized)
    return sorted(normalized)


def _refuse_erased_categories(
    tx: Tx,
    rt: Runtime,
    row: store.SubjectRow,
    values: Mapping[str, str],
    *,
    actor: Actor,
    purpose: str,
) -> None:
    """A partly erased subject may have what is kept corrected, nothing new written back."""
    added = sorted(set(values) - row.entries.keys())
    if not added:
        return
    found = tx.fetchone("SELECT retained_until FROM subjects WHERE id = ?", (row.id,))
    if found is None or found[0] is None:
        return
    error = Conflict(
        f"subject {row.ref} was erased except what a legal duty keeps,"
        f" so {', '.join(added)} cannot be written back",
        code="erased_category",
    )
    detail = {"operation": "correct"}
    entry = Entry(
        actor.name, purpose, "write", [row.ref], added, "denied", "erased_category", detail
    )
    raise refuse(rt, error, entry)


def _keep_history(
    tx: Tx,
    row: store.SubjectRow,
    sealed: Mapping[str, bytes],
    categories: Sequence[str],
    now: str,
    by: str,
) -> None:
    history = [
        (
            row.id,
            c,
            row.key_version,
            sealed[c],
            *row.source(c),
            now,
            by,
        )
        for c in categories
        if c in sealed
    ]
    if history:
        tx.executemany(
            "INSERT INTO subject_value_history (subject_id, category, key_version, sealed, channel,"
            " collected_at, notice_version, replaced_at, replaced_by) VALUES (?,?,?,?,?,?,?,?,?)",
            history,
        )


def _reindex(tx: Tx, rt: Runtime, subject_id: int, values: Mapping[str, str]) -> None:
    version = rt.vault.blind_version
    for spec in rt.policy.lookup_categories():
        if spec.key in values:
            tx.execute(
                "DELETE FROM blind_indexes WHERE subject_id = ? AND category = ?",
                (subject_id, spec.key),
            )
            digest = rt.vault.blind_digest(
                spec.key, lookup_key_of_normalized(spec.validator, values[spec.key]), version
            )
            store.insert_blind(tx, [(subject_id, spec.key, version, digest)])


def set_suspension(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purposes: Sequence[str] | None,
    suspend: bool,
) -> list[str]:
    """Suspend (or resume) the use of a subject's data for purposes, or for all with None."""
    _check_purposes(rt, purposes)
    targets = [WILDCARD] if purposes is None else sorted(set(purposes))
    return _update_suspension(
        tx, rt, actor=actor, ref=ref, targets=targets, add=suspend, operation="suspend"
    )


def set_provision_stop(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purposes: Sequence[str] | None,
    stop: bool,
) -> list[str]:
    """Stop (or resume) provision of a subject's data to third parties, for purposes or all.

    Other use goes on: the guard refuses only ``provide`` (rule ``provision_stopped``).
    Returns the subject's whole suspension list.
    """
    _check_purposes(rt, purposes)
    if purposes is None:
        targets = [PROVISION_ALL]
    else:
        targets = sorted({PROVISION_PREFIX + p for p in purposes})
    return _update_suspension(
        tx, rt, actor=actor, ref=ref, targets=targets, add=stop, operation="stop_provision"
    )


def _check_purposes(rt: Runtime, purposes: Sequence[str] | None) -> None:
    unknown = sorted(set(purposes or ()) - rt.policy.rules.keys())
    if unknown:
        raise ValidationFailed(f"the policy declares no purpose {', '.join(unknown)}")


def _update_suspension(
    tx: Tx, rt: Runtime, *, actor: Actor, ref: str, targets: list[str], add: bool, operation: str
) -> list[str]:
    row = store.load(tx, ref, for_update=True)
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=CESSATION,
        action=Action.WRITE,
        categories=[],
        subjects=[row.facts()],
        detail={"operation": operation if add else _UNDO[operation], "purposes": targets},
    )
    if not add and operation == "suspend":
        _refuse_resuming_erased(tx, rt, row, actor=actor, targets=targets)
    current = set(row.suspended)
    current = current | set(targets) if add else current - set(targets)
    tx.execute(
        "UPDATE subjects SET suspended = ?, updated_at = ? WHERE id = ?",
        (json.dumps(sorted(current)), to_utc_text(rt.now()), row.id),
    )
    return sorted(current)


_UNDO = {"suspend": "resume", "stop_provision": "resume_provision"}


def _refuse_resuming_erased(
    tx: Tx, rt: Runtime, row: store.SubjectRow, *, actor: Actor, targets: list[str]
) -> None:
    """What a partial erasure stopped stays stopped: a resumption cannot undo an erasure."""
    found = tx.fetchone("SELECT retained_until FROM subjects WHERE id = ?", (row.id,))
    if found is None or found[0] is None:
        return
    error = Conflict(
        f"subject {row.ref} was erased except what a legal duty keeps,"
        " so the use of its data cannot be resumed",
        code="already_erased",
    )
    detail = {"operation": "resume", "purposes": targets}
    entry = Entry(actor.name, CESSATION, "write", [row.ref], [], "denied", "already_erased", detail)
    raise refuse(rt, error, entry)
