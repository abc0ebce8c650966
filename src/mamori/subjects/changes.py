"""Changes to a registered subject: correction, suspension of use, shredding.

A correction keeps the replaced value as sealed history under the same
subject key. Suspension flags what the guard must refuse from the next
access on. Shredding destroys the subject's wrapped data key, so every copy
of its values (history and backups included) can no longer be opened, and
leaves a tombstone with no personal data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import ValidationFailed
from mamori.guard.rules import WILDCARD, Actor
from mamori.guard.service import authorize
from mamori.policy import service as notices
from mamori.policy.schemas import Action
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.service import load_or_refuse, normalize_values
from mamori.subjects.validation import lookup_key_of_normalized

CESSATION = "dsr.cessation"
ERASURE = "dsr.erasure"


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
    unknown = sorted(set(purposes or ()) - rt.policy.rules.keys())
    if unknown:
        raise ValidationFailed(f"the policy declares no purpose {', '.join(unknown)}")
    row = store.load(tx, ref, for_update=True)
    targets = [WILDCARD] if purposes is None else sorted(set(purposes))
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=CESSATION,
        action=Action.WRITE,
        categories=[],
        subjects=[row.facts()],
        detail={"operation": "suspend" if suspend else "resume", "purposes": targets},
    )
    current = set(row.suspended)
    current = current | set(targets) if suspend else current - set(targets)
    tx.execute(
        "UPDATE subjects SET suspended = ?, updated_at = ? WHERE id = ?",
        (json.dumps(sorted(current)), to_utc_text(rt.now()), row.id),
    )
    return sorted(current)


def shred(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> None:
    """Erase a subject by destroying its data key; a tombstone without personal data remains."""
    row = store.load(tx, ref, for_update=True)
    authorize(
        tx,
        rt,
        actor=actor,
        purpose=ERASURE,
        action=Action.WRITE,
        categories=[],
        subjects=[row.facts()],
        detail={"operation": "shred", "categories": sorted(row.entries)},
    )
    _destroy(tx, row.id, to_utc_text(rt.now()))
    tx.after_commit.append(lambda: rt.ledger.append([ref]))


def _destroy(tx: Tx, subject_id: int, now: str) -> None:
    tx.execute(
        "UPDATE subjects SET wrapped_key = NULL, kek_version = NULL, sealed = NULL,"
        " erased_at = ?, updated_at = ? WHERE id = ?",
        (now, now, subject_id),
    )
    tx.execute("UPDATE subject_value_history SET sealed = NULL WHERE subject_id = ?", (subject_id,))
    tx.execute("DELETE FROM blind_indexes WHERE subject_id = ?", (subject_id,))


def reapply_erasures(rt: Runtime) -> list[str]:
    """Shred again every subject the erasure ledger names but the database still holds.

    That happens after a restore from a backup older than an erasure. Costs a
    file size and one select when there is nothing new.
    """
    size = rt.ledger.size()
    with rt.db.transaction() as tx:
        row = tx.fetchone("SELECT value FROM installation WHERE name = 'erasure_ledger_offset'")
        offset = int(row[0]) if row else 0
        if size == offset:
            return []
        refs, reached = rt.ledger.read_from(offset if size > offset else 0)
        revived = _revived(tx, refs)
        now = to_utc_text(rt.now())
        for subject_id, _ in revived:
            _destroy(tx, subject_id, now)
        if revived:
            entry = Entry(
                "system",
                ERASURE,
                "shred",
                [r for _, r in revived],
                [],
                "done",
                "reapplied_from_ledger",
            )
            rt.audit.append(tx, entry, at=rt.now())
        tx.execute(
            "INSERT INTO installation (name, value) VALUES ('erasure_ledger_offset', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (str(reached),),
        )
    return [r for _, r in revived]


def _revived(tx: Tx, refs: Sequence[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found += tx.fetchall(
            f"SELECT id, ref FROM subjects WHERE ref IN ({marks}) AND erased_at IS NULL", chunk
        )
    return [(int(i), str(r)) for i, r in found]
