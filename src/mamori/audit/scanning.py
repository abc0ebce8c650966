"""Scanning the audit chain in runs of entries, here and in worker processes.

An auditor verifying a log of millions of entries waits for this part:
every entry's hash is computed again and its link to the one before
checked. The runs scanned here go to ``verify``, which joins them into its
report and compares the checkpoint; this module is what worker processes
import and run, so it holds the scanning and nothing of the report.

How it is made fast, without checking anything less:

- the HMAC is ``mamori.crypto.mac``'s, with the audit key set up once;
- SQLite hands over the text columns as bytes (no decoding and re-encoding);
  PostgreSQL joins and encodes the signed fields itself (``convert_to``).
  Either way the bytes hashed are exactly ``chain.entry_bytes`` of the
  stored fields;
- a long log is cut into runs of sequence numbers, scanned side by side by
  this process (from the front, in ``tx``) and by worker processes (from the
  back, each on a read-only connection of its own). Every entry names the
  hash before it, so a run is checked on its own; the links and numbers
  where the runs meet are checked by ``verify`` when it puts them back in
  order. The workers are used only when ``tx`` has appended no entry of its
  own (they see only committed entries); should they fail, this process
  scans their runs itself.

Each scan reads ``BATCH`` rows at a time and keeps at most ``MAX_FINDINGS``
findings per run, so memory stays bounded however long the log.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.util import Finalize
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mamori.audit.chain import FIELDS
from mamori.crypto.mac import Mac

if TYPE_CHECKING:
    from mamori.db.engine import Tx

BATCH = 1000  # rows per fetch: more and they no longer fit in the cache they are used from
MAX_FINDINGS = 20
PARALLEL_MIN = 200_000  # entries (by sequence numbers) from which workers help
RUN = 5_000  # sequence numbers per run: short runs keep both sides busy to the end
MAX_RUNS = 1_000  # longer runs for a longer log, so that the runs' reports stay few
MAX_WORKERS = 3
_AHEAD = 3  # runs handed to each worker at a time

# Columns: seq, prev, hash, then the signed fields after ``seq`` as bytes: each
# one on SQLite, joined by the separator on PostgreSQL.
_SQLITE_SIGNED = ", ".join(FIELDS[1:])
_PG_SIGNED = f"convert_to({' || chr(31) || '.join(FIELDS[1:])}, 'UTF8')"
_SELECT = "SELECT seq, prev, hash, {signed} FROM audit_entries{where} ORDER BY seq"
_RUN_WHERE = " WHERE seq >= {p} AND seq <= {p}"


@dataclass(frozen=True)
class Finding:
    seq: int
    kind: str  # changed | out_of_sequence | unlinked | truncated | checkpoint
    message: str


@dataclass
class Run:
    """What a scan of consecutive entries found, to be joined to the runs around it.

    The first entry's number and link are left for the join to check: the
    scan does not know the entry before it.
    """

    entries: int = 0
    first_seq: int = 0
    first_prev: Any = None
    last_seq: int = 0
    last_hash: Any = None
    point_hash: Any = None
    findings: list[Finding] = field(default_factory=list)
    total: int = 0

    def add(self, finding: Finding) -> None:
        self.total += 1
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)

    def broken(self, seq: int, expected: int, unlinked: bool) -> None:
        if seq != expected:
            self.add(out_of_sequence(seq, expected))
        if unlinked:
            self.add(unlinked_entry(seq))


def scan_chain(tx: Tx, key: bytes, point_seq: int) -> list[Run]:
    """The chain's runs in order: the whole log in one, or many scanned side by side."""
    mac = Mac(key)
    plan = _plan(tx)
    if plan is None:
        return [_scan_tx(tx, None, mac, point_seq)]
    return _scan_side_by_side(tx, plan, key, mac, point_seq)


# -- scanning ------------------------------------------------------------------


