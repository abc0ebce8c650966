"""``mamori policy``: check, show and publish the policy file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import (
    ActorOpt,
    JsonOpt,
    console,
    emit,
    errors,
    handle_errors,
    require_actor,
    runtime,
)
from mamori.config import load_settings
from mamori.errors import ValidationFailed
from mamori.policy import service
from mamori.policy.loader import check_policy_file, load_policy

app = typer.Typer(help="Check, show and publish the policy file.", no_args_is_help=True)


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The policy file to check.")],
    as_json: JsonOpt = False,
) -> None:
    """Validate a policy file and report every problem with its line."""
    policy, problems = check_policy_file(file)
    if as_json:
        emit(
            {"file": str(file), "ok": not problems, "problems": [p.to_dict() for p in problems]},
            as_json=True,
        )
    elif problems:
        errors.print(f"[bold red]{file}: {len(problems)} problem(s)[/]", soft_wrap=True)
        for problem in problems:
            errors.print(f"  {problem}", markup=False, highlight=False, soft_wrap=True)
    else:
        assert policy is not None
        console.print(
            f"[green]{file} is valid:[/] {len(policy.purposes)} purposes, {len(policy.data_categories)} "
            f"categories, {len(policy.channels)} channels, {len(policy.roles)} roles"
        )
    if problems:
        raise typer.Exit(1)


@app.command("show")
@handle_errors
def show(
    file: Annotated[
        Path | None, typer.Argument(help="A policy file; the active one by default.")
    ] = None,
    lang: Annotated[str, typer.Option(help="ja or en")] = "en",
    as_json: JsonOpt = False,
) -> None:
    """Show the purposes, channels and roles of the policy."""
    policy = load_policy(file or load_settings().policy_file)
    if as_json:
        emit(policy.model_dump(mode="json"), as_json=True)
        return
    table = Table(
        "purpose", "title", "basis", "retention", "categories", title=policy.company.name.en
    )
    for p in policy.purposes:
        title = p.title.ja if lang == "ja" else p.title.en
        table.add_row(p.key, title, p.legal_basis.value, p.retention, str(len(p.categories)))
    console.print(table)
    channels = Table("channel", "kind", "purposes", title="Channels")
    for c in policy.channels:
        channels.add_row(c.key, c.subject_kind, ", ".join(c.purposes))
    console.print(channels)


@app.command("publish")
@handle_errors
def publish(
    actor: ActorOpt = None,
    effective: Annotated[
        str | None, typer.Option(help="Effective from (ISO 8601 with zone); now by default.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Freeze the policy's purposes as a new notice version."""
    when = _parse_moment(effective) if effective else None
    with runtime() as rt, rt.db.transaction() as tx:
        who = require_actor(tx, rt, actor, purpose="policy.publish", action="publish")
        notice = service.publish(tx, rt, actor=who, effective_at=when)
    data = {
        "version": notice.version,
        "effective_at": notice.effective_at,
        "digest": notice.policy_digest,
    }
    emit(
        data,
        as_json=as_json,
        render=lambda d: console.print(
            f"published notice version {d['version']}, effective {d['effective_at']:%Y-%m-%d %H:%M %Z}"
        ),
    )


@app.command("notices")
@handle_errors
def notices(as_json: JsonOpt = False) -> None:
    """List the published notice versions."""
    with runtime() as rt, rt.db.transaction() as tx:
        versions = service.list_versions(tx)
    rows: list[dict[str, Any]] = [
        {
            "version": n.version,
            "effective_at": n.effective_at,
            "published_at": n.published_at,
            "published_by": n.published_by,
            "purposes": len(n.purposes),
        }
        for n in versions
    ]

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("version", "effective", "published", "by", "purposes")
        for r in data:
            table.add_row(
                str(r["version"]),
                f"{r['effective_at']:%Y-%m-%d %H:%M}",
                f"{r['published_at']:%Y-%m-%d %H:%M}",
                r["published_by"],
                str(r["purposes"]),
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)


def _parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationFailed("--effective must be an ISO 8601 date and time with a zone") from exc
    if moment.tzinfo is None:
        raise ValidationFailed("--effective must carry a time zone, e.g. 2026-12-01T00:00+09:00")
    return moment
