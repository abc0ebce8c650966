"""What the records of outside parties share: references, how long they are kept,
and who may read them.

Provision, receipt, hand-over and supervision records name subjects by
reference only, but which person's data went where is itself worth guarding:
reading any of them is allowed to a role that may provide data for some
purpose, or a role the policy marks ``auditor`` or ``privileged``, and every
read or refusal leaves one audit entry.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Denied
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.schemas import Action
from mamori.runtime import Runtime

RECORDS_PURPOSE = "system.records"
READER_RULE = "records_not_permitted"
_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def new_ref(prefix: str) -> str:
    """A record reference: 80 random bits, as ``subjects.store.new_ref`` makes them."""
    return prefix + base64.b32encode(secrets.token_bytes(10)).decode().lower()


def shown_key(value: str) -> str:
    """A key as typed, for an audit entry or a message, unless it does not look like one."""
    return value if len(value) <= 100 and _KEY.match(value) else "<malformed>"


def kept_until(rt: Runtime, at: datetime, years: int) -> datetime:
    """When a record made at ``at`` may go: after the whole of its last day.

    The period counts from the day after ``at`` (Civil Code Art. 140) and ends
    with the anniversary day ``years`` on in the company's zone (Art. 143; for
    29 February, the 28th), so the record is kept a few hours longer than the
    bare number of years, never shorter.
    """
    zone = rt.policy.zone
    day = at.astimezone(zone).date()
    try:
        last = day.replace(year=day.year + years)
    except ValueError:
        last = date(day.year + years, 2, 28)
    return datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)


def may_read(rt: Runtime, actor: Actor) -> bool:
    """Roles that may provide for some purpose, or auditor or privileged roles."""
    if not actor.active:
        return False
    roles = [rt.policy.roles[r] for r in actor.roles if r in rt.policy.roles]
    if any(r.auditor or r.privileged for r in roles):
        return True
    return any(
        Action.PROVIDE in actions
        for (role, _purpose), actions in rt.policy.permissions.items()
        if role in actor.roles
    )


def require_reader(
    tx: Tx,
    rt: Runtime,
    actor: Actor,
    what: str,
    *,
    refs: Sequence[str] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """Let a caller read ``what`` (audited), or refuse them (audited)."""
    refuse_unless_reader(rt, actor, what, detail)
    record_read(tx, rt, actor, what, refs=refs, detail=detail)


def refuse_unless_reader(
    rt: Runtime, actor: Actor, what: str, detail: dict[str, Any] | None = None
) -> None:
    """Refuse, audited, a caller who may not read ``what``; say nothing otherwise."""
    if may_read(rt, actor):
        return
    denied = Denied(
        f"'{actor.name}' may not read {what}: that needs a role that provides data to"
        " third parties, or an auditor or privileged role",
        rule=READER_RULE,
    )
    shown = {"read": what, **(detail or {})}
    entry = Entry(actor.name, RECORDS_PURPOSE, "read", [], [], "denied", denied.rule, shown)
    raise refuse(rt, denied, entry)


def record_read(
    tx: Tx,
    rt: Runtime,
    actor: Actor,
    what: str,
    *,
    refs: Sequence[str] = (),
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit entry of a permitted read, naming the subjects the records name."""
    shown = {"read": what, **(detail or {})}
    entry = Entry(actor.name, RECORDS_PURPOSE, "read", list(refs), [], "allowed", "granted", shown)
    rt.audit.append(tx, entry, at=rt.now())
