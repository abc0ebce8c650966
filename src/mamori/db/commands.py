"""``mamori db``: the schema's revision, and upgrading it."""

from __future__ import annotations

import typer

from mamori.cli.common import JsonOpt, console, emit, handle_errors
from mamori.config import load_settings
from mamori.db.engine import Database
from mamori.db.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("status")
@handle_errors
def status(as_json: JsonOpt = False) -> None:
    """Show the schema revision the database is at and the one this Mamori expects."""
    db = Database(load_settings().database_url)
    try:
        current, expected = current_revision(db.engine), head_revision()
    finally:
        db.dispose()
    data = {"current": current, "expected": expected, "up_to_date": current == expected}
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(
            f"schema at {d['current']}, expected {d['expected']}: {'up to date' if d['up_to_date'] else 'run mamori db upgrade'}"
        ),
    )


@app.command("upgrade")
@handle_errors
def upgrade_(as_json: JsonOpt = False) -> None:
    """Apply the migrations this Mamori brings (back up the database first)."""
    db = Database(load_settings().database_url)
    try:
        before = current_revision(db.engine)
        upgrade(db.engine)
        after = current_revision(db.engine)
    finally:
        db.dispose()
    emit(
        {"from": before, "to": after},
        as_json=as_json,
        render=lambda d: console.print(f"schema upgraded from {d['from']} to {d['to']}"),
    )
