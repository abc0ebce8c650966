"""Erasure: shredding a subject whole, or cutting it back to what a legal duty keeps,
and making both good again after a restore.

Shredding destroys the subject's wrapped data key, so every copy of its values
(history and backups included) can no longer be opened, and leaves a tombstone
with no personal data. A partial erasure (values a legal duty keeps) removes the
other values' sealed bytes everywhere and stops every use but the duty's, until
the duty ends and the subject is shredded whole. Every erasure is written to the
ledger after its commit; at start-up (``mamori.boot``) a restored database is cut
back again to what the ledger says.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import msgpack

from mamori.audit.service import Entry
from mamori.crypto.ledger import LedgerEntry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.guard.rules import Actor
from mamori.guard.service import authorize
from mamori.policy.schemas import Action
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.changes import ERASURE, SWEEP_DUE


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
    destroy(tx, rt, subject_id=row.id, ref=ref)


def destroy(tx: Tx, rt: Runtime, *, subject_id: int, ref: str) -> None:
    """Shred a subject whole, ledgered after the commit; the caller has been authorized."""
    _destroy(tx, subject_id, to_utc_text(rt.now()))
    tx.after_commit.append(lambda: rt.ledger.append([ref]))


def _destroy(tx: Tx, subject_id: int, now: str) -> None:
    tx.execute(
        "UPDATE subjects SET wrapped_key = NULL, kek_version = NULL, sealed = NULL,"
        " erased_at = ?, updated_at = ? WHERE id = ?",
        (now, now, subject_id),
    )
    tx.execute("UPDATE subject_value_history SET sealed = NULL WHERE subject_id = ?", (subject_id,))
    tx.execute("DELETE FROM blind_indexes WHERE subject_id = ?", (subject_id,))


def erase_categories(
    tx: Tx,
    rt: Runtime,
    row: store.SubjectRow,
    *,
    categories: Sequence[str],
    kept_for: Sequence[str],
    until: str,
) -> list[str]:
    """Erase some of a subject's categories and stop every use but ``kept_for``; ledgered
    after the commit. The caller has been authorized. Returns the suspension list.

    The data key stays, since what is kept must still open for the duty that keeps it;
    the erased values' sealed bytes are removed from the row and from history, so
    the key no longer opens them anywhere.
    """
    suspended = _cut(tx, rt, row, categories, kept_for, until, to_utc_text(rt.now()))
    entry = LedgerEntry(row.ref, tuple(sorted(categories)), tuple(sorted(kept_for)), until)
    tx.after_commit.append(lambda: rt.ledger.record([entry]))
    return suspended


def stopped_purposes(rt: Runtime, kept_for: Iterable[str]) -> set[str]:
    """Every purpose of the policy but the system ones and ``kept_for``."""
    kept = set(kept_for)
    return {k for k, r in rt.policy.rules.items() if not r.system and k not in kept}


def _cut(
    tx: Tx,
    rt: Runtime,
    row: store.SubjectRow,
    categories: Sequence[str],
    kept_for: Sequence[str],
    until: str,
    now: str,
) -> list[str]:
    erased = sorted(set(categories))
    entries = {c: e for c, e in row.entries.items() if c not in erased}
    # Nothing is resumed by an erasure: earlier suspensions stay.
    suspended = sorted(set(row.suspended) | stopped_purposes(rt, kept_for))
    tx.execute(
        "UPDATE subjects SET sealed = ?, suspended = ?, retained_until = ?, updated_at = ?"
        " WHERE id = ?",
        (store.pack(entries), json.dumps(suspended), until, now, row.id),
    )
    # The earliest end of any duty, so the sweep looks at the registry only once one is due.
    tx.execute(
        "INSERT INTO installation (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE"
        " SET value = CASE WHEN excluded.value < installation.value THEN excluded.value"
        " ELSE installation.value END",
        (SWEEP_DUE, until),
    )
    if erased:
        marks = ",".join("?" * len(erased))
        tx.execute(
            "UPDATE subject_value_history SET sealed = NULL"
            f" WHERE subject_id = ? AND category IN ({marks})",
            (row.id, *erased),
        )
        # Only look-up categories have blind indexes: most erasures need no probe here.
        indexed = sorted({c.key for c in rt.policy.lookup_categories()} & set(erased))
        if indexed:
            tx.execute(
                "DELETE FROM blind_indexes WHERE subject_id = ?"
                f" AND category IN ({','.join('?' * len(indexed))})",
                (row.id, *indexed),
            )
        _drop_pending(tx, row.id, set(erased))
    return suspended


def _drop_pending(tx: Tx, subject_id: int, erased: set[str]) -> None:
    """Values a correction request still waits to apply are sealed under the same key:
    those of erased categories go too."""
    for request_id, pending in tx.fetchall(
        "SELECT id, pending FROM dsr_requests WHERE subject_id = ? AND pending IS NOT NULL",
        (subject_id,),
    ):
        values = msgpack.unpackb(pending)
        left = {c: v for c, v in values.items() if c not in erased}
        if len(left) != len(values):
            tx.execute(
                "UPDATE dsr_requests SET pending = ? WHERE id = ?",
                (msgpack.packb(left) if left else None, request_id),
            )


def reapply_erasures(rt: Runtime) -> list[str]:
    """Erase again every subject the erasure ledger names but the database still holds.

    That happens after a restore from a backup older than an erasure: a whole
    erasure is shredded again, a partial one cut back again. Costs a file size
    and one select when there is nothing new.
    """
    size = rt.ledger.size()
    with rt.db.transaction() as tx:
        row = tx.fetchone("SELECT value FROM installation WHERE name = 'erasure_ledger_offset'")
        offset = int(row[0]) if row else 0
        if size == offset:
            return []
        entries, reached = rt.ledger.entries_from(offset if size > offset else 0)
        latest: dict[str, LedgerEntry] = {}
        for entry in entries:  # a whole erasure outweighs any partial one of the same subject
            if entry.ref not in latest or not latest[entry.ref].whole:
                latest[entry.ref] = entry
        redone = _reshred(tx, rt, [r for r, e in latest.items() if e.whole])
        redone += _recut(tx, rt, [e for e in latest.values() if not e.whole])
        tx.execute(
            "INSERT INTO installation (name, value) VALUES ('erasure_ledger_offset', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (str(reached),),
        )
    return redone


def _reshred(tx: Tx, rt: Runtime, refs: Sequence[str]) -> list[str]:
    revived = _revived(tx, refs)
    now = to_utc_text(rt.now())
    for subject_id, _ in revived:
        _destroy(tx, subject_id, now)
    shredded = [r for _, r in revived]
    if shredded:
        entry = Entry("system", ERASURE, "shred", shredded, [], "done", "reapplied_from_ledger")
        rt.audit.append(tx, entry, at=rt.now())
    return shredded


def _recut(tx: Tx, rt: Runtime, entries: Sequence[LedgerEntry]) -> list[str]:
    """Cut back partly erased subjects a restore brought back whole."""
    by_ref = {e.ref: e for e in entries}
    now = to_utc_text(rt.now())
    cut: list[str] = []
    categories: set[str] = set()
    for row, retained_until in _rows_with_retention(tx, list(by_ref)):
        entry = by_ref[row.ref]
        if row.erased_at is not None:
            continue
        if retained_until is None or not row.entries.keys().isdisjoint(entry.categories):
            assert entry.until is not None
            _cut(tx, rt, row, entry.categories, entry.kept_for, entry.until, now)
            cut.append(row.ref)
            categories.update(entry.categories)
    if cut:
        audited = Entry(
            "system", ERASURE, "erase", cut, categories, "done", "reapplied_from_ledger"
        )
        rt.audit.append(tx, audited, at=rt.now())
    return cut


def _rows_with_retention(tx: Tx, refs: Sequence[str]) -> list[tuple[store.SubjectRow, str | None]]:
    found: list[tuple[store.SubjectRow, str | None]] = []
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = tx.fetchall(
            f"SELECT {store.COLUMNS}, retained_until FROM subjects WHERE ref IN ({marks})", chunk
        )
        found += [(store.SubjectRow.from_db(r[:-1]), r[-1]) for r in rows]
    return found


def _revived(tx: Tx, refs: Sequence[str]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found += tx.fetchall(
            f"SELECT id, ref FROM subjects WHERE ref IN ({marks}) AND erased_at IS NULL", chunk
        )
    return [(int(i), str(r)) for i, r in found]
