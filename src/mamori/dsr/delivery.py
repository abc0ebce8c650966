"""Delivering the outbox: claim what is due, post it signed, record the answer.

A claim leases its messages in one short transaction (their next attempt moves
past the time the posts can take; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so
two workers never send one message at once; the posts go out with no
transaction open; the answers are recorded in another. A 2xx is the system's
confirmation; anything else waits 30 s doubling to 6 h (with jitter), and the
twelfth failure marks the message dead for a person to look at.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import secrets
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.dsr.outbox import PURPOSE
from mamori.dsr.systems import open_secret, sign
from mamori.errors import IntegrityError
from mamori.runtime import Runtime

log = logging.getLogger("mamori.outbox")

MAX_ATTEMPTS = 12
BASE_DELAY_S = 30.0
MAX_DELAY_S = 6 * 3600.0
SENDERS = 8  # posts in flight at once per worker
LEASE_MARGIN_S = 60.0


# A worker whose lease ran out must not undo what a later worker settled.
_UNSETTLED = " AND delivered_at IS NULL AND dead_at IS NULL"
_CLAIM = (
    "SELECT o.id, s.key, s.url, s.secret_sealed, o.event, o.idempotency_key, o.payload,"
    " o.attempts FROM outbox o JOIN downstream_systems s ON s.id = o.system_id"
    " WHERE o.delivered_at IS NULL AND o.dead_at IS NULL AND o.next_attempt_at <= ?"
    " AND s.active = ? ORDER BY o.next_attempt_at, o.id LIMIT ?"
)


@dataclass
class DeliveryStats:
    """What one round (or a worker's whole run) did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0

    def add(self, other: DeliveryStats) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.dead += other.dead


@dataclass(frozen=True)
class _Claim:
    id: int
    system: str
    url: str
    secret: str | None  # None: the sealed secret did not open
    event: str
    message: str
    payload: str
    attempts: int


@dataclass(frozen=True)
class _Answer:
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 30 s doubling, at most 6 h, ±10%,
    so systems that failed together do not all come back at the same second."""
    base = min(BASE_DELAY_S * 2 ** (attempts - 1), MAX_DELAY_S)
    jitter = 0.9 + secrets.randbelow(20_001) / 100_000
    return timedelta(seconds=base * jitter)


# -- delivery ------------------------------------------------------------------


def deliver_due(rt: Runtime, *, limit: int = 100, timeout_s: float = 5.0) -> DeliveryStats:
    """Claim up to ``limit`` due messages, post them, and record each answer.

    The posts happen between two short transactions, never inside one: a slow
    system holds no lock and no connection.
    """
    claims = _claim(rt, limit, timeout_s)
    if not claims:
        return DeliveryStats()
    with ThreadPoolExecutor(max_workers=min(SENDERS, len(claims))) as pool:
        answers = list(pool.map(lambda claim: _post(rt, claim, timeout_s), claims))
    return _record(rt, claims, answers)


def _claim(rt: Runtime, limit: int, timeout_s: float) -> list[_Claim]:
    now = rt.now()
    with rt.db.transaction() as tx:
        # PostgreSQL: a second worker skips rows the first has locked; SQLite's
        # BEGIN IMMEDIATE lets one claim at a time. Either way the lease below
        # keeps the claimed rows out of every later claim.
        lock = " FOR UPDATE OF o SKIP LOCKED" if tx.is_pg else ""
        rows = tx.fetchall(_CLAIM + lock, (to_utc_text(now), True, limit))
        if not rows:
            return []
        rounds = math.ceil(len(rows) / SENDERS)
        lease = now + timedelta(seconds=rounds * (timeout_s + 1) + LEASE_MARGIN_S)
        tx.executemany(
            "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
            [(to_utc_text(lease), row[0]) for row in rows],
        )
    return [_Claim(r[0], r[1], r[2], _secret(rt, r[1], r[3]), *r[4:8]) for r in rows]


def _secret(rt: Runtime, system: str, sealed: bytes) -> str | None:
    try:
        return open_secret(rt, system, sealed)
    except IntegrityError:
        log.warning("the signing secret of system %s does not open", system)
        return None


def _post(rt: Runtime, claim: _Claim, timeout_s: float) -> _Answer:
    """One POST with the standard library: no proxy from the environment, no redirect
    followed (a 3xx is not a confirmation), and no body read back."""
    if claim.secret is None:
        return _Answer(None, "IntegrityError")
    body = claim.payload.encode()
    timestamp = str(int(rt.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Mamori-Webhook/1",
        "Mamori-Webhook-Id": claim.message,
        "Mamori-Timestamp": timestamp,
        "Mamori-Signature": sign(claim.secret, timestamp, body),
    }
    parts = urlsplit(claim.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    try:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            conn = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=timeout_s, context=context
            )
        else:
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout_s)
        try:
            conn.request("POST", path, body=body, headers=headers)
            return _Answer(conn.getresponse().status, None)
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return _Answer(None, type(exc).__name__[:200])


def _record(rt: Runtime, claims: list[_Claim], answers: list[_Answer]) -> DeliveryStats:
    stats = DeliveryStats(claimed=len(claims))
    now = rt.now()
    with rt.db.transaction() as tx:
        for claim, answer in zip(claims, answers, strict=True):
            attempts = claim.attempts + 1
            if answer.ok:
                stats.delivered += _settle(tx, rt, claim, answer, attempts, "delivered_at", now)
            elif attempts >= MAX_ATTEMPTS:
                stats.dead += _settle(tx, rt, claim, answer, attempts, "dead_at", now)
            else:
                tx.execute(
                    "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_status = ?,"
                    f" last_error = ? WHERE id = ?{_UNSETTLED}",
                    (
                        attempts,
                        to_utc_text(now + backoff(attempts)),
                        answer.status,
                        answer.error,
                        claim.id,
                    ),
                )
                stats.retrying += 1
    return stats


def _settle(
    tx: Tx, rt: Runtime, claim: _Claim, answer: _Answer, attempts: int, column: str, now: datetime
) -> int:
    """A message delivered or given up on: its final state and one audit entry; 0 when
    another worker settled it first (its lease had run out), so nothing is told twice."""
    at = to_utc_text(now)
    cursor = tx.execute(
        # column is delivered_at or dead_at, never input
        f"UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?,"
        f" {column} = ? WHERE id = ?{_UNSETTLED}",
        (attempts, at, answer.status, answer.error, at, claim.id),
    )
    if cursor.rowcount == 0:
        return 0
    delivered = column == "delivered_at"
    action = "webhook_delivered" if delivered else "webhook_dead"
    subject = json.loads(claim.payload)["subject"]
    detail: dict[str, Any] = {
        "system": claim.system,
        "event": claim.event,
        "message": claim.message,
    }
    if not delivered:
        detail["attempts"] = attempts
    entry = Entry(
        "system", PURPOSE, action, [subject], [], "done" if delivered else "failed", action, detail
    )
    rt.audit.append(tx, entry, at=now)
    return 1


def run_forever(
    rt: Runtime,
    *,
    interval_s: float,
    stop: threading.Event,
    limit: int = 100,
    timeout_s: float = 5.0,
) -> DeliveryStats:
    """Deliver until ``stop`` is set: at once again after a full round, otherwise after
    ``interval_s``. A failed round (the database away for a moment) is logged by its
    error's class and the worker carries on. Returns what the whole run did."""
    total = DeliveryStats()
    while not stop.is_set():
        try:
            stats = deliver_due(rt, limit=limit, timeout_s=timeout_s)
        except Exception as exc:  # a background worker must outlive a blink of the database
            log.warning("a webhook delivery round failed: %s", type(exc).__name__)
            stats = DeliveryStats()
        total.add(stats)
        if stats.claimed < limit:
            stop.wait(interval_s)
    return total
