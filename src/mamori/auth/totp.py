"""The second factor: time-based one-time codes (RFC 6238: 30 s, 6 digits).

Enrolment makes a pending seed and returns its ``otpauth://`` URI once;
the seed takes over from any earlier one only when a code from it is
confirmed, so a mistyped enrolment cannot lock a person out. Seeds are
sealed at rest (``sealing.py``). A code is accepted in the current step or
one step either side, and each account remembers its last accepted step,
so a code seen over someone's shoulder cannot be used a second time.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from mamori.auth import credentials
from mamori.auth.sealing import TOTP_LABEL, seal, unseal
from mamori.auth.trail import record, refuse
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.runtime import Runtime

ISSUER = "Mamori"
INTERVAL = 30
DIGITS = 6
WINDOW = 1


def _totp(seed: str) -> pyotp.TOTP:
    return pyotp.TOTP(seed, digits=DIGITS, interval=INTERVAL, issuer=ISSUER)


def matching_step(rt: Runtime, handle: str, sealed: bytes, code: str, now: datetime) -> int | None:
    """The time-step ``code`` belongs to, within the window, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = _totp(unseal(rt, TOTP_LABEL, handle, sealed))
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(code, totp.generate_otp(step)):
            return step
    return None


def claim_step(tx: Tx, handle: str, step: int) -> bool:
    """Record ``step`` as used; False if it (or a later one) was used already."""
    cursor = tx.execute(
        "UPDATE staff_credentials SET totp_last_step = ?"
        " WHERE handle = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
        (step, handle, step),
    )
    return bool(cursor.rowcount == 1)


def enroll_totp(tx: Tx, rt: Runtime, *, handle: str, by: str | None = None) -> str:
    """Make a pending seed for ``handle``; returns its provisioning URI (show it once)."""
    credentials.require(tx, handle)
    credentials.ensure_row(tx, handle)
    seed = pyotp.random_base32()
    tx.execute(
        "UPDATE staff_credentials SET totp_pending = ? WHERE handle = ?",
        (seal(rt, TOTP_LABEL, handle, seed), handle),
    )
    record(
        tx,
        rt,
        actor=by or handle,
        purpose="staff.admin",
        action="totp_enroll",
        outcome="done",
        rule="totp_pending",
        detail={"handle": handle},
    )
    return _totp(seed).provisioning_uri(name=handle, issuer_name=ISSUER)


def confirm_totp(
    tx: Tx, rt: Runtime, *, handle: str, code: str, now: datetime, by: str | None = None
) -> None:
    """Make the pending seed the account's second factor, given a code it produced.

    A wrong code is refused (rule ``bad_totp``) and the seed stays pending;
    no pending seed is refused with rule ``totp_not_enrolled``.
    """
    found = credentials.require(tx, handle)
    who = by or handle
    if found.totp_pending is None:
        message = "there is no second factor waiting to be confirmed: enrol one first"
        raise _refuse_confirm(rt, who, handle, message, "totp_not_enrolled")
    step = matching_step(rt, handle, found.totp_pending, code, now)
    if step is None:
        message = "the code does not match the authenticator being enrolled"
        raise _refuse_confirm(rt, who, handle, message, "bad_totp")
    tx.execute(
        "UPDATE staff_credentials SET totp_sealed = totp_pending, totp_pending = NULL,"
        " totp_last_step = ? WHERE handle = ?",
        (step, handle),
    )
    record(
        tx,
        rt,
        actor=who,
        purpose="staff.admin",
        action="totp_confirm",
        outcome="done",
        rule="totp_confirmed",
        detail={"handle": handle},
    )


def _refuse_confirm(rt: Runtime, who: str, handle: str, message: str, rule: str) -> Denied:
    return refuse(
        rt,
        message,
        rule=rule,
        actor=who,
        purpose="staff.admin",
        action="totp_confirm",
        detail={"handle": handle},
    )
