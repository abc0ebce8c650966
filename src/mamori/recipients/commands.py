"""``mamori recipients`` and ``mamori provide``.

``mamori provide`` hands data to a declared third party: one guarded
decision, its record, and the file. The file is written to a temporary name
beside ``--out`` (mode 0600) inside the unit of work, and put in place only
after the record is committed; it never replaces an existing file without
``--force``. Subjects the guard refuses are listed with their rule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import (
    ActorOpt,
    JsonOpt,
    console,
    emit,
    handle_errors,
    require_actor,
    runtime,
)
from mamori.cli.files import check_out, place, print_refused, read_refs, stage
from mamori.errors import ValidationFailed
from mamori.guard.parties import ProvisionTo
from mamori.policy.schemas import ProvisionBasis
from mamori.recipients import access, declarations, provision, records
from mamori.recipients.export import ExportFormat
from mamori.recipients.routes import joint_use_view, recipient_view
from mamori.runtime import Runtime
from mamori.subjects.store import REF_PATTERN

app = typer.Typer(
    help="Third parties that may receive data, and provision records.", no_args_is_help=True
)


@app.command("list")
@handle_errors
def list_(as_json: JsonOpt = False) -> None:
    """The recipients and joint uses the policy declares."""
    with runtime() as rt:
        data = {
            "recipients": [recipient_view(r) for r in rt.policy.recipients.values()],
            "joint_uses": [joint_use_view(j) for j in rt.policy.joint_uses.values()],
        }
    emit(data, as_json=as_json, render=_render_list)


def _render_list(data: dict[str, Any]) -> None:
    table = Table("recipient", "name", "kind", "country", "purposes")
    for r in data["recipients"]:
        table.add_row(r["key"], r["name"]["ja"], r["kind"], r["country"], ", ".join(r["purposes"]))
    console.print(table)
    for j in data["joint_uses"]:
        console.print(
            f"joint use {j['key']}: with {', '.join(j['users'])} for {', '.join(j['purposes'])}"
        )


@app.command("show")
@handle_errors
def show(
    key: Annotated[str, typer.Argument(help="The recipient's key.")], as_json: JsonOpt = False
) -> None:
    """One recipient as declared, with every stored version of its declaration."""
    with runtime() as rt, rt.db.transaction() as tx:
        data = recipient_view(rt.policy.recipient(key))
        data["history"] = [
            h.to_dict() for h in declarations.history(tx, declarations.RECIPIENT, key)
        ]
    emit(data, as_json=as_json, render=lambda d: console.print_json(data=d))


@app.command("records")
@handle_errors
def records_(
    recipient: Annotated[str | None, typer.Option(help="Only this recipient.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only records naming this subject.")] = None,
    since: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Provision records, newest first (reading them is audited)."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="list")
        first, last = records.day_bounds(
            rt, records.parse_day(since, "--from"), records.parse_day(until, "--to")
        )
        where = records.RecordFilter(recipient, first, last, subject, limit)
        rows = records.list_records(tx, rt, actor=who, where=where)
    emit(rows, as_json=as_json, render=_render_records)


def _render_records(rows: list[dict[str, Any]]) -> None:
    table = Table("record", "at", "recipient", "purpose", "basis", "subjects", "refused")
    for r in rows:
        basis = r["basis"] + (f" ({r['exception_code']})" if r["exception_code"] else "")
        table.add_row(
            r["ref"], r["at"], r["recipient"], r["purpose"], basis,
            str(r["subject_count"]), str(r["refused_count"]),
        )  # fmt: skip
    console.print(table)


@app.command("record")
@handle_errors
def record(
    ref: Annotated[str, typer.Argument(help="The record's reference (p...).")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One provision record with its subjects and the consents they rested on."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=access.RECORDS_PURPOSE, action="show")
        data = records.show_record(tx, rt, actor=who, ref=ref)
    emit(data, as_json=as_json, render=lambda d: console.print_json(data=d))


# -- mamori provide ---------------------------------------------------------------


def _selection(
    refs: list[str], refs_file: Path | None, every: bool, kind: str | None, channel: str | None
) -> provision.Selection:
    if every == bool(refs or refs_file):
        raise ValidationFailed(
            "say who with --ref or --refs-file, or with --all", code="selection_missing"
        )
    if not every and (kind or channel):
        raise ValidationFailed("--kind and --channel narrow --all only", code="selection_invalid")
    if every:
        return provision.Selection(kind=kind, channel=channel)
    chosen = list(refs) + (read_refs(refs_file) if refs_file else [])
    bad = [n for n, r in enumerate(refs, 1) if not REF_PATTERN.fullmatch(r)]
    if bad:
        raise ValidationFailed(
            f"--ref number {bad[0]} is not a subject reference", code="refs_invalid"
        )
    if len(chosen) > provision.MAX_REFS:
        raise ValidationFailed(
            f"at most {provision.MAX_REFS:,} references at a time", code="refs_too_many"
        )
    return provision.Selection(refs=chosen)


@handle_errors
def provide(
    recipient: Annotated[str, typer.Argument(help="The recipient's key.")],
    purpose: Annotated[str, typer.Option(help="The purpose the recipient receives it for.")],
    out: Annotated[Path, typer.Option("--out", help="Where the file goes (mode 0600).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv or json.")],
    category: Annotated[
        list[str] | None, typer.Option(help="An item to provide (default: all allowed).")
    ] = None,
    basis: Annotated[ProvisionBasis, typer.Option(help="What it rests on.")] = (
        ProvisionBasis.CONSENT
    ),
    exception: Annotated[
        str | None, typer.Option(help="For basis exception: e.g. art27_1_ii.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="For basis exception: why.")] = None,
    ref: Annotated[list[str] | None, typer.Option("--ref", help="A subject; repeatable.")] = None,
    refs_file: Annotated[
        Path | None, typer.Option("--refs-file", help="Subject references, one a line.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every subject not erased.")] = False,
    kind: Annotated[str | None, typer.Option(help="With --all: only this kind.")] = None,
    channel: Annotated[str | None, typer.Option(help="With --all: only this channel.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Provide data to a third party, with its record (APPI Art. 29)."""
    selection = _selection(ref or [], refs_file, every, kind, channel)
    check_out(out, force)
    party = ProvisionTo(recipient, basis, exception, reason)
    with runtime() as rt:
        made = _provide_and_place(rt, actor, party, purpose, selection, fmt, category, out, force)
    _report(made, out, as_json)