def _scan(batches: Iterable[list[Any]], mac: Mac, point_seq: int) -> Run:
    """Check each entry's hash, and that each follows the one before (from the second on)."""
    run = Run()
    new_inner, new_outer = mac.states()
    join = b"\x1f".join
    expected, prev_hash = 0, None
    for rows in batches:
        if not run.entries:
            run.first_seq, run.first_prev = expected, prev_hash = rows[0][0], rows[0][1]
        for row in rows:
            seq, prev, stored = row[0], row[1], row[2]
            if seq != expected or prev != prev_hash:
                run.broken(seq, expected, prev != prev_hash)
            try:
                inner = new_inner()
                inner.update(prev)
                inner.update(b"%d\x1f" % seq)
                inner.update(join(row[3:]))
                outer = new_outer()
                outer.update(inner.digest())
                intact = outer.digest() == stored
            except TypeError:  # a NULL, or a number where the entry holds text
                intact = False
            if not intact:
                run.add(Finding(seq, "changed", f"entry {seq} was changed after it was written"))
            if seq == point_seq:
                run.point_hash = stored
            expected, prev_hash = seq + 1, stored
        run.entries += len(rows)
    run.last_seq, run.last_hash = expected - 1, prev_hash
    return run


def _fetch(cursor: Any) -> Iterator[list[Any]]:
    while rows := cursor.fetchmany(BATCH):
        yield rows


def _query(is_pg: bool, bounded: bool) -> str:
    where = _RUN_WHERE.format(p="%s" if is_pg else "?") if bounded else ""
    return _SELECT.format(signed=_PG_SIGNED if is_pg else _SQLITE_SIGNED, where=where)


def _scan_tx(tx: Tx, bounds: tuple[int, int] | None, mac: Mac, point_seq: int) -> Run:
    """Scan the entries numbered within ``bounds`` (all of them if None) in ``tx``."""
    sql = _query(tx.is_pg, bounds is not None)
    if tx.is_pg:
        with tx.raw.cursor(name="mamori_audit_verify") as cursor:
            cursor.execute(sql, bounds or ())
            return _scan(_fetch(cursor), mac, point_seq)
    raw = tx.raw
    text_factory, raw.text_factory = raw.text_factory, bytes
    cursor = raw.cursor()
    try:
        cursor.execute(sql, bounds or ())
        return _scan(_fetch(cursor), mac, point_seq)
    finally:
        cursor.close()
        raw.text_factory = text_factory


# -- side by side ----------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    runs: list[tuple[int, int]]
    workers: int
    target: tuple[str, str]  # ("sqlite", file path) or ("postgresql", connection string)


