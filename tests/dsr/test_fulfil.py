"""Completing each kind of request: what changes, what downstream systems hear, what the
requester receives; and that nothing is released or done twice."""

from __future__ import annotations

import json

import pytest

from mamori.dsr import fulfil, verification, workflow
from mamori.dsr import store as requests
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.delivery import deliver_due
from mamori.dsr.outbox import status_for_request
from mamori.dsr.states import IdentityMethod, State, Via
from mamori.dsr.systems import register as register_system
from mamori.errors import Conflict, Denied
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from mamori.subjects import service
from tests.conftest import actor
from tests.dsr.receiver import running_receiver
from tests.dsr.smtp import Mailbox
from tests.factories import register_customer

OFFICER = actor("officer")


def _ready(rt: Runtime, kind: RequestKind, ref: str, **extra: object) -> requests.RequestRow:
    """A request of ``kind`` about ``ref``, identity checked, fee paid: ready to complete."""
    with rt.db.transaction() as tx:
        row = create(tx, rt, actor=OFFICER, new=NewRequest(kind, Via.API, ref, **extra))  # type: ignore[arg-type]
        verification.record_identity(
            tx, rt, actor=OFFICER, ref=row.ref, method=IdentityMethod.DOCUMENT_SEEN
        )
        if row.fee_yen:
            workflow.record_payment(tx, rt, actor=OFFICER, ref=row.ref, amount_yen=row.fee_yen)
        return requests.load(tx, row.ref)


def test_disclosure_by_mail_goes_to_the_address_held(rt: Runtime, mailbox: Mailbox) -> None:
    ref, values = register_customer(rt)
    row = _ready(rt, RequestKind.DISCLOSURE, ref)
    with rt.db.transaction() as tx:
        done = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref, delivery="mail")
    assert done.download_token is None
    message = mailbox.last_to(values["user.contact.email"])
    parts = {p.get_filename(): p for p in message.iter_attachments()}
    report = next(json.loads(p.get_content()) for n, p in parts.items() if n.endswith(".json"))
    held = {v["key"]: v["value"] for v in report["values"]}
    assert held["user.contact.email"] == values["user.contact.email"]
    assert any(n.endswith(".html") for n in parts)


def test_notification_releases_purposes_without_values(rt: Runtime) -> None:
    ref, values = register_customer(rt)
    row = _ready(rt, RequestKind.NOTIFICATION, ref)
    with rt.db.transaction() as tx:
        token = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref, format="json").download_token
    assert token is not None
    with rt.db.transaction() as tx:
        body, media, _ = fulfil.download(tx, rt, token=token)
    assert media == "application/json"
    report = json.loads(body)
    assert report["purposes"]
    assert "values" not in report
    assert values["user.name"] not in body.decode()


def test_correction_applies_the_sealed_values_and_tells_systems(rt: Runtime) -> None:
    with running_receiver() as shop:
        with rt.db.transaction() as tx:
            register_system(
                tx,
                rt,
                key="web_shop",
                title="Web shop",
                url=shop.url,
                events=["correction", "erasure"],
                by="cli:test",
            )
        ref, _ = register_customer(rt)
        new_mail = "after.correction@example.jp"
        row = _ready(rt, RequestKind.CORRECTION, ref, values={"user.contact.email": new_mail})
        with rt.db.transaction() as tx:
            fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
            view = service.read(tx, rt, actor=OFFICER, ref=ref, purpose="purchase_fulfillment")
            assert view.values["user.contact.email"] == new_mail
            assert requests.load(tx, row.ref).pending is None
            assert status_for_request(tx, row.id)[0]["delivered_at"] is None
        assert deliver_due(rt).delivered == 1
        sent = json.loads(shop.posts[-1].body)
        assert sent["event"] == "correction"
        assert sent["subject"] == ref
        assert sent["detail"]["categories"] == ["user.contact.email"]
        assert new_mail not in shop.posts[-1].body.decode()
        with rt.db.transaction() as tx:
            confirmed = status_for_request(tx, row.id)
        assert confirmed[0]["system"] == "web_shop"
        assert confirmed[0]["delivered_at"] is not None


