"""``mamori processors`` and ``mamori receipts``.

Staff record what a third party sent (``receipts import``), see whether each
entrusted processor may be handed data today, hand data over with its
record, and record supervision. Export files are written only after the
record is committed, atomically, with mode 0600, and never over an existing
file unless ``--force``; nothing personal is printed except into that file.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from mamori.cli.common import (
    ActorOpt,
    JsonOpt,
    console,
    emit,
    handle_errors,
    require_actor,
    runtime,
)
from mamori.cli.files import check_out, print_refused, read_refs, write_private
from mamori.errors import ValidationFailed
from mamori.recipients import access, processors, receipts, supervision
from mamori.recipients.export import ExportFormat
from mamori.recipients.supervision import SupervisionKind, SupervisionOutcome
from mamori.subjects.store import REF_PATTERN

app = typer.Typer(
    help="Entrusted processors: contracts, hand-overs and supervision.", no_args_is_help=True
)
receipts_app = typer.Typer(
    help="Data received from third parties, with receipt records.", no_args_is_help=True
)
Key = Annotated[str, typer.Argument(help="The processor's key in the policy.")]


def _each(render: Callable[[dict[str, Any]], None]) -> Callable[[list[dict[str, Any]]], None]:
    def render_all(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            render(row)

    return render_all


def _day(value: str | None, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"give {what} as a date like 2026-11-30", code="date_invalid"
        ) from None


# -- receipts ----------------------------------------------------------------------


def _render_receipt(data: dict[str, Any]) -> None:
    provider = data["provider"]
    name = (provider.get("name") or {}).get("ja", provider["key"])
    console.print(
        f"receipt {data['ref']} ({data['at'][:10]}): {data['subject_count']} people from "
        f"{name} [{provider['key']}] through {data['channel']}\n"
        f"  items: {', '.join(data['categories'])}\n  kept until {data['keep_until'][:10]}",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


@receipts_app.command("import")
@handle_errors
def import_receipt(
    file: Annotated[Path, typer.Argument(help="CSV, UTF-8, header of category keys.")],
    provider: Annotated[str, typer.Option("--from", help="The provider's recipient key.")],
    channel: Annotated[str, typer.Option(help="The receiving channel (method import).")],
    obtained: Annotated[str, typer.Option(help="How the provider obtained the data.")],
    on: Annotated[str | None, typer.Option(help="The day of receipt (default today).")] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register the people in a file a third party sent, with the receipt record."""
    received_on = _day(on, "--on")
    try:
        handle = file.open("rb")
    except OSError:
        raise ValidationFailed(f"{file} cannot be read", code="file_unreadable") from None
    with handle, runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=channel, action="write")
        got = receipts.receive(
            tx,
            rt,
            actor=who,
            provider=provider,
            channel=channel,
            obtained_how=obtained,
            csv_source=handle,
            received_on=received_on,
        )
    emit({"purpose": got.purpose, **got.record}, as_json=as_json, render=_render_receipt)


