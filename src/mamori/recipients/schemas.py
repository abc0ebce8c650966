"""Shapes of the recipients' and provisions' HTTP input and output."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mamori.policy.schemas import ProvisionBasis
from mamori.recipients.export import ExportFormat
from mamori.recipients.provision import MAX_REFS
from mamori.subjects.schemas import CategoryKey, Ref

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
ProvisionRef = Annotated[str, StringConstraints(pattern=r"^p[a-z2-7]{16}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextRead(Strict):
    ja: str
    en: str


class RecipientRead(Strict):
    key: str
    name: TextRead
    kind: str
    address: TextRead
    representative: TextRead
    country: str
    foreign: dict[str, TextRead] | None = Field(
        None, description="APPI Art. 28: the country's system and the recipient's measures."
    )
    purposes: list[str]
    categories: list[str] | None
    record_by_contract: bool
    since: str | None
    until: str | None


class JointUseRead(Strict):
    key: str
    title: TextRead
    users: list[str]
    categories: list[str]
    purposes: list[str]
    responsible: str | None
    since: str


class RecipientsRead(Strict):
    recipients: list[RecipientRead]
    joint_uses: list[JointUseRead]


class PartyVersionRead(Strict):
    version: int
    recorded_at: str
    withdrawn_at: str | None
    declaration: dict[str, Any]


class RecipientDetail(RecipientRead):
    joint_uses: list[str] = Field(description="Joint uses this recipient takes part in.")
    history: list[PartyVersionRead]


class ProvisionCreate(Strict):
    recipient: Key
    purpose: CategoryKey
    basis: ProvisionBasis = ProvisionBasis.CONSENT
    categories: list[CategoryKey] | None = Field(
        None,
        max_length=50,
        description="Items to provide (default: all the recipient may receive for the purpose).",
    )
    exception: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="For basis exception: the case of APPI Art. 27(1), e.g. art27_1_ii."
    )
    reason: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="For basis exception: the written reason (never a personal value)."
    )
    subjects: list[Ref] | None = Field(None, max_length=MAX_REFS)
    all: bool = Field(False, description="Every subject not erased, instead of a list.")
    kind: Key | None = Field(None, description="With all: only subjects of this kind.")
    channel: Key | None = Field(None, description="With all: only subjects of this channel.")
    format: ExportFormat = ExportFormat.CSV

    @model_validator(mode="after")
    def _one_selection(self) -> ProvisionCreate:
        if self.all == (self.subjects is not None):
            raise ValueError("give either 'subjects' (a list of references) or 'all': true")
        if not self.all and (self.kind or self.channel):
            raise ValueError("'kind' and 'channel' narrow 'all': true only")
        return self


class RefusalRead(Strict):
    ref: str
    rule: str
    message: str


class ProvisionRecordRead(Strict):
    ref: str
    at: str
    actor: str
    recipient: str
    party_version: int
    purpose: str
    categories: list[str]
    basis: str
    exception_code: str | None
    reason: str | None
    subject_count: int
    refused_count: int
    export_format: str
    export_digest: str
    keep_until: str


class ProvisionSubjectRead(Strict):
    ref: str
    consent_at: str | None
    consent_notice: int | None


class ProvisionRecordDetail(ProvisionRecordRead):
    subjects: list[ProvisionSubjectRead]


class ExportRead(Strict):
    format: Literal["csv", "json"]
    media_type: str
    digest: str
    rows: int
    data: Any = Field(description="For json: the export itself; for csv: the CSV text.")


class ProvisionMade(Strict):
    record: ProvisionRecordRead
    refused: list[RefusalRead]
    export: ExportRead