def _provide_and_place(
    rt: Runtime,
    handle: str | None,
    party: ProvisionTo,
    purpose: str,
    selection: provision.Selection,
    fmt: ExportFormat,
    categories: list[str] | None,
    out: Path,
    force: bool,
) -> provision.ProvisionResult:
    """The provision and its record in one unit of work; the file is placed after commit."""
    tmp = None
    try:
        with rt.db.transaction() as tx:
            who = require_actor(tx, rt, handle, purpose=purpose, action="provide")
            made = provision.provide(
                tx,
                rt,
                actor=who,
                recipient=party.recipient,
                purpose=purpose,
                basis=party.basis,
                selection=selection,
                fmt=fmt,
                categories=categories,
                exception=party.exception,
                reason=party.reason,
            )
            tmp = stage(out, made.export.content)
        place(tmp, out, force)
        tmp = None
    finally:
        if tmp is not None:
            os.unlink(tmp)
    return made


def _report(made: provision.ProvisionResult, out: Path, as_json: bool) -> None:
    refused = [{"ref": r.ref, "rule": r.rule, "message": r.message} for r in made.refused]
    data = {"record": made.record, "file": str(out), "refused": refused}
    emit(data, as_json=as_json, render=_render_provided)


def _render_provided(data: dict[str, Any]) -> None:
    record = data["record"]
    console.print(
        f"provided {record['subject_count']} subject(s) to {record['recipient']} for "
        f"{record['purpose']} ({record['basis']}): record {record['ref']}, file {data['file']}"
        f" (sha256 {record['export_digest']})",
        soft_wrap=True,
    )
    print_refused(console, data["refused"])
