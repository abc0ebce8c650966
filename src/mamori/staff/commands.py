"""``mamori staff``: the accounts the guard knows as actors."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.auth import passwords, totp
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


def _read_password(handle: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(
        typer.prompt(f"new password for {handle}", hide_input=True, confirmation_prompt=True)
    )


@app.command("passwd")
@handle_errors
def passwd(
    handle: Annotated[str, typer.Argument()],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (scripts).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Set an account's password (prompted twice, hidden); ends its open sessions."""
    password = _read_password(handle, password_stdin)
    with runtime() as rt, rt.db.transaction() as tx:
        passwords.set_password(tx, rt, handle=handle, password=password, by=operator())
    emit(
        {"handle": handle, "password_set": True},
        as_json=as_json,
        render=lambda d: console.print(f"password set for {handle}"),
    )


@app.command("totp")
@handle_errors
def totp_(
    handle: Annotated[str, typer.Argument()],
    code: Annotated[
        str | None, typer.Option(help="Confirm the enrolment with a code from the app.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrol a second factor (prints its otpauth:// URI once), then confirm it with --code."""
    with runtime() as rt, rt.db.transaction() as tx:
        if code is not None:
            totp.confirm_totp(tx, rt, handle=handle, code=code, now=rt.now(), by=operator())
            data: dict[str, Any] = {"handle": handle, "totp": "confirmed"}
        else:
            uri = totp.enroll_totp(tx, rt, handle=handle, by=operator())
            data = {"handle": handle, "totp": "pending", "uri": uri}

    def render(d: dict[str, Any]) -> None:
        if d["totp"] == "confirmed":
            console.print(f"second factor confirmed for {handle}")
            return
        console.print("add this to the authenticator app (shown once):")
        console.print(d["uri"], markup=False, highlight=False, soft_wrap=True)
        console.print(f"then confirm: mamori staff totp {handle} --code NNNNNN")

    emit(data, as_json=as_json, render=render)
