"""Webhook delivery to a real HTTP receiver on loopback: signatures, retries, backoff.

A message is signed so the receiver can prove it came from Mamori; a failing
system is tried again after a growing wait, with the same id each time, and
given up on after twelve attempts.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from mamori.db.base import to_utc_text
from mamori.dsr import delivery, systems
from mamori.dsr.delivery import DeliveryStats, deliver_due
from mamori.dsr.outbox import verify_signature
from mamori.runtime import Runtime
from tests.conftest import Clock
from tests.dsr.outbox_support import EMAIL, add_system, due, entries, messages, new_request, queue
from tests.dsr.receiver import running_receiver
from tests.factories import register_customer


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
