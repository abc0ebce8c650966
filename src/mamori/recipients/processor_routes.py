"""HTTP routes of receipts from third parties and of entrusted processors.

Thin edges: each opens one unit of work, resolves the caller and calls one
service. Receiving and handing over ask the guard (the receipt registers
people under the receiving channel's purpose; a hand-over names its purpose
in the body, like a provision); the records are for auditor and privileged
roles; the processors' status holds no personal data and is open to any
staff.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from mamori.api.deps import CredentialsDep, WorkDep
from mamori.api.problems import responses
from mamori.recipients import processors, receipts, supervision
from mamori.recipients.export import ExportFile, ExportFormat
from mamori.recipients.processor_schemas import (
    ExportRead,
    HandoverCreate,
    HandoverCreated,
    HandoverRead,
    Key,
    ProcessorRead,
    ReceiptCreate,
    ReceiptCreated,
    ReceiptRead,
    ReceiptRef,
    RefusalRead,
    SupervisionCreate,
    SupervisionRead,
)

router = APIRouter(tags=["processors"])
ERRORS = responses(401, 403, 404, 409, 422, 429)
KeyPath = Annotated[Key, Path(description="The processor's key in the policy.")]
ReceiptPath = Annotated[ReceiptRef, Path(description="The receipt record's reference.")]


@router.post("/receipts", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_receipt(body: ReceiptCreate, creds: CredentialsDep, work: WorkDep) -> ReceiptCreated:
    """Register the people a third party provided, with the receipt record (APPI Art. 30)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        got = receipts.receive(
            tx,
            work.rt,
            actor=actor,
            provider=body.provider,
            channel=body.channel,
            obtained_how=body.obtained_how,
            records=[r.values for r in body.records] if body.records is not None else None,
            csv_source=body.csv,
            received_on=body.received_on,
        )
    return ReceiptCreated(purpose=got.purpose, record=ReceiptRead.model_validate(got.record))


@router.get("/receipts", responses=ERRORS)
def list_receipts(
    creds: CredentialsDep,
    work: WorkDep,
    provider: Annotated[Key | None, Query(description="Only this provider.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReceiptRead]:
    """Receipt records, newest first (auditor and privileged roles)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        rows = receipts.list_receipts(tx, work.rt, actor=actor, provider=provider, limit=limit)
    return [ReceiptRead.model_validate(r) for r in rows]


@router.get("/receipts/{receipt}", responses=ERRORS)
def get_receipt(receipt: ReceiptPath, creds: CredentialsDep, work: WorkDep) -> ReceiptRead:
    """One receipt record, with the references of the people received."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        record = receipts.show_receipt(tx, work.rt, actor=actor, ref=receipt)
    return ReceiptRead.model_validate(record)


@router.get("/processors", responses=responses(401, 403, 429))
def list_processors(creds: CredentialsDep, work: WorkDep) -> list[ProcessorRead]:
    """Every entrusted processor: contract and NDA today, scope, supervision due."""
    with work.begin() as tx:
        work.actor(tx, creds)
        rows = processors.statuses(tx, work.rt)
    return [ProcessorRead.model_validate(r) for r in rows]


@router.get("/processors/{processor}", responses=ERRORS)
def get_processor(processor: KeyPath, creds: CredentialsDep, work: WorkDep) -> ProcessorRead:
    """One processor's status."""
    with work.begin() as tx:
        work.actor(tx, creds)
        row = processors.status(tx, work.rt, processor)
    return ProcessorRead.model_validate(row)


def _export(export: ExportFile) -> ExportRead:
    text = export.content.decode("utf-8-sig")
    content: Any = json.loads(text) if export.format is ExportFormat.JSON else text
    return ExportRead(
        format=export.format.value,
        media_type=export.media_type,
        digest=export.digest,
        rows=export.rows,
        content=content,
    )


@router.post(
    "/processors/{processor}/handovers", status_code=status.HTTP_201_CREATED, responses=ERRORS
)
def create_handover(
    processor: KeyPath, body: HandoverCreate, creds: CredentialsDep, work: WorkDep
) -> HandoverCreated:
    """Hand the permitted items of the permitted subjects over, with the record and the file."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        got = processors.handover(
            tx,
            work.rt,
            actor=actor,
            processor=processor,
            purpose=body.purpose,
            fmt=ExportFormat(body.format),
            categories=body.categories,
            refs=body.subjects,
            kind=body.kind,
            channel=body.channel,
        )
    return HandoverCreated(
        record=HandoverRead.model_validate(got.record),
        refused=[RefusalRead(ref=r.ref, rule=r.rule, message=r.message) for r in got.refused],
        export=_export(got.export),
    )


@router.get("/processors/{processor}/handovers", responses=ERRORS)
def list_handovers(processor: KeyPath, creds: CredentialsDep, work: WorkDep) -> list[HandoverRead]:
    """The hand-over records of one processor, newest first."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        rows = processors.list_handovers(tx, work.rt, actor=actor, processor=processor)
    return [HandoverRead.model_validate(r) for r in rows]


@router.post(
    "/processors/{processor}/supervisions", status_code=status.HTTP_201_CREATED, responses=ERRORS
)
def create_supervision(
    processor: KeyPath, body: SupervisionCreate, creds: CredentialsDep, work: WorkDep
) -> SupervisionRead:
    """Record a check of the processor (privileged roles)."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        row = supervision.record_supervision(
            tx,
            work.rt,
            actor=actor,
            processor=processor,
            done_on=body.done_on,
            kind=body.kind,
            outcome=body.outcome,
            findings=body.findings,
        )
    return SupervisionRead.model_validate(row)


@router.get("/processors/{processor}/supervisions", responses=ERRORS)
def list_supervisions(
    processor: KeyPath, creds: CredentialsDep, work: WorkDep
) -> list[SupervisionRead]:
    """The supervision records of one processor, newest first."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        rows = supervision.list_supervisions(tx, work.rt, actor=actor, processor=processor)
    return [SupervisionRead.model_validate(r) for r in rows]
