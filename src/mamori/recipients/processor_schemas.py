"""Shapes of the HTTP input and output of receipts, processors, hand-overs and supervision."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mamori.recipients.processors import MAX_SUBJECTS
from mamori.recipients.receipt_files import MAX_RECORDS
from mamori.recipients.receipts import MAX_OBTAINED
from mamori.recipients.supervision import MAX_FINDINGS, SupervisionKind, SupervisionOutcome

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=100)]
Value = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Values = Annotated[dict[Key, Value], Field(min_length=1, max_length=50)]
SubjectRef = Annotated[str, StringConstraints(pattern=r"^s[a-z2-7]{16}$")]
ReceiptRef = Annotated[str, StringConstraints(pattern=r"^c[a-z2-7]{16}$")]
Text = dict[str, str]  # {"ja": ..., "en": ...}
MAX_CSV = 16 * 1024 * 1024


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- receipts ----------------------------------------------------------------------


class ReceivedRecord(Strict):
    values: Values = Field(description="Category key → value as the provider gave it.")


class ReceiptCreate(Strict):
    provider: Key = Field(description="The recipient key of the party that provided the data.")
    channel: Key = Field(description="The receiving channel (method import) from the policy.")
    obtained_how: Annotated[str, StringConstraints(min_length=1, max_length=MAX_OBTAINED)] = Field(
        description="How the provider obtained the data (APPI Art. 30(1)(ii))."
    )
    records: list[ReceivedRecord] | None = Field(
        default=None, min_length=1, max_length=MAX_RECORDS, description="The people received."
    )
    csv: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CSV)] | None = Field(
        default=None, description="Or a CSV text whose header names data categories."
    )
    received_on: date | None = Field(default=None, description="The day of receipt (today).")

    @model_validator(mode="after")
    def _one_source(self) -> ReceiptCreate:
        if (self.records is None) == (self.csv is None):
            raise ValueError("give either records or csv")
        return self


class ProviderRead(Strict):
    key: str
    version: int
    name: Text | None
    kind: str | None
    address: Text | None
    representative: Text | None
    country: str | None


class ReceiptRead(Strict):
    ref: str
    at: str
    actor: str
    provider: ProviderRead
    obtained_how: str
    channel: str
    categories: list[str]
    subject_count: int
    rejected_count: int
    keep_until: str
    subjects: list[str] | None = None


class ReceiptCreated(Strict):
    purpose: str = Field(description="The purpose the people were registered under.")
    record: ReceiptRead


# -- processors ----------------------------------------------------------------------


class Span(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from")
    until: str | None
    in_force: bool


class SupervisionDue(Strict):
    every: str
    last: str | None
    next_due: str
    overdue: bool
    last_outcome: str | None


class ProcessorRead(Strict):
    key: str
    name: Text
    service: Text
    address: Text
    country: str
    foreign: dict[str, Any] | None
    purposes: list[str]
    categories: list[str]
    contract: Span
    nda: Span
    usable: bool
    subprocessors: list[dict[str, Any]]
    supervision: SupervisionDue
    version: int


class HandoverCreate(Strict):
    purpose: Key = Field(description="The purpose entrusted to the processor.")
    categories: list[Key] | None = Field(
        default=None, min_length=1, max_length=50, description="Items (default: all entrusted)."
    )
    subjects: list[SubjectRef] | None = Field(
        default=None, min_length=1, max_length=MAX_SUBJECTS, description="The subjects."
    )
    all: bool = Field(default=False, description="Every subject (of a kind or channel).")
    kind: Key | None = None
    channel: Key | None = None
    format: Literal["csv", "json"] = "json"

    @model_validator(mode="after")
    def _one_selection(self) -> HandoverCreate:
        if (self.subjects is None) == (not self.all):
            raise ValueError("give either subjects or all: true")
        if self.subjects is not None and (self.kind or self.channel):
            raise ValueError("kind and channel select among all subjects, not among those named")
        return self


class HandoverRead(Strict):
    ref: str
    at: str
    actor: str
    processor: dict[str, Any]
    purpose: str
    categories: list[str]
    subject_count: int
    refused_count: int
    format: str
    digest: str


class RefusalRead(Strict):
    ref: str
    rule: str
    message: str


class ExportRead(Strict):
    format: str
    media_type: str
    digest: str
    rows: int
    content: Any = Field(description="For json the data; for csv the CSV text.")


class HandoverCreated(Strict):
    record: HandoverRead
    refused: list[RefusalRead]
    export: ExportRead


class SupervisionCreate(Strict):
    done_on: date
    kind: SupervisionKind
    outcome: SupervisionOutcome
    findings: Annotated[str, StringConstraints(max_length=MAX_FINDINGS)] = ""


class SupervisionRead(Strict):
    processor: str | None = None
    done_on: str
    kind: str
    outcome: str
    findings: str
    recorded_at: str
    recorded_by: str
    next_due: str | None = None
