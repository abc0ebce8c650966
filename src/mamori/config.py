"""Where Mamori keeps its things, read once from the environment.

``MAMORI_HOME`` (default ``./mamori-data``) holds the SQLite database, the key
file, the audit head and the active policy file. ``MAMORI_DATABASE_URL``
points the registry at PostgreSQL instead; ``MAMORI_KEYS`` carries the key
file's content for hosts that keep secrets in the environment;
``MAMORI_KEY_FILE`` and ``MAMORI_POLICY`` move those two files elsewhere.
``MAMORI_SMTP_URL`` and ``MAMORI_MAIL_FROM`` say how mail to requesters leaves;
``MAMORI_PUBLIC_URL`` is where the links in that mail point.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    key_file: Path
    keys_env: str | None = field(default=None, repr=False)
    policy_file: Path = Path()
    audit_head_file: Path = Path()
    erasure_ledger_file: Path = Path()
    checkpoint_every_s: float = 0.05
    # smtp://host:port (or smtps://, user:password@ allowed); no mail is sent without it.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "privacy@example.jp"
    # Where people reach this installation's API; links mailed to requesters start with it.
    public_url: str = "http://127.0.0.1:8000"
    # How often `mamori serve` delivers due webhooks from the outbox; 0 turns it off.
    outbox_interval_s: float = 5.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (the process environment by default)."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("MAMORI_HOME") or "mamori-data").absolute()
    database_url = env.get("MAMORI_DATABASE_URL") or f"sqlite:///{home / 'mamori.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    key_file = Path(env.get("MAMORI_KEY_FILE") or home / "mamori.key")
    return Settings(
        home=home,
        database_url=database_url,
        key_file=key_file,
        keys_env=env.get("MAMORI_KEYS") or None,
        policy_file=Path(env.get("MAMORI_POLICY") or home / "policy.yaml"),
        audit_head_file=key_file.parent / "audit.head",
        erasure_ledger_file=key_file.parent / "erasures.ledger",
        checkpoint_every_s=float(env.get("MAMORI_CHECKPOINT_EVERY_S") or 0.05),
        smtp_url=env.get("MAMORI_SMTP_URL") or None,
        mail_from=env.get("MAMORI_MAIL_FROM") or "privacy@example.jp",
        public_url=(env.get("MAMORI_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
        outbox_interval_s=float(env.get("MAMORI_OUTBOX_INTERVAL_S") or 5.0),
    )
