"""Staff accounts: adding them, and turning a name into an ``Actor``.

The guard knows actors only through here. An unknown or disabled name is
refused by the guard like any other rule, and the refusal is audited.
"""

from __future__ import annotations

import json
import re
from typing import cast

from sqlalchemy import Table, insert, select, update

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Conflict, Denied, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.runtime import Runtime
from mamori.staff.models import StaffAccount

_STAFF = cast(Table, StaffAccount.__table__)
HANDLE = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")


def add(tx: Tx, rt: Runtime, *, handle: str, roles: list[str], by: str) -> Actor:
    """Create a staff account with roles from the policy."""
    if not HANDLE.match(handle):
        raise ValidationFailed(
            "a staff handle is 2–63 lower-case letters, digits, dots, dashes or underscores",
            field="handle",
        )
    unknown = sorted(set(roles) - rt.policy.roles.keys())
    if unknown or not roles:
        known = ", ".join(sorted(rt.policy.roles))
        raise ValidationFailed(
            f"unknown role {', '.join(unknown) or '(none given)'}; the policy has: {known}"
        )
    if tx.core.execute(select(_STAFF.c.id).where(_STAFF.c.handle == handle)).first():
        raise Conflict(f"a staff account '{handle}' already exists", code="staff_exists")
    tx.core.execute(
        insert(_STAFF).values(
            handle=handle, roles=json.dumps(roles), active=True, created_at=rt.now()
        )
    )
    rt.audit.append(
        tx,
        Entry(
            by,
            "staff.admin",
            "staff_add",
            [],
            [],
            "done",
            "staff_added",
            {"handle": handle, "roles": roles},
        ),
        at=rt.now(),
    )
    return Actor(handle, tuple(roles))


def set_active(tx: Tx, rt: Runtime, *, handle: str, active: bool, by: str) -> None:
    result = tx.core.execute(update(_STAFF).where(_STAFF.c.handle == handle).values(active=active))
    if result.rowcount == 0:
        raise NotFound(f"there is no staff account '{handle}'", code="unknown_staff")
    action = "staff_enable" if active else "staff_disable"
    rt.audit.append(
        tx,
        Entry(by, "staff.admin", action, [], [], "done", action, {"handle": handle}),
        at=rt.now(),
    )


def actor(tx: Tx, rt: Runtime, *, handle: str, purpose: str, action: str) -> Actor:
    """The actor behind ``handle``; an unknown name is refused and audited."""
    row = tx.fetchone("SELECT roles, active FROM staff_accounts WHERE handle = ?", (handle,))
    if row is None:
        denied = Denied(f"there is no staff account '{handle}'", rule="unknown_actor")
        raise refuse(rt, denied, Entry(handle, purpose, action, [], [], "denied", denied.rule))
    return Actor(handle, tuple(json.loads(row[0])), "staff", bool(row[1]))


def list_accounts(tx: Tx) -> list[dict[str, object]]:
    rows = tx.core.execute(select(_STAFF).order_by(_STAFF.c.handle)).all()
    return [{"handle": r.handle, "roles": json.loads(r.roles), "active": r.active} for r in rows]
