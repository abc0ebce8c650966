"""Starting Mamori in a process: open the runtime, then make good any erasure a restore undid.

Every edge (the CLI, the demo, the server) starts here rather than at
``open_runtime``, so no process ever serves a subject whose erasure is
recorded in the ledger outside the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from mamori.config import Settings
from mamori.db.base import utc_now
from mamori.runtime import Runtime, open_runtime
from mamori.subjects.changes import reapply_erasures


def start(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Runtime:
    rt = open_runtime(settings, clock=clock)
    try:
        reapply_erasures(rt)
    except BaseException:
        rt.close()
        raise
    return rt
