"""Fixtures for the staff console: an app, staff with a password and a second factor, signed in.

``console_client`` serves ``create_app`` over ``rt`` (SQLite and PostgreSQL).
``sign_in_staff(client, handle)`` gives the account the test password and a
confirmed TOTP (once per account), moves the test clock on one code step so
every sign-in has a fresh code, and signs in through the console's own form.
``staff_client`` is a client signed in as the privacy officer, who may work
every kind of request. ``csrf_in(page)`` reads a form's token from a page;
``new_request(rt, kind)`` has the officer receive a request about a new customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.auth import passwords
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import Via
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from tests.auth.support import PASSWORD, enrol, set_password
from tests.conftest import Clock, actor
from tests.factories import register_customer

__all__ = [
    "PASSWORD",
    "console_client",
    "csrf_in",
    "new_request",
    "sign_in_staff",
    "staff_client",
]
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
STEP = timedelta(seconds=30)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_argon2(monkeypatch: pytest.MonkeyPatch) -> PasswordHasher:
    """Console tests hash with argon2 at its cheapest: the parameters, not the code, differ."""
    monkeypatch.setattr(passwords, "HASHER", FAST)
    return FAST


@pytest.fixture
def console_client(rt: Runtime) -> Iterator[TestClient]:
    """A browser on the app (the console is mounted under the privacy center's router)."""
    app = create_app(runtime=rt)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def authenticator(client: TestClient, handle: str) -> pyotp.TOTP:
    """The account's authenticator app: a password and a confirmed TOTP, set up once per app."""
    state = client.app.state  # type: ignore[attr-defined]
    if not hasattr(state, "console_test_apps"):
        state.console_test_apps = {}
    apps: dict[str, pyotp.TOTP] = state.console_test_apps
    if handle not in apps:
        set_password(state.rt, handle)
        apps[handle] = enrol(state.rt, handle)
    return apps[handle]


def next_code(client: TestClient, handle: str) -> str:
    """A code no sign-in has used: the test clock moves on one step first."""
    app = authenticator(client, handle)
    rt: Runtime = client.app.state.rt  # type: ignore[attr-defined]
    assert isinstance(rt.clock, Clock), "the console tests need the movable test clock"
    rt.clock.moment += STEP
    return app.at(rt.now())


def sign_in_staff(client: TestClient, handle: str, *, lang: str | None = None) -> None:
    """Sign ``handle`` (a staff handle from tests.conftest.STAFF) in on ``client``."""
    form = {"handle": handle, "password": PASSWORD, "totp": next_code(client, handle)}
    query = f"?lang={lang}" if lang else ""
    answer = client.post("/console/signin" + query, data=form)
    assert answer.status_code == 200 and answer.url.path == "/console", answer.text


@pytest.fixture
def staff_client(console_client: TestClient) -> TestClient:
    """``console_client`` signed in as the privacy officer (password + TOTP)."""
    sign_in_staff(console_client, "officer")
    return console_client


def new_request(
    rt: Runtime, kind: RequestKind = RequestKind.DISCLOSURE, **extra: Any
) -> tuple[str, str, dict[str, str]]:
    """A request received by the officer about a new customer: its ref, the subject, the values."""
    subject, values = register_customer(rt)
    with rt.db.transaction() as tx:
        new = NewRequest(kind=kind, via=Via.PHONE, subject=subject, **extra)
        row = create(tx, rt, actor=actor("officer"), new=new)
    return row.ref, subject, values


def csrf_in(page: str, form_id: str | None = None) -> str:
    """The CSRF token of the form ``form_id`` (or the first form) in ``page``."""
    if form_id is not None:
        start = page.index(f'id="{form_id}"')
        page = page[start:]
    match = _CSRF.search(page)
    assert match is not None, "no CSRF field in the page"
    return match.group(1)
