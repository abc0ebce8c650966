"""The durable outbox: what is queued, what it carries, who delivers it, and when.

What is promised: a message is queued only if its transaction commits; it
carries references and keys, never a value; only active, subscribed systems
hear of an event; two workers never post one message twice; and a request
shows which systems confirmed. Delivery itself is in ``test_outbox_delivery``.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from mamori.audit.service import tail
from mamori.db.base import to_utc_text
from mamori.dsr import delivery, outbox, systems
from mamori.dsr.delivery import DeliveryStats, deliver_due
from mamori.dsr.outbox import enqueue, verify_signature
from mamori.dsr.schemas import SystemStatus
from mamori.errors import NotFound, ValidationFailed
from mamori.runtime import Runtime
from tests.conftest import Clock
from tests.dsr.outbox_support import EMAIL, add_system, entries, messages, new_request, queue
from tests.dsr.receiver import running_receiver
from tests.factories import register_customer


def test_a_rolled_back_fulfilment_queues_nothing(rt: Runtime) -> None:
    with running_receiver() as hook:
        add_system(rt, "shop", hook.url)
        ref, _ = register_customer(rt)
        with pytest.raises(RuntimeError), rt.db.transaction() as tx:  # noqa: PT012
            assert enqueue(tx, rt, event="erasure", subject_ref=ref, request_id=None, detail={})
            raise RuntimeError("the fulfilment failed after queueing")
        assert messages(rt) == []
        assert deliver_due(rt).claimed == 0
    assert hook.posts == []


def test_no_personal_value_reaches_a_receiver(rt: Runtime) -> None:
    with running_receiver() as hook:
        add_system(rt, "shop", hook.url)
        ref, values = register_customer(rt)
        detail = {"categories": sorted(values), "purposes": ["purchase_fulfillment"]}
        queue(rt, ref, event="correction", detail=detail)
        deliver_due(rt)
    (post,) = hook.posts
    sent = post.body.decode() + json.dumps(post.headers, ensure_ascii=False)
    with rt.db.transaction() as tx:
        stored = " ".join(r[0] for r in tx.fetchall("SELECT payload FROM outbox"))
        audit = json.dumps(tail(tx, limit=1000), ensure_ascii=False, default=str)
    for value in values.values():
        for form in {value, value.lower(), json.dumps(value)[1:-1]}:
            assert form not in sent
            assert form not in stored
            assert form not in audit
    assert json.loads(post.body)["detail"] == detail


@pytest.mark.parametrize(
    "detail",
    [
        {"categories": ["{email}"]},
        {"note": "free text about the person"},
        {"categories": EMAIL + "x"},
        {"categories": [[EMAIL]]},
        {"categories": [None]},
        {"fee": 1000},
        {"Categories": [EMAIL]},
        {"purposes": ["not_a_purpose"]},
    ],
)
def test_a_detail_that_could_hold_a_value_is_refused(rt: Runtime, detail: dict[str, Any]) -> None:
    ref, values = register_customer(rt)
    if detail.get("categories") == ["{email}"]:
        detail = {"categories": [values[EMAIL]]}
    add_system(rt, "shop", "http://127.0.0.1:9/")
    with pytest.raises(ValidationFailed) as caught:
        queue(rt, ref, detail=detail)
    assert values[EMAIL] not in caught.value.message
    assert messages(rt) == []


def test_a_detail_of_keys_times_and_flags_is_accepted(rt: Runtime, clock: Clock) -> None:
    ref, _ = register_customer(rt)
    add_system(rt, "shop", "http://127.0.0.1:9/")
    detail = {
        "erased": [EMAIL],
        "kept": ("user.name",),
        "retained_until": to_utc_text(clock.moment),
        "purposes": ["*"],
        "suspended": True,
        "nothing": None,
    }
    queue(rt, ref, detail=detail)
    (message,) = messages(rt)
    with rt.db.transaction() as tx:
        (payload,) = tx.fetchone("SELECT payload FROM outbox")
    assert json.loads(payload)["detail"] == {**detail, "kept": ["user.name"]}
    assert message["state"] == "pending"


def test_enqueue_refuses_unknown_event_subject_and_request(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    with pytest.raises(ValidationFailed, match="unknown event 'deletion'"):
        queue(rt, ref, event="deletion")
    with pytest.raises(NotFound, match="the subject a webhook names does not exist"):
        queue(rt, "someone@example.jp")
    with pytest.raises(NotFound, match="there is no request 987654"):
        queue(rt, ref, request_id=987654)


def test_only_active_subscribed_systems_hear_of_an_event(rt: Runtime, clock: Clock) -> None:
    with running_receiver() as hook:
        add_system(rt, "shop", hook.url, ["erasure", "correction"])
        add_system(rt, "mailer", hook.url, ["correction"])
        add_system(rt, "events", hook.url, ["erasure"], active=False)
        add_system(rt, "crm", hook.url, ["erasure"])
        ref, _ = register_customer(rt)
        assert queue(rt, ref, event="erasure") == ["crm", "shop"]
        assert queue(rt, ref, event="cessation_of_use") == []
        with rt.db.transaction() as tx:
            systems.disable(tx, rt, key="crm", by="test")
        assert deliver_due(rt) == DeliveryStats(claimed=1, delivered=1)
        # A disabled system's message waits, its attempts untouched, until it is enabled.
        (waiting,) = messages(rt, "pending")
        assert (waiting["system"], waiting["attempts"]) == ("crm", 0)
        with rt.db.transaction() as tx:
            systems.enable(tx, rt, key="crm", by="test")
        assert deliver_due(rt) == DeliveryStats(claimed=1, delivered=1)
    assert {p.headers["Mamori-Webhook-Id"] for p in hook.posts} == {
        m["message"] for m in messages(rt)
    }


def test_a_rotated_secret_signs_the_next_delivery(rt: Runtime, clock: Clock) -> None:
    with running_receiver(fail_first=1) as hook:
        old = add_system(rt, "shop", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        deliver_due(rt)
        with rt.db.transaction() as tx:
            new = systems.rotate_secret(tx, rt, key="shop", by="test")
        assert new != old
        clock.moment += timedelta(minutes=1)
        deliver_due(rt)
    first, second = hook.posts
    for post, secret, other in ((first, old, new), (second, new, old)):
        stamp, signature = post.headers["Mamori-Timestamp"], post.headers["Mamori-Signature"]
        assert verify_signature(secret, stamp, post.body, signature, now=clock.moment)
        assert not verify_signature(other, stamp, post.body, signature, now=clock.moment)


def _drain(rt: Runtime, start: threading.Barrier, totals: list[DeliveryStats]) -> None:
    total = DeliveryStats()
    start.wait()
    while (stats := deliver_due(rt, limit=7)).claimed:
        total.add(stats)
    totals.append(total)


def test_two_workers_never_post_one_message_twice(rt: Runtime) -> None:
    with running_receiver(delay_s=0.01) as hook:
        for key in ("shop", "mailer", "events"):
            add_system(rt, key, hook.url)
        for ref in [register_customer(rt)[0] for _ in range(4)]:
            for event in ("erasure", "correction", "cessation_of_use", "cessation_of_provision"):
                queue(rt, ref, event=event)
        start, totals = threading.Barrier(2), list[DeliveryStats]()
        workers = [threading.Thread(target=_drain, args=(rt, start, totals)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    assert len(totals) == 2
    ids = hook.ids()
    assert len(ids) == 48
    assert set(ids.values()) == {1}
    assert sum(t.delivered for t in totals) == 48
    assert all(t.claimed for t in totals), totals  # both workers took part
    assert len(messages(rt, "delivered")) == 48
    assert len(entries(rt, "webhook_delivered")) == 48


def test_a_lease_that_ran_out_is_claimed_again_and_told_once(rt: Runtime, clock: Clock) -> None:
    """A worker stalled past its lease: another sends the message again (same id), and
    the late worker's answer neither undoes the delivery nor audits it twice."""
    with running_receiver() as hook:
        add_system(rt, "shop", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        stalled = delivery._claim(rt, 10, 1.0)
        assert len(stalled) == 1
        assert deliver_due(rt).claimed == 0  # leased
        clock.moment += timedelta(seconds=62)
        assert deliver_due(rt) == DeliveryStats(claimed=1, delivered=1)
        late = delivery._record(rt, stalled, [delivery._post(rt, c, 1.0) for c in stalled])
    assert late == DeliveryStats(claimed=1)
    assert len(hook.posts) == 2
    assert len({p.headers["Mamori-Webhook-Id"] for p in hook.posts}) == 1
    (done,) = messages(rt, "delivered")
    assert done["attempts"] == 1
    assert len(entries(rt, "webhook_delivered")) == 1


def test_status_for_request_shows_which_systems_confirmed(rt: Runtime, clock: Clock) -> None:
    with running_receiver() as up, running_receiver(up=False) as down:
        add_system(rt, "shop", up.url)
        add_system(rt, "mailer", down.url)
        ref, _ = register_customer(rt)
        request_id, _ = new_request(rt, ref)
        other, _ = new_request(rt, ref)
        queue(rt, ref, request_id=request_id)
        queue(rt, ref, request_id=other, event="correction")
        deliver_due(rt)
    with rt.db.transaction() as tx:
        status = outbox.status_for_request(tx, request_id)
        assert outbox.status_for_request(tx, 123456) == []
    # The request page's schema takes these rows as they are.
    assert [SystemStatus.model_validate(s).system for s in status] == ["mailer", "shop"]
    by_system = {s["system"]: s for s in status}
    assert by_system["shop"] == {
        "system": "shop",
        "event": "erasure",
        "delivered_at": to_utc_text(clock.moment),
        "attempts": 1,
        "last_status": 200,
        "dead": False,
    }
    assert by_system["mailer"] == {
        "system": "mailer",
        "event": "erasure",
        "delivered_at": None,
        "attempts": 1,
        "last_status": None,
        "dead": False,
    }


def test_run_forever_delivers_in_the_background_until_stopped(rt: Runtime) -> None:
    with running_receiver() as hook:
        add_system(rt, "shop", hook.url)
        ref, _ = register_customer(rt)
        stop, result = threading.Event(), list[DeliveryStats]()
        worker = threading.Thread(
            target=lambda: result.append(delivery.run_forever(rt, interval_s=0.05, stop=stop))
        )
        worker.start()
        queue(rt, ref)
        deadline = time.monotonic() + 10
        while not hook.delivered and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
    assert result == [DeliveryStats(claimed=1, delivered=1)]


def test_list_messages_refuses_an_unknown_state(rt: Runtime) -> None:
    with pytest.raises(ValidationFailed), rt.db.transaction() as tx:
        outbox.list_messages(tx, state="lost")