@receipts_app.command("list")
@handle_errors
def list_receipts(
    provider: Annotated[str | None, typer.Option("--from", help="Only this provider.")] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Receipt records, newest first."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="read")
        rows = receipts.list_receipts(tx, rt, actor=who, provider=provider)
    emit(rows, as_json=as_json, render=_each(_render_receipt))


@receipts_app.command("show")
@handle_errors
def show_receipt(
    ref: Annotated[str, typer.Argument(help="The receipt record's reference (c...).")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One receipt record, with the references of the people received."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="read")
        record = receipts.show_receipt(tx, rt, actor=who, ref=ref)
    emit(record, as_json=as_json, render=_render_receipt)


# -- processors ----------------------------------------------------------------------


def _render_status(data: dict[str, Any]) -> None:
    sup = data["supervision"]
    console.print(
        f"{data['key']}: {data['name']['ja']} — "
        f"{'usable' if data['usable'] else 'NOT USABLE'} "
        f"(contract {'in force' if data['contract']['in_force'] else 'lapsed'}, "
        f"NDA {'in force' if data['nda']['in_force'] else 'lapsed'})\n"
        f"  purposes: {', '.join(data['purposes'])}\n  items: {', '.join(data['categories'])}\n"
        f"  supervision every {sup['every']}, last {sup['last'] or 'never'}, next due "
        f"{sup['next_due']}{' (OVERDUE)' if sup['overdue'] else ''}",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


@app.command("list")
@handle_errors
def list_processors(actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """Every processor: contract and NDA today, scope, supervision due."""
    with runtime() as rt, rt.db.transaction() as tx:
        require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="read")
        rows = processors.statuses(tx, rt)
    emit(rows, as_json=as_json, render=_each(_render_status))


@app.command("show")
@handle_errors
def show_processor(key: Key, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """One processor's status."""
    with runtime() as rt, rt.db.transaction() as tx:
        require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="read")
        row = processors.status(tx, rt, key)
    emit(row, as_json=as_json, render=_render_status)


def _refs(refs: list[str] | None, refs_file: Path | None, everyone: bool) -> list[str] | None:
    if sum((bool(refs), refs_file is not None, everyone)) != 1:
        raise ValidationFailed(
            "name the subjects with --ref, --refs-file or --all (exactly one)", code="selection"
        )
    if everyone:
        return None
    if refs:
        bad = [n for n, r in enumerate(refs, 1) if not REF_PATTERN.fullmatch(r)]
        if bad:
            raise ValidationFailed(
                f"--ref number {bad[0]} is not a subject reference", code="refs_invalid"
            )
        return refs
    assert refs_file is not None
    return read_refs(refs_file)


def _render_handover(data: dict[str, Any]) -> None:
    record = data.get("record", data)
    console.print(
        f"hand-over {record['ref']} to {record['processor']['key']} for {record['purpose']}: "
        f"{record['subject_count']} handed over, {record['refused_count']} refused "
        f"({record['format']}, sha256 {record['digest'][:16]}…)",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )
    print_refused(console, data.get("refused", []))
    if data.get("out"):
        console.print(f"  written to {data['out']}", highlight=False, markup=False)


@app.command("handover")
@handle_errors
def handover(
    key: Key,
    purpose: Annotated[str, typer.Option(help="The purpose entrusted to the processor.")],
    out: Annotated[Path, typer.Option(help="Where to write the file (mode 0600).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")],
    category: Annotated[
        list[str] | None, typer.Option(help="An item to hand over; repeatable (default: all).")
    ] = None,
    ref: Annotated[list[str] | None, typer.Option(help="A subject; repeatable.")] = None,
    refs_file: Annotated[
        Path | None, typer.Option(help="A file of subject references, one a line.")
    ] = None,
    everyone: Annotated[bool, typer.Option("--all", help="Every subject.")] = False,
    kind: Annotated[str | None, typer.Option(help="With --all: only this kind.")] = None,
    channel: Annotated[str | None, typer.Option(help="With --all: only this channel.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hand the permitted items of the permitted subjects to a processor, with its record."""
    refs = _refs(ref, refs_file, everyone)
    if refs is not None and (kind or channel):
        raise ValidationFailed("--kind and --channel go with --all", code="selection")
    check_out(out, force)
    with runtime() as rt:
        with rt.db.transaction() as tx:
            who = require_actor(tx, rt, actor, purpose=purpose, action="export")
            got = processors.handover(
                tx,
                rt,
                actor=who,
                processor=key,
                purpose=purpose,
                fmt=fmt,
                categories=category,
                refs=refs,
                kind=kind,
                channel=channel,
            )
        write_private(out, got.export.content, force=force)
    refused = [{"ref": r.ref, "rule": r.rule, "message": r.message} for r in got.refused]
    data = {"record": got.record, "refused": refused, "out": str(out)}
    emit(data, as_json=as_json, render=_render_handover)


@app.command("handovers")
@handle_errors
def handovers(key: Key, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """The hand-over records of one processor, newest first."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="read")
        rows = processors.list_handovers(tx, rt, actor=who, processor=key)
    emit(rows, as_json=as_json, render=_each(_render_handover))


def _render_supervision(data: dict[str, Any]) -> None:
    console.print(
        f"{data['done_on']} {data['kind']}: {data['outcome']} (recorded by "
        f"{data['recorded_by']}){' — next due ' + data['next_due'] if data.get('next_due') else ''}",
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


@app.command("supervise")
@handle_errors
def supervise(
    key: Key,
    on: Annotated[str, typer.Option(help="The day the check was done.")],
    kind: Annotated[SupervisionKind, typer.Option(help="How the processor was checked.")],
    outcome: Annotated[SupervisionOutcome, typer.Option(help="What it came to.")],
    findings: Annotated[str, typer.Option(help="What was found (up to 4,000 characters).")] = "",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a supervision of a processor (privileged roles)."""
    done_on = _day(on, "--on")
    assert done_on is not None
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=supervision.SUPERVISION_PURPOSE, action="record")
        row = supervision.record_supervision(
            tx,
            rt,
            actor=who,
            processor=key,
            done_on=done_on,
            kind=kind,
            outcome=outcome,
            findings=findings,
        )
    emit(row, as_json=as_json, render=_render_supervision)


@app.command("supervisions")
@handle_errors
def supervisions(key: Key, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """The supervision records of one processor, newest first."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="read")
        rows = supervision.list_supervisions(tx, rt, actor=who, processor=key)
    emit(rows, as_json=as_json, render=_each(_render_supervision))