def test_cessation_and_resumption_of_use_per_purpose(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    row = _ready(rt, RequestKind.CESSATION_OF_USE, ref, purposes=["satisfaction_research"])
    with rt.db.transaction() as tx:
        fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
    with pytest.raises(Denied) as stopped, rt.db.transaction() as tx:
        service.read(tx, rt, actor=OFFICER, ref=ref, purpose="satisfaction_research")
    assert stopped.value.rule == "use_suspended"
    with rt.db.transaction() as tx:  # other purposes go on
        service.read(tx, rt, actor=OFFICER, ref=ref, purpose="purchase_fulfillment")
    back = _ready(rt, RequestKind.RESUMPTION_OF_USE, ref, purposes=["satisfaction_research"])
    with rt.db.transaction() as tx:
        fulfil.complete(tx, rt, actor=OFFICER, ref=back.ref)
        service.read(tx, rt, actor=OFFICER, ref=ref, purpose="satisfaction_research")


def test_cessation_of_provision_is_enforced_by_the_guard(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    row = _ready(rt, RequestKind.CESSATION_OF_PROVISION, ref)
    with rt.db.transaction() as tx:
        done = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
        suspended = json.loads(
            tx.fetchone("SELECT suspended FROM subjects WHERE ref = ?", (ref,))[0]
        )
    assert done.request.state is State.COMPLETED
    assert "provision:*" in suspended
    with rt.db.transaction() as tx:  # use is not stopped, only provision
        service.read(tx, rt, actor=OFFICER, ref=ref, purpose="purchase_fulfillment")


def test_a_completed_request_is_not_done_twice(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    row = _ready(rt, RequestKind.ERASURE, ref)
    with rt.db.transaction() as tx:
        fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
    with pytest.raises(Conflict) as again, rt.db.transaction() as tx:
        fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
    assert again.value.code == "request_state"


def test_an_inquiry_is_answered_and_closed(rt: Runtime) -> None:
    from mamori.dsr.inquiries import receive

    fields = {"name": "問合 太郎", "phone": "020-0111-2222", "description": "カタログ送付の停止"}
    with rt.db.transaction() as tx:
        got = receive(
            tx, rt, actor=actor("support"), kind=RequestKind.INQUIRY, via=Via.PHONE, fields=fields
        )
        done = fulfil.complete(
            tx, rt, actor=actor("support"), ref=got.request.ref, answered_via="phone"
        )
    assert done.request.state is State.COMPLETED
    assert done.request.outcome == {"answered_via": "phone"}


def test_the_requester_is_told_the_decision_by_mail(rt: Runtime, mailbox: Mailbox) -> None:
    ref, values = register_customer(rt)
    address = values["user.contact.email"]
    row = _ready(rt, RequestKind.DISCLOSURE, ref)
    with rt.db.transaction() as tx:
        done = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
    letter = Mailbox.text(mailbox.last_to(address))
    assert row.ref in letter
    assert f"{rt.settings.public_url}/downloads/{done.download_token}" in letter
    assert done.request.outcome["told_by"] == "mail"
    # An erasure: the address is read before it goes, and the decision still reaches it.
    gone = _ready(rt, RequestKind.ERASURE, ref)
    with rt.db.transaction() as tx:
        fulfil.complete(tx, rt, actor=OFFICER, ref=gone.ref)
    assert gone.ref in Mailbox.text(mailbox.last_to(address))


def test_a_refusal_is_told_with_its_reason(rt: Runtime, mailbox: Mailbox) -> None:
    from mamori.dsr.states import Reason

    ref, values = register_customer(rt)
    with rt.db.transaction() as tx:
        row = create(
            tx, rt, actor=OFFICER, new=NewRequest(RequestKind.ERASURE, Via.API, ref, language="en")
        )
        refused = fulfil.reject(tx, rt, actor=OFFICER, ref=row.ref, reason=Reason.NOT_ENTITLED)
    assert refused.state is State.REJECTED
    letter = Mailbox.text(mailbox.last_to(values["user.contact.email"]))
    assert "could not grant" in letter
    assert "not one the law entitles" in letter
    for value in values.values():
        assert value not in letter


def test_without_a_mail_server_a_letter_is_owed(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    row = _ready(rt, RequestKind.CESSATION_OF_USE, ref)
    with rt.db.transaction() as tx:
        done = fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
    assert done.request.outcome["told_by"] == "letter"


def test_mail_down_at_completion_leaves_the_request_to_complete_again(
    rt: Runtime, mailbox: Mailbox
) -> None:
    from dataclasses import replace

    from mamori.errors import Unavailable
    from tests.dsr.smtp import free_port

    ref, _ = register_customer(rt)
    row = _ready(rt, RequestKind.ERASURE, ref)
    working = rt.settings
    rt.settings = replace(working, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(Unavailable), rt.db.transaction() as tx:
        fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref)
    with rt.db.transaction() as tx:
        assert requests.load(tx, row.ref).state is State.IN_PROGRESS
        service.read(tx, rt, actor=OFFICER, ref=ref, purpose="purchase_fulfillment")  # not erased
    rt.settings = working
    with rt.db.transaction() as tx:
        assert fulfil.complete(tx, rt, actor=OFFICER, ref=row.ref).request.state is State.COMPLETED
