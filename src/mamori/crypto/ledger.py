"""The erasure ledger: subject references whose data was erased, kept outside the database.

A database restored from a backup taken before an erasure would bring the
erased subject's wrapped data key back, or the values an erasure removed.
The ledger, an append-only file next to the key file, remembers every
erasure; at start-up every line the database has not yet seen is applied
again (``mamori.boot``). It holds only subject references, which are random
and carry nothing personal, and for a partial erasure the category and
purpose keys of the policy and a time.

One line per erasure, ASCII:

    <ref>                                          the whole subject was shredded
    <ref> partial <until> <categories> <purposes>  the categories were erased; what the
                                                   purposes must keep stays until <until>

Lists are comma-separated, ``-`` when empty. A line written before partial
erasures existed is a bare reference, so it still means a whole shred.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_PARTIAL = "partial"
_EMPTY = "-"


@dataclass(frozen=True)
class LedgerEntry:
    """One erasure: the whole subject (``until`` is None), or some of its categories."""

    ref: str
    categories: tuple[str, ...] = ()
    kept_for: tuple[str, ...] = ()
    until: str | None = None

    @property
    def whole(self) -> bool:
        return self.until is None

    def line(self) -> str:
        if self.until is None:
            return self.ref
        fields = (_join(self.categories), _join(self.kept_for))
        return f"{self.ref} {_PARTIAL} {self.until} {fields[0]} {fields[1]}"

    @classmethod
    def parse(cls, line: str) -> LedgerEntry:
        """Read one line; anything but a well-formed partial line means a whole shred.

        A damaged line errs towards erasure: the person asked for it, and the
        file is written only by Mamori.
        """
        parts = line.split()
        if len(parts) == 5 and parts[1] == _PARTIAL:
            return cls(parts[0], _split(parts[3]), _split(parts[4]), parts[2])
        return cls(parts[0] if parts else line)


def _join(keys: Sequence[str]) -> str:
    return ",".join(keys) if keys else _EMPTY


def _split(field: str) -> tuple[str, ...]:
    return () if field == _EMPTY else tuple(k for k in field.split(",") if k)


class ErasureLedger:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, refs: list[str]) -> None:
        """Record whole erasures; called after the erasure committed."""
        self.record([LedgerEntry(ref) for ref in refs])

    def record(self, entries: Sequence[LedgerEntry]) -> None:
        """Record erasures, whole or partial; called after the erasure committed."""
        if not entries:
            return
        data = "".join(f"{entry.line()}\n" for entry in entries).encode("ascii")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, data)
        finally:
            os.close(fd)

    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def entries_from(self, offset: int) -> tuple[list[LedgerEntry], int]:
        """Erasures recorded at or after byte ``offset``, and the offset reached."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except FileNotFoundError:
            return [], 0
        complete = data[: data.rfind(b"\n") + 1]
        lines = (line.decode("ascii", "replace") for line in complete.splitlines())
        return [LedgerEntry.parse(line) for line in lines if line.strip()], offset + len(complete)

    def read_from(self, offset: int) -> tuple[list[str], int]:
        """References of every erasure (whole or partial) at or after ``offset``, and the
        offset reached."""
        entries, reached = self.entries_from(offset)
        return [entry.ref for entry in entries], reached
