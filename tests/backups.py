"""Backups and restores as an operator makes them, for the tests of erasure after a restore.

``snapshot``/``restore`` copy the registry's tables out and back (both databases);
``backup_sqlite``/``restore_sqlite`` copy the SQLite file itself, with the runtime
closed in between, as a file-level restore would.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from mamori.runtime import Runtime

TABLES = (
    "subjects",
    "subject_value_history",
    "blind_indexes",
    "consent_events",
    "audit_entries",
    "installation",
)
Snapshot = dict[str, list[tuple[object, ...]]]


def snapshot(rt: Runtime) -> Snapshot:
    with rt.db.transaction() as tx:
        return {t: [tuple(r) for r in tx.fetchall(f"SELECT * FROM {t}")] for t in TABLES}


def restore(rt: Runtime, backup: Snapshot) -> None:
    """Put every table back as it was: what restoring a database backup does."""
    with rt.db.transaction() as tx:
        for table in reversed(TABLES):
            tx.execute(f"DELETE FROM {table}")
        for table in TABLES:
            if backup[table]:
                marks = ",".join("?" * len(backup[table][0]))
                tx.executemany(f"INSERT INTO {table} VALUES ({marks})", backup[table])


def backup_sqlite(rt: Runtime) -> Path:
    """An online backup of the SQLite database beside the home; returns its path."""
    database = rt.settings.home / "mamori.db"
    backup = rt.settings.home.parent / "backup.db"
    source, target = sqlite3.connect(database), sqlite3.connect(backup)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return backup


def restore_sqlite(rt: Runtime, backup: Path) -> None:
    """Close the runtime and put the backup in place of the database and its WAL."""
    database = rt.settings.home / "mamori.db"
    rt.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, database)
