"""Erasure leaves nothing: no reader gets an erased subject, nothing of it can be
opened, found or written back, and a restored backup does not bring it back.
"""

from __future__ import annotations

import pytest

from mamori import boot
from mamori.consents import service as consents
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.runtime import Runtime
from mamori.subjects import changes, service, shredding
from tests.backups import backup_sqlite, restore_sqlite
from tests.conftest import actor
from tests.factories import PURPOSE, register_customer
from tests.plaintext import (
    CORRECTION,
)


def _shred(rt: Runtime, ref: str) -> None:
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)


def _subject_columns(rt: Runtime, ref: str) -> tuple[object, ...]:
    with rt.db.transaction() as tx:
        return tuple(
            tx.fetchone(
                "SELECT wrapped_key, kek_version, sealed, erased_at FROM subjects WHERE ref = ?",
                (ref,),
            )
        )


@pytest.mark.parametrize(
    "purpose", [PURPOSE, "dsr.disclosure", "invoicing_payment", "email_delivery"]
)
def test_an_erased_subject_is_refused_to_every_reader(rt: Runtime, purpose: str) -> None:
    ref, _ = register_customer(rt)
    _shred(rt, ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("officer"), ref=ref, purpose=purpose)
    assert refused.value.rule == "subject_erased"
    with pytest.raises(Denied) as refused_again, rt.db.transaction() as tx:
        service.read(
            tx, rt, actor=actor("officer"), ref=ref, purpose=purpose, categories=["user.name"]
        )
    assert refused_again.value.rule == "subject_erased"


def test_erasure_leaves_nothing_to_open_or_find(rt: Runtime) -> None:
    ref, values = register_customer(rt)
    kept, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose=CORRECTION,
            values={"user.name": "消去前 試験花子"},
        )
    _shred(rt, ref)
    wrapped, kek_version, sealed, erased_at = _subject_columns(rt, ref)
    assert (wrapped, kek_version, sealed) == (None, None, None)
    assert erased_at is not None
    with rt.db.transaction() as tx:
        sid = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))[0]
        history = tx.fetchall(
            "SELECT sealed FROM subject_value_history WHERE subject_id = ?", (sid,)
        )
        blind = tx.fetchall("SELECT id FROM blind_indexes WHERE subject_id = ?", (sid,))
    assert history and all(h[0] is None for h in history)
    assert blind == []
    officer = actor("officer")
    with rt.db.transaction() as tx:
        for category, key in (
            ("user.contact.email", "email"),
            ("user.contact.phone_number", "phone"),
        ):
            found = service.find(
                tx, rt, actor=officer, purpose="dsr.disclosure", **{key: values[category]}
            )
            assert found == []
        views, refusals = service.read_many(
            tx,
            rt,
            actor=officer,
            refs=[ref, kept],
            purpose="dsr.disclosure",
            categories=["user.name"],
        )
        listed, _ = service.list_refs(tx, rt, actor=officer, purpose=PURPOSE, limit=1000)
    assert [v.ref for v in views] == [kept]
    assert [(r.ref, r.rule) for r in refusals] == [(ref, "subject_erased")]
    assert ref not in {row["ref"] for row in listed}


def _correct_erased(tx: Tx, rt: Runtime, ref: str) -> None:
    changes.correct(
        tx,
        rt,
        actor=actor("officer"),
        ref=ref,
        purpose=CORRECTION,
        values={"user.name": "復活 試験"},
    )


def _consent_erased(tx: Tx, rt: Runtime, ref: str) -> None:
    consents.record(
        tx,
        rt,
        actor=actor("officer"),
        ref=ref,
        purpose="email_delivery",
        state=consents.GRANTED,
        channel="staff",
    )


def _shred_erased(tx: Tx, rt: Runtime, ref: str) -> None:
    shredding.shred(tx, rt, actor=actor("officer"), ref=ref)


WRITES_BACK = {"correct": _correct_erased, "consent": _consent_erased, "shred": _shred_erased}


@pytest.mark.parametrize("operation", sorted(WRITES_BACK))
def test_an_erased_subject_cannot_be_written_back(rt: Runtime, operation: str) -> None:
    ref, _ = register_customer(rt)
    _shred(rt, ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        WRITES_BACK[operation](tx, rt, ref)
    assert refused.value.rule == "subject_erased"
    assert _subject_columns(rt, ref)[:3] == (None, None, None)


def test_a_restored_backup_does_not_bring_an_erased_subject_back(rt: Runtime) -> None:
    """The backup taken before the erasure still holds the wrapped key; start-up re-erases."""
    if not rt.settings.is_sqlite:
        pytest.skip("a file backup is the SQLite case; PostgreSQL restores work the same way")
    ref, values = register_customer(rt)
    kept, kept_values = register_customer(rt)
    backup = backup_sqlite(rt)
    _shred(rt, ref)
    restore_sqlite(rt, backup)
    restored = boot.start(rt.settings, clock=rt.clock)
    try:
        with pytest.raises(Denied) as refused, restored.db.transaction() as tx:
            service.read(tx, restored, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
        assert refused.value.rule == "subject_erased"
        assert _subject_columns(restored, ref)[:3] == (None, None, None)
        with restored.db.transaction() as tx:
            view = service.read(tx, restored, actor=actor("sales"), ref=kept, purpose=PURPOSE)
            email = values["user.contact.email"]
            assert (
                service.find(
                    tx, restored, actor=actor("officer"), purpose="dsr.disclosure", email=email
                )
                == []
            )
        assert view.values["user.name"] == kept_values["user.name"]
    finally:
        restored.close()
