"""``mamori audit``: verify the chain and read its tail."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.audit import service
from mamori.audit.verify import verify as verify_chain
from mamori.cli.common import JsonOpt, console, emit, errors, handle_errors, runtime

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@app.command("verify")
@handle_errors
def verify(as_json: JsonOpt = False) -> None:
    """Check every entry of the hash chain and the checkpoint outside the database."""
    with runtime() as rt, rt.db.transaction() as tx:
        report = verify_chain(tx, rt.audit)
    data = {
        "ok": report.ok,
        "entries": report.entries,
        "last_seq": report.last_seq,
        "checkpoint_seq": report.checkpoint_seq,
        "findings": [f.__dict__ for f in report.findings],
        "total_findings": report.total_findings,
    }
    if as_json:
        emit(data, as_json=True)
    elif report.ok:
        console.print(
            f"[green]audit chain intact:[/] {report.entries} entries, checkpoint at {report.checkpoint_seq}"
        )
    else:
        errors.print(
            f"[bold red]audit chain broken:[/] {report.total_findings} finding(s) in {report.entries} entries"
        )
        for finding in report.findings:
            errors.print(f"  - {finding.message}", markup=False, highlight=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command("tail")
@handle_errors
def tail(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000)] = 20,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    purpose: Annotated[str | None, typer.Option(help="Only this purpose.")] = None,
    outcome: Annotated[str | None, typer.Option(help="allowed, denied or done.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only entries naming this subject.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The newest audit entries, newest first."""
    with runtime() as rt, rt.db.transaction() as tx:
        rows = service.tail(
            tx, limit=limit, actor=actor, purpose=purpose, outcome=outcome, subject=subject
        )

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("seq", "at", "actor", "purpose", "action", "outcome", "rule", "subjects")
        for r in reversed(data):
            subjects = r["subjects"]
            shown = ", ".join(subjects[:2]) + (
                f" +{len(subjects) - 2}" if len(subjects) > 2 else ""
            )
            style = "red" if r["outcome"] == "denied" else None
            table.add_row(
                str(r["seq"]),
                r["at"][:19],
                r["actor"],
                r["purpose"],
                r["action"],
                r["outcome"],
                r["rule"],
                shown,
                style=style,
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)
