"""``mamori subjects``: register, show, find, list, correct, import, suspend, erase.

Every command here touches personal data, so each needs ``--actor`` and
``--purpose``; the guard decides and the audit log records it. Values given
on the command line end up in the shell's history: prefer ``--values-file``
(JSON) or ``import`` (CSV) outside a demonstration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress
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
from mamori.errors import ValidationFailed
from mamori.subjects import changes, service, shredding
from mamori.subjects.bulk import import_csv
from mamori.subjects.intake import Registration, register

app = typer.Typer(help="The registry of personal data.", no_args_is_help=True)

ValuesOpt = Annotated[
    list[str] | None, typer.Option("--value", "-v", help="CATEGORY=VALUE, repeatable.")
]
ValuesFileOpt = Annotated[
    Path | None, typer.Option("--values-file", help="A JSON object of category → value.")
]


def parse_values(pairs: list[str] | None, file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if file is not None:
        try:
            loaded = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValidationFailed(f"{file} is not a readable JSON object of values") from exc
        if not isinstance(loaded, dict) or not all(isinstance(v, str) for v in loaded.values()):
            raise ValidationFailed(f"{file} must hold a JSON object of category to text")
        values.update(loaded)
    for pair in pairs or []:
        category, sep, value = pair.partition("=")
        if not sep or not category:
            raise ValidationFailed("each --value is CATEGORY=VALUE, e.g. user.name=...")
        values[category.strip()] = value
    if not values:
        raise ValidationFailed("give at least one value with --value or --values-file")
    return values


def render_view(data: dict[str, Any]) -> None:
    table = Table(
        "category", "value", "channel", "collected", title=f"subject {data['ref']} ({data['kind']})"
    )
    for category, value in data["values"].items():
        source = data["sources"].get(category, {})
        table.add_row(
            category, value, source.get("channel", ""), source.get("collected_at", "")[:19]
        )
    console.print(table)


@app.command("add")
@handle_errors
def add(
    channel: Annotated[str, typer.Option(help="The collection channel from the policy.")],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    value: ValuesOpt = None,
    values_file: ValuesFileOpt = None,
    consent: Annotated[
        list[str] | None, typer.Option(help="A purpose the person consented to.")
    ] = None,
    explicit: Annotated[bool, typer.Option(help="The consents were explicit (opt-in).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Register a person through a channel."""
    values = parse_values(value, values_file)
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "write")
        record = Registration(values=values, consents=tuple(consent or ()), explicit=explicit)
        ref = register(tx, rt, actor=who, channel=channel, purpose=why, registration=record)
    emit(
        {"ref": ref},
        as_json=as_json,
        render=lambda d: console.print(f"registered subject {d['ref']}"),
    )


@app.command("show")
@handle_errors
def show(
    ref: Annotated[str, typer.Argument(help="The subject reference.")],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    category: Annotated[list[str] | None, typer.Option(help="Only these categories.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show a subject's values that the purpose covers."""
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "read")
        view = service.read(tx, rt, actor=who, ref=ref, purpose=why, categories=category)
    emit(view.to_dict(), as_json=as_json, render=render_view)


@app.command("find")
@handle_errors
def find(
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    email: Annotated[str | None, typer.Option(help="An e-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="A phone number.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find subjects by exact e-mail or phone (through the blind index)."""
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "read")
        refs = service.find(tx, rt, actor=who, purpose=why, email=email, phone=phone)
    emit(
        {"refs": refs},
        as_json=as_json,
        render=lambda d: console.print("\n".join(d["refs"]) or "no subject found"),
    )


@app.command("list")
@handle_errors
def list_(
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    kind: Annotated[str | None, typer.Option(help="A subject kind.")] = None,
    channel: Annotated[str | None, typer.Option(help="A channel.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
    after: Annotated[str | None, typer.Option(help="Continue after this reference.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List subjects of a kind or channel whose data the purpose may use."""
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "read")
        rows, _ = service.list_refs(
            tx, rt, actor=who, purpose=why, kind=kind, channel=channel, limit=limit, after=after
        )

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("ref", "kind", "channel", "registered")
        for r in data:
            table.add_row(r["ref"], r["kind"], r["channel"], r["created_at"][:19])
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@app.command("correct")
@handle_errors
def correct(
    ref: Annotated[str, typer.Argument(help="The subject reference.")],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    value: ValuesOpt = None,
    values_file: ValuesFileOpt = None,
    channel: Annotated[
        str | None, typer.Option(help="The channel the correction came through.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct values; the previous ones are kept as sealed history."""
    values = parse_values(value, values_file)
    with runtime() as rt, rt.db.transaction() as tx:
        who, why = require_purpose_actor(tx, rt, actor, purpose, "write")
        done = changes.correct(
            tx, rt, actor=who, ref=ref, purpose=why, values=values, channel=channel
        )
    emit(
        {"ref": ref, "corrected": done},
        as_json=as_json,
        render=lambda d: console.print(f"corrected {', '.join(d['corrected'])} of {d['ref']}"),
    )


@app.command("import")
@handle_errors
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV: a header of category keys, optional 'consents'.")
    ],
    channel: Annotated[str, typer.Option(help="The collection channel from the policy.")],
    actor: ActorOpt = None,
    purpose: PurposeOpt = None,
    batch: Annotated[int, typer.Option(min=1, max=50000)] = 5000,
    as_json: JsonOpt = False,
) -> None:
    """Register many people from a CSV file, all or nothing."""
    with (
        runtime() as rt,
        rt.db.transaction() as tx,
        Progress(disable=as_json, transient=True) as bar,
    ):
        who, why = require_purpose_actor(tx, rt, actor, purpose, "write")
        task = bar.add_task("registering", total=None)
        summary = import_csv(
            tx,
            rt,
            file=file,
            actor=who,
            purpose=why,
            channel=channel,
            batch=batch,
            advance=lambda n: bar.advance(task, n),
        )
    emit(
        summary,
        as_json=as_json,
        render=lambda d: console.print(f"registered {d['registered']} subjects from {d['file']}"),
    )


@app.command("suspend")
@handle_errors
def suspend(
    ref: Annotated[str, typer.Argument()],
    actor: ActorOpt = None,
    purpose: Annotated[list[str] | None, typer.Option(help="Suspend only this purpose.")] = None,
    resume: Annotated[bool, typer.Option(help="Lift the suspension instead.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Suspend (or resume) the use of a subject's data, per purpose or in whole."""
    with runtime() as rt, rt.db.transaction() as tx:
        who, _ = require_purpose_actor(tx, rt, actor, changes.CESSATION, "write")
        now = changes.set_suspension(
            tx, rt, actor=who, ref=ref, purposes=purpose, suspend=not resume
        )
    emit(
        {"ref": ref, "suspended": now},
        as_json=as_json,
        render=lambda d: console.print(
            f"{d['ref']} suspended for: {', '.join(d['suspended']) or 'nothing'}"
        ),
    )


@app.command("erase")
@handle_errors
def erase(
    ref: Annotated[str, typer.Argument()],
    actor: ActorOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase a subject by destroying its data key (crypto-shredding)."""
    if not yes:
        raise ValidationFailed("erasure cannot be undone: add --yes to confirm")
    with runtime() as rt, rt.db.transaction() as tx:
        who, _ = require_purpose_actor(tx, rt, actor, changes.ERASURE, "write")
        shredding.shred(tx, rt, actor=who, ref=ref)
    emit(
        {"ref": ref, "erased": True},
        as_json=as_json,
        render=lambda d: console.print(f"erased {d['ref']}"),
    )
