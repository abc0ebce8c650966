"""Supervision of processors (APPI Art. 25): the company's checks, and when the next is due.

Each processor is checked at the interval the policy sets
(``supervision_every``), counted from the last check or, before any, from the
start of its contract. Recording a check is for privileged roles and is
audited; its findings are stored here, never in the audit log.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from mamori.audit.service import Entry
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.errors import Denied, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.policy.schemas import Processor, parse_duration
from mamori.recipients import access
from mamori.runtime import Runtime

MAX_FINDINGS = 4000
SUPERVISION_PURPOSE = "system.supervision"


def today(rt: Runtime) -> date:
    """Today in the company's zone: contracts and checks are dated there."""
    return rt.now().astimezone(rt.policy.zone).date()


class SupervisionKind(StrEnum):
    AUDIT = "audit"
    QUESTIONNAIRE = "questionnaire"
    ON_SITE = "on_site"
    REPORT = "report"


class SupervisionOutcome(StrEnum):
    SATISFACTORY = "satisfactory"
    FINDINGS = "findings"
    CORRECTIVE_ACTION = "corrective_action"


def last_supervision(tx: Tx, key: str) -> dict[str, Any] | None:
    row = tx.fetchone(
        "SELECT done_on, kind, outcome FROM supervisions WHERE processor = ?"
        " ORDER BY done_on DESC, id DESC LIMIT 1",
        (key,),
    )
    return None if row is None else {"done_on": row[0], "kind": row[1], "outcome": row[2]}


def supervision_due(processor: Processor, last: date | None, today: date) -> dict[str, Any]:
    """When the next check is due: a period after the last one, or after the contract began."""
    every = parse_duration(processor.supervision_every)
    next_due = (last or processor.contract_from) + every
    return {
        "every": processor.supervision_every,
        "last": last.isoformat() if last else None,
        "next_due": next_due.isoformat(),
        "overdue": today > next_due,
    }


def _require_privileged(rt: Runtime, actor: Actor, processor: str) -> None:
    roles = [rt.policy.roles[r] for r in actor.roles if r in rt.policy.roles]
    if actor.active and any(r.privileged for r in roles):
        return
    denied = Denied(
        f"'{actor.name}' has no privileged role and may not record a supervision",
        rule="not_privileged",
    )
    detail = {"processor": processor}
    entry = Entry(actor.name, SUPERVISION_PURPOSE, "record", [], [], "denied", denied.rule, detail)
    raise refuse(rt, denied, entry)


def _check_supervision(
    rt: Runtime, done_on: date, outcome: SupervisionOutcome, findings: str
) -> str:
    text = findings.strip()
    if len(text) > MAX_FINDINGS:
        raise ValidationFailed(
            f"the findings may be at most {MAX_FINDINGS} characters", code="findings_too_long"
        )
    if not text and outcome is not SupervisionOutcome.SATISFACTORY:
        raise ValidationFailed(
            f"say what was found: an outcome of {outcome.value} needs its findings",
            code="findings_missing",
        )
    if done_on > today(rt):
        raise ValidationFailed(
            "a supervision cannot be recorded before it is done", code="date_invalid"
        )
    return text


def record_supervision(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    processor: str,
    done_on: date,
    kind: SupervisionKind,
    outcome: SupervisionOutcome,
    findings: str,
) -> dict[str, Any]:
    """Record a check of a processor (privileged roles only); audited."""
    spec = rt.policy.processor(processor)
    _require_privileged(rt, actor, processor)
    text = _check_supervision(rt, done_on, outcome, findings)
    now = to_utc_text(rt.now())
    tx.execute(
        "INSERT INTO supervisions (processor, done_on, kind, outcome, findings, recorded_at,"
        " recorded_by) VALUES (?,?,?,?,?,?,?)",
        (spec.key, done_on.isoformat(), kind.value, outcome.value, text, now, actor.name),
    )
    detail = {
        "processor": spec.key,
        "done_on": done_on.isoformat(),
        "kind": kind.value,
        "outcome": outcome.value,
    }
    entry = Entry(actor.name, SUPERVISION_PURPOSE, "record", [], [], "done", "recorded", detail)
    rt.audit.append(tx, entry, at=rt.now())
    last = last_supervision(tx, spec.key)
    assert last is not None
    due = supervision_due(spec, date.fromisoformat(last["done_on"]), today(rt))
    return {
        "processor": spec.key,
        "done_on": done_on.isoformat(),
        "kind": kind.value,
        "outcome": outcome.value,
        "findings": text,
        "recorded_at": now,
        "recorded_by": actor.name,
        "next_due": due["next_due"],
    }


def list_supervisions(tx: Tx, rt: Runtime, *, actor: Actor, processor: str) -> list[dict[str, Any]]:
    """The supervision records of one processor, newest first."""
    rt.policy.processor(processor)
    access.require_reader(tx, rt, actor, "supervision records")
    rows = tx.fetchall(
        "SELECT done_on, kind, outcome, findings, recorded_at, recorded_by FROM supervisions"
        " WHERE processor = ? ORDER BY done_on DESC, id DESC",
        (processor,),
    )
    names = ("done_on", "kind", "outcome", "findings", "recorded_at", "recorded_by")
    return [dict(zip(names, r, strict=True)) for r in rows]
