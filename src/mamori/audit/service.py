"""Appending to the audit log, and reading its tail.

Every guarded access, every denial and every change appends one entry in
the same transaction as the work: if the append fails, the work fails.
After each commit the chain head is also written to a small file next to
the key file (the checkpoint), so that a log cut short in the database is
caught by ``verify``. Entries name subjects by their reference and data by
category; they never hold a personal value.
"""

from __future__ import annotations

import fcntl
import functools
import hmac
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mamori.audit.chain import FIELDS, GENESIS, link
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import IntegrityError

_PG_AUDIT_LOCK = 0x6D616D6F  # "mamo": serializes appenders on PostgreSQL
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.:@*-]{1,100}$")
_SAFE_CHARS = re.compile(r"[A-Za-z0-9_.:@*-]+")
HEAD_RECORD = 160
# Under a stream of commits the head is written at most this often (and at close),
# which keeps a file write off most audited accesses; a crash can lose at most this
# much of the checkpoint's lead, never an entry.
CHECKPOINT_EVERY_S = 0.05
_HEAD_FORMAT = "mamori-head/2"


@dataclass(frozen=True)
class Checkpoint:
    installation: str
    seq: int
    hash: bytes

    def encode(self, key: bytes) -> bytes:
        mac = _head_mac(key, self.installation, self.seq, self.hash)
        line = f"{_HEAD_FORMAT} {self.installation} {self.seq} {self.hash.hex()} {mac}"
        return line.encode().ljust(HEAD_RECORD - 1) + b"\n"

    @staticmethod
    def decode(data: bytes, key: bytes | None = None) -> Checkpoint | None:
        """Parse a checkpoint; with ``key``, also prove it was written with the audit key."""
        if not data.strip():
            return None
        parts = data.split()
        if len(parts) != 5 or parts[0] != _HEAD_FORMAT.encode():
            raise IntegrityError(
                "the audit checkpoint file is malformed", code="checkpoint_malformed"
            )
        try:
            point = Checkpoint(parts[1].decode(), int(parts[2]), bytes.fromhex(parts[3].decode()))
            mac = parts[4].decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise IntegrityError(
                "the audit checkpoint file is malformed", code="checkpoint_malformed"
            ) from exc
        if key is not None and not hmac.compare_digest(
            mac, _head_mac(key, point.installation, point.seq, point.hash)
        ):
            raise IntegrityError(
                "the audit checkpoint file was not written with this installation's audit key",
                code="checkpoint_forged",
            )
        return point


def _head_mac(key: bytes, installation: str, seq: int, digest: bytes) -> str:
    return hmac.digest(
        key, f"mamori/head/v1|{installation}|{seq}|{digest.hex()}".encode(), "sha256"
    )[:16].hex()


@functools.lru_cache(maxsize=4096)
def safe_name(value: str) -> str:
    """An actor or purpose as given, or a placeholder when it could hold anything else."""
    return value if _SAFE_NAME.match(value) else "<unrecognised>"


@functools.lru_cache(maxsize=1024)
def _category_names(categories: tuple[str, ...]) -> str:
    """Category lists repeat endlessly (a purpose's categories): encode each once."""
    return json_names(categories)


