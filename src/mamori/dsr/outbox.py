"""The durable outbox: signed webhooks telling downstream systems what a request changed.

A fulfilment queues its messages in its own transaction (``enqueue``), so a
fulfilment that rolls back tells no one, and one that commits is never
forgotten. A worker (``deliver_due``, ``run_forever``) later claims what is
due in a short transaction, posts it with no transaction open, and records the
answer in another. A 2xx answer is the system's confirmation; anything else is
tried again with exponential backoff, and after twelve attempts the message is
marked dead for a person to look at.

A claim leases its messages (their next attempt moves past the time the posts
can take), so two workers never send one message at once; a worker that dies
mid-post leaves its messages to be sent again once the lease ends. Delivery is
therefore at least once: receivers recognise a repeat by ``Mamori-Webhook-Id``,
which stays the same across every attempt of one message.

Payloads name the person by subject reference and say what changed by category
and purpose keys: a webhook never carries a personal value. How a receiver
checks the signature is ``verify_signature`` (kept in ``systems`` beside the
secrets, and importable from here).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.dsr.systems import EVENTS
from mamori.dsr.systems import verify_signature as verify_signature
from mamori.errors import NotFound, ValidationFailed
from mamori.runtime import Runtime

PURPOSE = "system.outbox"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MESSAGES = (
    "SELECT o.idempotency_key, s.key, s.title, o.event, o.payload, o.created_at, o.attempts,"
    " o.next_attempt_at, o.last_status, o.last_error, o.delivered_at, o.dead_at"
    " FROM outbox o JOIN downstream_systems s ON s.id = o.system_id"
)


# -- queueing ------------------------------------------------------------------


def enqueue(
    tx: Tx,
    rt: Runtime,
    *,
    event: str,
    subject_ref: str,
    request_id: int | None,
    detail: Mapping[str, Any],
) -> list[str]:
    """Queue one message per active system subscribed to ``event``, in the caller's
    transaction; returns the keys of the systems that will hear of it.

    ``detail`` says what changed, by name (``categories``, ``purposes``, ``erased``,
    ...): each entry a category or purpose key of the policy (or ``*``), a list of
    them, a Mamori UTC time, a flag or None. Anything else is refused, so no caller
    can put a personal value into a webhook by mistake.
    """
    if event not in EVENTS:
        raise ValidationFailed(
            f"unknown event '{event}'; the events are: {', '.join(EVENTS)}",
            code="webhook_event_invalid",
        )
    if not tx.fetchone("SELECT 1 FROM subjects WHERE ref = ?", (subject_ref,)):
        raise NotFound("the subject a webhook names does not exist", code="unknown_subject")
    at = to_utc_text(rt.now())
    body = {
        "event": event,
        "subject": subject_ref,
        "request": _request_ref(tx, request_id),
        "occurred_at": at,
        "detail": _check_detail(rt, detail),
    }
    systems = _subscribers(tx, event)
    rows = []
    for system_id in systems.values():
        message = secrets.token_hex(16)
        payload = json.dumps(
            {"id": message, **body}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        rows.append((system_id, request_id, event, message, payload, at, 0, at))
    if rows:
        tx.executemany(
            "INSERT INTO outbox (system_id, request_id, event, idempotency_key, payload,"
            " created_at, attempts, next_attempt_at) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
    return list(systems)


def _subscribers(tx: Tx, event: str) -> dict[str, int]:
    """Active systems subscribed to ``event``: key → id, by key."""
    rows = tx.fetchall(
        "SELECT key, id, events FROM downstream_systems WHERE active = ? ORDER BY key", (True,)
    )
    return {r[0]: r[1] for r in rows if event in json.loads(r[2])}


def _request_ref(tx: Tx, request_id: int | None) -> str | None:
    if request_id is None:
        return None
    row = tx.fetchone("SELECT ref FROM dsr_requests WHERE id = ?", (request_id,))
    if row is None:
        raise NotFound(f"there is no request {request_id}", code="unknown_request")
    return str(row[0])


def _check_detail(rt: Runtime, detail: Mapping[str, Any]) -> dict[str, Any]:
    """Only keys of the policy, times and flags pass: never a value, whoever calls."""
    keys = rt.policy.categories.keys() | rt.policy.purposes.keys() | {"*"}
    clean: dict[str, Any] = {}
    for name, value in detail.items():
        if not _NAME.match(name) or not _keys_only(value, keys):
            raise ValidationFailed(
                "a webhook's detail holds only category and purpose keys, times and yes/no "
                "flags, never a value",
                code="webhook_detail_invalid",
            )
        clean[name] = list(value) if isinstance(value, list | tuple) else value
    return clean


def _keys_only(value: Any, keys: AbstractSet[str], *, nested: bool = False) -> bool:
    if value is None or isinstance(value, bool):
        return not nested
    if isinstance(value, str):
        return value in keys or _is_time(value)
    if isinstance(value, list | tuple) and not nested:
        return all(_keys_only(item, keys, nested=True) for item in value)
    return False


def _is_time(text: str) -> bool:
    try:
        from_utc_text(text)
    except ValueError:
        return False
    return True


# -- reading -------------------------------------------------------------------


def status_for_request(tx: Tx, request_id: int) -> list[dict[str, Any]]:
    """Which systems were told of a request's changes, and which confirmed (a 2xx):
    per message the system, event, delivered_at (UTC text or None), attempts,
    last_status and whether it was given up on."""
    rows = tx.fetchall(
        "SELECT s.key, o.event, o.delivered_at, o.attempts, o.last_status, o.dead_at"
        " FROM outbox o JOIN downstream_systems s ON s.id = o.system_id"
        " WHERE o.request_id = ? ORDER BY o.id",
        (request_id,),
    )
    return [
        {
            "system": r[0],
            "event": r[1],
            "delivered_at": r[2],
            "attempts": int(r[3]),
            "last_status": r[4],
            "dead": r[5] is not None,
        }
        for r in rows
    ]


def list_messages(tx: Tx, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Messages newest first; ``state`` is pending, delivered or dead (all when None)."""
    where = {
        None: "",
        "pending": " WHERE o.delivered_at IS NULL AND o.dead_at IS NULL",
        "delivered": " WHERE o.delivered_at IS NOT NULL",
        "dead": " WHERE o.dead_at IS NOT NULL",
    }
    if state not in where:
        raise ValidationFailed(
            "a message state is pending, delivered or dead", code="outbox_state_invalid"
        )
    rows = tx.fetchall(_MESSAGES + where[state] + " ORDER BY o.id DESC LIMIT ?", (limit,))
    return [_message(row) for row in rows]


def _message(row: Sequence[Any]) -> dict[str, Any]:
    """One message for people and scripts; times in Mamori's UTC text, as stored."""
    payload = json.loads(row[4])
    settled = row[10] is not None or row[11] is not None
    return {
        "message": row[0],
        "system": row[1],
        "title": row[2],
        "event": row[3],
        "subject": payload["subject"],
        "request": payload["request"],
        "state": "delivered" if row[10] else "dead" if row[11] else "pending",
        "created_at": row[5],
        "attempts": int(row[6]),
        "next_attempt_at": None if settled else row[7],
        "last_status": row[8],
        "last_error": row[9],
        "delivered_at": row[10],
        "dead_at": row[11],
    }
