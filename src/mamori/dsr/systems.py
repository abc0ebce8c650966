"""Downstream systems: the web shop, the mailer, the event system.

Each keeps copies of personal data, so when a request corrects, erases or
stops the use or provision of a person's data, each system subscribed to that
event must hear of it (``mamori.dsr.outbox``). A system is registered with
the URL Mamori posts to and the events it wants; it receives a signing secret
once, which Mamori keeps sealed under a key derived from the audit key and
uses to sign every webhook (``sign``; ``verify_signature`` is the receiver's
side, written out for integrators). Every change to the register is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mamori.audit.service import Entry
from mamori.auth.sealing import seal, unseal
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict, NotFound, ValidationFailed
from mamori.runtime import Runtime

WEBHOOK_LABEL = b"mamori/webhook/v1"
PURPOSE = "system.admin"
EVENTS = (
    "correction",
    "erasure",
    "cessation_of_use",
    "resumption_of_use",
    "cessation_of_provision",
    "resumption_of_provision",
)
KEY = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise ValidationFailed(
            "a system key is 2–63 lower-case letters, digits, dots, dashes or underscores",
            code="system_key_invalid",
            field="key",
        )
    return key


def check_url(url: str) -> str:
    """An http(s) address with a host; plain http only to this machine, so secrets and
    notices about people never cross a network in the clear."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 -- a malformed port raises here
    except ValueError:
        parts, host = None, None
    if (
        parts is None
        or not host
        or parts.scheme not in ("http", "https")
        or len(url) > 2000
        or _CONTROL.search(url)
    ):
        raise ValidationFailed(
            "a system's URL must be an http or https address with a host",
            code="system_url_invalid",
            field="url",
        )
    if parts.username is not None or parts.password is not None:
        raise ValidationFailed(
            "a system's URL must not carry a user name or password; the signature proves Mamori",
            code="system_url_credentials",
            field="url",
        )
    if parts.scheme == "http" and host not in LOOPBACK:
        raise ValidationFailed(
            "a system's URL must use https; plain http is accepted only for 127.0.0.1, ::1 "
            "or localhost",
            code="system_url_insecure",
            field="url",
        )
    return url


def check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise ValidationFailed(
            f"unknown event {', '.join(unknown) or '(none given)'}; the events are: "
            f"{', '.join(EVENTS)}",
            code="system_event_invalid",
            field="events",
        )
    return [e for e in EVENTS if e in events]


def _check_title(title: str) -> str:
    title = title.strip()
    if not title or len(title) > 200 or _CONTROL.search(title):
        raise ValidationFailed(
            "a system's title is 1–200 characters on one line",
            code="system_title_invalid",
            field="title",
        )
    return title


def _audit(tx: Tx, rt: Runtime, by: str, action: str, detail: dict[str, Any]) -> None:
    rt.audit.append(tx, Entry(by, PURPOSE, action, [], [], "done", action, detail), at=rt.now())


def register(
    tx: Tx, rt: Runtime, *, key: str, title: str, url: str, events: list[str], by: str
) -> str:
    """Register a system; returns its signing secret, which is shown this once only."""
    check_key(key)
    title, url, events = _check_title(title), check_url(url), check_events(events)
    if tx.fetchone("SELECT 1 FROM downstream_systems WHERE key = ?", (key,)):
        raise Conflict(f"a system '{key}' is already registered", code="system_exists")
    secret = secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO downstream_systems (key, title, url, secret_sealed, events, active,"
        " created_at, created_by) VALUES (?,?,?,?,?,?,?,?)",
        (
            key,
            title,
            url,
            seal(rt, WEBHOOK_LABEL, key, secret),
            json.dumps(events),
            True,
            _now_text(rt),
            by,
        ),
    )
    _audit(tx, rt, by, "system_register", {"system": key, "events": events})
    return secret


def list_systems(tx: Tx) -> list[dict[str, Any]]:
    """Every registered system with its delivery counts; never its secret."""
    rows = tx.fetchall(
        "SELECT s.key, s.title, s.url, s.events, s.active, s.created_at, s.created_by,"
        " SUM(CASE WHEN o.id IS NOT NULL AND o.delivered_at IS NULL AND o.dead_at IS NULL"
        " THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN o.dead_at IS NOT NULL THEN 1 ELSE 0 END)"
        " FROM downstream_systems s LEFT JOIN outbox o ON o.system_id = s.id"
        " GROUP BY s.id, s.key, s.title, s.url, s.events, s.active, s.created_at, s.created_by"
        " ORDER BY s.key"
    )
    return [
        {
            "key": r[0],
            "title": r[1],
            "url": r[2],
            "events": json.loads(r[3]),
            "active": bool(r[4]),
            "created_at": r[5],
            "created_by": r[6],
            "pending": int(r[7] or 0),
            "dead": int(r[8] or 0),
        }
        for r in rows
    ]


