"""The paced checkpoint: under a stream of commits the head is written at most every
interval, and never lost at close."""

from __future__ import annotations

import time
from dataclasses import replace

from mamori import boot
from mamori.config import Settings
from mamori.demo import EXAMPLE_POLICY
from mamori.install import initialise
from mamori.subjects import service
from tests.conftest import STAFF, actor
from tests.factories import register_customer


def test_a_burst_leaves_the_head_at_most_one_interval_behind(settings: Settings) -> None:
    paced = replace(settings, checkpoint_every_s=0.2)
    initialise(paced, policy_source=EXAMPLE_POLICY, by="cli:test")
    rt = boot.start(paced)
    try:
        from mamori.policy import service as notices
        from mamori.staff import service as staff

        with rt.db.transaction() as tx:
            for handle, role in STAFF.items():
                staff.add(tx, rt, handle=handle, roles=[role], by="cli:test")
            notices.publish(tx, rt, actor=actor("officer"))
        ref, _ = register_customer(rt)
        for _ in range(20):
            with rt.db.transaction() as tx:
                service.read(tx, rt, actor=actor("sales"), ref=ref, purpose="purchase_fulfillment")
        with rt.db.transaction() as tx:
            tip = tx.fetchone("SELECT max(seq) FROM audit_entries")[0]
        point = rt.audit.read_checkpoint()
        assert point is not None and point.seq < tip  # paced: not every commit was written
        time.sleep(0.5)  # the timer writes the waiting head
        point = rt.audit.read_checkpoint()
        assert point is not None and point.seq == tip
        with rt.db.transaction() as tx:
            service.read(tx, rt, actor=actor("sales"), ref=ref, purpose="purchase_fulfillment")
            service.read(tx, rt, actor=actor("sales"), ref=ref, purpose="purchase_fulfillment")
    finally:
        rt.close()
    # close writes what was waiting, so the head is at the tip again
    reopened = boot.start(paced)
    try:
        with reopened.db.transaction() as tx:
            tip = tx.fetchone("SELECT max(seq) FROM audit_entries")[0]
        point = reopened.audit.read_checkpoint()
        assert point is not None and point.seq == tip
    finally:
        reopened.close()
