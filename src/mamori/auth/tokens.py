"""Service tokens: how another system (web shop, forms, mailer) proves who it is.

A token is ``mmr_<id>_<secret>``: an 8-hex-digit id to find it by, and 32
random bytes. It is shown once; the database keeps only the SHA-256 of the
whole string, compared in constant time. A token acts with exactly one
role from the policy, until it expires or is revoked. Creating and revoking
are audited, and so is every refused authentication; a good one is not
(the access it makes is audited by the guard, as ``token:<id>``).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from mamori.auth.sealing import digest
from mamori.auth.trail import UNKNOWN, record, refuse
from mamori.db.base import from_utc_text, to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.runtime import Runtime

PREFIX = "mmr_"
SECRET = re.compile(r"mmr_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
TOKEN_ID = re.compile(r"[0-9a-f]{8}")
MAX_DAYS = 3650
# last_used_at is written at most this often, so a busy token costs no write per call.
TOUCH_EVERY = timedelta(minutes=1)
_COLUMNS = "id, label, role, created_by, created_at, expires_at, revoked_at, last_used_at"


@dataclass(frozen=True)
class TokenInfo:
    """What may be shown about a token: everything except its secret."""

    id: str
    label: str
    role: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def actor_name(self) -> str:
        return f"token:{self.id}"

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"

    def to_dict(self) -> dict[str, Any]:
        return {
            k: to_utc_text(v) if isinstance(v, datetime) else v for k, v in asdict(self).items()
        }


def _info(row: Any) -> TokenInfo:
    def when(text: str | None) -> datetime | None:
        return None if text is None else from_utc_text(text)

    created, expires = from_utc_text(row[4]), from_utc_text(row[5])
    return TokenInfo(row[0], row[1], row[2], row[3], created, expires, when(row[6]), when(row[7]))


def _validate(rt: Runtime, label: str, role: str, expires_in_days: int) -> None:
    if role not in rt.policy.roles:
        known = ", ".join(sorted(rt.policy.roles))
        raise ValidationFailed(
            f"unknown role {role}; the policy has: {known}", code="unknown_role", field="role"
        )
    if not label.strip() or len(label) > 100 or not label.isprintable():
        raise ValidationFailed(
            "a token label is 1–100 printable characters", code="bad_label", field="label"
        )
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise ValidationFailed(
            f"a token lasts from 1 to {MAX_DAYS} days", code="bad_expiry", field="expires_in_days"
        )


def create_token(
    tx: Tx, rt: Runtime, *, label: str, role: str, expires_in_days: int, by: str
) -> tuple[TokenInfo, str]:
    """Make a token for ``role``; returns its description and its secret (shown once)."""
    _validate(rt, label, role, expires_in_days)
    token_id = secrets.token_hex(4)
    while tx.fetchone("SELECT 1 FROM service_tokens WHERE id = ?", (token_id,)):
        token_id = secrets.token_hex(4)
    random_part = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    secret = f"{PREFIX}{token_id}_{random_part}"
    now = rt.now()
    info = TokenInfo(token_id, label.strip(), role, by, now, now + timedelta(days=expires_in_days))
    expires = to_utc_text(info.expires_at)
    tx.execute(
        "INSERT INTO service_tokens (id, digest, label, role, created_by, created_at, expires_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_id, digest(secret), info.label, role, by, to_utc_text(now), expires),
    )
    detail = {"token": token_id, "role": role, "expires_at": expires}
    _record(tx, rt, by, "token_create", "token_created", detail)
    return info, secret


def authenticate_token(tx: Tx, rt: Runtime, *, secret: str, now: datetime) -> Actor:
    """The actor a token secret stands for; ``Denied`` if it is unknown, revoked or expired."""
    match = SECRET.fullmatch(secret)
    token_id = match.group(1) if match else None
    row = None
    if token_id is not None:
        row = tx.fetchone(
            f"SELECT {_COLUMNS}, digest FROM service_tokens WHERE id = ?", (token_id,)
        )
    given = digest(secret) if match else ""
    if row is None or not hmac.compare_digest(given, row[8]):
        who = f"token:{token_id}" if token_id else UNKNOWN
        raise _refuse(rt, who, "the token is not valid", "token_invalid")
    info = _info(row)
    state = info.state(now)
    if state != "active":
        raise _refuse(rt, info.actor_name, f"the token was {state}", f"token_{state}")
    if info.last_used_at is None or now - info.last_used_at >= TOUCH_EVERY:
        tx.execute(
            "UPDATE service_tokens SET last_used_at = ? WHERE id = ?", (to_utc_text(now), info.id)
        )
    return Actor(info.actor_name, (info.role,), "token", True)


def _refuse(rt: Runtime, who: str, message: str, rule: str) -> Denied:
    return refuse(rt, message, rule=rule, actor=who, purpose="auth.token", action="token_use")


def list_tokens(tx: Tx) -> list[TokenInfo]:
    """Every token, newest first, without secrets."""
    rows = tx.fetchall(f"SELECT {_COLUMNS} FROM service_tokens ORDER BY created_at DESC, id")
    return [_info(r) for r in rows]


def get_token(tx: Tx, *, token_id: str) -> TokenInfo:
    """One token's description; an id that names no token is NotFound."""
    row = None
    if TOKEN_ID.fullmatch(token_id):
        row = tx.fetchone(f"SELECT {_COLUMNS} FROM service_tokens WHERE id = ?", (token_id,))
    if row is None:
        raise NotFound("there is no token with that id", code="unknown_token")
    return _info(row)


def revoke_token(tx: Tx, rt: Runtime, *, token_id: str, by: str) -> TokenInfo:
    """Revoke a token from now on; revoking a revoked token changes nothing."""
    info = get_token(tx, token_id=token_id)
    if info.revoked_at is not None:
        return info
    now = rt.now()
    tx.execute(
        "UPDATE service_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ?",
        (to_utc_text(now), by, token_id),
    )
    _record(tx, rt, by, "token_revoke", "token_revoked", {"token": token_id})
    return get_token(tx, token_id=token_id)


def _record(tx: Tx, rt: Runtime, by: str, action: str, rule: str, detail: dict[str, str]) -> None:
    record(
        tx,
        rt,
        actor=by,
        purpose="auth.token",
        action=action,
        outcome="done",
        rule=rule,
        detail=detail,
    )
