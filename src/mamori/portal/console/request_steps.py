"""The steps a staff member takes on one request, each a call to the request desk.

Each step reads its own fields from the form, checks their shape, and calls
the same service the API's ``dsr/routes.py`` calls for it; the service checks
the role and the state and audits a refusal. A field the desk turns down is
named (``FieldError`` or ``field_of``) so the page can say so next to it.
Which steps a request's state allows comes from ``dsr.states.STEPS``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from mamori.db.engine import Tx
from mamori.dsr import fulfil, verification, workflow
from mamori.dsr import store as requests
from mamori.dsr.states import (
    INQUIRY_KINDS,
    STAFF_IDENTITY_METHODS,
    STEPS,
    SUBJECT_KINDS,
    Reason,
    State,
)
from mamori.errors import MamoriError, ValidationFailed
from mamori.guard.rules import Actor
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime

HANDLE = re.compile(r"^[a-z][a-z0-9._-]{1,62}$")
IDENTITY_METHODS = sorted(m.value for m in STAFF_IDENTITY_METHODS)
REASONS = [r.value for r in Reason]
ANSWERED_VIA = ("email", "phone", "letter")
# A refusal of the desk that is about one field of the form: its code or rule -> the field.
FIELDS = {
    "identity_code_wrong": "code",
    "identity_attempts_exhausted": "code",
    "identity_code_missing": "code",
    "identity_code_expired": "code",
    "identity_no_email": "send",
    "subject_missing": "send",
    "identity_method": "method",
    "fee_amount": "amount_yen",
    "assignee_not_permitted": "to",
    "unknown_actor": "to",
    "delivery": "delivery",
}


class StepForm(BaseModel):
    """Every field any step's form may carry; each step reads its own."""

    csrf: str = ""
    code: str = ""
    method: str = ""
    amount_yen: str = ""
    to: str = ""
    delivery: str = "link"
    format: str = "html"
    answered_via: str = ""
    reason: str = ""
    confirm: str = ""


class FieldError(ValidationFailed):
    """A field of a step's form that is not well formed; the page names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"the field '{field}' is not valid", code="form_field")
        self.field = field
        self.problem = problem


@dataclass
class Done:
    """What a step leaves to show: for a link delivery, the download path (shown once)."""

    download: str | None = None


def field_of(error: MamoriError) -> str | None:
    """The form field a refusal is about, or None when it is about the step itself."""
    if isinstance(error, FieldError):
        return error.field
    return FIELDS.get(str(getattr(error, "rule", "") or error.code))


def _identity_code(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    verification.send_code(tx, rt, actor=actor, ref=ref)
    return Done()


def _identity_verify(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    code = form.code.strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise FieldError("code", "code_shape")
    verification.verify_code(tx, rt, actor=actor, ref=ref, code=code)
    return Done()


def _identity_record(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    if form.method not in IDENTITY_METHODS:
        raise FieldError("method", "method")
    method = next(m for m in STAFF_IDENTITY_METHODS if m.value == form.method)
    verification.record_identity(tx, rt, actor=actor, ref=ref, method=method)
    return Done()


def _payment(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    text = form.amount_yen.strip().replace(",", "")
    if not (text.isascii() and text.isdigit() and len(text) <= 7 and int(text) <= 1_000_000):
        raise FieldError("amount_yen", "amount")
    workflow.record_payment(tx, rt, actor=actor, ref=ref, amount_yen=int(text))
    return Done()


def _assign(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    if not HANDLE.match(form.to):
        raise FieldError("to", "to")
    workflow.assign(tx, rt, actor=actor, ref=ref, to=form.to)
    return Done()


def _complete(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    if form.delivery not in fulfil.DELIVERIES:
        raise FieldError("delivery", "delivery")
    if form.format not in fulfil.FORMATS:
        raise FieldError("format", "format")
    if form.answered_via and form.answered_via not in ANSWERED_VIA:
        raise FieldError("answered_via", "answered_via")
    row = workflow.load_for(tx, rt, actor, ref, "complete")  # role and state first
    if row.kind is RequestKind.ERASURE and form.confirm != "1":
        raise FieldError("confirm", "confirm")
    done = fulfil.complete(
        tx,
        rt,
        actor=actor,
        ref=ref,
        delivery=form.delivery,
        format=form.format,
        answered_via=form.answered_via or None,
    )
    token = done.download_token
    return Done(download=None if token is None else f"/downloads/{token}")


def _reject(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    if form.reason not in REASONS:
        raise FieldError("reason", "reason")
    fulfil.reject(tx, rt, actor=actor, ref=ref, reason=Reason(form.reason))
    return Done()


def _withdraw(tx: Tx, rt: Runtime, actor: Actor, ref: str, form: StepForm) -> Done:
    workflow.withdraw(tx, rt, actor=actor, ref=ref)
    return Done()


Step = Callable[[Tx, Runtime, Actor, str, StepForm], Done]
# The step in the URL -> the desk's step it is checked against, and what it does.
HANDLERS: dict[str, tuple[str, Step]] = {
    "identity-code": ("start_identity_check", _identity_code),
    "identity-verify": ("verify_identity", _identity_verify),
    "identity-record": ("verify_identity", _identity_record),
    "payment": ("record_payment", _payment),
    "assign": ("assign", _assign),
    "complete": ("complete", _complete),
    "reject": ("reject", _reject),
    "withdraw": ("withdraw", _withdraw),
}


def run(tx: Tx, rt: Runtime, actor: Actor, ref: str, step: str, form: StepForm) -> Done:
    """Do ``step`` on request ``ref`` as ``actor``."""
    return HANDLERS[step][1](tx, rt, actor, ref, form)


def allowed(row: requests.RequestRow) -> list[str]:
    """The steps whose form the page shows for the request's state."""
    shown = []
    for step, (desk_step, _run) in HANDLERS.items():
        if row.state not in STEPS[desk_step]:
            continue
        if step.startswith("identity") and row.kind not in SUBJECT_KINDS:
            continue
        if step == "identity-verify" and row.state is not State.IDENTITY_CHECK:
            continue
        if step == "payment" and (row.fee_yen == 0 or row.fee_paid_at is not None):
            continue
        shown.append(step)
    return shown


def is_inquiry(row: requests.RequestRow) -> bool:
    return row.kind in INQUIRY_KINDS
