"""The registry's promises, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from mamori.errors import Conflict, Denied, NotFound, ValidationFailed
from mamori.runtime import Runtime
from mamori.subjects import changes, service, shredding
from mamori.subjects.intake import Registration, register, register_many
from mamori.synthetic import Population
from tests.backups import restore, snapshot
from tests.conftest import Clock, actor

PURCHASE = "purchase_fulfillment"


def customer_values(rt: Runtime, n: int = 0) -> dict[str, str]:
    covered = rt.policy.categories_of(PURCHASE)
    return {k: v for k, v in Population(seed=7).person(n).values.items() if k in covered}


def add_customer(rt: Runtime, n: int = 0, **extra: str) -> tuple[str, dict[str, str]]:
    values = {**customer_values(rt, n), **extra}
    with rt.db.transaction() as tx:
        ref = register(
            tx,
            rt,
            actor=actor("sales"),
            channel="product_purchase",
            purpose=PURCHASE,
            registration=Registration(values),
        )
    return ref, values


def audit_rows(rt: Runtime, where: str = "1=1") -> list[tuple[str, ...]]:
    with rt.db.transaction() as tx:
        return tx.fetchall(
            f"SELECT actor, purpose, action, outcome, rule, subjects FROM audit_entries WHERE {where} ORDER BY seq"
        )


def test_register_then_read_returns_normalized_values_with_their_source(rt: Runtime) -> None:
    ref, values = add_customer(rt)
    with rt.db.transaction() as tx:
        view = service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURCHASE)
    assert view.values["user.name"] == values["user.name"]
    assert view.values["user.contact.phone_number"].startswith("+8120")
    assert view.kind == "customer"
    channel, collected_at, notice = view.sources["user.name"]
    assert channel == "product_purchase" and notice == 1 and collected_at.startswith("2026-11-30")


def test_collection_needs_a_published_notice(bare_rt: Runtime) -> None:
    from mamori.staff import service as staff

    with bare_rt.db.transaction() as tx:
        staff.add(tx, bare_rt, handle="sales", roles=["sales"], by="cli:test")
    with pytest.raises(Conflict) as caught, bare_rt.db.transaction() as tx:
        register(
            tx,
            bare_rt,
            actor=actor("sales"),
            channel="product_purchase",
            purpose=PURCHASE,
            registration=Registration(customer_values(bare_rt)),
        )
    assert caught.value.code == "notice_missing"


def test_a_channel_collects_only_for_the_purposes_it_announces(rt: Runtime) -> None:
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        register(
            tx,
            rt,
            actor=actor("officer"),
            channel="business_card_exchange",
            purpose=PURCHASE,
            registration=Registration({"user.name": "山田 太郎"}),
        )
    assert caught.value.rule == "purpose_not_announced"
    assert audit_rows(rt, "outcome = 'denied'")[-1][4] == "purpose_not_announced"


def test_invalid_values_are_all_named_and_nothing_is_written(rt: Runtime) -> None:
    bad = {
        "user.contact.email": "not-an-address",
        "user.contact.address.postal_code": "999-9999",
        "user.name": "山田 太郎",
    }
    with pytest.raises(ValidationFailed) as caught, rt.db.transaction() as tx:
        register(
            tx,
            rt,
            actor=actor("sales"),
            channel="product_purchase",
            purpose=PURCHASE,
            registration=Registration(bad),
        )
    problems = caught.value.fields["problems"]
    assert (
        len(problems) == 2 and "user.contact.email" in problems[0] and "postal_code" in problems[1]
    )
    assert "not-an-address" not in caught.value.message and "999-9999" not in caught.value.message
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM subjects")[0] == 0


def test_a_refused_read_is_audited_and_says_why(rt: Runtime) -> None:
    ref, _ = add_customer(rt)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("marketing"), ref=ref, purpose=PURCHASE)
    assert caught.value.rule == "role_not_permitted"
    last = audit_rows(rt)[-1]
    assert last[:5] == ("marketing", PURCHASE, "read", "denied", "role_not_permitted")
    assert json.loads(last[5]) == [ref]


def test_every_read_leaves_one_entry(rt: Runtime) -> None:
    ref, _ = add_customer(rt)
    before = len(audit_rows(rt))
    for _ in range(3):
        with rt.db.transaction() as tx:
            service.read(
                tx, rt, actor=actor("sales"), ref=ref, purpose=PURCHASE, categories=["user.name"]
            )
    rows = audit_rows(rt)
    assert len(rows) == before + 3
    assert {r[:5] for r in rows[-3:]} == {("sales", PURCHASE, "read", "allowed", "granted")}


def test_an_unknown_reference_tells_a_refused_caller_nothing(rt: Runtime) -> None:
    with pytest.raises(Denied), rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("marketing"), ref="snosuchsubject00", purpose=PURCHASE)
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("sales"), ref="snosuchsubject00", purpose=PURCHASE)


def test_categories_outside_the_purpose_are_refused(rt: Runtime) -> None:
    ref, _ = add_customer(rt)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        service.read(
            tx,
            rt,
            actor=actor("sales"),
            ref=ref,
            purpose=PURCHASE,
            categories=["user.financial.bank_account"],
        )
    assert caught.value.rule == "category_outside_purpose"


def test_find_by_email_or_phone_through_the_blind_index(rt: Runtime) -> None:
    ref, values = add_customer(rt)
    add_customer(rt, 1)
    with rt.db.transaction() as tx:
        by_mail = service.find(
            tx,
            rt,
            actor=actor("sales"),
            purpose=PURCHASE,
            email=values["user.contact.email"].upper(),
        )
        digits = values["user.contact.phone_number"].replace("-", "")
        by_phone = service.find(tx, rt, actor=actor("sales"), purpose=PURCHASE, phone=digits)
    assert by_mail == [ref] and by_phone == [ref]


def test_list_by_channel_leaves_out_who_may_not_be_used(rt: Runtime) -> None:
    first, _ = add_customer(rt)
    second, _ = add_customer(rt, 1)
    with rt.db.transaction() as tx:
        changes.set_suspension(
            tx, rt, actor=actor("officer"), ref=second, purposes=[PURCHASE], suspend=True
        )
    with rt.db.transaction() as tx:
        rows, _ = service.list_refs(
            tx, rt, actor=actor("sales"), purpose=PURCHASE, channel="product_purchase"
        )
    assert [r["ref"] for r in rows] == [first]


def test_correction_keeps_sealed_history_and_moves_the_lookup(rt: Runtime) -> None:
    ref, values = add_customer(rt)
    new_mail = "corrected.address@example.com"
    with rt.db.transaction() as tx:
        done = changes.correct(
            tx,
            rt,
            actor=actor("sales"),
            ref=ref,
            purpose=PURCHASE,
            values={"user.contact.email": new_mail, "user.contact.address.postal_code": "1000001"},
        )
    assert done == ["user.contact.address.postal_code", "user.contact.email"]
    with rt.db.transaction() as tx:
        view = service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURCHASE)
        history = tx.fetchall(
            "SELECT category, sealed FROM subject_value_history ORDER BY category"
        )
        old = service.find(
            tx, rt, actor=actor("sales"), purpose=PURCHASE, email=values["user.contact.email"]
        )
        new = service.find(tx, rt, actor=actor("sales"), purpose=PURCHASE, email=new_mail)
    assert view.values["user.contact.email"] == new_mail
    assert view.values["user.contact.address.postal_code"] == "100-0001"
    assert [h[0] for h in history] == ["user.contact.address.postal_code", "user.contact.email"]
    assert all(h[1] for h in history)
    assert old == [] and new == [ref]


def test_suspension_stops_use_but_not_the_rights_of_the_person(rt: Runtime) -> None:
    ref, _ = add_customer(rt)
    with rt.db.transaction() as tx:
        changes.set_suspension(tx, rt, actor=actor("officer"), ref=ref, purposes=None, suspend=True)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURCHASE)
    assert caught.value.rule == "use_suspended"
    with rt.db.transaction() as tx:  # disclosure to the person still works
        assert service.read(
            tx, rt, actor=actor("officer"), ref=ref, purpose="dsr.disclosure"
        ).values
        changes.set_suspension(
            tx, rt, actor=actor("officer"), ref=ref, purposes=None, suspend=False
        )
    with rt.db.transaction() as tx:
        assert service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURCHASE).values


def test_shredding_is_final(rt: Runtime) -> None:
    ref, values = add_customer(rt)
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)
    for purpose, who in ((PURCHASE, "sales"), ("dsr.disclosure", "officer")):
        with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
            service.read(tx, rt, actor=actor(who), ref=ref, purpose=purpose)
        assert caught.value.rule == "subject_erased"
    with pytest.raises(Denied), rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)
    with rt.db.transaction() as tx:
        assert (
            service.find(
                tx, rt, actor=actor("sales"), purpose=PURCHASE, email=values["user.contact.email"]
            )
            == []
        )
        row = tx.fetchone(
            "SELECT wrapped_key, sealed, erased_at IS NOT NULL FROM subjects WHERE ref = ?", (ref,)
        )
    assert tuple(row) == (None, None, True)


def test_retention_runs_out(rt: Runtime, clock: Clock) -> None:
    ref, _ = add_customer(rt)
    clock.moment += rt.policy.purposes[PURCHASE].retention_period + timedelta(days=1)
    with pytest.raises(Denied) as caught, rt.db.transaction() as tx:
        service.read(tx, rt, actor=actor("sales"), ref=ref, purpose=PURCHASE)
    assert caught.value.rule == "retention_expired"


def test_a_batch_is_one_decision_and_one_entry(rt: Runtime) -> None:
    covered = rt.policy.categories_of(PURCHASE)
    records = [
        Registration({k: v for k, v in p.values.items() if k in covered})
        for p in Population(seed=3).people(1500)
    ]
    before = len(audit_rows(rt))
    with rt.db.transaction() as tx:
        refs = register_many(
            tx,
            rt,
            actor=actor("sales"),
            channel="product_purchase",
            purpose=PURCHASE,
            records=records,
        )
    rows = audit_rows(rt)
    assert len(rows) == before + 1 and json.loads(rows[-1][5]) == refs
    with rt.db.transaction() as tx:
        views, refused = service.read_many(
            tx,
            rt,
            actor=actor("sales"),
            refs=[*refs[:50], "snosuchsubject00"],
            purpose=PURCHASE,
            categories=["user.name"],
        )
    assert len(views) == 50 and [r.rule for r in refused] == ["unknown_subject"]
    assert len(audit_rows(rt)) == before + 2


def test_an_erasure_survives_a_restore_of_an_older_backup(rt: Runtime) -> None:
    from mamori import boot

    ref, _ = add_customer(rt)
    backup = snapshot(rt)
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=actor("officer"), ref=ref)
    restore(rt, backup)
    with rt.db.transaction() as tx:  # the restored database holds the key again...
        assert tx.fetchone("SELECT wrapped_key FROM subjects WHERE ref = ?", (ref,))[0] is not None
    again = boot.start(rt.settings, clock=rt.clock)  # ...until Mamori starts on it
    try:
        with pytest.raises(Denied) as caught, again.db.transaction() as tx:
            service.read(tx, again, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
        assert caught.value.rule == "subject_erased"
        with again.db.transaction() as tx:
            assert tx.fetchone("SELECT wrapped_key FROM subjects WHERE ref = ?", (ref,))[0] is None
    finally:
        again.close()
