"""``mamori notice``: the public notice of APPI Art. 32, as the API serves it.

``show`` prints (or writes to a file) the same page or JSON the public URL
gives, or a plain-text form for a terminal; ``versions`` lists what has been
published. Nothing here needs a staff account: the notice is public.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import JsonOpt, console, emit, handle_errors, runtime
from mamori.db.base import to_utc_text
from mamori.errors import ValidationFailed
from mamori.ledger import notice_html
from mamori.ledger.notice import LANGUAGES, matters
from mamori.policy import service

app = typer.Typer(
    help="The public notice: what the company announces (APPI Art. 32).", no_args_is_help=True
)
FORMATS = ("html", "json", "text")


@app.command("show")
@handle_errors
def show(
    version: Annotated[
        int | None, typer.Option("--version", help="A notice version; the one in force by default.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="ja or en.")] = "ja",
    fmt: Annotated[str, typer.Option("--format", help="html, json or text.")] = "text",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of printing.")
    ] = None,
) -> None:
    """Show the notice in force, or one version, as the public reads it."""
    if fmt not in FORMATS:
        raise ValidationFailed(
            f"--format must be one of {', '.join(FORMATS)}, not '{fmt[:20]}'", code="format_unknown"
        )
    if lang not in LANGUAGES:
        raise ValidationFailed(
            f"--lang must be {' or '.join(LANGUAGES)}, not '{lang[:20]}'",
            code="language_unsupported",
        )
    with runtime() as rt, rt.db.transaction() as tx:
        notice, snapshot = service.frozen(tx, rt, version)
    body = matters(notice, snapshot, lang)
    if fmt == "html":
        text = notice_html.render(body)
    elif fmt == "json":
        text = json.dumps(body, ensure_ascii=False, indent=2) + "\n"
    else:
        text = as_text(body)
    if out is None:
        sys.stdout.write(text)
        return
    _write(out, text)
    console.print(f"wrote notice version {notice.version} ({lang}, {fmt}) to {out}", markup=False)


def _write(out: Path, text: str) -> None:
    """Write the whole file or nothing: a half-written notice must not be published by mistake."""
    if not out.parent.is_dir():
        raise ValidationFailed(
            f"cannot write {out}: the folder {out.parent} does not exist", code="out_invalid"
        )
    if out.is_dir():
        raise ValidationFailed(f"cannot write {out}: it is a folder", code="out_invalid")
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ValidationFailed(
            f"cannot write {out}: {error.strerror or 'the file could not be written'}",
            code="out_invalid",
        ) from error


@app.command("versions")
@handle_errors
def versions(as_json: JsonOpt = False) -> None:
    """List the published notice versions and which one is in force."""
    with runtime() as rt, rt.db.transaction() as tx:
        published = service.list_versions(tx)
        current = service.current(tx, rt)
    in_force = current.version if current else None
    rows = [
        {
            "version": n.version,
            "effective_at": to_utc_text(n.effective_at),
            "in_force": n.version == in_force,
        }
        for n in published
    ]

    def render(data: list[dict[str, Any]]) -> None:
        table = Table("version", "effective (UTC)", "in force")
        for r in data:
            table.add_row(str(r["version"]), r["effective_at"], "yes" if r["in_force"] else "")
        console.print(table if data else "no notice has been published yet")

    emit(rows, as_json=as_json, render=render)


def as_text(m: Mapping[str, Any]) -> str:
    """The notice as plain text for a terminal: the same matters, headed as on the page."""
    t = notice_html.LABELS[m["lang"]]
    company, req = m["company"], m["requests"]
    lines = [
        t["title"],
        "",
        f"{t['version']}: {m['version']}  {t['effective']}: {m['effective_date']}",
    ]
    lines += _section(
        t["company"], [company["name"], company["address"], company["representative"]]
    )
    lines += _section(t["purposes"], [])
    for p in m["purposes"]:
        items = ", ".join(c["title"] for c in p["categories"])
        lines += [f"- {p['title']}", f"  {p['description']}", f"  {t['items']}: {items}"]
    where = req["where"]
    lines += _section(t["requests"], [where["department"], where["phone"], where["hours"]])
    lines += [req["member_pages"], *req["identity"]]
    lines += [f"- {k['title']}: {k['fee_text'] or t['not_announced']}" for k in req["kinds"]]
    lines.append(req["due_text"] or t["not_announced"])
    lines += _section(t["security"], _measures(m["security_measures"], t))
    lines += _section(t["joint_use"], _joint(m["joint_uses"], t))
    lines += _section(t["provision"], _provision(m["provision"], t))
    entrust = m["entrustment"]
    lines += _section(t["entrustment"], [entrust["statement"], *(entrust["services"] or [])])
    complaints = m["complaints"]
    contact = complaints["contact"]
    lines += _section(
        t["complaints"],
        [complaints["statement"], contact["department"], contact["phone"], contact["hours"]],
    )
    if complaints["accredited_body"]:
        lines.append(f"{t['accredited_body']}: {complaints['accredited_body']}")
    return "\n".join(lines) + "\n"


def _section(heading: str, body: list[str]) -> list[str]:
    return ["", f"## {heading}", *body]


def _measures(groups: list[dict[str, Any]] | None, t: Mapping[str, str]) -> list[str]:
    if groups is None:
        return [t["not_announced"]]
    return [line for g in groups for line in (f"### {g['heading']}", *g["items"])]


def _joint(joint: Mapping[str, Any] | None, t: Mapping[str, str]) -> list[str]:
    if joint is None:
        return [t["not_announced"]]
    if not joint["uses"]:
        return [t["no_joint_use"]]
    lines = [joint["statement"]]
    for u in joint["uses"]:
        r = u["responsible"]
        lines += [
            f"### {u['title']}",
            f"{t['joint_items']}: {', '.join(u['items'])}",
            f"{t['joint_users']}: {', '.join(u['users'])}",
            f"{t['joint_purposes']}: {', '.join(u['purposes'])}",
            f"{t['responsible']}: {r['name']}, {r['address']}, {r['representative']}",
        ]
    return lines


def _provision(prov: Mapping[str, Any] | None, t: Mapping[str, str]) -> list[str]:
    if prov is None:
        return [t["not_announced"]]
    lines = [prov["statement"]]
    lines += [f"- {k['title']}: {', '.join(k['purposes'])}" for k in prov["recipient_kinds"]]
    for f in prov["foreign"]:
        lines += [
            f"### {t['foreign']}: {f['name']}",
            f"{t['country']}: {f['country_name']}",
            f"{t['system']}: {f['system'] or t['none']}",
            f"{t['measures']}: {f['measures'] or t['none']}",
        ]
    return lines
