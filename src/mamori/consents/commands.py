"""``mamori consents``: grant, withdraw and show consent events."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import (
    ActorOpt,
    JsonOpt,
    PurposeOpt,
    console,
    emit,
    handle_errors,
    require_purpose_actor,
    runtime,
)
from mamori.consents import service
from mamori.consents.service import GRANTED, WITHDRAWN

app = typer.Typer(help="Consent events per subject and purpose.", no_args_is_help=True)

ChannelOpt = Annotated[
    str, typer.Option(help="How the choice reached us: a policy channel or 'staff'.")
]


def _record(
    ref: str,
    actor: str | None,
    purpose: str | None,
    state: str,
    channel: str,
    explicit: bool,
    as_json: bool,
) -> None:
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "write")
        event, changed = service.record(
            tx, rt, actor=who, ref=ref, purpose=why, state=state, channel=channel, explicit=explicit
        )
    data = {
        "ref": ref,
        "purpose": why,
        "state": state,
        "changed": changed,
        "event": event.to_dict() if event else None,
    }
    word = "granted" if state == GRANTED else "withdrew"
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(
            f"{d['ref']} {word} consent to {d['purpose']}"
            if d["changed"]
            else f"{d['ref']}: already {state}, nothing recorded"
        ),
    )


@app.command("grant")
@handle_errors
def grant(
    ref: Annotated[str, typer.Argument()],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    channel: ChannelOpt = "staff",
    explicit: Annotated[bool, typer.Option(help="The person opted in explicitly.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Record that a person consented to a purpose."""
    _record(ref, actor, purpose, GRANTED, channel, explicit, as_json)


@app.command("withdraw")
@handle_errors
def withdraw(
    ref: Annotated[str, typer.Argument()],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    channel: ChannelOpt = "staff",
    as_json: JsonOpt = False,
) -> None:
    """Record that a person withdrew consent to a purpose."""
    _record(ref, actor, purpose, WITHDRAWN, channel, False, as_json)


@app.command("show")
@handle_errors
def show(
    ref: Annotated[str, typer.Argument()],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a subject's consent history (all purposes under a dsr.* purpose)."""
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "read")
        events = service.history(tx, rt, actor=who, ref=ref, purpose=why)
    rows = [e.to_dict() for e in events]

    def render(data: list[dict[str, Any]]) -> None:
        table = Table(
            "at",
            "purpose",
            "state",
            "explicit",
            "channel",
            "notice",
            "by",
            title=f"consents of {ref}",
        )
        for e in data:
            table.add_row(
                e["at"][:19],
                e["purpose"],
                e["state"],
                "yes" if e["explicit"] else "",
                e["channel"],
                str(e["notice_version"] or ""),
                e["actor"],
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)
