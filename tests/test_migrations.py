"""The migrations: head matches the models, and each goes down and up again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from mamori.db.migrate import alembic_config, current_revision, head_revision, upgrade
from mamori.db.tables import Base
from mamori.runtime import Runtime

AUTH_TABLES = {"staff_credentials", "service_tokens", "staff_sessions", "csrf_used"}
REQUEST_TABLES = {
    "dsr_requests",
    "dsr_events",
    "dsr_identity_codes",
    "dsr_downloads",
    "downstream_systems",
    "outbox",
}


def test_the_schema_at_head_matches_the_models(rt: Runtime) -> None:
    assert head_revision() == "0005"
    assert current_revision(rt.db.engine) == "0005"
    with rt.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_0002_goes_down_to_0001_and_up_again(rt: Runtime) -> None:
    config = alembic_config()
    with rt.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert current_revision(rt.db.engine) == "0001"
    assert not any(rt.db.has_table(t) for t in AUTH_TABLES)
    assert rt.db.has_table("staff_accounts")
    upgrade(rt.db.engine)
    assert all(rt.db.has_table(t) for t in AUTH_TABLES)


def test_0003_goes_down_to_0002_and_up_again(rt: Runtime) -> None:
    config = alembic_config()
    with rt.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0002")
    assert current_revision(rt.db.engine) == "0002"
    assert not any(rt.db.has_table(t) for t in REQUEST_TABLES)
    with rt.db.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("subjects")}
    assert "retained_until" not in columns
    upgrade(rt.db.engine)
    assert all(rt.db.has_table(t) for t in REQUEST_TABLES)
    with rt.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


THIRD_PARTY_TABLES = {
    "party_versions",
    "provisions",
    "provision_subjects",
    "receipts",
    "receipt_subjects",
    "handovers",
    "supervisions",
    "ledger_reviews",
}


def test_0004_goes_down_to_0003_and_up_again(rt: Runtime) -> None:
    config = alembic_config()
    with rt.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    assert current_revision(rt.db.engine) == "0003"
    assert not any(rt.db.has_table(t) for t in THIRD_PARTY_TABLES)
    with rt.db.engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("subjects")}
    assert "ix_subjects_erased_channel" not in indexes
    upgrade(rt.db.engine)
    assert all(rt.db.has_table(t) for t in THIRD_PARTY_TABLES)
    with rt.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


MEMBER_TABLES = {"member_codes", "member_sessions", "member_csrf_used"}


def test_0005_goes_down_to_0004_and_up_again(rt: Runtime) -> None:
    config = alembic_config()
    with rt.db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    assert current_revision(rt.db.engine) == "0004"
    assert not any(rt.db.has_table(t) for t in MEMBER_TABLES)
    upgrade(rt.db.engine)
    assert all(rt.db.has_table(t) for t in MEMBER_TABLES)
    with rt.db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
