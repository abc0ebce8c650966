"""What the outbox tests share: a system on a receiver, a queued message, the rows."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from mamori.audit.service import tail
from mamori.db.base import from_utc_text, to_utc_text
from mamori.dsr import outbox, systems
from mamori.dsr.outbox import enqueue
from mamori.runtime import Runtime

EMAIL = "user.contact.email"


def add_system(
    rt: Runtime, key: str, url: str, events: list[str] | None = None, *, active: bool = True
) -> str:
    with rt.db.transaction() as tx:
        secret = systems.register(
            tx, rt, key=key, title=key, url=url, events=events or list(systems.EVENTS), by="test"
        )
        if not active:
            systems.disable(tx, rt, key=key, by="test")
    return secret


def queue(
    rt: Runtime,
    ref: str,
    *,
    event: str = "erasure",
    request_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> list[str]:
    with rt.db.transaction() as tx:
        return enqueue(
            tx,
            rt,
            event=event,
            subject_ref=ref,
            request_id=request_id,
            detail={"categories": [EMAIL]} if detail is None else detail,
        )


def new_request(rt: Runtime, ref: str) -> tuple[int, str]:
    """A bare request row for ``ref``; the outbox needs only its id and reference."""
    handle, at = secrets.token_hex(8), to_utc_text(rt.now())
    with rt.db.transaction() as tx:
        (subject_id,) = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))
        tx.execute(
            "INSERT INTO dsr_requests (ref, kind, state, subject_id, received_via, received_at,"
            " paused_seconds, assigned_to, purposes, categories, language, fee_yen, outcome,"
            " created_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                handle,
                "erasure",
                "completed",
                subject_id,
                "api",
                at,
                0.0,
                "officer",
                "[]",
                "[]",
                "ja",
                0,
                "{}",
                "officer",
                at,
            ],
        )
        (request_id,) = tx.fetchone("SELECT id FROM dsr_requests WHERE ref = ?", (handle,))
    return int(request_id), handle


def messages(rt: Runtime, state: str | None = None) -> list[dict[str, Any]]:
    with rt.db.transaction() as tx:
        return outbox.list_messages(tx, state=state)


def due(message: dict[str, Any]) -> datetime:
    return from_utc_text(message["next_attempt_at"])


def entries(rt: Runtime, action: str) -> list[dict[str, Any]]:
    with rt.db.transaction() as tx:
        return [e for e in tail(tx, limit=1000) if e["action"] == action]
