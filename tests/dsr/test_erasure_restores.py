"""Erasures that outlive a restore, the end of a retention duty, and the ledger's lines.

An erased subject restored from an older backup (a database dump or the file
itself) is cut back again at start-up; a subject kept for a legal duty is
shredded whole once the duty ends; a resumption cannot undo a partial erasure.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import msgpack
import pytest

from mamori import boot
from mamori.crypto.ledger import LedgerEntry
from mamori.db.base import to_utc_text
from mamori.dsr import erasure
from mamori.errors import Conflict, Denied
from mamori.runtime import Runtime
from mamori.subjects import changes, service, shredding
from tests.backups import backup_sqlite, restore, restore_sqlite, snapshot
from tests.conftest import Clock, actor
from tests.dsr.erasure_support import (
    INVOICING,
    KANA,
    audit_rows,
    customer,
    erase,
    row_of,
    subscriber,
)
from tests.factories import register_customer

# -- restores and the end of the duty --------------------------------------------


def test_a_restored_backup_is_cut_back_at_start_up(rt: Runtime) -> None:
    whole, _ = subscriber(rt)
    part, values = customer(rt)
    backup = snapshot(rt)
    erase(rt, whole)
    erase(rt, part)
    erased_row = row_of(rt, part)
    restore(rt, backup)
    assert row_of(rt, whole)[0] is not None and KANA in msgpack.unpackb(row_of(rt, part)[1])
    again = boot.start(rt.settings, clock=rt.clock)
    try:
        assert row_of(again, whole)[:2] == (None, None)
        assert row_of(again, part)[1:3] == erased_row[1:3]
        assert row_of(again, part)[4] == erased_row[4]
        subjects = {json.loads(e[3])[0]: e[2] for e in audit_rows(again, "reapplied_from_ledger")}
        assert subjects == {whole: "shred", part: "erase"}
        with again.db.transaction() as tx:
            kept = service.read(tx, again, actor=actor("accounting"), ref=part, purpose=INVOICING)
        assert kept.values["user.name"] == values["user.name"]
        assert shredding.reapply_erasures(again) == []  # nothing left to redo
    finally:
        again.close()


def test_a_restored_database_file_is_cut_back_at_start_up(rt: Runtime) -> None:
    if not rt.settings.is_sqlite:
        pytest.skip("a file backup is the SQLite case; the table restore above covers both")
    whole, _ = subscriber(rt)
    part, _ = customer(rt)
    backup = backup_sqlite(rt)
    erase(rt, whole)
    erase(rt, part)
    restore_sqlite(rt, backup)
    restored = boot.start(rt.settings, clock=rt.clock)
    try:
        assert row_of(restored, whole)[:2] == (None, None)
        assert KANA not in msgpack.unpackb(row_of(restored, part)[1])
        with pytest.raises(Denied) as refused, restored.db.transaction() as tx:
            service.read(
                tx, restored, actor=actor("sales"), ref=part, purpose="purchase_fulfillment"
            )
        assert refused.value.rule == "use_suspended"
    finally:
        restored.close()


def test_the_sweep_shreds_a_kept_subject_once_the_duty_ends(rt: Runtime, clock: Clock) -> None:
    ref, _ = customer(rt)
    other, _ = customer(rt)
    result = erase(rt, ref)
    assert result.retained_until is not None
    assert erasure.sweep_retained(rt) == []
    clock.moment = result.retained_until - timedelta(seconds=1)
    assert erasure.sweep_retained(rt) == []
    clock.moment = result.retained_until
    assert erasure.sweep_retained(rt) == [ref]
    assert row_of(rt, ref)[:2] == (None, None) and row_of(rt, ref)[3] is not None
    assert row_of(rt, other)[0] is not None
    (entry,) = audit_rows(rt, "retention_ended")
    assert entry[:5] == ("system", "dsr.erasure", "shred", json.dumps([ref]), "done")
    assert rt.ledger.entries_from(0)[0][-1] == LedgerEntry(ref)
    assert erasure.sweep_retained(rt) == []
    assert _sweep_due(rt) is None


def _sweep_due(rt: Runtime) -> str | None:
    with rt.db.transaction() as tx:
        row = tx.fetchone("SELECT value FROM installation WHERE name = 'retention_sweep_due'")
    return None if row is None else str(row[0])


def test_the_sweep_waits_for_the_earliest_duty_and_keeps_the_next(
    rt: Runtime, clock: Clock
) -> None:
    early, _ = customer(rt)  # an older customer: their duty ends first
    clock.moment += timedelta(days=400)
    late, _ = customer(rt)
    late_until = erase(rt, late).retained_until
    early_until = erase(rt, early).retained_until
    assert early_until is not None and late_until is not None and early_until < late_until
    assert _sweep_due(rt) == to_utc_text(early_until)  # the later erasure lowered it
    clock.moment = early_until + timedelta(days=1)
    assert erasure.sweep_retained(rt) == [early]
    assert _sweep_due(rt) == to_utc_text(late_until)
    assert erasure.sweep_retained(rt) == []
    clock.moment = late_until
    assert erasure.sweep_retained(rt) == [late]
    assert _sweep_due(rt) is None


def test_a_subject_whose_every_value_is_kept_is_still_stopped(rt: Runtime) -> None:
    ref, values = register_customer(
        rt, by=actor("accounting"), channel="invoice_payment", purpose=INVOICING
    )
    result = erase(rt, ref)
    assert result.erased == [] and {k["category"] for k in result.kept} == set(values)
    suspended = json.loads(row_of(rt, ref)[2])
    assert INVOICING not in suspended and "registration_correction" in suspended
    (last,) = rt.ledger.entries_from(0)[0][-1:]
    assert (last.categories, last.kept_for, last.whole) == ((), (INVOICING,), False)


# -- the ledger's lines ----------------------------------------------------------


def test_ledger_lines_read_back_and_a_bare_reference_is_a_whole_shred(tmp_path: Path) -> None:
    from mamori.crypto.ledger import ErasureLedger

    ledger = ErasureLedger(tmp_path / "erasures.ledger")
    partial = LedgerEntry(
        "sbbbbbbbbbbbbbbbb", ("user.name.kana",), (INVOICING,), "2033-11-30T01:00:00.000000Z"
    )
    ledger.append(["saaaaaaaaaaaaaaaa"])
    ledger.record([partial, LedgerEntry("scccccccccccccccc", (), (INVOICING,), partial.until)])
    with ledger.path.open("ab") as handle:
        handle.write(b"sdddddddddddddddd partial garbled\nseeeeeeeeeeeeeeee partial")  # torn tail
    entries, reached = ledger.entries_from(0)
    assert entries[0] == LedgerEntry("saaaaaaaaaaaaaaaa") and entries[0].whole
    assert entries[1] == partial and not partial.whole
    assert entries[2].categories == () and entries[2].kept_for == (INVOICING,)
    assert entries[3] == LedgerEntry("sdddddddddddddddd")  # damaged: errs towards erasure
    assert len(entries) == 4 and reached < ledger.size()  # the torn line waits for its end
    assert ledger.read_from(0)[0] == [e.ref for e in entries]
    assert ledger.entries_from(reached) == ([], reached)


@pytest.mark.parametrize("purposes", [None, ["purchase_fulfillment"]])
def test_a_resumption_cannot_undo_a_partial_erasure(
    rt: Runtime, purposes: list[str] | None
) -> None:
    ref, _ = customer(rt)
    erase(rt, ref)
    before = row_of(rt, ref)
    with pytest.raises(Conflict) as refused, rt.db.transaction() as tx:
        changes.set_suspension(
            tx, rt, actor=actor("officer"), ref=ref, purposes=purposes, suspend=False
        )
    assert refused.value.code == "already_erased"
    assert row_of(rt, ref) == before
    assert audit_rows(rt, "already_erased")[-1][1] == "dsr.cessation"
