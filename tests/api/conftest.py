"""Fixtures for the HTTP API: an app on the test home, callers of every kind.

``client`` serves ``create_app`` over the ``rt`` runtime (SQLite and
PostgreSQL). ``token_for(role)`` makes a service token bound to a role;
``staff_session(handle)`` signs a staff member in with a password (the auth
tests swap argon2 for cheap parameters) and returns a client carrying the
session cookie and a way to get CSRF tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.auth import passwords, tokens
from mamori.runtime import Runtime
from tests.conftest import STAFF

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        passwords, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def client(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=rt), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def token_for(rt: Runtime) -> Callable[[str], dict[str, str]]:
    """Authorization headers of a fresh service token bound to ``role``."""

    def make(role: str) -> dict[str, str]:
        with rt.db.transaction() as tx:
            _, secret = tokens.create_token(
                tx, rt, label=f"test {role}", role=role, expires_in_days=30, by="cli:test"
            )
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def staff_session(rt: Runtime, client: TestClient) -> Callable[[str], str]:
    """Sign ``handle`` in on ``client`` (cookie kept by the client); returns a CSRF token."""

    def sign_in(handle: str) -> str:
        assert handle in STAFF
        with rt.db.transaction() as tx:
            passwords.set_password(tx, rt, handle=handle, password=PASSWORD, by="cli:test")
        answer = client.post("/auth/login", json={"handle": handle, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["csrf_token"])

    return sign_in