def set_active(tx: Tx, rt: Runtime, *, key: str, active: bool, by: str) -> None:
    """Disable or enable a system. A disabled system is sent nothing: new events queue
    no message for it, and messages already queued wait, their attempts uncounted,
    until it is enabled again."""
    cursor = tx.execute("UPDATE downstream_systems SET active = ? WHERE key = ?", (active, key))
    if cursor.rowcount == 0:
        raise NotFound(f"there is no system '{key}'", code="unknown_system")
    action = "system_enable" if active else "system_disable"
    _audit(tx, rt, by, action, {"system": key})


def disable(tx: Tx, rt: Runtime, *, key: str, by: str) -> None:
    set_active(tx, rt, key=key, active=False, by=by)


def enable(tx: Tx, rt: Runtime, *, key: str, by: str) -> None:
    set_active(tx, rt, key=key, active=True, by=by)


def rotate_secret(tx: Tx, rt: Runtime, *, key: str, by: str) -> str:
    """A new signing secret, shown this once; every delivery from now on, including
    retries of messages already queued, is signed with it."""
    secret = secrets.token_urlsafe(32)
    cursor = tx.execute(
        "UPDATE downstream_systems SET secret_sealed = ? WHERE key = ?",
        (seal(rt, WEBHOOK_LABEL, key, secret), key),
    )
    if cursor.rowcount == 0:
        raise NotFound(f"there is no system '{key}'", code="unknown_system")
    _audit(tx, rt, by, "system_rotate_secret", {"system": key})
    return secret


def update(
    tx: Tx,
    rt: Runtime,
    *,
    key: str,
    by: str,
    url: str | None = None,
    events: list[str] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """Move a system to a new address, or change what it hears of or its title.

    Messages already queued go to the new address on their next attempt; a
    change of events affects only events from now on.
    """
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = check_url(url)
    if events is not None:
        changes["events"] = json.dumps(check_events(events))
    if title is not None:
        changes["title"] = _check_title(title)
    if not changes:
        raise ValidationFailed(
            "say what changes: --url, --event or --title", code="nothing_to_change"
        )
    sets = ", ".join(f"{column} = ?" for column in changes)
    cursor = tx.execute(
        f"UPDATE downstream_systems SET {sets} WHERE key = ?", (*changes.values(), key)
    )
    if cursor.rowcount == 0:
        raise NotFound(f"there is no system '{key}'", code="unknown_system")
    detail: dict[str, Any] = {"system": key, "changed": sorted(changes)}
    if events is not None:
        detail["events"] = json.loads(changes["events"])
    _audit(tx, rt, by, "system_update", detail)
    return next(s for s in list_systems(tx) if s["key"] == key)


def requeue_dead(tx: Tx, rt: Runtime, *, key: str, by: str) -> int:
    """Give every message a system was given up on a fresh start, due now; returns how many.

    For after the system is mended: each message keeps its idempotency id, so a
    receiver that did take one of them earlier recognises it.
    """
    row = tx.fetchone("SELECT id FROM downstream_systems WHERE key = ?", (key,))
    if row is None:
        raise NotFound(f"there is no system '{key}'", code="unknown_system")
    cursor = tx.execute(
        "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = ?, last_error = NULL"
        " WHERE system_id = ? AND dead_at IS NOT NULL AND delivered_at IS NULL",
        (_now_text(rt), row[0]),
    )
    count = int(cursor.rowcount or 0)
    _audit(tx, rt, by, "system_requeue", {"system": key, "messages": count})
    return count


def open_secret(rt: Runtime, key: str, sealed: bytes) -> str:
    """The signing secret of system ``key``, opened for one delivery."""
    return unseal(rt, WEBHOOK_LABEL, key, sealed)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``Mamori-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    header: str,
    *,
    now: datetime,
    tolerance_s: int = 300,
) -> bool:
    """Check a webhook from Mamori, as a receiving system should.

    The rule, for integrators to copy into any language:

    1. Take the raw request body as received, before any JSON parsing.
    2. ``Mamori-Timestamp`` is Unix seconds; refuse it if it is more than five
       minutes away from your clock (an old message replayed).
    3. Compute HMAC-SHA256 with the system's signing secret (the text shown by
       ``mamori systems add`` or ``rotate``, as UTF-8) over the timestamp, a
       full stop, and the body: ``f"{timestamp}.".encode() + body``.
    4. ``Mamori-Signature`` is ``v1=`` and that MAC in lower-case hex (possibly
       several, comma-separated); accept if one equals yours, compared in
       constant time.
    5. Act once per ``Mamori-Webhook-Id``: a retry of a message you already
       acted on carries the same id; answer it 2xx again.
    """
    if not _TIMESTAMP.match(timestamp):
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode()
    matched = False
    for candidate in header.split(","):
        matched |= hmac.compare_digest(candidate.strip().encode(), expected)
    return matched


def _now_text(rt: Runtime) -> str:
    return to_utc_text(rt.now())
