"""Shapes of the request desk's HTTP input and output."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from mamori.dsr.states import IdentityMethod, Reason, Via
from mamori.errors import ValidationFailed
from mamori.policy.schemas import RequestKind
from mamori.subjects.schemas import CategoryKey, Ref, Value

RequestRef = Annotated[str, StringConstraints(pattern=r"^r[a-z2-7]{16}$")]
Language = Literal["ja", "en"]
StaffIdentity = Literal["phone_callback", "document_seen"]
MOMENT = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestCreate(Strict):
    kind: RequestKind
    via: Via = Field(description="How the request reached the company.")
    subject: Ref | None = Field(None, description="The subject the request is about.")
    purposes: list[CategoryKey] = Field(
        default=[], max_length=50, description="For cessation and resumption: which purposes."
    )
    values: dict[CategoryKey, Value] = Field(
        default={}, max_length=50, description="For a correction: the corrected values."
    )
    language: Language = "ja"
    received_at: AwareDatetime | None = Field(
        None, strict=True, description="When a call, letter or visit came in (default: now)."
    )
    identity: StaffIdentity | None = Field(
        None, description="Identity already checked by the staff member entering the request."
    )


class InquiryFields(Strict):
    name: Annotated[str, StringConstraints(max_length=500)] | None = None
    company: Annotated[str, StringConstraints(max_length=500)] | None = None
    division: Annotated[str, StringConstraints(max_length=500)] | None = None
    email: Annotated[str, StringConstraints(max_length=500)] | None = None
    phone: Annotated[str, StringConstraints(max_length=500)] | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class InquiryCreate(Strict):
    kind: Literal["inquiry", "complaint"] = "inquiry"
    via: Literal["email", "form", "phone"]
    fields: InquiryFields
    language: Language = "ja"
    received_at: AwareDatetime | None = Field(
        None, strict=True, description="When the call came in."
    )


class Hours(Strict):
    open: bool
    closed_because: str | None
    next_opening: str


class Identity(Strict):
    method: str
    by: str | None


class ReasonText(Strict):
    code: Reason
    ja: str
    en: str


class RequestRead(Strict):
    ref: str
    kind: RequestKind
    state: str
    subject: str | None
    received_via: str
    received_at: str
    due_at: str | None
    overdue: bool
    paused_since: str | None
    assigned_to: str
    purposes: list[str]
    categories: list[str]
    fee_yen: int
    fee_paid: bool
    identity: Identity | None
    reason: ReasonText | None
    outcome: dict[str, Any]
    closed_at: str | None
    language: str


class HistoryEvent(Strict):
    at: str
    actor: str
    action: str
    from_: str | None = Field(alias="from")
    to: str
    detail: dict[str, Any]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SystemStatus(Strict):
    system: str
    event: str
    delivered_at: str | None
    attempts: int
    last_status: int | None
    dead: bool


class RequestDetail(RequestRead):
    history: list[HistoryEvent]
    systems: list[SystemStatus]


class InquiryReceived(Strict):
    request: RequestRead
    hours: Hours


class CodeSent(Strict):
    expires_at: datetime
    attempts_allowed: int


class CodeCheck(Strict):
    code: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class IdentityRecord(Strict):
    method: StaffIdentity


class Payment(Strict):
    amount_yen: Annotated[int, Field(ge=0, le=1_000_000)]


class Assignment(Strict):
    to: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9._-]{1,62}$")]


class Rejection(Strict):
    reason: Reason


class CompletionBody(Strict):
    delivery: Literal["link", "mail"] = "link"
    format: Literal["html", "json"] = "html"
    answered_via: Literal["email", "phone", "letter"] | None = None


class Completed(Strict):
    request: RequestRead
    download: str | None = Field(
        None, description="For a link delivery: the download path, shown once; it works once."
    )


class Fees(Strict):
    fees: dict[str, int]
    due_business_days: int


class Metrics(Strict):
    open: int
    overdue: int
    by_state: dict[str, int]
    median_days_to_close: dict[str, float]
    window_days: int = 365


def staff_identity(value: StaffIdentity | None) -> IdentityMethod | None:
    return None if value is None else IdentityMethod(value)


def moment_of(text: str) -> datetime:
    """A moment matched by ``MOMENT``; a date that does not exist is a 422."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "the moment is not a real date and time", code="time_invalid"
        ) from None
