"""Signed webhooks from the durable outbox, posted to a real HTTP receiver on loopback.

What is promised: a message is queued only if its transaction commits; it is
signed so the receiver can prove it came from Mamori; it carries references
and keys, never a value; a failing system is tried again after a growing wait,
with the same id each time, and given up on after twelve attempts; two workers
never post one message twice; and a request shows which systems confirmed.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest

from mamori.audit.service import tail
from mamori.db.base import from_utc_text, to_utc_text
from mamori.dsr import delivery, outbox, systems
from mamori.dsr.delivery import DeliveryStats, deliver_due
from mamori.dsr.outbox import enqueue, verify_signature
from mamori.dsr.schemas import SystemStatus
from mamori.errors import NotFound, ValidationFailed
from mamori.runtime import Runtime
from tests.conftest import Clock
from tests.dsr.receiver import running_receiver
from tests.factories import register_customer

EMAIL = "user.contact.email"


def add_system(
    rt: Runtime, key: str, url: str, events: list[str] | None = None, *, active: bool = True
) -> str:
    with rt.db.transaction() as tx:
        secret = systems.register(
            tx, rt, key=key, title=key, url=url, events=events or list(systems.EVENTS), by="test"
        )
        if not active:
            systems.disable(tx, rt, key=key, by="test")
    return secret


def queue(
    rt: Runtime,
    ref: str,
    *,
    event: str = "erasure",
    request_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> list[str]:
    with rt.db.transaction() as tx:
        return enqueue(
            tx,
            rt,
            event=event,
            subject_ref=ref,
            request_id=request_id,
            detail={"categories": [EMAIL]} if detail is None else detail,
        )


def new_request(rt: Runtime, ref: str) -> tuple[int, str]:
    """A bare request row for ``ref``; the outbox needs only its id and reference."""
    handle, at = secrets.token_hex(8), to_utc_text(rt.now())
    with rt.db.transaction() as tx:
        (subject_id,) = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))
        tx.execute(
            "INSERT INTO dsr_requests (ref, kind, state, subject_id, received_via, received_at,"
            " paused_seconds, assigned_to, purposes, categories, language, fee_yen, outcome,"
            " created_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                handle,
                "erasure",
                "completed",
                subject_id,
                "api",
                at,
                0.0,
                "officer",
                "[]",
                "[]",
                "ja",
                0,
                "{}",
                "officer",
                at,
            ],
        )
        (request_id,) = tx.fetchone("SELECT id FROM dsr_requests WHERE ref = ?", (handle,))
    return int(request_id), handle


def messages(rt: Runtime, state: str | None = None) -> list[dict[str, Any]]:
    with rt.db.transaction() as tx:
        return outbox.list_messages(tx, state=state)


def due(message: dict[str, Any]) -> datetime:
    return from_utc_text(message["next_attempt_at"])


def entries(rt: Runtime, action: str) -> list[dict[str, Any]]:
    with rt.db.transaction() as tx:
        return [e for e in tail(tx, limit=1000) if e["action"] == action]


def test_a_delivered_webhook_is_signed_and_verifies(rt: Runtime, clock: Clock) -> None:
    with running_receiver() as hook:
        secret = add_system(rt, "shop", hook.url)
        ref, _ = register_customer(rt)
        request_id, request_ref = new_request(rt, ref)
        assert queue(rt, ref, request_id=request_id) == ["shop"]
        assert deliver_due(rt) == DeliveryStats(claimed=1, delivered=1)
    (post,) = hook.posts
    headers, body = post.headers, post.body
    assert post.path == "/hooks/mamori"
    assert headers["Content-Type"] == "application/json"
    assert headers["Mamori-Timestamp"] == str(int(clock.moment.timestamp()))
    payload = json.loads(body)
    assert payload == {
        "id": headers["Mamori-Webhook-Id"],
        "event": "erasure",
        "subject": ref,
        "request": request_ref,
        "occurred_at": to_utc_text(clock.moment),
        "detail": {"categories": [EMAIL]},
    }
    stamp, signature = headers["Mamori-Timestamp"], headers["Mamori-Signature"]
    assert signature.startswith("v1=")
    assert verify_signature(secret, stamp, body, signature, now=clock.moment)
    # The wrong secret, a changed body, or a replay after five minutes all fail.
    assert not verify_signature("another-secret", stamp, body, signature, now=clock.moment)
    assert not verify_signature(secret, stamp, body + b" ", signature, now=clock.moment)
    later = clock.moment + timedelta(seconds=301)
    assert not verify_signature(secret, stamp, body, signature, now=later)
    assert verify_signature(secret, stamp, body, signature, now=later - timedelta(seconds=2))
    (entry,) = entries(rt, "webhook_delivered")
    assert (entry["actor"], entry["purpose"], entry["outcome"]) == (
        "system",
        "system.outbox",
        "done",
    )
    assert entry["subjects"] == [ref]
    assert entry["detail"] == {"system": "shop", "event": "erasure", "message": payload["id"]}


@pytest.mark.parametrize(
    ("stamp", "header"),
    [
        ("abc", None),
        ("", None),
        ("-1", None),
        ("１７００", None),  # full-width digits are not Unix seconds
        (None, ""),
        (None, "v1=00"),
        (None, "v1=ｆｆ"),
        (None, "sha256=deadbeef"),
    ],
)
def test_verify_signature_refuses_malformed_input(
    clock: Clock, stamp: str | None, header: str | None
) -> None:
    secret, body = "s3cret", b'{"id":"x"}'
    good_stamp = str(int(clock.moment.timestamp()))
    good = systems.sign(secret, good_stamp, body)
    assert verify_signature(secret, good_stamp, body, good, now=clock.moment)
    assert verify_signature(secret, good_stamp, body, f"v1=00, {good}", now=clock.moment)
    assert not verify_signature(
        secret,
        good_stamp if stamp is None else stamp,
        body,
        good if header is None else header,
        now=clock.moment,
    )


def test_a_failing_system_is_tried_again_after_each_backoff(rt: Runtime, clock: Clock) -> None:
    with running_receiver(fail_first=2) as hook:
        add_system(rt, "mailer", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        assert deliver_due(rt) == DeliveryStats(claimed=1, retrying=1)
        (first,) = messages(rt, "pending")
        assert (first["attempts"], first["last_status"], first["last_error"]) == (1, 500, None)
        wait = due(first) - clock.moment
        assert timedelta(seconds=27) <= wait <= timedelta(seconds=33)
        clock.moment += timedelta(seconds=26)
        assert deliver_due(rt).claimed == 0  # not before its next attempt
        clock.moment += timedelta(seconds=8)
        assert deliver_due(rt) == DeliveryStats(claimed=1, retrying=1)
        (second,) = messages(rt, "pending")
        wait = due(second) - clock.moment
        assert timedelta(seconds=54) <= wait <= timedelta(seconds=66)
        clock.moment += timedelta(seconds=53)
        assert deliver_due(rt).claimed == 0
        clock.moment += timedelta(seconds=14)
        assert deliver_due(rt) == DeliveryStats(claimed=1, delivered=1)
    assert [p.answered for p in hook.posts] == [500, 500, 200]
    assert len({p.headers["Mamori-Webhook-Id"] for p in hook.posts}) == 1
    assert len({p.body for p in hook.posts}) == 1
    (done,) = messages(rt, "delivered")
    assert done["attempts"] == 3
    assert done["delivered_at"] == to_utc_text(clock.moment)
    assert done["next_attempt_at"] is None
    assert deliver_due(rt).claimed == 0


def test_nothing_is_posted_before_its_next_attempt(rt: Runtime, clock: Clock) -> None:
    with running_receiver(fail_first=1) as hook:
        add_system(rt, "events", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        deliver_due(rt)
        (pending,) = messages(rt, "pending")
        when = due(pending)
        clock.moment = when - timedelta(microseconds=1)
        assert deliver_due(rt).claimed == 0
        assert len(hook.posts) == 1
        clock.moment = when
        assert deliver_due(rt).delivered == 1
        assert len(hook.posts) == 2


def test_a_system_that_is_down_gets_the_message_when_it_is_back(rt: Runtime, clock: Clock) -> None:
    with running_receiver(up=False) as hook:
        add_system(rt, "shop", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        for attempt in (1, 2):
            assert deliver_due(rt) == DeliveryStats(claimed=1, retrying=1)
            (pending,) = messages(rt, "pending")
            assert pending["attempts"] == attempt
            assert pending["last_status"] is None
            assert pending["last_error"] == "ConnectionRefusedError"
            clock.moment = due(pending)
        hook.start()
        assert deliver_due(rt) == DeliveryStats(claimed=1, delivered=1)
    (done,) = messages(rt, "delivered")
    assert done["attempts"] == 3
    assert (done["last_status"], done["last_error"]) == (200, None)
    assert hook.ids() == {done["message"]: 1}


def test_a_slow_system_times_out_and_is_tried_again(rt: Runtime) -> None:
    with running_receiver(delay_s=1.0) as hook:
        add_system(rt, "slow", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        started = time.monotonic()
        assert deliver_due(rt, timeout_s=0.2) == DeliveryStats(claimed=1, retrying=1)
        assert time.monotonic() - started < 0.9
    (pending,) = messages(rt, "pending")
    assert pending["last_error"] == "TimeoutError"


def test_https_is_spoken_with_certificate_checks(rt: Runtime) -> None:
    """An https system that answers in plain HTTP (or with no valid certificate) fails."""
    with running_receiver() as hook:
        add_system(rt, "tls", f"https://localhost:{hook.port}/hooks")
        ref, _ = register_customer(rt)
        queue(rt, ref)
        assert deliver_due(rt, timeout_s=2) == DeliveryStats(claimed=1, retrying=1)
    (pending,) = messages(rt, "pending")
    assert pending["last_error"].startswith("SSL"), pending["last_error"]
    assert all(p.body == b"" for p in hook.posts)


def test_twelve_failures_make_a_message_dead(rt: Runtime, clock: Clock) -> None:
    with running_receiver(fail_first=100, fail_status=503) as hook:
        add_system(rt, "broken", hook.url)
        ref, _ = register_customer(rt)
        queue(rt, ref)
        waits = []
        for _ in range(11):
            assert deliver_due(rt).retrying == 1
            (pending,) = messages(rt, "pending")
            waits.append(due(pending) - clock.moment)
            clock.moment = due(pending)
        assert deliver_due(rt) == DeliveryStats(claimed=1, dead=1)
        died = to_utc_text(clock.moment)
        clock.moment += timedelta(days=2)
        assert deliver_due(rt).claimed == 0
    assert len(hook.posts) == 12
    for n, wait in enumerate(waits, start=1):
        base = min(30 * 2 ** (n - 1), 6 * 3600)
        assert base * 0.9 <= wait.total_seconds() <= base * 1.1, n
    assert messages(rt, "pending") == []
    (dead,) = messages(rt, "dead")
    assert (dead["attempts"], dead["last_status"], dead["state"]) == (12, 503, "dead")
    assert dead["dead_at"] == died
    (entry,) = entries(rt, "webhook_dead")
    assert entry["outcome"] == "failed"
    assert entry["detail"] == {
        "system": "broken",
        "event": "erasure",
        "message": dead["message"],
        "attempts": 12,
    }
    assert entries(rt, "webhook_delivered") == []


def test_backoff_doubles_from_thirty_seconds_to_six_hours() -> None:
    for attempts, base in [(1, 30), (2, 60), (5, 480), (10, 15360), (11, 21600), (40, 21600)]:
        seen = {delivery.backoff(attempts).total_seconds() for _ in range(50)}
        assert all(base * 0.9 <= s <= base * 1.1 for s in seen), attempts
        assert len(seen) > 1  # jittered


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
