"""Small helpers for the authentication tests: set a password, log in, read the trail."""

from __future__ import annotations

from typing import Any

import pyotp

from mamori.auth import passwords, totp
from mamori.auth.login import verify_login
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.runtime import Runtime

PASSWORD = "correct horse battery"  # a test password, not anyone's


def set_password(rt: Runtime, handle: str, password: str = PASSWORD) -> None:
    with rt.db.transaction() as tx:
        passwords.set_password(tx, rt, handle=handle, password=password, by="cli:test")


def login(rt: Runtime, handle: str, password: str = PASSWORD, code: str | None = None) -> Actor:
    with rt.db.transaction() as tx:
        return verify_login(tx, rt, handle=handle, password=password, totp_code=code, now=rt.now())


def refusal(rt: Runtime, handle: str, password: str = PASSWORD, code: str | None = None) -> Denied:
    """The ``Denied`` a login attempt ends in (the attempt must be refused)."""
    try:
        login(rt, handle, password, code)
    except Denied as denied:
        return denied
    raise AssertionError("the login was let through")


def enrol(rt: Runtime, handle: str) -> pyotp.TOTP:
    """Enrol and confirm a second factor; returns the authenticator app's view of it."""
    with rt.db.transaction() as tx:
        uri = totp.enroll_totp(tx, rt, handle=handle)
    app = pyotp.parse_uri(uri)
    assert isinstance(app, pyotp.TOTP)
    with rt.db.transaction() as tx:
        totp.confirm_totp(tx, rt, handle=handle, code=app.at(rt.now()), now=rt.now())
    return app


def entries(rt: Runtime, purpose: str) -> list[dict[str, Any]]:
    """Audit entries for ``purpose``, oldest first."""
    from mamori.audit.service import tail

    with rt.db.transaction() as tx:
        return list(reversed(tail(tx, limit=10_000, purpose=purpose)))


def wrong_code(app: pyotp.TOTP, rt: Runtime) -> str:
    """A well-formed code that matches none of the steps accepted now."""
    from datetime import timedelta

    near = {app.at(rt.now() + timedelta(seconds=30 * i)) for i in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)
