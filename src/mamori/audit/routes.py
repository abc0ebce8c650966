"""HTTP routes of the audit log, for roles the policy marks as auditors."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from mamori.api.deps import CredentialsDep, WorkDep, require_flag
from mamori.api.problems import responses
from mamori.audit import service
from mamori.audit.verify import verify

router = APIRouter(prefix="/audit", tags=["audit"])
ERRORS = responses(401, 403, 422, 429)
Name = Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_.:@*<>-]{1,100}$")]


class AuditEntryRead(BaseModel):
    seq: int
    at: str
    actor: str
    purpose: str
    action: str
    subjects: list[str]
    categories: list[str]
    outcome: str
    rule: str
    detail: dict[str, Any]


class FindingRead(BaseModel):
    seq: int
    kind: str
    message: str


class VerifyReport(BaseModel):
    ok: bool
    entries: int
    last_seq: int
    checkpoint_seq: int | None
    findings: list[FindingRead]
    total_findings: int


@router.get("", responses=ERRORS)
def tail(
    creds: CredentialsDep,
    work: WorkDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    actor: Name = None,
    purpose: Name = None,
    outcome: Annotated[str | None, Query(pattern="^(allowed|denied|done)$")] = None,
    subject: Annotated[str | None, Query(pattern=r"^s[a-z2-7]{16}$")] = None,
) -> list[AuditEntryRead]:
    """The newest entries first, filtered by actor, purpose, outcome or subject."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        require_flag(tx, work.rt, caller, "auditor", "read the audit log")
        rows = service.tail(
            tx, limit=limit, actor=actor, purpose=purpose, outcome=outcome, subject=subject
        )
    return [AuditEntryRead(**r) for r in rows]


@router.post("/verify", responses=ERRORS)
def verify_chain(creds: CredentialsDep, work: WorkDep) -> VerifyReport:
    """Check every entry of the chain and the checkpoint outside the database."""
    with work.begin() as tx:
        caller = work.actor(tx, creds)
        require_flag(tx, work.rt, caller, "auditor", "verify the audit log")
        report = verify(tx, work.rt.audit)
    findings = [FindingRead(seq=f.seq, kind=f.kind, message=f.message) for f in report.findings]
    return VerifyReport(
        ok=report.ok,
        entries=report.entries,
        last_seq=report.last_seq,
        checkpoint_seq=report.checkpoint_seq,
        findings=findings,
        total_findings=report.total_findings,
    )
