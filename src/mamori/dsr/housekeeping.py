"""What `mamori serve` does in the background: deliver due webhooks, and shred
partly erased subjects whose legal retention duty has ended, and delete
provision and receipt records past their keeping period.

A round that fails (the database away for a moment) is logged by its error's
class only, and the worker carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from mamori.dsr.delivery import deliver_due
from mamori.dsr.erasure import sweep_retained
from mamori.recipients import records
from mamori.runtime import Runtime

log = logging.getLogger("mamori.housekeeping")
SWEEP_EVERY_S = 3600.0
BATCH = 100


def run(rt: Runtime, *, interval_s: float, stop: threading.Event) -> None:
    """Until ``stop``: deliver webhooks every ``interval_s`` (at once again after a full
    round), and sweep ended retention duties and expired records every hour (each
    sweep costs one select until something is due)."""
    next_sweep = 0.0
    while not stop.is_set():
        if time.monotonic() >= next_sweep:
            _guarded("retention sweep", lambda: sweep_retained(rt))
            _guarded("record purge", lambda: sum(records.purge_expired(rt).values()))
            next_sweep = time.monotonic() + SWEEP_EVERY_S
        claimed = _guarded("webhook delivery", lambda: deliver_due(rt, limit=BATCH).claimed)
        if not claimed or claimed < BATCH:
            stop.wait(interval_s)


def _guarded(what: str, work: Callable[[], object]) -> int:
    try:
        result = work()
    except Exception as exc:  # a background worker must outlive a blink of the database
        log.warning("a %s round failed: %s", what, type(exc).__name__)
        return 0
    return result if isinstance(result, int) else 0
