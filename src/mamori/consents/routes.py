"""HTTP routes of consent: grant, withdraw and history of one subject."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from mamori.api.deps import CredentialsDep, PurposeQuery, WorkDep, require_purpose
from mamori.api.problems import responses
from mamori.consents import service
from mamori.consents.service import GRANTED, WITHDRAWN
from mamori.subjects.schemas import CategoryKey, Ref

router = APIRouter(prefix="/subjects/{ref}/consents", tags=["consents"])
RefPath = Annotated[Ref, Path(description="The subject's reference.")]
ERRORS = responses(400, 401, 403, 404, 409, 422, 429)


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: CategoryKey = Field(
        "staff", description="How the choice reached us: a channel, or staff."
    )
    explicit: bool = Field(
        False, description="Given explicitly (opt-in); needed for special-care data."
    )
    evidence: dict[str, str] = Field(
        default={},
        max_length=20,
        description="How the choice was made (form id, text version); no personal values.",
    )


class ConsentEvent(BaseModel):
    id: int
    purpose: str
    state: str
    explicit: bool
    channel: str
    at: str
    notice_version: int | None
    actor: str
    evidence: dict[str, Any]


class ConsentResult(BaseModel):
    ref: Ref
    purpose: str
    state: str
    changed: bool = Field(description="False when the state asked for was already in force.")
    event: ConsentEvent | None


def _record(
    ref: str,
    purpose: str | None,
    state: str,
    body: ConsentChange,
    creds: CredentialsDep,
    work: WorkDep,
) -> ConsentResult:
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        event, changed = service.record(
            tx,
            work.rt,
            actor=actor,
            ref=ref,
            purpose=why,
            state=state,
            channel=body.channel,
            explicit=body.explicit,
            evidence=body.evidence,
        )
    view = ConsentEvent(**event.to_dict()) if event else None
    return ConsentResult(ref=ref, purpose=why, state=state, changed=changed, event=view)


@router.post("/grant", responses=ERRORS)
def grant_consent(
    *,
    ref: RefPath,
    body: ConsentChange,
    purpose: PurposeQuery = None,
    creds: CredentialsDep,
    work: WorkDep,
) -> ConsentResult:
    """Record that the person consented to the purpose."""
    return _record(ref, purpose, GRANTED, body, creds, work)


@router.post("/withdraw", responses=ERRORS)
def withdraw_consent(
    *,
    ref: RefPath,
    body: ConsentChange,
    purpose: PurposeQuery = None,
    creds: CredentialsDep,
    work: WorkDep,
) -> ConsentResult:
    """Record that the person withdrew consent to the purpose."""
    return _record(ref, purpose, WITHDRAWN, body, creds, work)


@router.get("", responses=ERRORS)
def consent_history(
    *, ref: RefPath, purpose: PurposeQuery = None, creds: CredentialsDep, work: WorkDep
) -> list[ConsentEvent]:
    """The subject's consent events for the purpose (all of them under a dsr.* purpose)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        events = service.history(tx, work.rt, actor=actor, ref=ref, purpose=why)
    return [ConsentEvent(**e.to_dict()) for e in events]
