"""Fixtures: a fresh Mamori home per test, on SQLite and on PostgreSQL.

Every test that takes ``rt`` runs twice: once on an embedded SQLite file and
once in a schema of its own on the PostgreSQL server at 127.0.0.1:5432.
Where that server is not running, the PostgreSQL runs are skipped with a
loud reason, except when ``MAMORI_REQUIRE_POSTGRES`` is set (as CI does):
then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from mamori import boot
from mamori.config import Settings, load_settings
from mamori.demo import EXAMPLE_POLICY
from mamori.guard.rules import Actor
from mamori.install import initialise
from mamori.policy import service as notices
from mamori.runtime import Runtime
from mamori.staff import service as staff

PG_ADMIN = os.environ.get("MAMORI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = f"mamori_test_{os.getpid()}"


def _postgres_up() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database for this test process, dropped at the end."""
    if not _postgres_up():
        if os.environ.get("MAMORI_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (MAMORI_REQUIRE_POSTGRES) but not reachable")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432: the PostgreSQL half is SKIPPED")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}"')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


class Clock:
    """A clock tests can move."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    # The checkpoint follows every commit here, so tests can read it at once;
    # tests/audit/test_checkpoint_pacing.py covers the paced default.
    base = load_settings({"MAMORI_HOME": str(tmp_path / "home"), "MAMORI_CHECKPOINT_EVERY_S": "0"})
    if request.param == "sqlite":
        yield base
        return
    url = request.getfixturevalue("pg_database")
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    dsn = (
        url.replace("postgresql://", "postgresql+psycopg://") + f"?options=-csearch_path%3D{schema}"
    )
    yield replace(base, database_url=dsn)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))


@pytest.fixture
def bare_rt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """An initialised home with the example policy, nothing published yet."""
    initialise(settings, policy_source=EXAMPLE_POLICY, by="cli:test")
    rt = boot.start(settings, clock=clock)
    yield rt
    rt.close()


@pytest.fixture
def rt(bare_rt: Runtime) -> Runtime:
    """An initialised home with staff accounts and the notice published."""
    with bare_rt.db.transaction() as tx:
        for handle, role in STAFF.items():
            staff.add(tx, bare_rt, handle=handle, roles=[role], by="cli:test")
        notices.publish(tx, bare_rt, actor=actor("officer"))
    return bare_rt


STAFF = {
    "officer": "privacy_officer",
    "sales": "sales",
    "support": "support",
    "marketing": "marketing",
    "accounting": "accounting",
    "auditor": "auditor",
}


def actor(handle: str) -> Actor:
    return Actor(handle, (STAFF[handle],))
