"""What every command shares: options, the runtime, output and error handling.

A command parses its options, opens the runtime, runs one service call in a
unit of work and prints the result as a Rich table or, with ``--json``, as
JSON for scripts. Every ``MamoriError`` becomes one sentence on stderr and
exit status 1; no traceback reaches the user for anything they can cause.
"""

from __future__ import annotations

import functools
import getpass
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, ParamSpec, TypeVar

import psycopg
import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from mamori import boot
from mamori.config import load_settings
from mamori.db.engine import Tx
from mamori.errors import MamoriError, StorageError, ValidationFailed
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.staff import service as staff

console = Console()
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
ActorOpt = Annotated[
    str | None, typer.Option("--actor", envvar="MAMORI_ACTOR", help="The staff account you act as.")
]
PurposeOpt = Annotated[
    str | None, typer.Option("--purpose", help="Why: a purpose key from the policy.")
]


def operator() -> str:
    """Who runs an administrative command: the operating-system account."""
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli:unknown"


def fail(error: MamoriError, *, as_json: bool = False) -> None:
    if as_json:
        errors.print_json(json.dumps(error.to_dict(), ensure_ascii=False, default=str))
    else:
        # soft_wrap: one sentence stays one line, for people and for scripts reading stderr.
        errors.print(
            f"[bold red]error:[/] {escape(error.message)}", highlight=False, soft_wrap=True
        )
        problems = getattr(error, "problems", None) or error.fields.get("problems") or []
        for problem in problems:
            errors.print(f"  - {problem}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(1)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Mamori's errors into one clear sentence and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        as_json = bool(kwargs.get("as_json", False))
        try:
            return func(*args, **kwargs)
        except MamoriError as error:
            fail(error, as_json=as_json)
        except (SQLAlchemyError, sqlite3.Error, psycopg.Error) as error:
            fail(storage_failure(error), as_json=as_json)
        raise AssertionError("unreachable")

    return wrapper


def storage_failure(error: Exception) -> MamoriError:
    """A database failure in one sentence; the driver's own text may quote input, so it is left out."""
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return StorageError(
            "the database is busy with another writer; try again", code="database_busy"
        )
    return StorageError(
        f"the database failed ({type(error).__name__}); check it with 'mamori db status'",
        code="storage_error",
    )


@contextmanager
def runtime() -> Iterator[Runtime]:
    rt = boot.start(load_settings())
    try:
        yield rt
    finally:
        rt.close()


def require_actor(tx: Tx, rt: Runtime, handle: str | None, *, purpose: str, action: str) -> Actor:
    """The staff account behind --actor; an unknown one is refused and audited."""
    if not handle:
        raise ValidationFailed(
            "say who you act as with --actor (or MAMORI_ACTOR)", code="actor_missing"
        )
    return staff.actor(tx, rt, handle=handle, purpose=purpose, action=action)


def require_purpose_actor(
    tx: Tx, rt: Runtime, handle: str | None, purpose: str | None, action: str
) -> tuple[Actor, str]:
    """Both --actor and --purpose, required on every personal-data command."""
    who = require_actor(tx, rt, handle, purpose=purpose or "<none>", action=action)
    if not purpose:
        allowed = rt.policy.purposes_for(who.roles)
        raise ValidationFailed(
            f"say why with --purpose; '{who.name}' may use: {', '.join(allowed) or 'no purpose'}",
            code="purpose_missing",
        )
    return who, purpose


def emit(data: Any, *, as_json: bool, render: Callable[[Any], None] | None = None) -> None:
    if as_json or render is None:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        render(data)
