"""HTTP routes of the policy: read it, list notice versions, publish one."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from mamori.api.deps import CredentialsDep, WorkDep
from mamori.api.problems import responses
from mamori.policy import service
from mamori.policy.schemas import Policy

router = APIRouter(prefix="/policy", tags=["policy"])
ERRORS = responses(401, 403, 409, 422, 429)


class NoticeRead(BaseModel):
    version: int
    effective_at: datetime
    published_at: datetime
    published_by: str
    policy_digest: str
    purposes: list[str]


class NoticePublish(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_at: AwareDatetime | None = Field(
        None, description="ISO 8601 with a zone; now by default; never in the past."
    )

    @field_validator("effective_at", mode="before")
    @classmethod
    def _a_string(cls, value: object) -> object:
        # Lax parsing would read a number as seconds since 1970; the schema says a string.
        if value is not None and not isinstance(value, str):
            raise ValueError("give the effective date as an ISO 8601 string with a zone")
        return value


def _read(notice: service.Notice) -> NoticeRead:
    return NoticeRead(
        version=notice.version,
        effective_at=notice.effective_at,
        published_at=notice.published_at,
        published_by=notice.published_by,
        policy_digest=notice.policy_digest,
        purposes=sorted(notice.purposes),
    )


@router.get("", responses=ERRORS)
def read_policy(creds: CredentialsDep, work: WorkDep) -> Policy:
    """The policy in force: company, purposes, categories, channels and roles."""
    with work.begin() as tx:
        work.actor(tx, creds)
    return work.rt.policy.source


@router.get("/notices", responses=ERRORS)
def list_notices(creds: CredentialsDep, work: WorkDep) -> list[NoticeRead]:
    """Every published notice version, oldest first."""
    with work.begin() as tx:
        work.actor(tx, creds)
        return [_read(n) for n in service.list_versions(tx)]


@router.post("/notices", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def publish_notice(body: NoticePublish, creds: CredentialsDep, work: WorkDep) -> NoticeRead:
    """Freeze the policy's purposes as the next notice version (privileged roles only)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        notice = service.publish(tx, work.rt, actor=actor, effective_at=body.effective_at)
    return _read(notice)
