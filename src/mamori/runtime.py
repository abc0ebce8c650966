"""The runtime: what every operation needs, opened once per process.

It binds the settings, the database, the compiled policy, the vault (keys in
memory) and the audit log, and carries the clock so tests can move time.
Opening checks each part and says in one sentence what is missing.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from mamori.audit.service import AuditLog
from mamori.config import Settings
from mamori.crypto.keys import KeyMaterial, key_check, parse, read_key_file
from mamori.crypto.ledger import ErasureLedger
from mamori.crypto.vault import Vault
from mamori.db.base import utc_now
from mamori.db.engine import Database
from mamori.db.migrate import current_revision, head_revision
from mamori.errors import ConfigError, KeyFileError
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy


@dataclass
class Runtime:
    settings: Settings
    db: Database
    policy: CompiledPolicy
    vault: Vault
    audit: AuditLog
    installation: str
    ledger: ErasureLedger
    clock: Callable[[], datetime] = field(default=utc_now)

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.audit.close()
        self.db.dispose()


def load_keys(settings: Settings) -> KeyMaterial:
    if settings.keys_env:
        return parse(settings.keys_env)
    return read_key_file(settings.key_file)


def open_runtime(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Runtime:
    """Open everything an operation needs, or fail with one clear sentence."""
    keys = load_keys(settings)
    policy = CompiledPolicy.build(load_policy(settings.policy_file))
    db = Database(settings.database_url)
    try:
        installation = _installation_id(db, keys)
    except BaseException:
        db.dispose()
        raise
    audit = AuditLog(
        key=keys.audit,
        head_file=settings.audit_head_file,
        installation=installation,
        every_s=settings.checkpoint_every_s,
    )
    ledger = ErasureLedger(settings.erasure_ledger_file)
    return Runtime(settings, db, policy, Vault(keys), audit, installation, ledger, clock)


def _installation_id(db: Database, keys: KeyMaterial) -> str:
    revision = current_revision(db.engine)
    if revision is None:
        raise ConfigError(
            "the database has no Mamori schema: run 'mamori init'", code="database_empty"
        )
    if revision != head_revision():
        raise ConfigError(
            f"the database schema is at {revision}, this Mamori expects {head_revision()}: "
            "run 'mamori db upgrade'",
            code="schema_outdated",
        )
    with db.transaction() as tx:
        facts = dict(
            tx.fetchall("SELECT name, value FROM installation WHERE name IN ('id', 'key_check')")
        )
    if "id" not in facts:
        raise ConfigError(
            "the database was not initialised by 'mamori init'", code="database_empty"
        )
    installation = str(facts["id"])
    check = facts.get("key_check")
    if check is not None and not hmac.compare_digest(str(check), key_check(keys, installation)):
        raise KeyFileError(
            "the key file does not belong to this database: restore this installation's key file",
            code="key_file_mismatch",
        )
    return installation
