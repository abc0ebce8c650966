"""Staff passwords: argon2id hashes, the rules a new password must meet, setting one.

The hasher is the module attribute ``HASHER`` (argon2-cffi's defaults, RFC 9106's
low-memory profile), looked up at each call so tests can swap in a cheap one::

    monkeypatch.setattr(mamori.auth.passwords, "HASHER", PasswordHasher(time_cost=1, ...))

A stored hash made with other parameters is re-hashed at the next good login.
A password never reaches the audit log, an error message or a log line.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mamori.auth import credentials
from mamori.auth.trail import record
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import ValidationFailed
from mamori.runtime import Runtime

HASHER = PasswordHasher()
MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 accepts more; nobody types more, and it bounds the work


def _bytes(password: str) -> bytes:
    # surrogatepass: a lone surrogate from a JSON body is a wrong password, not a crash.
    return password.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    return HASHER.hash(_bytes(password))


@functools.lru_cache(maxsize=8)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("mamori dummy password, never a real one")


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no stored hash, costs the same and fails."""
    hasher = HASHER
    try:
        return hasher.verify(stored or _dummy_hash(hasher), _bytes(password)) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def validate_password(handle: str, password: str) -> None:
    """Refuse a password that is too short, too long or the account's own name."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_LENGTH} characters",
            code="password_too_short",
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            f"a password may have at most {MAX_LENGTH} characters",
            code="password_too_long",
            field="password",
        )
    if not password.isprintable():
        raise ValidationFailed(
            "a password may hold only printable characters",
            code="password_unprintable",
            field="password",
        )
    if password.strip().casefold() == handle.casefold():
        raise ValidationFailed(
            "a password may not be the account's own name",
            code="password_is_handle",
            field="password",
        )


def set_password(tx: Tx, rt: Runtime, *, handle: str, password: str, by: str) -> None:
    """Set a staff account's password; clears a lockout and ends its open sessions."""
    credentials.require(tx, handle)
    validate_password(handle, password)
    hashed = hash_password(password)
    now = to_utc_text(rt.now())
    credentials.ensure_row(tx, handle)
    tx.execute(
        "UPDATE staff_credentials SET password_hash = ?, password_changed_at = ?,"
        " failed_attempts = 0, locked_until = NULL WHERE handle = ?",
        (hashed, now, handle),
    )
    # A changed password ends every session opened with the old one.
    tx.execute(
        "UPDATE staff_sessions SET revoked_at = ? WHERE handle = ? AND revoked_at IS NULL",
        (now, handle),
    )
    record(
        tx,
        rt,
        actor=by,
        purpose="staff.admin",
        action="staff_passwd",
        outcome="done",
        rule="password_set",
        detail={"handle": handle},
    )
