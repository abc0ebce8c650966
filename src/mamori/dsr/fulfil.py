"""Completing a request: each kind does what the law asks, through the guard.

A disclosure or a notification builds its report under the system purpose and
releases it as a link that works once, or by mail to the address held; a
correction applies the values sealed at arrival (the old ones kept as sealed
history); an erasure shreds what no law obliges Mamori to keep; cessation and
resumption set or lift the flags the guard enforces from the next access on.
Downstream systems are told of every change through the outbox, in the same
transaction. Nothing is released while a fee is unpaid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack

from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.dsr import disclosure, downloads, erasure, letters, outbox, workflow
from mamori.dsr import store as requests
from mamori.dsr.states import INQUIRY_KINDS, Reason, purpose_of
from mamori.dsr.workflow import await_fee, finish, load_for, requester
from mamori.errors import ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import authorize
from mamori.policy.schemas import Action, RequestKind
from mamori.runtime import Runtime
from mamori.subjects import changes
from mamori.subjects import store as subjects

DELIVERIES = ("link", "mail")
FORMATS = ("html", "json")


@dataclass
class Completion:
    request: requests.RequestRow
    # The download link's token, shown once to whoever completes a "link" delivery.
    download_token: str | None = None


def complete(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    delivery: str = "link",
    format: str = "html",
    answered_via: str | None = None,
) -> Completion:
    """Fulfil a request in progress, or hold it for its fee."""
    if delivery not in DELIVERIES or format not in FORMATS:
        raise ValidationFailed(
            f"deliver by {' or '.join(DELIVERIES)}, as {' or '.join(FORMATS)}", code="delivery"
        )
    row = load_for(tx, rt, actor, ref, "complete")
    if row.fee_yen and row.fee_paid_at is None:
        await_fee(tx, rt, row, actor)
        return Completion(row)
    if row.kind in INQUIRY_KINDS:  # the answer itself was the telling
        finish(tx, rt, row, actor, {"answered_via": answered_via or "email"})
        return Completion(row)
    # Read before acting: an erasure removes the address the decision goes to.
    to = letters.address_of(tx, rt, actor, row)
    if row.kind in (RequestKind.DISCLOSURE, RequestKind.NOTIFICATION):
        return _report(tx, rt, row, actor, delivery, format, to)
    outcome = _change(tx, rt, row, actor)
    outcome["told_by"] = "mail" if to else "letter"
    finish(tx, rt, row, actor, outcome)
    letters.tell(rt, row, to=to)
    return Completion(row)


def reject(tx: Tx, rt: Runtime, *, actor: Actor, ref: str, reason: Reason) -> requests.RequestRow:
    """Refuse a request with a reason from the fixed list, and tell the requester why."""
    row = workflow.reject(tx, rt, actor=actor, ref=ref, reason=reason)
    to = letters.address_of(tx, rt, actor, row)
    row.set(outcome={"told_by": "mail" if to else "letter"})
    requests.save(tx, row, rt.now())
    letters.tell(rt, row, to=to)
    return row


def _report(
    tx: Tx,
    rt: Runtime,
    row: requests.RequestRow,
    actor: Actor,
    delivery: str,
    format: str,
    to: str | None,
) -> Completion:
    assert row.subject_ref is not None
    outcome: dict[str, Any] = {"delivery": delivery, "format": format}
    if delivery == "mail":
        if to is None:
            raise ValidationFailed(
                f"the report for request {row.ref} cannot go by mail: no mail server is "
                "configured or no e-mail address is held; deliver it by link",
                code="mail_delivery_impossible",
            )
        report = build(tx, rt, actor, row)
        finish(tx, rt, row, actor, {**outcome, "told_by": "mail"})
        disclosure.mail_report(rt, to=to, report=report, language=row.language)
        return Completion(row)
    # The report is built when the link is used, so no copy of it is stored.
    token = downloads.issue(
        tx, rt, request_id=row.id, format=format, language=row.language, now=rt.now()
    )
    outcome["link_valid_days"] = rt.policy.source.requests.download_valid_days
    outcome["told_by"] = "mail" if to else "letter"
    finish(tx, rt, row, actor, outcome)
    letters.tell(rt, row, to=to, link=f"{rt.settings.public_url}/downloads/{token}")
    return Completion(row, token)


def build(tx: Tx, rt: Runtime, actor: Actor, row: requests.RequestRow) -> dict[str, Any]:
    """The report a disclosure or notification request releases."""
    assert row.subject_ref is not None
    if row.kind is RequestKind.NOTIFICATION:
        return disclosure.build_notification(tx, rt, actor=actor, ref=row.subject_ref)
    return disclosure.build_report(tx, rt, actor=actor, ref=row.subject_ref)


def _change(tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor) -> dict[str, Any]:
    ref = row.subject_ref
    assert ref is not None
    if row.kind is RequestKind.CORRECTION:
        done = _correct(tx, rt, row, actor)
        detail: dict[str, Any] = {"categories": done}
    elif row.kind is RequestKind.ERASURE:
        result = erasure.erase(tx, rt, actor=actor, ref=ref)
        detail = {
            "erased": result.erased,
            "kept": [k["category"] for k in result.kept],
            "retained_until": None
            if result.retained_until is None
            else to_utc_text(result.retained_until),
        }
    else:
        detail = _cessation(tx, rt, row, actor, ref)
    notified = outbox.enqueue(
        tx,
        rt,
        event=row.kind.value if row.kind is not RequestKind.CORRECTION else "correction",
        subject_ref=ref,
        request_id=row.id,
        detail=detail,
    )
    return {**detail, "notified": notified}


def _correct(tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor) -> list[str]:
    """Apply the values sealed at arrival; they open only under a fresh grant."""
    assert row.subject_ref is not None
    assert row.pending is not None
    subject = subjects.load(tx, row.subject_ref, for_update=True)
    pending: dict[str, bytes] = msgpack.unpackb(row.pending)
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose_of(row.kind),
        action=Action.READ,
        categories=list(pending),
        subjects=[subject.facts()],
        detail={"operation": "open_requested_correction", "request": row.ref},
    )
    assert decision.grant is not None
    values = rt.vault.open(decision.grant, row.subject_ref, subject.wrapped(), pending, pending)
    done = changes.correct(
        tx, rt, actor=actor, ref=row.subject_ref, purpose=purpose_of(row.kind), values=values
    )
    row.set(pending=None)
    return done


def _cessation(
    tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor, ref: str
) -> dict[str, Any]:
    purposes = row.purposes or None
    if row.kind in (RequestKind.CESSATION_OF_USE, RequestKind.RESUMPTION_OF_USE):
        stop = row.kind is RequestKind.CESSATION_OF_USE
        changes.set_suspension(tx, rt, actor=actor, ref=ref, purposes=purposes, suspend=stop)
    else:
        stop = row.kind is RequestKind.CESSATION_OF_PROVISION
        changes.set_provision_stop(tx, rt, actor=actor, ref=ref, purposes=purposes, stop=stop)
    # Keys only: this detail is also what downstream systems are told.
    return {"purposes": row.purposes or ["*"], "stopped": stop}


MEDIA = {"html": "text/html; charset=utf-8", "json": "application/json"}


def download(tx: Tx, rt: Runtime, *, token: str) -> tuple[bytes, str, str]:
    """Use a download link once: the report is built now, for the requester, through the guard."""
    got = downloads.redeem(tx, rt, token=token)
    row = requests.load_by_id(tx, got.request_id)
    report = build(tx, rt, requester(row.ref), row)
    if got.format == "json":
        body = disclosure.render_json(report)
    else:
        body = disclosure.render_html(report, got.language).encode()
    return body, MEDIA[got.format], f"{row.kind.value}-{row.ref}.{got.format}"
