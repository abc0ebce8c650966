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
from mamori.crypto.keys import generate, write_key_file
from mamori.db.base import utc_now
from mamori.db.engine import Database
from mamori.db.meta import InstallationFact
from mamori.db.migrate import current_revision, upgrade
from mamori.errors import Conflict, KeyFileError
from mamori.policy.loader import load_policy
from mamori.runtime import load_keys


def initialise(settings: Settings, *, policy_source: Path, by: str) -> str:
    """Create the home described by ``settings``; returns the installation id."""
    load_policy(policy_source)
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(settings.database_url, create_missing=True)
    created: list[Path] = []
    try:
        _refuse_existing(settings, db)
        if not settings.keys_env and not settings.key_file.exists():
            write_key_file(settings.key_file, generate())
            created.append(settings.key_file)
        keys = load_keys(settings)
        upgrade(db.engine)
        installation = uuid.uuid4().hex
        with db.transaction() as tx:
            table = cast(Table, InstallationFact.__table__)
            tx.core.execute(insert(table).values(name="id", value=installation))
            tx.core.execute(insert(table).values(name="created_at", value=utc_now().isoformat()))
            log = AuditLog(
                key=keys.audit, head_file=settings.audit_head_file, installation=installation
            )
            entry = Entry(
                by,
                "system.install",
                "init",
                [],
                [],
                "done",
                "initialised",
                {"installation": installation},
            )
            log.append(tx, entry, at=utc_now())
        if policy_source.resolve() != settings.policy_file.resolve():
            shutil.copyfile(policy_source, settings.policy_file)
        return installation
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    finally:
        db.dispose()


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
