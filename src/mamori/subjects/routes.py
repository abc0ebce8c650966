"""HTTP routes of the registry: thin edges over the subjects services.

Every route takes a ``purpose`` and a caller; the service asks the guard.
E-mail addresses and phone numbers are looked up with a POST body, never a
URL, so they cannot land in a log or a browser history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from mamori.api.deps import CredentialsDep, PurposeQuery, WorkDep, require_purpose
from mamori.api.problems import responses
from mamori.policy.schemas import KEY_PATTERN
from mamori.subjects import changes, service
from mamori.subjects.intake import Registration, register
from mamori.subjects.schemas import (
    Ref,
    SubjectCorrect,
    SubjectCorrected,
    SubjectCreate,
    SubjectCreated,
    SubjectPage,
    SubjectRead,
    SubjectRefs,
    SubjectSearch,
)

router = APIRouter(prefix="/subjects", tags=["subjects"])
RefPath = Annotated[Ref, Path(description="The subject's reference.")]
ERRORS = responses(400, 401, 403, 404, 409, 422, 429)


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_subject(
    *, body: SubjectCreate, purpose: PurposeQuery = None, creds: CredentialsDep, work: WorkDep
) -> SubjectCreated:
    """Register a person through a channel, for a purpose the channel announces."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        record = Registration(
            values=body.values, consents=tuple(body.consents), explicit=body.explicit
        )
        ref = register(
            tx, work.rt, actor=actor, channel=body.channel, purpose=why, registration=record
        )
    return SubjectCreated(ref=ref)


@router.get("/{ref}", responses=ERRORS)
def get_subject(
    *,
    ref: RefPath,
    purpose: PurposeQuery = None,
    creds: CredentialsDep,
    work: WorkDep,
    category: Annotated[
        list[str] | None, Query(max_length=50, description="Only these categories.")
    ] = None,
) -> SubjectRead:
    """A subject's values that the purpose covers (or the categories asked for)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        view = service.read(tx, work.rt, actor=actor, ref=ref, purpose=why, categories=category)
    return SubjectRead.of(view)


@router.post("/search", responses=ERRORS)
def search_subjects(
    *, body: SubjectSearch, purpose: PurposeQuery = None, creds: CredentialsDep, work: WorkDep
) -> SubjectRefs:
    """Find subjects by exact e-mail or phone (through the blind index)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        refs = service.find(
            tx, work.rt, actor=actor, purpose=why, email=body.email, phone=body.phone
        )
    return SubjectRefs(refs=refs)


@router.get("", responses=ERRORS)
def list_subjects(
    *,
    purpose: PurposeQuery = None,
    creds: CredentialsDep,
    work: WorkDep,
    kind: Annotated[str | None, Query(max_length=100, pattern=KEY_PATTERN)] = None,
    channel: Annotated[str | None, Query(max_length=100, pattern=KEY_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    after: Annotated[Ref | None, Query(description="Continue after this reference.")] = None,
) -> SubjectPage:
    """Subjects of a kind or channel whose data the purpose may use, without values."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        rows, next_after = service.list_refs(
            tx,
            work.rt,
            actor=actor,
            purpose=why,
            kind=kind,
            channel=channel,
            limit=limit,
            after=after,
        )
    return SubjectPage.of(rows, next_after)


@router.patch("/{ref}", responses=ERRORS)
def correct_subject(
    *,
    ref: RefPath,
    body: SubjectCorrect,
    purpose: PurposeQuery = None,
    creds: CredentialsDep,
    work: WorkDep,
) -> SubjectCorrected:
    """Correct values; the previous ones are kept as sealed history."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        why = require_purpose(work.rt, actor, purpose)
        done = changes.correct(
            tx, work.rt, actor=actor, ref=ref, purpose=why, values=body.values, channel=body.channel
        )
    return SubjectCorrected(ref=ref, corrected=done)
