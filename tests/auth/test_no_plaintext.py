"""No secret of authentication is stored in a form that works: every table and file is searched."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pyotp

from mamori.auth import sessions, tokens, totp
from mamori.runtime import Runtime
from tests.auth.support import PASSWORD, login, set_password
from tests.conftest import Clock
from tests.plaintext import table_bytes


def home_bytes(rt: Runtime) -> bytes:
    """Every file of the home (the SQLite database, its WAL, the audit head...)."""
    return b"".join(p.read_bytes() for p in rt.settings.home.rglob("*") if p.is_file())


def test_no_password_seed_token_cookie_or_csrf_token_is_stored(rt: Runtime, clock: Clock) -> None:
    set_password(rt, "officer")
    with rt.db.transaction() as tx:
        uri = totp.enroll_totp(tx, rt, handle="officer")
    seed = parse_qs(urlparse(uri).query)["secret"][0]
    app = pyotp.TOTP(seed)
    with rt.db.transaction() as tx:
        totp.confirm_totp(tx, rt, handle="officer", code=app.at(rt.now()), now=rt.now())
    clock.moment += timedelta(seconds=30)
    actor = login(rt, "officer", code=app.at(rt.now()))
    with rt.db.transaction() as tx:
        _, token = tokens.create_token(
            tx, rt, label="web shop", role="integration", expires_in_days=30, by="cli:test"
        )
        cookie = sessions.open_session(tx, rt, actor=actor)
    with rt.db.transaction() as tx:
        csrf = sessions.issue_csrf(tx, rt, cookie=cookie)
    with rt.db.transaction() as tx:
        sessions.check_csrf(tx, rt, cookie=cookie, token=csrf)

    secrets = {
        "password": PASSWORD.encode(),
        "totp seed": seed.encode(),
        "totp seed bytes": base64.b32decode(seed),
        "token": token.encode(),
        "token secret part": token.split("_", 2)[2].encode(),
        "cookie": cookie.encode(),
        "csrf mac": csrf.rsplit(".", 1)[1].encode(),
    }
    stored = table_bytes(rt)
    assert {"staff_credentials", "service_tokens", "staff_sessions", "csrf_used"} <= set(stored)
    everything = b"\x00".join(stored.values())
    if not rt.db.is_pg:
        everything += home_bytes(rt)
    for what, secret in secrets.items():
        assert secret not in everything, what
        assert secret.hex().encode() not in everything, what
