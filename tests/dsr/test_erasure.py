"""Erasure at a person's request: what ends, what a legal duty keeps, and that the rest is gone.

A customer who bought through ``product_purchase`` gave values through a
channel that announced ``invoicing_payment``, whose retention duty (seven years
under the Corporation Tax Act) keeps what it covers; everything else is erased
and every other use stops. A newsletter subscriber gave nothing a duty keeps and
is shredded whole. Both kinds come back after a restore of an older backup and
are cut back again at start-up; a kept subject is shredded whole once the duty ends.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgpack
import pytest

from mamori import boot
from mamori.consents import service as consents
from mamori.crypto.ledger import LedgerEntry
from mamori.db.base import from_utc_text, to_utc_text
from mamori.dsr import erasure
from mamori.errors import Conflict, Denied, NotFound
from mamori.runtime import Runtime
from mamori.subjects import changes, service, shredding
from tests.backups import backup_sqlite, restore, restore_sqlite, snapshot
from tests.conftest import Clock, actor
from tests.factories import register_customer
from tests.test_no_plaintext import _assert_absent, file_bytes, forms, table_bytes

INVOICING = "invoicing_payment"
KANA = "user.name.kana"
EMAIL = "user.contact.email"


def _customer(rt: Runtime) -> tuple[str, dict[str, str]]:
    """A buyer: every value came through product_purchase, which announces invoicing."""
    return register_customer(rt)


def _subscriber(rt: Runtime) -> tuple[str, dict[str, str]]:
    """A newsletter subscriber: nothing a retention duty keeps."""
    return register_customer(
        rt,
        by=actor("officer"),
        channel="email_subscription",
        purpose="email_delivery",
        consents=["email_delivery"],
    )


def _erase(rt: Runtime, ref: str) -> erasure.ErasureResult:
    with rt.db.transaction() as tx:
        return erasure.erase(tx, rt, actor=actor("officer"), ref=ref)


def _row(rt: Runtime, ref: str) -> tuple[Any, ...]:
    with rt.db.transaction() as tx:
        return tuple(
            tx.fetchone(
                "SELECT wrapped_key, sealed, suspended, erased_at, retained_until"
                " FROM subjects WHERE ref = ?",
                (ref,),
            )
        )


def _sealed_tokens(rt: Runtime, ref: str, categories: set[str]) -> set[bytes]:
    """The sealed bytes of ``categories``, in the row and in history."""
    with rt.db.transaction() as tx:
        sid, sealed = tx.fetchone("SELECT id, sealed FROM subjects WHERE ref = ?", (ref,))
        history = tx.fetchall(
            "SELECT category, sealed FROM subject_value_history WHERE subject_id = ?", (sid,)
        )
    tokens = {bytes(e[3]) for c, e in msgpack.unpackb(sealed).items() if c in categories}
    return tokens | {bytes(s) for c, s in history if c in categories and s is not None}


def _audit(rt: Runtime, rule: str) -> list[tuple[Any, ...]]:
    with rt.db.transaction() as tx:
        return tx.fetchall(
            "SELECT actor, purpose, action, subjects, outcome, detail FROM audit_entries"
            " WHERE rule = ? ORDER BY seq",
            (rule,),
        )


# -- preview -------------------------------------------------------------------


def test_preview_names_what_ends_what_is_kept_and_why(rt: Runtime) -> None:
    ref, values = _customer(rt)
    with rt.db.transaction() as tx:
        seen = erasure.preview(tx, rt, actor=actor("officer"), ref=ref)
    covered = rt.policy.categories_of(INVOICING)
    assert {k.category for k in seen.kept} == set(values) & covered
    assert seen.erased == sorted(set(values) - covered) and KANA in seen.erased
    duty = rt.policy.purposes[INVOICING].retention_duty
    assert all(k.purpose == INVOICING and k.reason == duty for k in seen.kept)
    assert seen.retained_until is not None
    assert seen.retained_until - rt.now() > timedelta(days=7 * 365 - 1)
    groups = {g.key: [p.key for p in g.purposes] for g in seen.ends}
    assert groups["services"] == ["purchase_fulfillment"]
    assert "registration_correction" in groups["other"]
    assert INVOICING not in {p for ps in groups.values() for p in ps}
    doc = seen.to_dict()
    assert doc["kept"][0]["reason"]["ja"] and doc["kept"][0]["until"].endswith("Z")
    assert doc["erased"][0]["title"]["en"]
    (entry,) = _audit(rt, "granted")[-1:]
    assert entry[:4] == ("officer", "dsr.erasure", "read", json.dumps([ref]))
    text = json.dumps(doc, ensure_ascii=False)
    assert not any(v in text for v in values.values())


def test_preview_groups_memberships_and_subscriptions(rt: Runtime) -> None:
    ref, _ = register_customer(
        rt,
        by=actor("officer"),
        channel="membership_registration",
        purpose="membership",
        consents=["personalization"],
    )
    with rt.db.transaction() as tx:
        seen = erasure.preview(tx, rt, actor=actor("officer"), ref=ref)
    groups = {g.key: [p.key for p in g.purposes] for g in seen.ends}
    assert groups["memberships"] == ["membership"]
    assert groups["subscriptions"] == ["personalization"]
    assert "services" not in groups
    assert seen.kept == [] and seen.retained_until is None


def test_nothing_is_kept_once_the_duty_has_run_out(rt: Runtime, clock: Clock) -> None:
    ref, values = _customer(rt)
    clock.moment += timedelta(days=7 * 365 + 1)
    with rt.db.transaction() as tx:
        seen = erasure.preview(tx, rt, actor=actor("officer"), ref=ref)
    assert seen.kept == [] and seen.erased == sorted(values)
    result = _erase(rt, ref)
    assert result.kept == [] and result.retained_until is None
    assert _row(rt, ref)[:2] == (None, None)


# -- whole erasure ---------------------------------------------------------------


def test_a_subject_nothing_keeps_is_shredded_whole(rt: Runtime) -> None:
    ref, values = _subscriber(rt)
    result = _erase(rt, ref)
    assert result.erased == sorted(values) and result.kept == []
    wrapped, sealed, _, erased_at, until = _row(rt, ref)
    assert (wrapped, sealed, until) == (None, None, None) and erased_at is not None
    assert rt.ledger.entries_from(0)[0][-1] == LedgerEntry(ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
    assert refused.value.rule == "subject_erased"
    (entry,) = [e for e in _audit(rt, "granted") if e[1] == "dsr.erasure"]
    detail = json.loads(entry[5])
    assert detail["erased"] == sorted(values) and detail["kept"] == []


# -- partial erasure -------------------------------------------------------------


def _move_email(rt: Runtime, ref: str) -> str:
    """Correct the e-mail through a channel that does not announce invoicing: now erasable."""
    new = "erase.me.shiken@example.jp"
    with rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="purchase_fulfillment",
            values={EMAIL: new},
            channel="email_subscription",
        )
    return new


def test_partial_erasure_keeps_only_what_the_duty_needs(rt: Runtime) -> None:
    ref, values = _customer(rt)
    new_email = _move_email(rt, ref)
    erased = {KANA, EMAIL}
    tokens = _sealed_tokens(rt, ref, erased)
    assert len(tokens) == 3  # kana, the new e-mail, the old e-mail in history
    result = _erase(rt, ref)
    assert set(result.erased) == erased
    kept = {k["category"] for k in result.kept}
    assert kept == set(values) - erased
    wrapped, sealed, suspended, erased_at, until = _row(rt, ref)
    assert wrapped is not None and erased_at is None
    assert set(msgpack.unpackb(sealed)) == kept
    assert INVOICING not in json.loads(suspended)
    assert "email_delivery" in json.loads(suspended)
    assert from_utc_text(until) == result.retained_until
    (last,) = rt.ledger.entries_from(0)[0][-1:]
    assert (last.ref, set(last.categories), last.kept_for) == (ref, erased, (INVOICING,))
    tables = table_bytes(rt)
    leftovers = [name for name, blob in tables.items() for t in tokens if t in blob]
    assert leftovers == [], f"sealed bytes of erased values remain in {sorted(set(leftovers))}"
    gone = {v: forms(v) for v in (values[KANA], values[EMAIL], new_email)}
    _assert_absent(gone, tables, "tables after a partial erasure")
    _assert_absent(gone, file_bytes(rt.settings.home), "files after a partial erasure")


def _try_read(rt: Runtime, ref: str, purpose: str) -> service.SubjectView | str:
    """The values read for ``purpose``, or the rule that refused."""
    try:
        with rt.db.transaction() as tx:
            return service.read(tx, rt, actor=actor("officer"), ref=ref, purpose=purpose)
    except Denied as refused:
        return refused.rule


def test_after_partial_erasure_no_road_yields_an_erased_value(rt: Runtime) -> None:
    ref, values = _customer(rt)
    new_email = _move_email(rt, ref)
    _erase(rt, ref)
    officer = actor("officer")
    for purpose in sorted(rt.policy.rules):
        outcome = _try_read(rt, ref, purpose)
        if isinstance(outcome, str):
            assert outcome == "use_suspended", purpose
            continue
        assert purpose == INVOICING or rt.policy.rules[purpose].system, purpose
        assert KANA not in outcome.values and EMAIL not in outcome.values
    with rt.db.transaction() as tx:
        asked = service.read(
            tx, rt, actor=officer, ref=ref, purpose="dsr.disclosure", categories=[KANA, EMAIL]
        )
        assert asked.values == {}
        for email in (values[EMAIL], new_email):
            assert service.find(tx, rt, actor=officer, purpose="dsr.disclosure", email=email) == []
        events = consents.history(tx, rt, actor=officer, ref=ref, purpose="dsr.disclosure")
    text = json.dumps([e.__dict__ for e in events], ensure_ascii=False, default=str)
    assert values[KANA] not in text and new_email not in text


def test_what_is_kept_opens_for_the_duty_and_nothing_else(rt: Runtime) -> None:
    ref, values = _customer(rt)
    _erase(rt, ref)
    with rt.db.transaction() as tx:
        view = service.read(tx, rt, actor=actor("accounting"), ref=ref, purpose=INVOICING)
    assert view.values["user.name"] == values["user.name"]
    for who, purpose in (("sales", "purchase_fulfillment"), ("support", "product_support")):
        with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
            service.read(tx, rt, actor=actor(who), ref=ref, purpose=purpose)
        assert refused.value.rule == "use_suspended"
    with rt.db.transaction() as tx:
        phone = values["user.contact.phone_number"]
        found = service.find(tx, rt, actor=actor("sales"), purpose=INVOICING, phone=phone)
        assert found == [ref]
        assert (
            service.find(tx, rt, actor=actor("sales"), purpose="purchase_fulfillment", phone=phone)
            == []
        )


def test_a_partly_erased_subject_gets_no_erased_category_back(rt: Runtime) -> None:
    ref, _ = _customer(rt)
    _erase(rt, ref)
    before = _row(rt, ref)
    with pytest.raises(Conflict) as refused, rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=actor("officer"),
            ref=ref,
            purpose="dsr.correction",
            values={KANA: "シケンタロウ"},
        )
    assert refused.value.code == "erased_category" and "シケンタロウ" not in refused.value.message
    assert _row(rt, ref) == before
    assert _audit(rt, "erased_category")[-1][4] == "denied"
    with rt.db.transaction() as tx:  # what is kept can still be kept accurate
        changes.correct(
            tx,
            rt,
            actor=actor("accounting"),
            ref=ref,
            purpose=INVOICING,
            values={"user.name": "訂正 試験花子"},
        )


def test_a_pending_correction_of_an_erased_category_goes_too(rt: Runtime) -> None:
    ref, _ = _customer(rt)
    now = "2026-11-30T01:00:00.000000Z"
    with rt.db.transaction() as tx:
        sid = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))[0]
        pending = msgpack.packb({KANA: b"\x01sealed-kana", "user.name": b"\x01sealed-name"})
        tx.execute(
            "INSERT INTO dsr_requests (ref, kind, state, subject_id, received_via, received_at,"
            " paused_seconds, assigned_to, purposes, categories, pending, language, fee_yen,"
            " outcome, created_by, updated_at)"
            " VALUES ('rtest', 'correction', 'received', ?, 'api', ?, 0, 'officer', '[]', '[]',"
            " ?, 'ja', 0, '{}', 'officer', ?)",
            (sid, now, pending, now),
        )
    _erase(rt, ref)
    with rt.db.transaction() as tx:
        left = tx.fetchone("SELECT pending FROM dsr_requests WHERE ref = 'rtest'")[0]
    assert set(msgpack.unpackb(left)) == {"user.name"}


# -- refusals --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["whole", "partial"])
def test_a_second_erasure_is_a_conflict_and_changes_nothing(rt: Runtime, kind: str) -> None:
    ref, _ = _subscriber(rt) if kind == "whole" else _customer(rt)
    _erase(rt, ref)
    before, ledger = _row(rt, ref), rt.ledger.size()
    for attempt in (erasure.erase, erasure.preview):
        with pytest.raises(Conflict) as refused, rt.db.transaction() as tx:
            attempt(tx, rt, actor=actor("officer"), ref=ref)
        assert refused.value.code == "already_erased"
        assert refused.value.message.endswith("nothing more to erase")
    assert _row(rt, ref) == before and rt.ledger.size() == ledger
    assert [e[4] for e in _audit(rt, "already_erased")] == ["denied", "denied"]


def test_an_unknown_subject_is_not_found_and_audited(rt: Runtime) -> None:
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        erasure.erase(tx, rt, actor=actor("officer"), ref="snosuchsubject00")
    assert _audit(rt, "unknown_subject")[-1][1] == "dsr.erasure"


def test_only_a_role_with_the_erasure_purpose_may_erase(rt: Runtime) -> None:
    ref, _ = _customer(rt)
    before = _row(rt, ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        erasure.erase(tx, rt, actor=actor("sales"), ref=ref)
    assert refused.value.rule == "role_not_permitted"
    assert _row(rt, ref) == before


# -- restores and the end of the duty --------------------------------------------


def test_a_restored_backup_is_cut_back_at_start_up(rt: Runtime) -> None:
    whole, _ = _subscriber(rt)
    part, values = _customer(rt)
    backup = snapshot(rt)
    _erase(rt, whole)
    _erase(rt, part)
    erased_row = _row(rt, part)
    restore(rt, backup)
    assert _row(rt, whole)[0] is not None and KANA in msgpack.unpackb(_row(rt, part)[1])
    again = boot.start(rt.settings, clock=rt.clock)
    try:
        assert _row(again, whole)[:2] == (None, None)
        assert _row(again, part)[1:3] == erased_row[1:3]
        assert _row(again, part)[4] == erased_row[4]
        subjects = {json.loads(e[3])[0]: e[2] for e in _audit(again, "reapplied_from_ledger")}
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
    whole, _ = _subscriber(rt)
    part, _ = _customer(rt)
    backup = backup_sqlite(rt)
    _erase(rt, whole)
    _erase(rt, part)
    restore_sqlite(rt, backup)
    restored = boot.start(rt.settings, clock=rt.clock)
    try:
        assert _row(restored, whole)[:2] == (None, None)
        assert KANA not in msgpack.unpackb(_row(restored, part)[1])
        with pytest.raises(Denied) as refused, restored.db.transaction() as tx:
            service.read(
                tx, restored, actor=actor("sales"), ref=part, purpose="purchase_fulfillment"
            )
        assert refused.value.rule == "use_suspended"
    finally:
        restored.close()


def test_the_sweep_shreds_a_kept_subject_once_the_duty_ends(rt: Runtime, clock: Clock) -> None:
    ref, _ = _customer(rt)
    other, _ = _customer(rt)
    result = _erase(rt, ref)
    assert result.retained_until is not None
    assert erasure.sweep_retained(rt) == []
    clock.moment = result.retained_until - timedelta(seconds=1)
    assert erasure.sweep_retained(rt) == []
    clock.moment = result.retained_until
    assert erasure.sweep_retained(rt) == [ref]
    assert _row(rt, ref)[:2] == (None, None) and _row(rt, ref)[3] is not None
    assert _row(rt, other)[0] is not None
    (entry,) = _audit(rt, "retention_ended")
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
    early, _ = _customer(rt)  # an older customer: their duty ends first
    clock.moment += timedelta(days=400)
    late, _ = _customer(rt)
    late_until = _erase(rt, late).retained_until
    early_until = _erase(rt, early).retained_until
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
    result = _erase(rt, ref)
    assert result.erased == [] and {k["category"] for k in result.kept} == set(values)
    suspended = json.loads(_row(rt, ref)[2])
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
    ref, _ = _customer(rt)
    _erase(rt, ref)
    before = _row(rt, ref)
    with pytest.raises(Conflict) as refused, rt.db.transaction() as tx:
        changes.set_suspension(
            tx, rt, actor=actor("officer"), ref=ref, purposes=purposes, suspend=False
        )
    assert refused.value.code == "already_erased"
    assert _row(rt, ref) == before
    assert _audit(rt, "already_erased")[-1][1] == "dsr.cessation"
