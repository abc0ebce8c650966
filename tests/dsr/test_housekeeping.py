"""The background work of `mamori serve` and of every start: webhooks go out, and
data kept under a legal duty is shredded once the duty ends."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from mamori import boot
from mamori.dsr import erasure, housekeeping, outbox, systems
from mamori.runtime import Runtime
from tests.conftest import Clock, actor
from tests.dsr.receiver import running_receiver
from tests.factories import register_customer


def test_the_background_worker_delivers_and_stops(rt: Runtime) -> None:
    with running_receiver() as shop:
        ref, _ = register_customer(rt)
        with rt.db.transaction() as tx:
            systems.register(
                tx,
                rt,
                key="mailer",
                title="Mailer",
                url=shop.url,
                events=["erasure"],
                by="cli:test",
            )
            outbox.enqueue(tx, rt, event="erasure", subject_ref=ref, request_id=None, detail={})
        stop = threading.Event()
        worker = threading.Thread(
            target=housekeeping.run, kwargs={"rt": rt, "interval_s": 0.05, "stop": stop}
        )
        worker.start()
        try:
            deadline = time.monotonic() + 10
            while not shop.delivered and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join(5)
        assert not worker.is_alive()
        assert len(shop.delivered) == 1


def test_a_start_after_the_duty_ends_shreds_what_was_kept(rt: Runtime, clock: Clock) -> None:
    ref, _ = register_customer(rt)  # bought: invoice data is kept seven years
    with rt.db.transaction() as tx:
        done = erasure.erase(tx, rt, actor=actor("officer"), ref=ref)
    assert done.kept
    assert done.retained_until is not None
    clock.moment = done.retained_until + timedelta(seconds=1)
    again = boot.start(rt.settings, clock=clock)
    try:
        with again.db.transaction() as tx:
            row = tx.fetchone("SELECT erased_at, wrapped_key FROM subjects WHERE ref = ?", (ref,))
    finally:
        again.close()
    assert row[0] is not None
    assert row[1] is None
