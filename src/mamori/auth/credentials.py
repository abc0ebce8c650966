"""A staff account's credential row, read together with the account it belongs to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from mamori.db.base import from_utc_text
from mamori.db.engine import Tx
from mamori.errors import NotFound

_SELECT = (
    "SELECT a.roles, a.active, c.password_hash, c.totp_sealed, c.totp_pending,"
    " c.totp_last_step, c.failed_attempts, c.locked_until"
    " FROM staff_accounts a LEFT JOIN staff_credentials c ON c.handle = a.handle"
    " WHERE a.handle = ?"
)


@dataclass(frozen=True)
class Credentials:
    handle: str
    roles: tuple[str, ...]
    active: bool
    password_hash: str | None
    totp_sealed: bytes | None
    totp_pending: bytes | None
    totp_last_step: int | None
    failed_attempts: int
    locked_until: datetime | None


def load(tx: Tx, handle: str) -> Credentials | None:
    """The account and its credentials, or None when there is no such account."""
    row = tx.fetchone(_SELECT, (handle,))
    if row is None:
        return None
    return Credentials(
        handle=handle,
        roles=tuple(json.loads(row[0])),
        active=bool(row[1]),
        password_hash=row[2],
        totp_sealed=None if row[3] is None else bytes(row[3]),
        totp_pending=None if row[4] is None else bytes(row[4]),
        totp_last_step=row[5],
        failed_attempts=row[6] or 0,
        locked_until=None if row[7] is None else from_utc_text(row[7]),
    )


def require(tx: Tx, handle: str) -> Credentials:
    """The account's credentials; an unknown handle is NotFound."""
    found = load(tx, handle)
    if found is None:
        raise NotFound(f"there is no staff account '{handle}'", code="unknown_staff")
    return found


def ensure_row(tx: Tx, handle: str) -> None:
    """Create the (empty) credential row of an existing account if it has none."""
    tx.execute(
        "INSERT INTO staff_credentials (handle, failed_attempts) VALUES (?, 0)"
        " ON CONFLICT (handle) DO NOTHING",
        (handle,),
    )
