"""Ways into a served demo home: staff sign-ins, a service token, a member to be.

The demo prints them once. The API sign-in is a sales account (its role is
not privileged, so it needs no second factor). The console wants a second
factor from everyone, so the privacy officer gets a password and a confirmed
TOTP seed; ``mamori demo code`` prints the seed's current code, for a demo
home only, so nobody needs an authenticator app to look around. The token
carries the privacy officer's role for trying every endpoint with curl. The
member is a synthetic web member whose address the operator signs in with.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp

from mamori import boot
from mamori.auth import credentials, passwords, tokens, totp
from mamori.auth.sealing import TOTP_LABEL, unseal
from mamori.config import Settings, load_settings
from mamori.demo import MARKER
from mamori.errors import ConfigError
from mamori.runtime import Runtime
from mamori.staff import service as staff
from mamori.subjects import service

DEMO_LOGIN = "sales.tanaka"
CONSOLE_LOGIN = "officer"
MEMBERSHIP = "membership"


@dataclass(frozen=True)
class DemoAccess:
    handle: str
    password: str
    token: str
    console_handle: str
    console_password: str
    member_email: str | None


def make_demo_access(settings: Settings, member: str | None) -> DemoAccess:
    password, console_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    rt = boot.start(settings)
    try:
        with rt.db.transaction() as tx:
            passwords.set_password(tx, rt, handle=DEMO_LOGIN, password=password, by="cli:demo")
            passwords.set_password(
                tx, rt, handle=CONSOLE_LOGIN, password=console_password, by="cli:demo"
            )
            uri = totp.enroll_totp(tx, rt, handle=CONSOLE_LOGIN, by="cli:demo")
            seed = parse_qs(urlsplit(uri).query)["secret"][0]
            # Confirmed with the previous step's code, so the current one still signs in.
            earlier = rt.now() - timedelta(seconds=totp.INTERVAL)
            code = pyotp.TOTP(seed, digits=totp.DIGITS, interval=totp.INTERVAL).at(earlier)
            totp.confirm_totp(tx, rt, handle=CONSOLE_LOGIN, code=code, now=rt.now(), by="cli:demo")
            _, token = tokens.create_token(
                tx, rt, label="demo", role="privacy_officer", expires_in_days=7, by="cli:demo"
            )
        email = _member_email(rt, member) if member else None
    finally:
        rt.close()
    return DemoAccess(DEMO_LOGIN, password, token, CONSOLE_LOGIN, console_password, email)


def _member_email(rt: Runtime, ref: str) -> str | None:
    """The synthetic member's address, read through the guard (so the read is audited)."""
    with rt.db.transaction() as tx:
        actor = staff.actor(tx, rt, handle=CONSOLE_LOGIN, purpose=MEMBERSHIP, action="read")
        view = service.read(tx, rt, actor=actor, ref=ref, purpose=MEMBERSHIP)
    return view.values.get("user.contact.email")


def current_code(home: Path) -> str:
    """The console login's second-factor code now, for a home ``mamori demo`` made."""
    if not (home / MARKER).exists():
        raise ConfigError(
            f"{home} is not a Mamori demo home: codes are printed for demo homes only"
        )
    rt = boot.start(load_settings({"MAMORI_HOME": str(home)}))
    try:
        with rt.db.transaction() as tx:
            found = credentials.require(tx, CONSOLE_LOGIN)
        if found.totp_sealed is None:
            raise ConfigError(f"{CONSOLE_LOGIN} has no second factor: run 'make demo' again")
        seed = unseal(rt, TOTP_LABEL, CONSOLE_LOGIN, found.totp_sealed)
    finally:
        rt.close()
    return pyotp.TOTP(seed, digits=totp.DIGITS, interval=totp.INTERVAL).now()
