"""Browser sessions of staff accounts, for the pages later issues add.

The cookie is 32 random bytes; the database keeps only its SHA-256, so a
copy of the database opens no session. A session ends 12 hours after it
opened, after 30 minutes without use, when its owner logs out or changes
password, and is refused at once when the account is disabled.
``last_seen_at`` is written at most once a minute, so the idle limit holds to
within a minute and a busy page costs no write per request.

CSRF tokens for the state-changing forms are ``<id>.<issued>.<mac>``: a
random id, the second it was issued, and an HMAC-SHA256 over the session,
the id and that second under a key derived for CSRF alone. So a token is
bound to one session (another session's token does not pass), expires after
two hours, and cannot be made without the key. It is single-use: its id is
remembered when spent, until it could no longer pass anyway, and a second
use is refused as a replay. CSRF refusals are audited under the account.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mamori.auth import csrf
from mamori.auth.sealing import CSRF_LABEL, digest
from mamori.auth.trail import record, refuse
from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Denied, ValidationFailed
from mamori.guard.rules import Actor
from mamori.runtime import Runtime

ABSOLUTE = timedelta(hours=12)
IDLE = timedelta(minutes=30)
TOUCH_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(hours=24)  # ended sessions still answer "expired" for a day
PURPOSE = "auth.session"
_MAX_COOKIE = 200


@dataclass(frozen=True)
class LiveSession:
    id: str
    handle: str
    roles: tuple[str, ...]
    last_seen_at: datetime
    expires_at: datetime


def open_session(tx: Tx, rt: Runtime, *, actor: Actor) -> str:
    """Open a session for a staff actor who just logged in; returns the cookie value."""
    if actor.kind != "staff" or not actor.active:
        raise ValidationFailed("only an active staff account can open a session", code="no_session")
    now = rt.now()
    purge_sessions(tx, now=now)
    cookie = secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO staff_sessions (id, handle, created_at, last_seen_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            digest(cookie),
            actor.name,
            to_utc_text(now),
            to_utc_text(now),
            to_utc_text(now + ABSOLUTE),
        ),
    )
    _record(tx, rt, actor.name, "session_open", "session_opened")
    return cookie


def live_session(tx: Tx, rt: Runtime, *, cookie: str, now: datetime) -> LiveSession:
    """The session behind ``cookie`` if it is still good; else ``Denied``."""
    row = _load(tx, cookie)
    if row is None or row[4] is not None:
        raise Denied("there is no such session: log in", rule="session_invalid")
    handle, roles, active = row[1], tuple(json.loads(row[5])), bool(row[6])
    session = LiveSession(row[0], handle, roles, from_utc_text(row[2]), from_utc_text(row[3]))
    if now >= session.expires_at or now - session.last_seen_at >= IDLE:
        raise Denied("the session has ended: log in again", rule="session_expired")
    if not active:
        raise _refuse_disabled(rt, session, now)
    return session


def _refuse_disabled(rt: Runtime, session: LiveSession, now: datetime) -> Denied:
    """Refuse a disabled account's session, and end it (after the rollback)."""

    def end(tx: Tx) -> dict[str, Any]:
        tx.execute(
            "UPDATE staff_sessions SET revoked_at = ? WHERE id = ?", (to_utc_text(now), session.id)
        )
        return {}

    return refuse(
        rt,
        f"staff account '{session.handle}' is disabled",
        rule="actor_disabled",
        actor=session.handle,
        purpose=PURPOSE,
        action="session_use",
        before=end,
    )


def session_actor(tx: Tx, rt: Runtime, *, cookie: str, now: datetime) -> Actor:
    """The staff actor a session cookie stands for; ``Denied`` if it has ended."""
    return actor_of(tx, live_session(tx, rt, cookie=cookie, now=now), now)


