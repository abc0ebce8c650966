"""Ways into a served demo home: a staff sign-in and a service token, made fresh.

The demo prints both once. The sign-in is a sales account (its role is not
privileged, so it needs no second factor); the token carries the privacy
officer's role for trying every endpoint with curl.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from mamori import boot
from mamori.auth import passwords, tokens
from mamori.config import Settings

DEMO_LOGIN = "sales.tanaka"


@dataclass(frozen=True)
class DemoAccess:
    handle: str
    password: str
    token: str


def make_demo_access(settings: Settings) -> DemoAccess:
    password = secrets.token_urlsafe(12)
    rt = boot.start(settings)
    try:
        with rt.db.transaction() as tx:
            passwords.set_password(tx, rt, handle=DEMO_LOGIN, password=password, by="cli:demo")
            _, token = tokens.create_token(
                tx, rt, label="demo", role="privacy_officer", expires_in_days=7, by="cli:demo"
            )
    finally:
        rt.close()
    return DemoAccess(DEMO_LOGIN, password, token)
