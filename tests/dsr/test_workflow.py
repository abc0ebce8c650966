"""The request workflow: arrival, identity, pauses, fees, endings, duplicates, refusals.

Every step is checked for its history event and its audit entry; every refused
step for its audit entry and for leaving the request as it was.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from mamori.dsr import queue, verification, workflow
from mamori.dsr import store as requests
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import IdentityMethod, Reason, State, Via
from mamori.errors import Conflict, Denied, Gone, NotFound, Unavailable, ValidationFailed
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from tests.conftest import Clock, actor
from tests.dsr.smtp import Mailbox
from tests.factories import register_customer

OFFICER = actor("officer")
# Monday 2026-11-30, 10:00 in Tokyo.
MONDAY_10 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def _new(
    rt: Runtime, kind: RequestKind = RequestKind.DISCLOSURE, **extra: object
) -> requests.RequestRow:
    ref = extra.pop("subject", None) or register_customer(rt)[0]
    with rt.db.transaction() as tx:
        return create(
            tx, rt, actor=OFFICER, new=NewRequest(kind=kind, via=Via.API, subject=str(ref), **extra)
        )  # type: ignore[arg-type]


def _load(rt: Runtime, ref: str) -> requests.RequestRow:
    with rt.db.transaction() as tx:
        return requests.load(tx, ref)


def _audit(rt: Runtime, action: str) -> list[tuple[str, str, str]]:
    with rt.db.transaction() as tx:
        return [
            (r[0], r[1], r[2])
            for r in tx.fetchall(
                "SELECT actor, outcome, rule FROM audit_entries WHERE action = ? ORDER BY seq",
                (action,),
            )
        ]


def _code(box: Mailbox) -> str:
    found = re.search(r"\b(\d{6})\b", Mailbox.text(box.messages[-1]))
    assert found, "the mail carries a six-digit code"
    return found.group(1)


def test_arrival_sets_due_date_fee_and_history(rt: Runtime, clock: Clock) -> None:
    clock.moment = MONDAY_10
    row = _new(rt)
    assert row.state is State.RECEIVED
    assert row.fee_yen == 1000  # the example policy's fee for disclosure
    # Ten business days from Monday 30 November: Monday 14 December, close of business.
    assert row.due_at == datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    assert row.assigned_to == "role:privacy_officer"
    with rt.db.transaction() as tx:
        history = requests.events(tx, row.id)
    assert [h["action"] for h in history] == ["request_received"]
    assert _audit(rt, "request_received")[-1] == ("officer", "done", "request")


def test_due_date_skips_the_year_end_closure(rt: Runtime, clock: Clock) -> None:
    clock.moment = datetime(2026, 12, 25, 1, 0, tzinfo=UTC)  # Friday 25 December, 10:00 JST
    row = _new(rt)
    # Dec 28 (1), Jan 4 (2), 5, 6, 7, 8 (6), Jan 12 (7; Jan 11 is Coming-of-Age Day), 13, 14, 15 (10).
    assert row.due_at is not None
    assert row.due_at.date() == datetime(2027, 1, 15).date()


def test_code_by_mail_verifies_and_pause_moves_due_date(
    rt: Runtime, clock: Clock, mailbox: Mailbox
) -> None:
    clock.moment = MONDAY_10
    ref, values = register_customer(rt)
    row = _new(rt, subject=ref)
    due = row.due_at
    with rt.db.transaction() as tx:
        sent = verification.send_code(tx, rt, actor=OFFICER, ref=row.ref)
    assert sent.expires_at == MONDAY_10 + timedelta(minutes=10)
    message = mailbox.messages[-1]
    assert values["user.contact.email"] in str(message["To"])
    assert _load(rt, row.ref).state is State.IDENTITY_CHECK
    clock.moment = MONDAY_10 + timedelta(minutes=5)
    with rt.db.transaction() as tx:
        verification.verify_code(tx, rt, actor=OFFICER, ref=row.ref, code=_code(mailbox))
    after = _load(rt, row.ref)
    assert after.state is State.IN_PROGRESS
    assert after.identity_method == "email_code"
    # Due at the close of business: five paused minutes move it to 9:05 the next business day.
    assert due == datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    assert after.due_at == datetime(2026, 12, 15, 0, 5, tzinfo=UTC)


def test_wrong_code_is_counted_audited_and_runs_out(
    rt: Runtime, clock: Clock, mailbox: Mailbox
) -> None:
    row = _new(rt)
    with rt.db.transaction() as tx:
        verification.send_code(tx, rt, actor=OFFICER, ref=row.ref)
    right = _code(mailbox)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
            verification.verify_code(tx, rt, actor=OFFICER, ref=row.ref, code=wrong)
        assert refused.value.rule == "identity_code_wrong"
        assert refused.value.fields["attempts_left"] == left
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        verification.verify_code(tx, rt, actor=OFFICER, ref=row.ref, code=wrong)
    assert refused.value.rule == "identity_attempts_exhausted"
    # Spent: even the right code no longer works; a new one must be sent.
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        verification.verify_code(tx, rt, actor=OFFICER, ref=row.ref, code=right)
    assert [a[1:] for a in _audit(rt, "identity_code_checked")] == [
        ("denied", "identity_code_wrong")
    ] * 4 + [("denied", "identity_attempts_exhausted"), ("denied", "identity_code_missing")]
    assert _load(rt, row.ref).state is State.IDENTITY_CHECK


def test_expired_code_is_gone_and_a_new_one_works(
    rt: Runtime, clock: Clock, mailbox: Mailbox
) -> None:
    row = _new(rt)
    with rt.db.transaction() as tx:
        verification.send_code(tx, rt, actor=OFFICER, ref=row.ref)
    first = _code(mailbox)
    clock.moment += timedelta(minutes=11)
    with pytest.raises(Gone), rt.db.transaction() as tx:
        verification.verify_code(tx, rt, actor=OFFICER, ref=row.ref, code=first)
    with rt.db.transaction() as tx:
        verification.send_code(tx, rt, actor=OFFICER, ref=row.ref)
    with rt.db.transaction() as tx:
        verification.verify_code(tx, rt, actor=OFFICER, ref=row.ref, code=_code(mailbox))
    assert _load(rt, row.ref).state is State.IN_PROGRESS


def test_mail_server_down_leaves_a_resumable_state(rt: Runtime) -> None:
    from dataclasses import replace

    from tests.dsr.smtp import free_port

    rt.settings = replace(rt.settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    row = _new(rt)
    with pytest.raises(Unavailable), rt.db.transaction() as tx:
        verification.send_code(tx, rt, actor=OFFICER, ref=row.ref)
    after = _load(rt, row.ref)
    assert after.state is State.RECEIVED
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM dsr_identity_codes")[0] == 0


def test_staff_recorded_identity_keeps_who_and_how(rt: Runtime) -> None:
    row = _new(rt)
    with rt.db.transaction() as tx:
        verification.record_identity(
            tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.PHONE_CALLBACK
        )
    after = _load(rt, row.ref)
    assert (after.identity_method, after.identity_by) == ("phone_callback", "officer")
    with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
        verification.record_identity(
            tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.EMAIL_CODE
        )


def test_duplicate_is_linked_not_worked_twice(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    first = _new(rt, subject=ref)
    second = _new(rt, subject=ref)
    assert second.state is State.LINKED
    assert second.duplicate_of == first.id
    with rt.db.transaction() as tx:
        assert [e["action"] for e in requests.events(tx, first.id)] == [
            "request_received",
            "duplicate_linked",
        ]
    # A different thing from the same person is its own request.
    third = _new(rt, RequestKind.ERASURE, subject=ref)
    assert third.state is State.RECEIVED


def test_role_without_the_purpose_is_refused_and_audited(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        create(tx, rt, actor=actor("sales"), new=NewRequest(RequestKind.ERASURE, Via.PHONE, ref))
    assert refused.value.rule == "role_not_permitted"
    assert ("sales", "denied", "role_not_permitted") in _audit(rt, "request_received")
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT count(*) FROM dsr_requests")[0] == 0


def test_unknown_and_erased_subjects_get_a_clear_answer(rt: Runtime) -> None:
    with pytest.raises(NotFound), rt.db.transaction() as tx:
        create(
            tx,
            rt,
            actor=OFFICER,
            new=NewRequest(RequestKind.DISCLOSURE, Via.API, "saaaaaaaaaaaaaaaa"),
        )
    ref, _ = register_customer(rt)
    from mamori.subjects import shredding

    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=OFFICER, ref=ref)
    with pytest.raises(Conflict) as erased, rt.db.transaction() as tx:
        create(tx, rt, actor=OFFICER, new=NewRequest(RequestKind.ERASURE, Via.API, ref))
    assert erased.value.code == "already_erased"


def test_fee_is_awaited_and_pauses_the_clock(rt: Runtime, clock: Clock) -> None:
    clock.moment = MONDAY_10
    row = _new(rt)
    with rt.db.transaction() as tx:
        verification.record_identity(
            tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.DOCUMENT_SEEN
        )
        workflow.await_fee(tx, rt, requests.load(tx, row.ref), OFFICER)
    waiting = _load(rt, row.ref)
    assert waiting.state is State.AWAITING_FEE
    clock.moment = MONDAY_10 + timedelta(days=1)  # Tuesday 10:00: one full business day paused
    with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
        workflow.record_payment(tx, rt, actor=OFFICER, ref=row.ref, amount_yen=999)
    with rt.db.transaction() as tx:
        workflow.record_payment(tx, rt, actor=OFFICER, ref=row.ref, amount_yen=1000)
    paid = _load(rt, row.ref)
    assert paid.state is State.IN_PROGRESS
    assert paid.due_at == waiting.due_at + timedelta(days=1)  # type: ignore[operator]
    assert paid.paused_seconds == 9 * 3600


def test_reject_and_withdraw_end_a_request_and_nothing_follows(rt: Runtime) -> None:
    row = _new(rt)
    with rt.db.transaction() as tx:
        workflow.reject(tx, rt, actor=OFFICER, ref=row.ref, reason=Reason.IDENTITY_NOT_VERIFIED)
    assert _load(rt, row.ref).state is State.REJECTED
    with pytest.raises(Conflict) as late, rt.db.transaction() as tx:
        workflow.withdraw(tx, rt, actor=OFFICER, ref=row.ref)
    assert late.value.code == "request_state"
    other = _new(rt, RequestKind.ERASURE)
    with rt.db.transaction() as tx:
        workflow.withdraw(tx, rt, actor=OFFICER, ref=other.ref)
    assert _load(rt, other.ref).state is State.WITHDRAWN


def test_assign_to_someone_who_may_work_it(rt: Runtime) -> None:
    row = _new(rt)
    with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
        workflow.assign(tx, rt, actor=OFFICER, ref=row.ref, to="sales")
    with pytest.raises(Denied), rt.db.transaction() as tx:
        workflow.assign(tx, rt, actor=OFFICER, ref=row.ref, to="nobody")
    with rt.db.transaction() as tx:
        from mamori.staff import service as staff

        staff.add(tx, rt, handle="deputy", roles=["privacy_officer"], by="cli:test")
        workflow.assign(tx, rt, actor=OFFICER, ref=row.ref, to="deputy")
    assert _load(rt, row.ref).assigned_to == "deputy"


def test_correction_values_are_sealed_until_applied(rt: Runtime) -> None:
    new_mail = "corrected.person@example.jp"
    row = _new(rt, RequestKind.CORRECTION, values={"user.contact.email": new_mail})
    assert row.categories == ["user.contact.email"]
    assert row.pending is not None
    assert new_mail.encode() not in row.pending
    with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
        create(
            tx,
            rt,
            actor=OFFICER,
            new=NewRequest(
                RequestKind.CORRECTION,
                Via.API,
                row.subject_ref,
                values={"user.contact.email": "not an address"},
            ),
        )


def test_queue_puts_overdue_first_and_counts(rt: Runtime, clock: Clock) -> None:
    clock.moment = MONDAY_10
    old = _new(rt)
    clock.moment = MONDAY_10 + timedelta(days=9)
    fresh = _new(rt, RequestKind.ERASURE)
    clock.moment = MONDAY_10 + timedelta(days=16)  # past the first one's due date
    with rt.db.transaction() as tx:
        listed = queue.open_requests(tx, rt, actor=OFFICER)
        numbers = queue.metrics(tx, rt, actor=OFFICER)
    with pytest.raises(Denied), rt.db.transaction() as tx:
        queue.open_requests(tx, rt, actor=actor("sales"))
    with rt.db.transaction() as tx:
        assert queue.open_requests(tx, rt, actor=actor("support")) == []  # inquiries only
    assert [r["ref"] for r in listed] == [old.ref, fresh.ref]
    assert listed[0]["overdue"] is True
    assert listed[1]["overdue"] is False
    assert numbers["open"] == 2
    assert numbers["overdue"] == 1


def test_two_corrections_are_two_requests(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    first = _new(
        rt, RequestKind.CORRECTION, subject=ref, values={"user.contact.email": "a1@example.jp"}
    )
    second = _new(
        rt, RequestKind.CORRECTION, subject=ref, values={"user.contact.email": "a2@example.jp"}
    )
    assert first.state is State.RECEIVED
    assert second.state is State.RECEIVED