def json_names(names: Sequence[str]) -> str:
    """A JSON list of references or keys; the common case built without the encoder."""
    if all(map(_SAFE_CHARS.fullmatch, names)):
        return '["' + '","'.join(names) + '"]' if names else "[]"
    return json.dumps(list(names), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Entry:
    actor: str
    purpose: str
    action: str
    subjects: Sequence[str]
    categories: Iterable[str]
    outcome: str
    rule: str
    detail: dict[str, Any] | None = None


class AuditLog:
    """Appends entries for one installation and keeps its checkpoint file."""

    def __init__(
        self, *, key: bytes, head_file: Path, installation: str, every_s: float = CHECKPOINT_EVERY_S
    ) -> None:
        self._key = key
        self.head_file = head_file
        self.installation = installation
        self._fd: int | None = None
        self._fd_pid = 0
        self._lock = threading.Lock()  # flock does not exclude threads sharing the fd
        self._written_at = 0.0
        self._every_s = every_s
        self._pending: tuple[int, bytes] | None = None
        self._timer: threading.Timer | None = None

    def append(self, tx: Tx, entry: Entry, *, at: datetime) -> int:
        """Append one entry to the chain within ``tx``; returns its sequence number."""
        if tx.is_pg:
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_PG_AUDIT_LOCK,))
        last = tx.fetchone("SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1")
        seq, prev = (last[0] + 1, bytes(last[1])) if last else (1, GENESIS)
        detail = entry.detail
        row = (
            seq,
            to_utc_text(at),
            safe_name(entry.actor),
            safe_name(entry.purpose),
            entry.action,
            json_names(entry.subjects),
            _category_names(tuple(sorted(entry.categories))),
            entry.outcome,
            entry.rule,
            json.dumps(detail, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
            if detail
            else "{}",
        )
        digest = link(self._key, prev, row)
        tx.execute(
            "INSERT INTO audit_entries (seq, at, actor, purpose, action, subjects, categories,"
            " outcome, rule, detail, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (*row, prev, digest),
        )
        if tx.audit_tip is None:
            tx.after_commit.append(lambda: self._checkpoint_tip(tx))
        tx.audit_tip = (seq, digest)
        return seq

    # -- checkpoint file ---------------------------------------------------
    def _checkpoint_tip(self, tx: Tx) -> None:
        """After a commit: write the head now, or within ``CHECKPOINT_EVERY_S`` under load."""
        if tx.audit_tip is None:
            return
        with self._lock:
            if time.monotonic() - self._written_at >= self._every_s:
                self._write_head(*tx.audit_tip)
                return
            if self._pending is None or self._pending[0] < tx.audit_tip[0]:
                self._pending = tx.audit_tip
            if self._timer is None:
                self._timer = threading.Timer(self._every_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write a head that is waiting for its turn (timer, and at close)."""
        with self._lock:
            self._timer = None
            if self._pending is not None:
                self._write_head(*self._pending)

    def _head_fd(self) -> int:
        """The checkpoint file, kept open; reopened after a fork or if it was removed."""
        fd = self._fd
        if fd is None or self._fd_pid != os.getpid() or os.fstat(fd).st_nlink == 0:
            if fd is not None and self._fd_pid == os.getpid():
                os.close(fd)
            fd = self._fd = os.open(self.head_file, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return fd

    def checkpoint(self, seq: int, digest: bytes) -> None:
        """Record the chain head outside the database, never moving it backwards."""
        with self._lock:
            self._write_head(seq, digest)

    def _write_head(self, seq: int, digest: bytes) -> None:
        self._pending = None
        self._written_at = time.monotonic()
        fd = self._head_fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            try:
                current = Checkpoint.decode(os.pread(fd, HEAD_RECORD, 0))
            except IntegrityError:
                current = None  # unreadable: replaced by the true head
            if current is None or current.installation != self.installation or current.seq < seq:
                os.pwrite(fd, Checkpoint(self.installation, seq, digest).encode(self._key), 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        timer = self._timer
        if timer is not None:
            timer.cancel()
        self.flush()
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def read_checkpoint(self) -> Checkpoint | None:
        """The checkpoint, proven written with the audit key; IntegrityError otherwise."""
        try:
            return Checkpoint.decode(self.head_file.read_bytes(), self._key)
        except FileNotFoundError:
            return None

    @property
    def key(self) -> bytes:
        return self._key


def tail(
    tx: Tx,
    *,
    limit: int = 20,
    actor: str | None = None,
    purpose: str | None = None,
    outcome: str | None = None,
    subject: str | None = None,
) -> list[dict[str, Any]]:
    """The newest entries, newest first, filtered by actor, purpose, outcome or subject."""
    clauses, params = [], []
    for column, value in (("actor", actor), ("purpose", purpose), ("outcome", outcome)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if subject is not None:
        clauses.append("subjects LIKE ?")
        params.append(f'%"{subject}"%')
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = tx.fetchall(
        f"SELECT {', '.join(FIELDS)} FROM audit_entries {where} ORDER BY seq DESC LIMIT ?",
        (*params, limit),
    )
    out = []
    for row in rows:
        item = dict(zip(FIELDS, row, strict=True))
        for name in ("subjects", "categories", "detail"):
            item[name] = json.loads(item[name])
        out.append(item)
    return out
