"""HTTP routes of the request desk: receive, verify, work, complete, and download.

Request routes need no ``purpose`` parameter: the kind of request names its
purpose (``dsr.*`` or ``inquiry_handling``), and the caller's role must list it.
Fees and the desk's hours are public; a download link is its own credential and
works once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from mamori.api.deps import CredentialsDep, WorkDep
from mamori.api.problems import responses
from mamori.db.engine import Tx
from mamori.dsr import erasure, fulfil, inquiries, outbox, queue, verification, workflow
from mamori.dsr import store as requests
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.schemas import (
    MOMENT,
    Assignment,
    CodeCheck,
    CodeSent,
    Completed,
    CompletionBody,
    Fees,
    Hours,
    IdentityRecord,
    InquiryCreate,
    InquiryReceived,
    Metrics,
    Payment,
    Rejection,
    RequestCreate,
    RequestDetail,
    RequestRead,
    RequestRef,
    moment_of,
    staff_identity,
)
from mamori.dsr.states import IdentityMethod, State, Via
from mamori.policy.schemas import FEE_KINDS, RequestKind
from mamori.runtime import Runtime

router = APIRouter(prefix="/requests", tags=["requests"])
ERRORS = responses(401, 403, 404, 409, 422, 429)
STEP_ERRORS = responses(401, 403, 404, 409, 410, 422, 429, 503)
RequestPath = Annotated[RequestRef, Path(description="The request's reference.")]


def _read(rt: Runtime, row: requests.RequestRow) -> RequestRead:
    return RequestRead.model_validate(queue.view(rt, row, now=rt.now()))


def _detail(tx: Tx, rt: Runtime, row: requests.RequestRow) -> RequestDetail:
    data: dict[str, Any] = queue.view(rt, row, now=rt.now())
    data["history"] = requests.events(tx, row.id)
    data["systems"] = outbox.status_for_request(tx, row.id)
    return RequestDetail.model_validate(data)


@router.get("/fees", responses=responses(429))
def fees(work: WorkDep) -> Fees:
    """What each kind of request costs, shown before anyone commits to one (public)."""
    settings = work.rt.policy.source.requests
    return Fees(
        fees={k.value: workflow.fee_for(work.rt, k) for k in sorted(FEE_KINDS)},
        due_business_days=settings.due_business_days,
    )


@router.get("/hours", responses=responses(422, 429))
def hours(
    work: WorkDep,
    at: Annotated[
        str | None,
        Query(pattern=MOMENT, description="A moment, ISO 8601 with zone (default: now)."),
    ] = None,
    language: Annotated[str, Query(pattern="^(ja|en)$")] = "en",
) -> Hours:
    """Whether the privacy desk is open, why not, and when it opens next (public)."""
    moment = work.rt.now() if at is None else moment_of(at)
    return Hours.model_validate(inquiries.hours(work.rt, moment, language).to_dict())


@router.post("", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_request(body: RequestCreate, creds: CredentialsDep, work: WorkDep) -> RequestRead:
    """Receive a request about a person's data (entered by staff, or sent by a system)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        new = NewRequest(
            kind=body.kind,
            via=body.via,
            subject=body.subject,
            purposes=body.purposes,
            values=body.values,
            language=body.language,
            received_at=body.received_at,
        )
        row = create(tx, work.rt, actor=actor, new=new)
        method = staff_identity(body.identity)
        if method is not None and row.state is State.RECEIVED:
            row = verification.record_identity(tx, work.rt, actor=actor, ref=row.ref, method=method)
        return _read(work.rt, row)


