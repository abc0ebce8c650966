"""The erasure ledger: subject references whose keys were destroyed, kept outside the database.

A database restored from a backup taken before an erasure would bring the
erased subject's wrapped data key back. The ledger, an append-only file next
to the key file, remembers every erasure; at start-up every reference the
database has not yet seen is shredded again (``mamori.boot``). It holds only
subject references, which are random and carry nothing personal.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class ErasureLedger:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, refs: list[str]) -> None:
        """Record erased references; called after the erasure committed."""
        if not refs:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, "".join(f"{ref}\n" for ref in refs).encode("ascii"))
        finally:
            os.close(fd)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def read_from(self, offset: int) -> tuple[list[str], int]:
        """References recorded at or after byte ``offset``, and the offset reached."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return [], 0
        complete = data[: data.rfind(b"\n") + 1]
        refs = [line.decode("ascii") for line in complete.splitlines() if line]
        return refs, offset + len(complete)
