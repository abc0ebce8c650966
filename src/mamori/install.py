"""Making a Mamori home: key file, database schema, policy, first audit entry.

``initialise`` either completes or leaves nothing behind: it checks the
policy before it creates anything, refuses to make a new key for a database
that already holds data (the new key could not open it), and removes what it
made if a later step fails.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import cast

from sqlalchemy import Table, insert

from mamori.audit.service import AuditLog, Entry
from mamori.config import Settings
from mamori.crypto.keys import KeyMaterial, generate, key_check, write_key_file
from mamori.db.base import utc_now
from mamori.db.engine import Database
from mamori.db.meta import InstallationFact
from mamori.db.migrate import current_revision, downgrade, upgrade
from mamori.errors import ConfigError, Conflict, KeyFileError
from mamori.policy.loader import load_policy
from mamori.runtime import load_keys


def initialise(settings: Settings, *, policy_source: Path, by: str) -> str:
    """Create the home described by ``settings``; returns the installation id."""
    load_policy(policy_source)
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(settings.database_url, create_missing=True)
    made: list[Path] = []
    migrated = False
    try:
        _refuse_existing(settings, db)
        _copy_policy(policy_source, settings.policy_file, made)
        if not settings.keys_env and not settings.key_file.exists():
            write_key_file(settings.key_file, generate())
            made.append(settings.key_file)
        keys = load_keys(settings)
        upgrade(db.engine)
        migrated = True
        return _record_installation(db, settings, keys, by)
    except BaseException:
        if migrated:
            downgrade(db.engine, "base")
        for path in made:
            path.unlink(missing_ok=True)
        raise
    finally:
        db.dispose()


def _copy_policy(source: Path, target: Path, made: list[Path]) -> None:
    if source.resolve() == target.resolve():
        return
    try:
        existed = target.exists()
        shutil.copyfile(source, target)
    except OSError as exc:
        raise ConfigError(
            f"the policy file could not be copied to {target}", code="policy_copy_failed"
        ) from exc
    if not existed:
        made.append(target)


def _record_installation(db: Database, settings: Settings, keys: KeyMaterial, by: str) -> str:
    installation = uuid.uuid4().hex
    facts = {
        "id": installation,
        "created_at": utc_now().isoformat(),
        "key_check": key_check(keys, installation),
    }
    with db.transaction() as tx:
        table = cast(Table, InstallationFact.__table__)
        for name, value in facts.items():
            tx.core.execute(insert(table).values(name=name, value=value))
        log = AuditLog(
            key=keys.audit, head_file=settings.audit_head_file, installation=installation
        )
        detail = {"installation": installation}
        log.append(
            tx,
            Entry(by, "system.install", "init", [], [], "done", "initialised", detail),
            at=utc_now(),
        )
        log.close()
    return installation


def _refuse_existing(settings: Settings, db: Database) -> None:
    revision = current_revision(db.engine)
    if revision is None:
        return
    if not settings.keys_env and not settings.key_file.exists():
        raise KeyFileError(
            f"a Mamori database exists but its key file {settings.key_file} is missing; "
            "restore the key file: a new key could not open the existing data",
            code="key_file_missing",
        )
    raise Conflict(f"Mamori is already initialised in {settings.home}", code="already_initialised")
