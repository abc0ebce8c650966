"""The annual review of the management ledger (JIS Q 15001 A.3.3.1).

A privileged role records that the ledger was reviewed: on which day, by
whom, what was found, and the SHA-256 of the ledger CSV reviewed (the ledger
as it stands when none is given), so the review names exactly what it saw.
The next review is due one year after the last; past that day it is overdue.
Findings are kept in the table, never in the audit log: they are free text.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, insert, select

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.errors import Denied, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.ledger import ledger
from mamori.ledger.models import LedgerReview
from mamori.runtime import Runtime

_REVIEWS = cast(Table, LedgerReview.__table__)
MAX_FINDINGS = 4000
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
# Control characters other than tab and line breaks: a NUL cannot even be stored in PostgreSQL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Review:
    id: int
    reviewed_on: str
    reviewer: str
    findings: str
    ledger_digest: str
    recorded_at: str
    recorded_by: str


@dataclass(frozen=True)
class Status:
    last_reviewed_on: str | None
    next_due: str | None
    overdue: bool


def today(rt: Runtime) -> date:
    """The company's calendar day now: a review is dated as the company dates its papers."""
    return rt.now().astimezone(rt.policy.zone).date()


def record(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    reviewed_on: date,
    findings: str,
    ledger_digest: str | None = None,
    by: str | None = None,
) -> Review:
    """Record a review by a privileged role; refusals are audited, nothing is written."""
    _require_privileged(rt, actor)
    _check(rt, reviewed_on, findings, ledger_digest)
    digest = ledger_digest or ledger.digest(ledger.to_csv(ledger.build(tx, rt)))
    now = rt.now()
    review = Review(
        0,
        reviewed_on.isoformat(),
        actor.name,
        findings.strip(),
        digest,
        now.isoformat(),
        by or actor.name,
    )
    values = {**asdict(review), "recorded_at": now}
    del values["id"]
    new_id = tx.core.execute(insert(_REVIEWS).values(**values)).inserted_primary_key
    review = replace(review, id=int(new_id[0]) if new_id else 0)
    detail = {"review": review.id, "reviewed_on": review.reviewed_on, "digest": digest}
    entry = Entry(actor.name, ledger.AUDIT_PURPOSE, "review", [], [], "done", "recorded", detail)
    rt.audit.append(tx, entry, at=now)
    return review


def _require_privileged(rt: Runtime, actor: Actor) -> None:
    roles = [rt.policy.roles[r] for r in actor.roles if r in rt.policy.roles]
    if actor.active and any(r.privileged for r in roles):
        return
    denied = Denied(
        f"'{actor.name}' has no privileged role and may not record a review of the ledger",
        rule="not_privileged",
    )
    entry = Entry(actor.name, ledger.AUDIT_PURPOSE, "review", [], [], "denied", denied.rule)
    raise refuse(rt, denied, entry)


def _check(rt: Runtime, reviewed_on: date, findings: str, digest: str | None) -> None:
    if reviewed_on > today(rt):
        raise ValidationFailed(
            "a review cannot be dated after today", code="review_in_future", field="reviewed_on"
        )
    if not findings.strip():
        raise ValidationFailed(
            "say what the review found (findings may not be empty)",
            code="findings_missing",
            field="findings",
        )
    if _CONTROL.search(findings):
        raise ValidationFailed(
            "findings may not contain control characters",
            code="findings_invalid",
            field="findings",
        )
    if len(findings) > MAX_FINDINGS:
        raise ValidationFailed(
            f"findings are limited to {MAX_FINDINGS} characters",
            code="findings_too_long",
            field="findings",
        )
    if digest is not None and not _DIGEST.match(digest):
        raise ValidationFailed(
            "the ledger digest must be a SHA-256 in 64 lowercase hexadecimal digits",
            code="digest_malformed",
            field="ledger_digest",
        )


def list_reviews(tx: Tx) -> list[Review]:
    """Every review, newest first."""
    rows = tx.core.execute(
        select(_REVIEWS).order_by(_REVIEWS.c.reviewed_on.desc(), _REVIEWS.c.id.desc())
    ).all()
    return [
        Review(
            r.id,
            r.reviewed_on,
            r.reviewer,
            r.findings,
            r.ledger_digest,
            r.recorded_at.isoformat(),
            r.recorded_by,
        )
        for r in rows
    ]


def next_due(last: date) -> date:
    """One year after ``last``; a review on 29 February is due on 28 February."""
    try:
        return last.replace(year=last.year + 1)
    except ValueError:
        return last.replace(year=last.year + 1, day=28)


def status(rt: Runtime, reviews: list[Review]) -> Status:
    """When the next review is due, and whether it is overdue (never reviewed: due now)."""
    if not reviews:
        return Status(None, None, True)
    last = max(date.fromisoformat(r.reviewed_on) for r in reviews)
    due = next_due(last)
    return Status(last.isoformat(), due.isoformat(), today(rt) > due)


def as_dict(item: Review | Status) -> dict[str, Any]:
    return asdict(item)