@router.post("/inquiries", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_inquiry(body: InquiryCreate, creds: CredentialsDep, work: WorkDep) -> InquiryReceived:
    """Receive an inquiry or complaint; every missing or invalid field is named."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        got = inquiries.receive(
            tx,
            work.rt,
            actor=actor,
            kind=RequestKind(body.kind),
            via=Via(body.via),
            fields=body.fields.model_dump(),
            received_at=body.received_at,
            language=body.language,
        )
        return InquiryReceived(
            request=_read(work.rt, got.request),
            hours=Hours.model_validate(got.hours.to_dict()),
        )


@router.get("", responses=ERRORS)
def list_requests(
    creds: CredentialsDep,
    work: WorkDep,
    state: Annotated[State | None, Query(description="Only open requests in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RequestRead]:
    """Open requests the caller may work: overdue first, then by due date."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        rows = queue.open_requests(tx, work.rt, actor=actor, state=state, limit=limit)
    return [RequestRead.model_validate(r) for r in rows]


@router.get("/metrics", responses=ERRORS)
def request_metrics(
    creds: CredentialsDep,
    work: WorkDep,
    days: Annotated[int, Query(ge=1, le=3650)] = 365,
) -> Metrics:
    """Open, overdue, by state, and median business days to close per kind."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        return Metrics.model_validate(queue.metrics(tx, work.rt, actor=actor, days=days))


@router.get("/{request}", responses=ERRORS)
def get_request(request: RequestPath, creds: CredentialsDep, work: WorkDep) -> RequestDetail:
    """One request with its full history and which downstream systems confirmed."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = workflow.load_for(tx, work.rt, actor, request, "view")
        return _detail(tx, work.rt, row)


@router.get("/{request}/erasure-preview", responses=ERRORS)
def erasure_preview(request: RequestPath, creds: CredentialsDep, work: WorkDep) -> dict[str, Any]:
    """Before an erasure is confirmed: what ends, what the law makes Mamori keep and until when."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = workflow.load_for(tx, work.rt, actor, request, "view")
        return erasure.preview(tx, work.rt, actor=actor, ref=workflow.subject_of(row)).to_dict()


@router.post("/{request}/identity/code", responses=STEP_ERRORS)
def send_code(request: RequestPath, creds: CredentialsDep, work: WorkDep) -> CodeSent:
    """Mail a six-digit code to the address held for the subject; the clock pauses."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        sent = verification.send_code(tx, work.rt, actor=actor, ref=request)
    return CodeSent(expires_at=sent.expires_at, attempts_allowed=sent.attempts_allowed)


@router.post("/{request}/identity/verify", responses=STEP_ERRORS)
def verify_code(
    request: RequestPath, body: CodeCheck, creds: CredentialsDep, work: WorkDep
) -> RequestRead:
    """Check the code the requester read out or typed in; wrong tries are counted."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = verification.verify_code(tx, work.rt, actor=actor, ref=request, code=body.code)
        return _read(work.rt, row)


@router.post("/{request}/identity/record", responses=STEP_ERRORS)
def record_identity(
    request: RequestPath, body: IdentityRecord, creds: CredentialsDep, work: WorkDep
) -> RequestRead:
    """A staff member confirms identity by phone callback or a document seen."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = verification.record_identity(
            tx, work.rt, actor=actor, ref=request, method=IdentityMethod(body.method)
        )
        return _read(work.rt, row)


@router.post("/{request}/payment", responses=STEP_ERRORS)
def record_payment(
    request: RequestPath, body: Payment, creds: CredentialsDep, work: WorkDep
) -> RequestRead:
    """Record the fee as paid; nothing is released before it."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = workflow.record_payment(
            tx, work.rt, actor=actor, ref=request, amount_yen=body.amount_yen
        )
        return _read(work.rt, row)


@router.post("/{request}/assign", responses=STEP_ERRORS)
def assign(
    request: RequestPath, body: Assignment, creds: CredentialsDep, work: WorkDep
) -> RequestRead:
    """Hand the request to a staff member whose role may work it."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = workflow.assign(tx, work.rt, actor=actor, ref=request, to=body.to)
        return _read(work.rt, row)


@router.post("/{request}/complete", responses=STEP_ERRORS)
def complete(
    request: RequestPath, body: CompletionBody, creds: CredentialsDep, work: WorkDep
) -> Completed:
    """Fulfil the request (or hold it for its fee); a link delivery returns its path once."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        done = fulfil.complete(
            tx,
            work.rt,
            actor=actor,
            ref=request,
            delivery=body.delivery,
            format=body.format,
            answered_via=body.answered_via,
        )
        path = None if done.download_token is None else f"/downloads/{done.download_token}"
        return Completed(request=_read(work.rt, done.request), download=path)


@router.post("/{request}/reject", responses=STEP_ERRORS)
def reject(
    request: RequestPath, body: Rejection, creds: CredentialsDep, work: WorkDep
) -> RequestRead:
    """Refuse the request with a reason code from the fixed list."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = fulfil.reject(tx, work.rt, actor=actor, ref=request, reason=body.reason)
        return _read(work.rt, row)


@router.post("/{request}/withdraw", responses=STEP_ERRORS)
def withdraw(request: RequestPath, creds: CredentialsDep, work: WorkDep) -> RequestRead:
    """Record that the requester withdrew the request."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = workflow.withdraw(tx, work.rt, actor=actor, ref=request)
        return _read(work.rt, row)


downloads = APIRouter(prefix="/downloads", tags=["requests"])


@downloads.get(
    "/{token}",
    responses={
        **responses(404, 410, 422, 429),
        200: {"content": {"text/html": {}, "application/json": {}}},
    },
)
def download(
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    work: WorkDep,
) -> Response:
    """A disclosure report, built now through the guard; the link works once."""
    with work.begin() as tx:
        body, media, filename = fulfil.download(tx, work.rt, token=token)
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
