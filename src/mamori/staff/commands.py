"""``mamori staff``: the accounts the guard knows as actors."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import JsonOpt, console, emit, handle_errors, operator, runtime
from mamori.staff import service

app = typer.Typer(help="Staff accounts and their roles.", no_args_is_help=True)


@app.command("add")
@handle_errors
def add(
    handle: Annotated[str, typer.Argument(help="The account's login name, e.g. sales.tanaka.")],
    role: Annotated[list[str], typer.Option(help="A role key from the policy; repeatable.")],
    as_json: JsonOpt = False,
) -> None:
    """Add a staff account with roles from the policy."""
    with runtime() as rt, rt.db.transaction() as tx:
        actor = service.add(tx, rt, handle=handle, roles=role, by=operator())
    emit(
        {"handle": actor.name, "roles": list(actor.roles)},
        as_json=as_json,
        render=lambda d: console.print(f"added {d['handle']} ({', '.join(d['roles'])})"),
    )


def _set_active(handle: str, active: bool, as_json: bool) -> None:
    with runtime() as rt, rt.db.transaction() as tx:
        service.set_active(tx, rt, handle=handle, active=active, by=operator())
    word = "enabled" if active else "disabled"
    emit(
        {"handle": handle, "active": active},
        as_json=as_json,
        render=lambda d: console.print(f"{word} {handle}"),
    )


@app.command("disable")
@handle_errors
def disable(handle: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    """Disable an account: the guard refuses it from now on."""
    _set_active(handle, False, as_json)


@app.command("enable")
@handle_errors
def enable(handle: Annotated[str, typer.Argument()], as_json: JsonOpt = False) -> None:
    """Enable a disabled account again."""
    _set_active(handle, True, as_json)


@app.command("list")
@handle_errors
def list_(as_json: JsonOpt = False) -> None:
    """List staff accounts."""
    with runtime() as rt, rt.db.transaction() as tx:
        rows = service.list_accounts(tx)

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("handle", "roles", "active")
        for r in data:
            table.add_row(r["handle"], ", ".join(r["roles"]), "yes" if r["active"] else "no")
        console.print(table)

    emit(rows, as_json=as_json, render=render)
