"""Held connections for the API's worker threads.

Opening a connection per request would cost more than the request's work,
so each request borrows a held connection (a ``Handle``) for its one
transaction and gives it back. A handle whose connection failed is dropped
rather than returned, so a database that was away and came back is simply
reconnected on the next request.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mamori.db.engine import Database, Handle, Tx
from mamori.errors import MamoriError, StorageError


class HandlePool:
    def __init__(self, db: Database, *, size: int = 16) -> None:
        self._db = db
        self._free: queue.LifoQueue[Handle] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One unit of work on a borrowed connection; commits or rolls back."""
        if not self._slots.acquire(timeout=30):
            raise StorageError("no database connection became free in time", code="pool_exhausted")
        try:
            handle = self._take()
            healthy = False
            try:
                with handle.transaction() as tx:
                    yield tx
                healthy = True
            except MamoriError as exc:
                # Mamori's own refusals leave the connection fine; a storage failure may not.
                healthy = not isinstance(exc, StorageError)
                raise
            finally:
                self._give_back(handle, healthy)
        finally:
            self._slots.release()

    def _take(self) -> Handle:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            return self._db.open_handle()

    def _give_back(self, handle: Handle, healthy: bool) -> None:
        if healthy:
            self._free.put(handle)
        else:
            handle.close()

    def close(self) -> None:
        while True:
            try:
                self._free.get_nowait().close()
            except queue.Empty:
                return
