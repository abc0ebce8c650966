"""Members' browser sessions and the CSRF tokens of their forms.

Mirrors the staff sessions of ``auth/sessions.py``: the cookie is 32 random
bytes and only its SHA-256 is kept (a copy of the database opens nothing); a
session ends 30 minutes after its last use or 12 hours after it opened. CSRF
tokens are ``<id>.<issued>.<mac>`` bound to one session under a key of their
own, single use (the spent id is kept in ``member_csrf_used``), two hours.
Refusals are audited under the member actor, never with a personal value.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mamori.audit.service import Entry
from mamori.auth import csrf
from mamori.auth.sealing import digest
from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.compiled import MEMBER_PREFIX, SYSTEM_MEMBER_ROLE
from mamori.runtime import Runtime

ABSOLUTE = timedelta(hours=12)
IDLE = timedelta(minutes=30)
KEEP_ENDED = timedelta(hours=24)
MEMBER_CSRF_LABEL = b"mamori/member-csrf/v1"
PURPOSE = "auth.session"
_MAX_COOKIE = 200


@dataclass(frozen=True)
class Member:
    """A signed-in member: the session row's id and the subject it stands for."""

    session_id: str
    subject_id: int
    ref: str

    @property
    def actor(self) -> Actor:
        return member_actor(self.ref)


def member_actor(ref: str) -> Actor:
    """The actor pages use for a member: the guard lets it reach ``ref`` only."""
    return Actor(f"{MEMBER_PREFIX}{ref}", (SYSTEM_MEMBER_ROLE,), kind="member")


def cookie_name(secure: bool) -> str:
    """``__Host-`` needs Secure, so the prefix is used only over https."""
    return "__Host-mamori_member" if secure else "mamori_member"


def open_session(tx: Tx, rt: Runtime, *, subject_id: int, ref: str) -> str:
    """Open a session for a member who just gave a right code; returns the cookie value."""
    now = rt.now()
    purge(tx, now=now)
    cookie = secrets.token_urlsafe(32)
    tx.execute(
        "INSERT INTO member_sessions (id, subject_id, created_at, last_seen_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (
            digest(cookie),
            subject_id,
            to_utc_text(now),
            to_utc_text(now),
            to_utc_text(now + ABSOLUTE),
        ),
    )
    _trail(tx, rt, ref, "session_open", "session_opened")
    return cookie


def live(tx: Tx, rt: Runtime, cookie: str) -> Member | str | None:
    """The member behind ``cookie``; ``"expired"`` for an ended session; None for none."""
    if not cookie or len(cookie) > _MAX_COOKIE or not cookie.isascii():
        return None
    row = tx.fetchone(
        "SELECT m.id, m.subject_id, s.ref, m.last_seen_at, m.expires_at, m.ended_at"
        " FROM member_sessions m JOIN subjects s ON s.id = m.subject_id WHERE m.id = ?",
        (digest(cookie),),
    )
    if row is None:
        return None
    now = rt.now()
    if row[5] is not None or now >= from_utc_text(row[4]) or now - from_utc_text(row[3]) >= IDLE:
        return "expired"
    tx.execute(
        "UPDATE member_sessions SET last_seen_at = ? WHERE id = ?", (to_utc_text(now), row[0])
    )
    return Member(row[0], int(row[1]), row[2])


def close(tx: Tx, rt: Runtime, member: Member) -> None:
    """Sign out: end the member's session (audited, by reference only)."""
    tx.execute(
        "UPDATE member_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL",
        (to_utc_text(rt.now()), member.session_id),
    )
    _trail(tx, rt, member.ref, "session_close", "session_closed")


def _trail(tx: Tx, rt: Runtime, ref: str, action: str, rule: str) -> None:
    """Sign-in and sign-out leave a trace under the member actor, naming the subject by ref."""
    entry = Entry(member_actor(ref).name, PURPOSE, action, [ref], [], "done", rule)
    rt.audit.append(tx, entry, at=rt.now())


def purge(tx: Tx, *, now: datetime) -> None:
    """Drop sessions ended more than a day ago, and spent tokens that could no longer pass."""
    tx.execute("DELETE FROM member_csrf_used WHERE expires_at <= ?", (to_utc_text(now),))
    tx.execute(
        "DELETE FROM member_sessions WHERE expires_at <= ? OR last_seen_at <= ?",
        (to_utc_text(now - KEEP_ENDED), to_utc_text(now - IDLE - KEEP_ENDED)),
    )


# -- CSRF ---------------------------------------------------------------------
def issue_csrf(rt: Runtime, member: Member) -> str:
    """A fresh token for one form of this member's session."""
    return csrf.issue(rt, MEMBER_CSRF_LABEL, member.session_id)


def check_csrf(tx: Tx, rt: Runtime, member: Member, token: str | None) -> None:
    """Accept ``token`` once for this session, else a ``Denied`` that is audited."""
    checked = csrf.read(rt, MEMBER_CSRF_LABEL, member.session_id, token, rt.now())
    if not isinstance(checked, Denied):
        token_id, issued_at = checked
        spent = tx.execute(
            "INSERT INTO member_csrf_used (session_id, token_id, expires_at)"
            " VALUES (?, ?, ?) ON CONFLICT (session_id, token_id) DO NOTHING",
            (member.session_id, token_id, to_utc_text(issued_at + csrf.LIFETIME)),
        )
        if spent.rowcount == 1:
            return
        checked = Denied("this form was sent already", rule="csrf_replayed")
    entry = Entry(member.actor.name, "auth.csrf", "csrf_check", [], [], "denied", checked.rule)
    raise refuse(rt, Denied("the form's CSRF token was refused", rule=checked.rule), entry)
