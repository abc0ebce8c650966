"""HTTP routes of recipients and provisions.

The declared recipients and joint uses are public knowledge inside the
company (any signed-in staff member may read them). A provision names its
purpose in the body, since the recipient and the basis belong with it; the
guard decides it like any other access. Provision records are read only by
roles that provide, audit or are privileged, and each read is audited.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from mamori.api.deps import CredentialsDep, WorkDep
from mamori.api.problems import responses
from mamori.policy.schemas import JointUse, Recipient
from mamori.recipients import declarations, provision, records
from mamori.recipients.export import ExportFile, ExportFormat
from mamori.recipients.schemas import (
    ExportRead,
    JointUseRead,
    Key,
    ProvisionCreate,
    ProvisionMade,
    ProvisionRecordDetail,
    ProvisionRecordRead,
    ProvisionRef,
    RecipientDetail,
    RecipientRead,
    RecipientsRead,
    RefusalRead,
)
from mamori.subjects.schemas import Ref

router = APIRouter(tags=["recipients"])
ERRORS = responses(401, 403, 404, 409, 422, 429)


def recipient_view(recipient: Recipient) -> dict[str, Any]:
    data = recipient.model_dump(mode="json")
    data["kind"] = recipient.kind.value
    return data


def joint_use_view(use: JointUse) -> dict[str, Any]:
    return use.model_dump(mode="json")


@router.get("/recipients", responses=responses(401, 429))
def list_recipients(creds: CredentialsDep, work: WorkDep) -> RecipientsRead:
    """The declared recipients (with APPI Art. 28 information) and joint uses."""
    with work.begin() as tx:
        work.actor(tx, creds)
    policy = work.rt.policy
    return RecipientsRead(
        recipients=[RecipientRead(**recipient_view(r)) for r in policy.recipients.values()],
        joint_uses=[JointUseRead(**joint_use_view(j)) for j in policy.joint_uses.values()],
    )


@router.get("/recipients/{recipient}", responses=responses(401, 404, 422, 429))
def show_recipient(
    creds: CredentialsDep,
    work: WorkDep,
    recipient: Annotated[Key, Path(description="The recipient's key.")],
) -> RecipientDetail:
    """One recipient, the joint uses it takes part in, and every declared version of it."""
    with work.begin() as tx:
        work.actor(tx, creds)
        declared = work.rt.policy.recipient(recipient)
        history = declarations.history(tx, declarations.RECIPIENT, recipient)
    uses = [j.key for j in work.rt.policy.joint_uses.values() if recipient in j.users]
    return RecipientDetail(
        **recipient_view(declared),
        joint_uses=uses,
        history=[
            {k: v for k, v in h.to_dict().items() if k not in ("kind", "key")} for h in history
        ],
    )


def _export_read(export: ExportFile) -> ExportRead:
    text = export.content.decode("utf-8").removeprefix("\ufeff")
    data = json.loads(text) if export.format is ExportFormat.JSON else text
    return ExportRead(
        format=export.format.value,
        media_type=export.media_type,
        digest=export.digest,
        rows=export.rows,
        data=data,
    )


@router.post("/provisions", status_code=201, responses=ERRORS)
def create_provision(creds: CredentialsDep, work: WorkDep, body: ProvisionCreate) -> ProvisionMade:
    """Provide to a third party: the record, the refused subjects and the export inline."""
    selection = provision.Selection(refs=body.subjects, kind=body.kind, channel=body.channel)
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        made = provision.provide(
            tx,
            work.rt,
            actor=actor,
            recipient=body.recipient,
            purpose=body.purpose,
            basis=body.basis,
            selection=selection,
            fmt=body.format,
            categories=body.categories,
            exception=body.exception,
            reason=body.reason,
        )
    return ProvisionMade(
        record=ProvisionRecordRead(**made.record),
        refused=[RefusalRead(ref=r.ref, rule=r.rule, message=r.message) for r in made.refused],
        export=_export_read(made.export),
    )


@router.get("/provisions", responses=ERRORS)
def list_provisions(
    creds: CredentialsDep,
    work: WorkDep,
    recipient: Annotated[Key | None, Query()] = None,
    since: Annotated[
        str | None, Query(alias="from", pattern=records.DAY, description="First day, YYYY-MM-DD.")
    ] = None,
    until: Annotated[
        str | None, Query(alias="to", pattern=records.DAY, description="Last day, YYYY-MM-DD.")
    ] = None,
    subject: Annotated[Ref | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ProvisionRecordRead]:
    """Provision records, newest first (roles that provide, auditors, privileged roles)."""
    first, last = records.day_bounds(
        work.rt, records.parse_day(since, "from"), records.parse_day(until, "to")
    )
    where = records.RecordFilter(recipient, first, last, subject, limit)
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        rows = records.list_records(tx, work.rt, actor=actor, where=where)
    return [ProvisionRecordRead(**r) for r in rows]


@router.get("/provisions/{provision}", responses=ERRORS)
def show_provision(
    creds: CredentialsDep,
    work: WorkDep,
    provision: Annotated[ProvisionRef, Path(description="The record's reference (p...).")],
) -> ProvisionRecordDetail:
    """One provision record with its subjects and the consents they rested on."""
    with work.begin() as tx:
        actor = work.actor(tx, creds)
        record = records.show_record(tx, work.rt, actor=actor, ref=provision)
    return ProvisionRecordDetail(**record)
