"""Starting Mamori in a process: open the runtime, make good any erasure a restore undid,
shred what a legal retention duty no longer justifies, and delete third-party
records kept long enough.

Every edge (the CLI, the demo, the server) starts here rather than at
``open_runtime``, so no process ever serves a subject whose erasure is
recorded in the ledger outside the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mamori.config import Settings
from mamori.db.base import utc_now
from mamori.dsr.erasure import sweep_retained
from mamori.recipients import declarations, records
from mamori.runtime import Runtime, open_runtime
from mamori.subjects.shredding import reapply_erasures


def start(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Runtime:
    rt = open_runtime(settings, clock=clock)
    try:
        reapply_erasures(rt)
        # One select unless a legal retention duty of a partly erased subject has ended.
        sweep_retained(rt)
        # The policy's third parties, versioned when their declaration changed.
        declarations.sync(rt)
        # Provision and receipt records whose keeping period has ended (Rule 21).
        records.purge_expired(rt)
    except BaseException:
        rt.close()
        raise
    return rt
