"""Erasure at a person's request: what ends, what a legal duty keeps, and that the rest is gone.

A customer who bought through ``product_purchase`` gave values through a
channel that announced ``invoicing_payment``, whose retention duty (seven years
under the Corporation Tax Act) keeps what it covers; everything else is erased
and every other use stops. A newsletter subscriber gave nothing a duty keeps and
is shredded whole. Both kinds come back after a restore of an older backup and
are cut back again at start-up (``test_erasure_restores``).
"""

from __future__ import annotations

import json
from datetime import timedelta

import msgpack
import pytest

from mamori.consents import service as consents
from mamori.crypto.ledger import LedgerEntry
from mamori.db.base import from_utc_text
from mamori.dsr import erasure
from mamori.errors import Conflict, Denied, NotFound
from mamori.runtime import Runtime
from mamori.subjects import changes, service
from tests.conftest import Clock, actor
from tests.dsr.erasure_support import (
    EMAIL,
    INVOICING,
    KANA,
    audit_rows,
    customer,
    erase,
    row_of,
    sealed_tokens,
    subscriber,
)
from tests.factories import register_customer
from tests.plaintext import assert_absent, file_bytes, forms, table_bytes

# -- preview -------------------------------------------------------------------


def test_preview_names_what_ends_what_is_kept_and_why(rt: Runtime) -> None:
    ref, values = customer(rt)
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
    (entry,) = audit_rows(rt, "granted")[-1:]
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
    ref, values = customer(rt)
    clock.moment += timedelta(days=7 * 365 + 1)
    with rt.db.transaction() as tx:
        seen = erasure.preview(tx, rt, actor=actor("officer"), ref=ref)
    assert seen.kept == [] and seen.erased == sorted(values)
    result = erase(rt, ref)
    assert result.kept == [] and result.retained_until is None
    assert row_of(rt, ref)[:2] == (None, None)


# -- whole erasure ---------------------------------------------------------------


def test_a_subject_nothing_keeps_is_shredded_whole(rt: Runtime) -> None:
    ref, values = subscriber(rt)
    result = erase(rt, ref)
    assert result.erased == sorted(values) and result.kept == []
    wrapped, sealed, _, erased_at, until = row_of(rt, ref)
    assert (wrapped, sealed, until) == (None, None, None) and erased_at is not None
    assert rt.ledger.entries_from(0)[0][-1] == LedgerEntry(ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
    assert refused.value.rule == "subject_erased"
    (entry,) = [e for e in audit_rows(rt, "granted") if e[1] == "dsr.erasure"]
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
    ref, values = customer(rt)
    new_email = _move_email(rt, ref)
    erased = {KANA, EMAIL}
    tokens = sealed_tokens(rt, ref, erased)
    assert len(tokens) == 3  # kana, the new e-mail, the old e-mail in history
    result = erase(rt, ref)
    assert set(result.erased) == erased
    kept = {k["category"] for k in result.kept}
    assert kept == set(values) - erased
    wrapped, sealed, suspended, erased_at, until = row_of(rt, ref)
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
    assert_absent(gone, tables, "tables after a partial erasure")
    assert_absent(gone, file_bytes(rt.settings.home), "files after a partial erasure")


def _try_read(rt: Runtime, ref: str, purpose: str) -> service.SubjectView | str:
    """The values read for ``purpose``, or the rule that refused."""
    try:
        with rt.db.transaction() as tx:
            return service.read(tx, rt, actor=actor("officer"), ref=ref, purpose=purpose)
    except Denied as refused:
        return refused.rule


def test_after_partial_erasure_no_road_yields_an_erased_value(rt: Runtime) -> None:
    ref, values = customer(rt)
    new_email = _move_email(rt, ref)
    erase(rt, ref)
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
    ref, values = customer(rt)
    erase(rt, ref)
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
    ref, _ = customer(rt)
    erase(rt, ref)
    before = row_of(rt, ref)
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
    assert row_of(rt, ref) == before
    assert audit_rows(rt, "erased_category")[-1][4] == "denied"
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
    ref, _ = customer(rt)
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
    erase(rt, ref)
    with rt.db.transaction() as tx:
        left = tx.fetchone("SELECT pending FROM dsr_requests WHERE ref = 'rtest'")[0]
    assert set(msgpack.unpackb(left)) == {"user.name"}


# -- refusals --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["whole", "partial"])
def test_a_second_erasure_is_a_conflict_and_changes_nothing(rt: Runtime, kind: str) -> None:
    ref, _ = subscriber(rt) if kind == "whole" else customer(rt)
    erase(rt, ref)
    before, ledger = row_of(rt, ref), rt.ledger.size()
    for attempt in (erasure.erase, erasure.preview):
        with pytest.raises(Conflict) as refused, rt.db.transaction() as tx:
            attempt(tx, rt, actor=actor("officer"), ref=ref)
        assert refused.value.code == "already_erased"
        assert refused.value.message.endswith("nothing more to erase")
    assert row_of(rt, ref) == before and rt.ledger.size() == ledger
    assert [e[4] for e in audit_rows(rt, "already_erased")] == ["denied", "denied"]


def test_an_unknown_subject_is_not_found_and_audited(rt: Runtime) -> None:
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        erasure.erase(tx, rt, actor=actor("officer"), ref="snosuchsubject00")
    assert audit_rows(rt, "unknown_subject")[-1][1] == "dsr.erasure"


def test_only_a_role_with_the_erasure_purpose_may_erase(rt: Runtime) -> None:
    ref, _ = customer(rt)
    before = row_of(rt, ref)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        erasure.erase(tx, rt, actor=actor("sales"), ref=ref)
    assert refused.value.rule == "role_not_permitted"
    assert row_of(rt, ref) == before
