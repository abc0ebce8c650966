"""Inquiries and complaints by e-mail, form or phone, and the desk's hours.

The policy asks people who write to give their name, company, division, e-mail
address and phone number, and to describe their inquiry; each missing or
invalid field is named (never echoed). The inquirer is registered through the
policy's inquiry channel for ``inquiry_handling``, so their details are sealed,
guarded, disclosed and erasable like any other person's. A phone call records
when it came in; one outside business hours is said to be, with the next opening.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mamori.db.engine import Tx
from mamori.dsr import store as requests
from mamori.dsr.arrival import NewRequest, create
from mamori.dsr.states import Via
from mamori.dsr.workflow import calendar
from mamori.errors import ValidationFailed
from mamori.guard.rules import Actor
from mamori.policy.compiled import INQUIRY_PURPOSE, INTAKE_PREFIX, SYSTEM_INTAKE_ROLE
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from mamori.subjects.intake import Registration, register

# Form field → data category; the order is the order problems are reported in.
FIELDS: dict[str, str] = {
    "name": "user.name",
    "company": "user.contact.organization",
    "division": "user.contact.organization.division",
    "email": "user.contact.email",
    "phone": "user.contact.phone_number",
    "description": "user.content.private",
}
WRITTEN_REQUIRED = tuple(FIELDS)
PHONE_REQUIRED = ("name", "phone", "description")
CHANNEL = {Via.PHONE: "phone_inquiry"}
DEFAULT_CHANNEL = "email_inquiry"
MAX_LENGTH = {"description": 10_000}


@dataclass
class Hours:
    open: bool
    closed_because: str | None
    next_opening: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "closed_because": self.closed_because,
            "next_opening": self.next_opening.isoformat(),
        }


def hours(rt: Runtime, at: datetime, language: str = "en") -> Hours:
    """Is the desk open at ``at``, and if not, why and when does it open?"""
    cal = calendar(rt)
    closure = cal.closure_at(at)
    reason = None if closure is None else closure.describe("ja" if language == "ja" else "en")
    return Hours(closure is None, reason, cal.next_opening(at))


def check_fields(fields: Mapping[str, str | None], via: Via) -> dict[str, str]:
    """The inquiry's fields as categories; every missing field named at once."""
    required = PHONE_REQUIRED if via is Via.PHONE else WRITTEN_REQUIRED
    unknown = sorted(set(fields) - set(FIELDS))
    problems = [f"unknown field '{f}'" for f in unknown]
    values: dict[str, str] = {}
    for name, category in FIELDS.items():
        given = (fields.get(name) or "").strip()
        if not given:
            if name in required:
                problems.append(f"{name} is required")
            continue
        if len(given) > MAX_LENGTH.get(name, 500):
            problems.append(f"{name} is longer than {MAX_LENGTH.get(name, 500)} characters")
            continue
        values[category] = given
    if problems:
        raise ValidationFailed("; ".join(problems), problems=problems, code="inquiry_invalid")
    return values


@dataclass
class Received:
    request: requests.RequestRow
    hours: Hours


def intake_actor(member_ref: str) -> Actor:
    """The privacy center receiving an inquiry a signed-in member typed.

    The inquirer is a new record (their words and contact details, as any
    inquiry's), which the member's own actor may not make: the guard keeps a
    member to their own record. This actor may only register an inquirer and
    open the inquiry; its name ties the request to the member who filed it.
    """
    return Actor(f"{INTAKE_PREFIX}{member_ref}", (SYSTEM_INTAKE_ROLE,), kind="system")


def receive(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    kind: RequestKind,
    via: Via,
    fields: Mapping[str, str | None],
    received_at: datetime | None = None,
    language: str = "ja",
) -> Received:
    """Register the inquirer and open an inquiry (or complaint) request for them."""
    if kind not in (RequestKind.INQUIRY, RequestKind.COMPLAINT):
        raise ValidationFailed("only inquiries and complaints are received here", code="kind")
    values = check_fields(fields, via)
    at = received_at or rt.now()
    try:
        ref = register(
            tx,
            rt,
            actor=actor,
            channel=CHANNEL.get(via, DEFAULT_CHANNEL),
            purpose=INQUIRY_PURPOSE,
            registration=Registration(values),
        )
    except ValidationFailed as invalid:
        # The validators name the category; say which form field that is.
        names = {c: f for f, c in FIELDS.items()}
        problems = [
            _field_words(p, names) for p in invalid.fields.get("problems", [invalid.message])
        ]
        raise ValidationFailed(
            "; ".join(problems), problems=problems, code="inquiry_invalid"
        ) from None
    row = create(
        tx,
        rt,
        actor=actor,
        new=NewRequest(kind=kind, via=via, subject=ref, received_at=at, language=language),
    )
    return Received(row, hours(rt, at, language))


def _field_words(problem: str, names: Mapping[str, str]) -> str:
    for category, name in sorted(names.items(), key=lambda item: -len(item[0])):
        if category in problem:
            return problem.replace(category, name)
    return problem