def actor_of(tx: Tx, session: LiveSession, now: datetime) -> Actor:
    """The staff actor of a live session, its use noted (at most once a minute)."""
    if now - session.last_seen_at >= TOUCH_EVERY:
        tx.execute(
            "UPDATE staff_sessions SET last_seen_at = ? WHERE id = ?",
            (to_utc_text(now), session.id),
        )
    return Actor(session.handle, session.roles, "staff", True)


def close_session(tx: Tx, rt: Runtime, *, cookie: str) -> None:
    """Log out: end the session; an unknown or ended cookie changes nothing."""
    row = _load(tx, cookie)
    if row is None or row[4] is not None:
        return
    tx.execute(
        "UPDATE staff_sessions SET revoked_at = ? WHERE id = ?", (to_utc_text(rt.now()), row[0])
    )
    _record(tx, rt, row[1], "session_close", "session_closed")


def purge_sessions(tx: Tx, *, now: datetime) -> None:
    """Delete sessions (and their spent CSRF tokens) that ended more than a day ago."""
    tx.execute("DELETE FROM csrf_used WHERE expires_at <= ?", (to_utc_text(now),))
    tx.execute(
        "DELETE FROM staff_sessions WHERE expires_at <= ? OR last_seen_at <= ? OR revoked_at <= ?",
        (
            to_utc_text(now - KEEP_ENDED),
            to_utc_text(now - IDLE - KEEP_ENDED),
            to_utc_text(now - KEEP_ENDED),
        ),
    )


def _load(tx: Tx, cookie: str) -> Any:
    if not cookie or len(cookie) > _MAX_COOKIE or not cookie.isascii():
        return None
    return tx.fetchone(
        "SELECT s.id, s.handle, s.last_seen_at, s.expires_at, s.revoked_at, a.roles, a.active"
        " FROM staff_sessions s JOIN staff_accounts a ON a.handle = s.handle WHERE s.id = ?",
        (digest(cookie),),
    )


def _record(tx: Tx, rt: Runtime, handle: str, action: str, rule: str) -> None:
    record(tx, rt, actor=handle, purpose=PURPOSE, action=action, outcome="done", rule=rule)


# -- CSRF ---------------------------------------------------------------------
def issue_csrf(tx: Tx, rt: Runtime, *, cookie: str) -> str:
    """A fresh CSRF token for the session behind ``cookie`` (``Denied`` if it has ended)."""
    return csrf_for(rt, live_session(tx, rt, cookie=cookie, now=rt.now()))


def csrf_for(rt: Runtime, session: LiveSession) -> str:
    """A fresh CSRF token for a session already found live."""
    return csrf.issue(rt, CSRF_LABEL, session.id)


def check_csrf(tx: Tx, rt: Runtime, *, cookie: str, token: str | None) -> None:
    """Accept ``token`` once for the session behind ``cookie``; else ``Denied`` naming why
    (the rules of ``auth.csrf.read``, and ``csrf_replayed``)."""
    now = rt.now()
    session = live_session(tx, rt, cookie=cookie, now=now)
    checked = csrf.read(rt, CSRF_LABEL, session.id, token, now)
    if isinstance(checked, Denied):
        raise _refuse_csrf(rt, session.handle, checked)
    token_id, issued_at = checked
    keep_until = min(issued_at + csrf.LIFETIME, session.expires_at)
    spent = tx.execute(
        "INSERT INTO csrf_used (session_id, token_id, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (session_id, token_id) DO NOTHING",
        (session.id, token_id, to_utc_text(keep_until)),
    )
    if spent.rowcount != 1:
        message = "this form was sent already: reload the page to send it again"
        raise _refuse_csrf(rt, session.handle, Denied(message, rule="csrf_replayed"))


def _refuse_csrf(rt: Runtime, handle: str, denied: Denied) -> Denied:
    return refuse(
        rt,
        denied.message,
        rule=denied.rule,
        actor=handle,
        purpose="auth.csrf",
        action="csrf_check",
    )
