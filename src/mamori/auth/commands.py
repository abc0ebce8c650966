"""``mamori tokens``: service tokens for other systems (create, list, revoke)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from mamori.auth import tokens
from mamori.cli.common import JsonOpt, console, emit, errors, handle_errors, operator, runtime

app = typer.Typer(help="Service tokens for other systems.", no_args_is_help=True)


@app.command("create")
@handle_errors
def create(
    label: Annotated[str, typer.Option(help="What the token is for, e.g. 'web shop'.")],
    role: Annotated[str, typer.Option(help="The role from the policy the token acts with.")],
    days: Annotated[int, typer.Option(help="Days until the token expires.")] = 90,
    as_json: JsonOpt = False,
) -> None:
    """Create a token; its secret is printed once and never again."""
    with runtime() as rt, rt.db.transaction() as tx:
        info, secret = tokens.create_token(
            tx, rt, label=label, role=role, expires_in_days=days, by=operator()
        )

    def render(data: dict[str, Any]) -> None:
        console.print(f"token {data['id']} ({data['role']}), expires {data['expires_at']}")
        console.print(data["secret"], markup=False, highlight=False, soft_wrap=True)
        errors.print(
            "[bold yellow]warning:[/] the secret above is shown once and is not stored: "
            "copy it now into the other system's secret store"
        )

    emit({**info.to_dict(), "secret": secret}, as_json=as_json, render=render)


@app.command("list")
@handle_errors
def list_(as_json: JsonOpt = False) -> None:
    """List tokens (never their secrets)."""
    with runtime() as rt, rt.db.transaction() as tx:
        now = rt.now()
        rows = [{**t.to_dict(), "state": t.state(now)} for t in tokens.list_tokens(tx)]

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("id", "label", "role", "state", "expires", "last used")
        for r in data:
            table.add_row(
                r["id"],
                escape(r["label"]),
                r["role"],
                r["state"],
                r["expires_at"],
                r["last_used_at"] or "-",
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@app.command("revoke")
@handle_errors
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id.")],
    as_json: JsonOpt = False,
) -> None:
    """Revoke a token: it is refused from now on."""
    with runtime() as rt, rt.db.transaction() as tx:
        info = tokens.revoke_token(tx, rt, token_id=token_id, by=operator())
    emit(info.to_dict(), as_json=as_json, render=lambda d: console.print(f"revoked {d['id']}"))