def _plan(tx: Tx) -> _Plan | None:
    """How to cut the log into runs for workers; None to scan it here in one pass."""
    if tx.audit_tip is not None:  # this unit of work appended: the workers would not see it
        return None
    workers = _worker_count()
    if workers < 1:
        return None
    low, high = tx.fetchone(
        "SELECT (SELECT MIN(seq) FROM audit_entries), (SELECT MAX(seq) FROM audit_entries)"
    )
    if low is None or high - low + 1 < PARALLEL_MIN:
        return None
    target = _target(tx)
    if target is None:
        return None
    count = min(MAX_RUNS, -(-(high - low + 1) // RUN))
    size = -(-(high - low + 1) // count)
    runs = [(start, min(start + size - 1, high)) for start in range(low, high + 1, size)]
    return _Plan(runs, workers, target)


def _worker_count() -> int:
    """Workers beside this process: one fewer than the processors it may run on."""
    affinity = getattr(os, "sched_getaffinity", None)  # not on every platform
    cpus = len(affinity(0)) if affinity else (os.cpu_count() or 1)
    return min(MAX_WORKERS, cpus - 1)


def _target(tx: Tx) -> tuple[str, str] | None:
    """Where a worker connects to read the same log; None for a database only here."""
    if tx.is_pg:
        from psycopg.conninfo import make_conninfo

        info = tx.raw.info
        password = info.password
        dsn = make_conninfo(info.dsn, password=password) if password else info.dsn
        return ("postgresql", dsn)
    path = next((row[2] for row in tx.raw.execute("PRAGMA database_list") if row[1] == "main"), "")
    return ("sqlite", path) if path else None


def _scan_side_by_side(tx: Tx, plan: _Plan, key: bytes, mac: Mac, point_seq: int) -> list[Run]:
    """Scan the runs from the front here and from the back in the workers."""
    runs: list[Run | None] = [None] * len(plan.runs)
    front, back = 0, len(plan.runs)
    pending: dict[Future[Run], int] = {}
    pool = ProcessPoolExecutor(
        plan.workers,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_worker_start,
        initargs=(plan.target, key, point_seq),
    )
    helping = True
    try:
        while front < back:
            while helping and back > front + 1 and len(pending) < plan.workers * _AHEAD:
                future = _submit(pool, plan.runs[back - 1])
                if future is None:  # no worker can start: the rest is scanned here
                    helping = False
                    break
                back -= 1
                pending[future] = back
            runs[front] = _scan_tx(tx, plan.runs[front], mac, point_seq)
            front += 1
            for done in [f for f in pending if f.done()]:
                index = pending.pop(done)
                runs[index] = _result(done)
                helping = helping and runs[index] is not None  # a failed worker gets no more
        for future in [f for f in pending if f.cancel()]:  # not started: scanned here
            index = pending.pop(future)
            runs[index] = _scan_tx(tx, plan.runs[index], mac, point_seq)
        for future, index in pending.items():
            runs[index] = _result(future)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [
        run if run is not None else _scan_tx(tx, bounds, mac, point_seq)  # its worker failed
        for run, bounds in zip(runs, plan.runs, strict=True)
    ]


def _submit(pool: ProcessPoolExecutor, bounds: tuple[int, int]) -> Future[Run] | None:
    try:
        return pool.submit(_worker_scan, *bounds)
    except Exception:  # a broken pool, or processes that may not start any
        return None


def _result(future: Future[Run]) -> Run | None:
    try:
        return future.result()
    except Exception:  # the run is scanned here instead
        return None


class _Worker:
    """A worker process's connection, key and query."""

    def __init__(self, target: tuple[str, str], key: bytes, point_seq: int) -> None:
        kind, where = target
        self.is_pg = kind == "postgresql"
        self.conn: Any
        if self.is_pg:
            import psycopg

            self.conn = psycopg.connect(where)
            self.conn.read_only = True
        else:
            self.conn = sqlite3.connect(
                f"file:{quote(where)}?mode=ro", uri=True, isolation_level=None
            )
            self.conn.text_factory = bytes
            self.conn.execute("PRAGMA busy_timeout=10000")
        Finalize(None, self.conn.close, exitpriority=10)
        self.mac = Mac(key)
        self.point_seq = point_seq
        self.sql = _query(self.is_pg, bounded=True)

    def scan(self, low: int, high: int) -> Run:
        if self.is_pg:
            try:
                with self.conn.cursor(name="mamori_audit_verify") as cursor:
                    cursor.execute(self.sql, (low, high))
                    return _scan(_fetch(cursor), self.mac, self.point_seq)
            finally:
                self.conn.rollback()
        cursor = self.conn.execute(self.sql, (low, high))
        try:
            return _scan(_fetch(cursor), self.mac, self.point_seq)
        finally:
            cursor.close()


_worker: _Worker | Exception | None = None


def _worker_start(target: tuple[str, str], key: bytes, point_seq: int) -> None:
    global _worker
    try:
        _worker = _Worker(target, key, point_seq)
    except Exception as exc:  # reported by each scan, whose run is then scanned by the parent
        _worker = exc


def _worker_scan(low: int, high: int) -> Run:
    if not isinstance(_worker, _Worker):
        raise RuntimeError("the audit verification worker could not start") from _worker
    return _worker.scan(low, high)


# -- findings --------------------------------------------------------------------


def out_of_sequence(seq: int, expected: int) -> Finding:
    if seq > expected:
        missing = f"entry {expected}" if seq == expected + 1 else f"entries {expected}–{seq - 1}"
        return Finding(seq, "out_of_sequence", f"{missing} missing before entry {seq}")
    return Finding(seq, "out_of_sequence", f"entry {seq} appears again or out of order")


def unlinked_entry(seq: int) -> Finding:
    return Finding(seq, "unlinked", f"entry {seq} does not follow the entry before it")
