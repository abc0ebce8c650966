"""``mamori systems``: the downstream systems that hear of changes, and their outbox."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from mamori.cli.common import JsonOpt, console, emit, errors, handle_errors, operator, runtime
from mamori.dsr import delivery, outbox, systems
from mamori.errors import ValidationFailed

app = typer.Typer(
    help="Downstream systems (web shop, mailer, ...) and the signed webhooks they receive.",
    no_args_is_help=True,
)


def _table(*headers: str) -> Table:
    """A table whose long cells (ids, URLs) wrap instead of being cut short."""
    table = Table(*headers)
    for column in table.columns:
        column.overflow = "fold"
    return table


KeyArg = Annotated[str, typer.Argument(help="The system's key, e.g. webshop.")]


@app.command("add")
@handle_errors
def add(
    key: KeyArg,
    url: Annotated[str, typer.Option(help="Where Mamori posts: https (http only to loopback).")],
    event: Annotated[
        list[str],
        typer.Option(help=f"An event to receive; repeatable: {', '.join(systems.EVENTS)}."),
    ],
    title: Annotated[
        str | None, typer.Option(help="A name people read; the key by default.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a system; prints its signing secret, this once only."""
    with runtime() as rt, rt.db.transaction() as tx:
        secret = systems.register(
            tx, rt, key=key, title=title or key, url=url, events=event, by=operator()
        )
    _show_secret({"key": key, "events": systems.check_events(event), "secret": secret}, as_json)


def _show_secret(data: dict[str, Any], as_json: bool) -> None:
    def render(d: dict[str, Any]) -> None:
        console.print(f"signing secret for {d['key']} (shown once; give it to the system):")
        console.print(d["secret"], markup=False, highlight=False, soft_wrap=True)

    emit(data, as_json=as_json, render=render)


@app.command("list")
@handle_errors
def list_(as_json: JsonOpt = False) -> None:
    """List the systems, their events and how many messages wait or died."""
    with runtime() as rt, rt.db.transaction() as tx:
        rows = systems.list_systems(tx)

    def render(data: list[dict[str, Any]]) -> None:
        table = _table("key", "title", "url", "events", "active", "pending", "dead")
        for r in data:
            table.add_row(
                r["key"],
                r["title"],
                r["url"],
                ", ".join(r["events"]),
                "yes" if r["active"] else "no",
                str(r["pending"]),
                str(r["dead"]),
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)


def _set_active(key: str, active: bool, as_json: bool) -> None:
    with runtime() as rt, rt.db.transaction() as tx:
        systems.set_active(tx, rt, key=key, active=active, by=operator())
    word = "enabled" if active else "disabled"
    emit(
        {"key": key, "active": active},
        as_json=as_json,
        render=lambda d: console.print(f"{word} {key}"),
    )


@app.command("disable")
@handle_errors
def disable(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Stop posting to a system; its queued messages wait until it is enabled."""
    _set_active(key, False, as_json)


@app.command("enable")
@handle_errors
def enable(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Post to a disabled system again, starting with what waited."""
    _set_active(key, True, as_json)


@app.command("rotate")
@handle_errors
def rotate(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Give a system a new signing secret (printed once); the old one stops at once."""
    with runtime() as rt, rt.db.transaction() as tx:
        secret = systems.rotate_secret(tx, rt, key=key, by=operator())
    _show_secret({"key": key, "secret": secret}, as_json)


@app.command("update")
@handle_errors
def update(
    key: KeyArg,
    url: Annotated[str | None, typer.Option(help="The new https URL to post to.")] = None,
    event: Annotated[
        list[str] | None, typer.Option(help="An event it hears of; repeat for several.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a system to a new URL, or change its events or title; queued messages follow."""
    with runtime() as rt, rt.db.transaction() as tx:
        row = systems.update(tx, rt, key=key, by=operator(), url=url, events=event, title=title)
    emit(row, as_json=as_json, render=lambda d: console.print(f"updated {key}", markup=False))


@app.command("requeue")
@handle_errors
def requeue(key: KeyArg, as_json: JsonOpt = False) -> None:
    """Try again every message a system was given up on (after it is mended)."""
    with runtime() as rt, rt.db.transaction() as tx:
        count = systems.requeue_dead(tx, rt, key=key, by=operator())
    emit(
        {"key": key, "requeued": count},
        as_json=as_json,
        render=lambda d: console.print(f"{count} message(s) for {key} due again now"),
    )


@contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM ends the loop after the round in progress."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _sig, _frame: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command("deliver")
@handle_errors
def deliver(
    loop: Annotated[bool, typer.Option("--loop", help="Keep delivering until stopped.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between rounds.")] = 5.0,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Messages per round.")] = 100,
    timeout: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds per post.")] = 5.0,
    as_json: JsonOpt = False,
) -> None:
    """Post the messages that are due; with --loop, keep at it (Ctrl-C stops)."""
    with runtime() as rt:
        if loop:
            stop = threading.Event()
            if not as_json:
                errors.print(f"delivering every {interval:g} s; Ctrl-C stops", highlight=False)
            with _stopped_by_signals(stop):
                stats = delivery.run_forever(
                    rt, interval_s=interval, stop=stop, limit=limit, timeout_s=timeout
                )
        else:
            stats = delivery.deliver_due(rt, limit=limit, timeout_s=timeout)
    emit(
        asdict(stats),
        as_json=as_json,
        render=lambda d: console.print(
            f"{d['delivered']} delivered, {d['retrying']} to retry, {d['dead']} given up"
        ),
    )


@app.command("outbox")
@handle_errors
def outbox_(
    pending: Annotated[
        bool, typer.Option("--pending", help="Only messages still to deliver.")
    ] = False,
    dead: Annotated[bool, typer.Option("--dead", help="Only messages given up on.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List webhook messages, newest first."""
    if pending and dead:
        raise ValidationFailed("choose --pending or --dead, not both", code="outbox_filter")
    state = "pending" if pending else "dead" if dead else None
    with runtime() as rt, rt.db.transaction() as tx:
        rows = outbox.list_messages(tx, state=state, limit=limit)

    def render(data: list[dict[str, Any]]) -> None:
        table = _table("message", "system", "event", "subject", "state", "attempts", "last", "next")
        for r in data:
            last = r["last_error"] or (str(r["last_status"]) if r["last_status"] else "")
            next_at = r["next_attempt_at"]
            table.add_row(
                r["message"],
                r["system"],
                r["event"],
                r["subject"],
                r["state"],
                str(r["attempts"]),
                last,
                "" if next_at is None else f"{next_at:%Y-%m-%d %H:%M:%S}",
            )
        console.print(table)

    emit(rows, as_json=as_json, render=render)
