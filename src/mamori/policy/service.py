"""Notice versions: publishing the purposes, and finding the one in force.

Publishing freezes everything the public notice shows (company, purposes and
the categories they use, channels, request settings, recipients, joint uses,
processors and security measures) as they are now into a numbered notice
version with an effective date, so the page of a version never changes after
the policy does. Values
and consents record the version in force when they were given, and nothing
is collected under a purpose the notice in force does not announce (APPI
Art. 21).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, select

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Conflict, Denied, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.loader import policy_digest
from mamori.policy.models import NoticeVersion
from mamori.runtime import Runtime

_NOTICES = cast(Table, NoticeVersion.__table__)


@dataclass(frozen=True)
class Notice:
    version: int
    effective_at: datetime
    published_at: datetime
    published_by: str
    policy_digest: str
    purposes: frozenset[str]


def publish(tx: Tx, rt: Runtime, *, actor: Actor, effective_at: datetime | None = None) -> Notice:
    """Freeze what the public notice announces as the next notice version."""
    _require_privileged(tx, rt, actor)
    now = rt.now()
    effective = effective_at or now
    if effective.tzinfo is None:
        raise ValidationFailed("the effective date must carry a time zone", field="effective_at")
    if effective < now - timedelta(minutes=1):
        # A notice announces before collection (Art. 21); it cannot have been in force already.
        raise ValidationFailed("the effective date cannot be in the past", field="effective_at")
    source = rt.policy.source
    snapshot = _snapshot(rt)
    last = tx.core.execute(select(func.max(_NOTICES.c.version))).scalar()
    version = (last or 0) + 1
    digest = policy_digest(rt.settings.policy_file)
    tx.core.execute(
        insert(_NOTICES).values(
            version=version,
            effective_at=effective,
            published_at=now,
            published_by=actor.name,
            policy_digest=digest,
            snapshot=json.dumps(snapshot, ensure_ascii=False, sort_keys=True),
        )
    )
    detail = {"version": version, "effective_at": to_utc_text(effective), "digest": digest}
    rt.audit.append(
        tx,
        Entry(actor.name, "policy.publish", "publish", [], [], "done", "published", detail),
        at=now,
    )
    purposes = frozenset(p.key for p in source.purposes)
    return Notice(version, effective, now, actor.name, digest, purposes)


def _snapshot(rt: Runtime) -> dict[str, Any]:
    """What the notice announces, as JSON: the page of this version is built from it alone."""
    source = rt.policy.source
    lists = (
        "purposes",
        "channels",
        "data_categories",
        "recipients",
        "joint_uses",
        "processors",
        "security_measures",
    )
    snapshot: dict[str, Any] = {
        name: [item.model_dump(mode="json") for item in getattr(source, name)] for name in lists
    }
    snapshot["company"] = source.company.model_dump(mode="json")
    snapshot["requests"] = source.requests.model_dump(mode="json")
    return snapshot


def _require_privileged(tx: Tx, rt: Runtime, actor: Actor) -> None:
    roles = [rt.policy.roles[r] for r in actor.roles if r in rt.policy.roles]
    if not any(r.privileged for r in roles):
        denied = Denied(
            f"'{actor.name}' has no privileged role and may not publish the notice",
            rule="not_privileged",
        )
        entry = Entry(actor.name, "policy.publish", "publish", [], [], "denied", denied.rule)
        raise refuse(rt, denied, entry)


def _from_row(row: Row[Any]) -> Notice:
    m = row._mapping
    purposes = frozenset(p["key"] for p in json.loads(m["snapshot"])["purposes"])
    return Notice(
        m["version"],
        m["effective_at"],
        m["published_at"],
        m["published_by"],
        m["policy_digest"],
        purposes,
    )


def current(tx: Tx, rt: Runtime) -> Notice | None:
    """The notice version in force now: the newest whose effective date has come."""
    query = (
        select(_NOTICES)
        .where(_NOTICES.c.effective_at <= rt.now())
        .order_by(_NOTICES.c.version.desc())
        .limit(1)
    )
    row = tx.core.execute(query).first()
    return None if row is None else _from_row(row)


def require_announced(tx: Tx, rt: Runtime, purposes: list[str]) -> int | None:
    """The notice version in force, after checking it announces ``purposes``.

    System purposes are announced by the law itself and need no notice.
    """
    # Unknown purposes are the guard's to refuse, by name and audited.
    rules = rt.policy.rules
    wanted = [p for p in purposes if p in rules and not rules[p].system]
    if not wanted:
        notice = current(tx, rt)
        return notice.version if notice else None
    notice = current(tx, rt)
    if notice is None:
        raise Conflict(
            "no privacy notice has been published yet: run 'mamori policy publish' before collecting data",
            code="notice_missing",
        )
    missing = sorted(set(wanted) - notice.purposes)
    if missing:
        raise Conflict(
            f"the notice in force (version {notice.version}) does not announce {', '.join(missing)}: "
            "publish the notice before collecting under it",
            code="purpose_not_in_notice",
        )
    return notice.version


def frozen(tx: Tx, rt: Runtime, version: int | None = None) -> tuple[Notice, dict[str, Any]]:
    """A notice version and its snapshot: ``version``, or the one in force when None.

    Versions published before the snapshot grew lack some sections; the
    reader says so rather than filling them from today's policy.
    """
    if version is None:
        query = select(_NOTICES).where(_NOTICES.c.effective_at <= rt.now())
        query = query.order_by(_NOTICES.c.version.desc()).limit(1)
    else:
        query = select(_NOTICES).where(_NOTICES.c.version == version)
    row = tx.core.execute(query).first()
    if row is None:
        detail = (
            "no privacy notice is in force yet"
            if version is None
            else f"notice version {version} has not been published"
        )
        raise NotFound(detail, code="notice_not_found")
    snapshot: dict[str, Any] = json.loads(row._mapping["snapshot"])
    return _from_row(row), snapshot


def list_versions(tx: Tx) -> list[Notice]:
    rows = tx.core.execute(select(_NOTICES).order_by(_NOTICES.c.version)).all()
    return [_from_row(r) for r in rows]
