"""``mamori ledger``: the management ledger, records of processing and the data map.

Every command acts as ``--actor``: reading is for privileged and auditor
roles, recording a review for privileged roles, and each reading or refusal
is audited. Files are written only after the unit of work committed.
"""

from __future__ import annotations

import json
from datetime import date
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
    operator,
    require_actor,
    runtime,
)
from mamori.cli.files import check_out, write_private
from mamori.errors import ValidationFailed
from mamori.ledger import datamap, ledger, ledger_html, reviews, ropa

app = typer.Typer(
    help="The management ledger, records of processing and the data map.", no_args_is_help=True
)
OutOpt = Annotated[Path | None, typer.Option("--out", help="Write to this file.")]


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValidationFailed(
            f"the {what} must be one of {', '.join(choices)}, not '{value[:20]}'",
            code=f"{what}_invalid",
        )
    return value


def _deliver(content: bytes, out: Path | None, as_json: bool, **facts: Any) -> None:
    """Write to ``out`` (reporting what was written) or print the content itself."""
    if out is None:
        typer.echo(content.decode("utf-8"), nl=False)
        return
    check_out(out, force=True)
    write_private(out, content, force=True)
    data = {"out": str(out), "bytes": len(content), "sha256": ledger.digest(content), **facts}
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(f"wrote {d['out']} ({d['bytes']} bytes)"),
    )


@app.command("export")
@handle_errors
def export(
    out: Annotated[Path, typer.Option("--out", help="Write the ledger to this file.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, html or json")] = "csv",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Export the management ledger (one row per purpose, with live counts)."""
    fmt = _choice(fmt, ("csv", "html", "json"), "format")
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=ledger.AUDIT_PURPOSE, action="read_ledger")
        ledger.require_reader(tx, rt, who, "ledger")
        built = ledger.build(tx, rt)
        ledger.record_read(tx, rt, who, "ledger", {"format": fmt})
    if fmt == "csv":
        content = ledger.to_csv(built)
    elif fmt == "html":
        content = ledger_html.render_ledger(ledger.to_json(built)).encode("utf-8")
    else:
        content = json.dumps(ledger.to_json(built), ensure_ascii=False, indent=2).encode("utf-8")
    _deliver(
        content,
        out,
        as_json,
        format=fmt,
        rows=len(built.rows),
        ledger_digest=ledger.digest(ledger.to_csv(built)),
    )


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            "give the review's day as YYYY-MM-DD, e.g. 2026-11-27", code="date_invalid"
        ) from None


@app.command("review")
@handle_errors
def review(
    on: Annotated[str, typer.Option("--on", help="The day of the review, YYYY-MM-DD.")],
    findings: Annotated[str, typer.Option("--findings", help="What the review found.")],
    digest: Annotated[
        str | None, typer.Option("--digest", help="SHA-256 of the ledger CSV reviewed.")
    ] = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the annual review of the ledger (privileged roles)."""
    day = _day(on)
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=ledger.AUDIT_PURPOSE, action="review")
        made = reviews.record(
            tx,
            rt,
            actor=who,
            reviewed_on=day,
            findings=findings,
            ledger_digest=digest,
            by=operator(),
        )
        state = reviews.status(rt, reviews.list_reviews(tx))
    data = {**reviews.as_dict(made), "next_due": state.next_due}
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(
            f"review {d['id']} recorded for {d['reviewed_on']}; next due {d['next_due']}"
        ),
    )


@app.command("reviews")
@handle_errors
def list_reviews(actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """The reviews so far, newest first, and when the next is due."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=ledger.AUDIT_PURPOSE, action="read_reviews")
        ledger.require_reader(tx, rt, who, "reviews")
        found = reviews.list_reviews(tx)
        ledger.record_read(tx, rt, who, "reviews", {"reviews": len(found)})
        state = reviews.status(rt, found)
    data = {"reviews": [reviews.as_dict(r) for r in found], **reviews.as_dict(state)}
    emit(data, as_json=as_json, render=_render_reviews)


def _render_reviews(data: dict[str, Any]) -> None:
    table = Table("id", "reviewed on", "reviewer", "ledger sha256", "findings")
    for r in data["reviews"]:
        table.add_row(
            str(r["id"]),
            r["reviewed_on"],
            r["reviewer"],
            r["ledger_digest"][:12],
            r["findings"][:60],
        )
    console.print(table)
    due = data["next_due"] or "now (never reviewed)"
    console.print(f"next review due {due}{' — OVERDUE' if data['overdue'] else ''}")


@app.command("ropa")
@handle_errors
def records_of_processing(
    fmt: Annotated[str, typer.Option("--format", help="json or html")] = "json",
    lang: Annotated[str, typer.Option("--lang", help="en or ja (html)")] = "en",
    out: OutOpt = None,
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Records of processing activities (GDPR Art. 30)."""
    fmt = _choice(fmt, ("json", "html"), "format")
    lang = _choice(lang, ledger_html.LANGUAGES, "language")
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=ledger.AUDIT_PURPOSE, action="read_ropa")
        ledger.require_reader(tx, rt, who, "ropa")
        records = ropa.build(rt)
        ledger.record_read(tx, rt, who, "ropa", {"format": fmt})
    if fmt == "html":
        content = ledger_html.render_ropa(records, lang).encode("utf-8")
    else:
        content = (json.dumps(records, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    _deliver(content, out, as_json, format=fmt, activities=len(records["activities"]))


@app.command("datamap")
@handle_errors
def data_map(out: OutOpt = None, actor: ActorOpt = None, as_json: JsonOpt = False) -> None:
    """The data map as a fideslang manifest (YAML) that Fides can load."""
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose=ledger.AUDIT_PURPOSE, action="read_datamap")
        ledger.require_reader(tx, rt, who, "datamap")
        manifest = datamap.build(rt)
        ledger.record_read(tx, rt, who, "datamap", {})
    content = datamap.to_yaml(manifest).encode("utf-8")
    _deliver(content, out, as_json, systems=len(manifest["system"]))
