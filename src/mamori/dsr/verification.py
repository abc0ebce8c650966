"""Proving a requester is the person a request is about.

By a one-time code mailed to the address Mamori holds for the subject, or by a
staff member who called back or saw a document (who and how are kept). Until
then the request waits in ``identity_check`` and its clock is paused.
"""

from __future__ import annotations

from mamori.audit.service import Entry
from mamori.db.engine import Tx
from mamori.dsr import identity
from mamori.dsr import store as requests
from mamori.dsr.states import STAFF_IDENTITY_METHODS, IdentityMethod, State, purpose_of
from mamori.dsr.workflow import load_for, move, record
from mamori.errors import Denied, Gone, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.guard.service import refuse
from mamori.runtime import Runtime
from mamori.subjects.service import read

EMAIL = "user.contact.email"


def send_code(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> identity.CodeSent:
    """Mail a one-time code to the address held for the subject; the clock pauses."""
    row = load_for(tx, rt, actor, ref, "start_identity_check")
    address = email_on_file(tx, rt, actor, row)
    before = row.state
    move(row, rt, State.IDENTITY_CHECK)
    requests.save(tx, row, rt.now())
    record(tx, rt, row, actor=actor, step="identity_code_sent", before=before)
    return identity.issue(
        tx, rt, request_id=row.id, request_ref=row.ref, to=address, language=row.language
    )


def email_on_file(tx: Tx, rt: Runtime, actor: Actor, row: requests.RequestRow) -> str:
    if row.subject_ref is None:
        raise ValidationFailed(
            f"request {row.ref} names no subject to send a code to", code="subject_missing"
        )
    address = read_address(tx, rt, actor, row.subject_ref, row)
    if address is None:
        raise ValidationFailed(
            f"no e-mail address is held for subject {row.subject_ref}: verify identity by "
            "phone callback or a document instead",
            code="identity_no_email",
        )
    return address


def read_address(
    tx: Tx, rt: Runtime, actor: Actor, subject: str, row: requests.RequestRow
) -> str | None:
    """The subject's e-mail address, read through the guard under the request's purpose."""
    view = read(tx, rt, actor=actor, ref=subject, purpose=purpose_of(row.kind), categories=[EMAIL])
    return view.values.get(EMAIL)


def verify_code(tx: Tx, rt: Runtime, *, actor: Actor, ref: str, code: str) -> requests.RequestRow:
    """The requester's code: right, the request goes to work; wrong, the try is counted and audited."""
    row = load_for(tx, rt, actor, ref, "verify_identity")
    try:
        identity.check(tx, rt, request_id=row.id, code=code)
    except (Denied, Gone, NotFound) as wrong:
        rule = getattr(wrong, "rule", wrong.code)
        refs = [row.subject_ref] if row.subject_ref else []
        entry = Entry(
            actor.name,
            purpose_of(row.kind),
            "identity_code_checked",
            refs,
            [],
            "denied",
            rule,
            {"request": row.ref},
        )
        raise refuse(rt, wrong, entry) from None
    verified(tx, rt, row, actor, IdentityMethod.EMAIL_CODE)
    return row


def record_identity(
    tx: Tx, rt: Runtime, *, actor: Actor, ref: str, method: IdentityMethod
) -> requests.RequestRow:
    """A staff member confirms identity (phone callback, document seen): who and how are kept."""
    if method not in STAFF_IDENTITY_METHODS:
        allowed = ", ".join(sorted(m.value for m in STAFF_IDENTITY_METHODS))
        raise ValidationFailed(f"staff may record identity by {allowed}", code="identity_method")
    if actor.kind == "system":
        raise Denied(
            "only a staff member (or their tool's token) may record an identity check",
            rule="staff_only",
        )
    row = load_for(tx, rt, actor, ref, "verify_identity")
    verified(tx, rt, row, actor, method)
    return row


def verified(
    tx: Tx, rt: Runtime, row: requests.RequestRow, actor: Actor, method: IdentityMethod
) -> None:
    before = row.state
    now = rt.now()
    row.set(identity_method=method.value, identity_by=actor.name, identity_at=now)
    move(row, rt, State.IN_PROGRESS)
    requests.save(tx, row, now)
    record(
        tx,
        rt,
        row,
        actor=actor,
        step="identity_verified",
        before=before,
        detail={"method": method.value},
    )
