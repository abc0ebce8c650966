"""Staff login: password, lockout and second factor, each attempt audited.

An unknown name and a wrong password get the same refusal and cost the same
argon2 work, so neither the answer nor its timing tells which it was. Five
failures in a row (wrong password or wrong code) lock the account for
fifteen minutes; the lockout message names no one. Roles the policy marks
``privileged`` need a confirmed second factor; any account that has one
must use it. Refusals raise ``Denied``: the unit of work rolls back, then writes
the audit entry and the failure count the refusal carries (``trail.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mamori.auth import credentials, passwords, totp
from mamori.auth.credentials import Credentials
from mamori.auth.trail import UNKNOWN, record, refuse
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.staff.service import HANDLE

PURPOSE = "auth.login"
ACTION = "login"
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
BAD_CREDENTIALS = "the name or the password is wrong"


def verify_login(
    tx: Tx, rt: Runtime, *, handle: str, password: str, totp_code: str | None, now: datetime
) -> Actor:
    """The staff actor whose password (and code, where needed) this is; else ``Denied``."""
    # A name no account could have is not looked up (a NUL byte would upset PostgreSQL).
    found = credentials.load(tx, handle) if HANDLE.match(handle) else None
    if found is None or found.password_hash is None:
        passwords.check_password(None, password)  # same cost as a real check
        actor = handle if found is not None else UNKNOWN
        raise _refuse(rt, actor, BAD_CREDENTIALS, "bad_credentials")
    if found.locked_until is not None and now < found.locked_until:
        wait = int((found.locked_until - now).total_seconds()) + 1
        raise _refuse(
            rt,
            handle,
            "too many failed logins: this account is locked for a while; try again later",
            "account_locked",
            retry_after_s=wait,
        )
    if not passwords.check_password(found.password_hash, password):
        raise _fail(rt, handle, now, BAD_CREDENTIALS, "bad_credentials")
    if not found.active:
        raise _refuse(rt, handle, f"staff account '{handle}' is disabled", "actor_disabled")
    _check_second_factor(tx, rt, found, totp_code, now)
    _succeed(tx, rt, found, password)
    return Actor(handle, found.roles, "staff", True)


def is_privileged(rt: Runtime, roles: tuple[str, ...]) -> bool:
    return any(rt.policy.roles[r].privileged for r in roles if r in rt.policy.roles)


def _check_second_factor(
    tx: Tx, rt: Runtime, found: Credentials, code: str | None, now: datetime
) -> None:
    handle = found.handle
    if found.totp_sealed is None:
        if is_privileged(rt, found.roles):
            message = "this account's role needs a second factor, and none is enrolled yet"
            raise _refuse(rt, handle, message, "totp_required", enrolled=False)
        return
    if not code:
        message = "enter the code from your authenticator app"
        raise _refuse(rt, handle, message, "totp_required", enrolled=True)
    step = totp.matching_step(rt, handle, found.totp_sealed, code, now)
    if step is None:
        raise _fail(rt, handle, now, "the code is wrong or too old", "bad_totp")
    if not totp.claim_step(tx, handle, step):
        message = "this code was used already; wait for the next one"
        raise _fail(rt, handle, now, message, "bad_totp", reused=True)


def _succeed(tx: Tx, rt: Runtime, found: Credentials, password: str) -> None:
    stored = found.password_hash
    assert stored is not None
    if passwords.needs_rehash(stored):
        stored = passwords.hash_password(password)
    tx.execute(
        "UPDATE staff_credentials SET failed_attempts = 0, locked_until = NULL,"
        " password_hash = ? WHERE handle = ?",
        (stored, found.handle),
    )
    record(
        tx,
        rt,
        actor=found.handle,
        purpose=PURPOSE,
        action=ACTION,
        outcome="allowed",
        rule="authenticated",
    )


def _fail(
    rt: Runtime, handle: str, now: datetime, message: str, rule: str, **detail: Any
) -> Denied:
    """Refuse, counting one failure (the fifth locks the account) after the rollback."""

    def count(tx: Tx) -> dict[str, Any]:
        row = tx.fetchone(
            "UPDATE staff_credentials SET failed_attempts = failed_attempts + 1"
            " WHERE handle = ? RETURNING failed_attempts",
            (handle,),
        )
        failures = int(row[0])
        if failures < MAX_FAILURES:
            return {"failures": failures}
        tx.execute(
            "UPDATE staff_credentials SET failed_attempts = 0, locked_until = ? WHERE handle = ?",
            (to_utc_text(now + LOCKOUT), handle),
        )
        return {"failures": failures, "locked": True}

    return _refuse(rt, handle, message, rule, before=count, **detail)


def _refuse(
    rt: Runtime,
    actor: str,
    message: str,
    rule: str,
    *,
    before: Callable[[Tx], dict[str, Any]] | None = None,
    retry_after_s: int | None = None,
    **detail: Any,
) -> Denied:
    """A refused attempt, audited after the rollback; a lockout carries its wait."""
    fields = {} if retry_after_s is None else {"retry_after_s": retry_after_s}
    return refuse(
        rt,
        message,
        rule=rule,
        actor=actor,
        purpose=PURPOSE,
        action=ACTION,
        detail=detail,
        before=before,
        **fields,
    )
