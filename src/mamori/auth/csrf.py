"""CSRF tokens for the forms of a session, staff's or a member's.

A token is ``<id>.<issued>.<mac>``: a random id, the second it was issued,
and an HMAC-SHA256 over the session, the id and that second under a key
derived for one kind of session alone. So a token is bound to one session,
expires after two hours, and cannot be made without the key. Spending it
once (remembering its id) is the caller's, since staff and members keep
their spent ids in tables of their own.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from datetime import datetime, timedelta

from mamori.auth.sealing import subkey
from mamori.errors import Denied
from mamori.runtime import Runtime

LIFETIME = timedelta(hours=2)
SKEW = timedelta(minutes=1)
TOKEN = re.compile(r"([A-Za-z0-9_-]{16})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")


def _mac(rt: Runtime, label: bytes, session_id: str, token_id: str, issued: int) -> str:
    message = f"{session_id}|{token_id}|{issued}".encode()
    tag = hmac.digest(subkey(rt, label), message, "sha256")
    return base64.urlsafe_b64encode(tag).decode().rstrip("=")


def issue(rt: Runtime, label: bytes, session_id: str) -> str:
    """A fresh token for one form of the session ``session_id``."""
    token_id = secrets.token_urlsafe(12)
    issued = int(rt.now().timestamp())
    return f"{token_id}.{issued}.{_mac(rt, label, session_id, token_id, issued)}"


def read(
    rt: Runtime, label: bytes, session_id: str, token: str | None, now: datetime
) -> tuple[str, datetime] | Denied:
    """The token's id and issue time if it is this session's and fresh; else the refusal.

    Rules: ``csrf_missing``, ``csrf_invalid`` (malformed, forged or another
    session's), ``csrf_expired`` (older than two hours).
    """
    if not token:
        return Denied("the form carries no CSRF token", rule="csrf_missing")
    invalid = Denied("the form's CSRF token is not valid", rule="csrf_invalid")
    match = TOKEN.fullmatch(token)
    if match is None:
        return invalid
    token_id, issued, mac = match.group(1), int(match.group(2)), match.group(3)
    if not hmac.compare_digest(mac, _mac(rt, label, session_id, token_id, issued)):
        return invalid
    issued_at = datetime.fromtimestamp(issued, now.tzinfo)
    if issued_at > now + SKEW:
        return invalid
    if now >= issued_at + LIFETIME:
        message = "the form is too old: reload the page and send it again"
        return Denied(message, rule="csrf_expired")
    return token_id, issued_at
