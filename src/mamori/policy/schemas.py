"""The shape of a policy file, as validated pydantic models.

The policy file is the single source of truth for purposes, data categories,
channels, subject kinds and staff roles. These models only describe shapes and
the checks that need one field at a time; cross-references (a role naming an
unknown purpose, a purpose using an undeclared category) are checked by
``mamori.policy.loader`` so that every problem is reported with its line.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
Key = Annotated[str, Field(pattern=KEY_PATTERN, min_length=1, max_length=100)]

MAX_RETENTION_DAYS = 200 * 365
_DURATION = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<d>\d+)D)?$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in Japanese and English; both are required."""

    ja: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class LegalBasis(StrEnum):
    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    LEGITIMATE_INTEREST = "legitimate_interest"


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    EXPORT = "export"
    PROVIDE = "provide"


class RequestKind(StrEnum):
    """What a person may ask of the company about their data (APPI Art. 32-35, 40)."""

    DISCLOSURE = "disclosure"
    NOTIFICATION = "notification"
    CORRECTION = "correction"
    CESSATION_OF_USE = "cessation_of_use"
    RESUMPTION_OF_USE = "resumption_of_use"
    ERASURE = "erasure"
    CESSATION_OF_PROVISION = "cessation_of_provision"
    RESUMPTION_OF_PROVISION = "resumption_of_provision"
    INQUIRY = "inquiry"
    COMPLAINT = "complaint"


# APPI Art. 38: a fee may be charged only for notification of purposes and disclosure.
FEE_KINDS = frozenset({RequestKind.DISCLOSURE, RequestKind.NOTIFICATION})


class Validator(StrEnum):
    """How values of a category are checked and normalized."""

    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    POSTAL_CODE = "postal_code"
    PREFECTURE = "prefecture"
    KANA = "kana"
    DATE = "date"
    URL = "url"
    NUMBER = "number"
    COORDINATES = "coordinates"


def parse_duration(value: str) -> timedelta:
    """Turn an ISO-8601 period of years, months and days into a timedelta.

    Years count 365 days and months 30, which errs towards keeping data a day or
    two longer than a calendar would, never shorter.
    """
    match = _DURATION.match(value)
    if not match or not any(match.groupdict().values()):
        raise ValueError(f"'{value}' is not a period like P3Y, P6M or P90D")
    parts = {k: int(v) for k, v in match.groupdict().items() if v}
    days = parts.get("y", 0) * 365 + parts.get("m", 0) * 30 + parts.get("d", 0)
    if days > MAX_RETENTION_DAYS:
        raise ValueError(f"'{value}' is longer than the 200 years a retention period may be")
    return timedelta(days=days)


class Officer(Strict):
    name: Text
    department: Text


class Contact(Strict):
    department: Text
    phone: str
    email: str | None = None


class BusinessHours(Strict):
    open: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")] = "09:00"
    close: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")] = "18:00"
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = [0, 1, 2, 3, 4]
    year_end_closure: bool = True


class Requests(Strict):
    """How data-subject requests are worked: targets, fees, identity checks."""

    # Internal target in business days from receipt; the law asks "without delay".
    due_business_days: Annotated[int, Field(ge=1, le=60)] = 10
    # Yen, at actual cost; only disclosure and notification may carry one (Art. 38).
    fees: dict[RequestKind, Annotated[int, Field(ge=0, le=100_000)]] = {}
    # The staff handle new requests are assigned to; the privacy officer's role if unset.
    responsible: Key | None = None
    identity_code_minutes: Annotated[int, Field(ge=1, le=60)] = 10
    identity_code_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    download_valid_days: Annotated[int, Field(ge=1, le=90)] = 14

    @field_validator("fees")
    @classmethod
    def _fees_only_where_the_law_allows(
        cls, value: dict[RequestKind, int]
    ) -> dict[RequestKind, int]:
        charged = sorted(k.value for k, fee in value.items() if fee and k not in FEE_KINDS)
        if charged:
            raise ValueError(
                f"a fee may be charged only for disclosure and notification, not for {', '.join(charged)}"
            )
        return value


class Company(Strict):
    name: Text
    address: Text
    representative: Text
    privacy_officer: Officer
    contact: Contact
    timezone: str = "Asia/Tokyo"
    business_hours: BusinessHours = BusinessHours()
    holidays: list[date] = []
    # An accredited personal information protection organization, where the
    # company belongs to one: another place to complain (Art. 32(1)(iv)).
    accredited_body: Text | None = None


class DataCategory(Strict):
    """A kind of personal data: a fideslang key, or one of Mamori's extensions."""

    key: Key
    title: Text
    validator: Validator = Validator.TEXT
    lookup: bool = False
    special_care: bool = False
    extends: Key | None = None


class Purpose(Strict):
    key: Key
    title: Text
    description: Text
    legal_basis: LegalBasis
    data_use: Key
    categories: list[Key]
    retention: str
    profiling: bool = False
    third_party_provision: bool = False
    foreign_transfer: bool = False
    # The law that obliges keeping this purpose's data for its retention period
    # (e.g. invoices under the Corporation Tax Act): an erasure keeps it until then.
    retention_duty: Text | None = None

    @field_validator("retention")
    @classmethod
    def _retention_is_a_period(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def retention_period(self) -> timedelta:
        return parse_duration(self.retention)


class Channel(Strict):
    key: Key
    title: Text
    subject_kind: Key
    purposes: list[Key]
    method: Annotated[str, Field(min_length=1)] = "form"


class SubjectKind(Strict):
    key: Key
    title: Text


class Permission(Strict):
    purposes: list[Key]
    actions: list[Action]


class Role(Strict):
    key: Key
    title: Text
    permissions: list[Permission] = []
    privileged: bool = False
    auditor: bool = False
    admin: bool = False


class RecipientKind(StrEnum):
    """Who a third party is to the company. All of them are third parties under APPI."""

    SUBSIDIARY = "subsidiary"
    ASSOCIATE = "associate"
    SALES_PARTNER = "sales_partner"
    COHOST = "cohost"
    EXHIBITOR = "exhibitor"
    OTHER = "other"


Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]  # ISO 3166-1 alpha-2
HOME_COUNTRY = "JP"


class ForeignSystem(Strict):
    """What a person must be told before data goes abroad (APPI Art. 28(2), Rule 17)."""

    # The country's system for protecting personal information, as researched.
    system: Text
    # The measures the recipient takes, measured against the APPI's principles.
    measures: Text


class Recipient(Strict):
    """A third party that may receive personal data, or that provides it to us."""

    key: Key
    name: Text
    kind: RecipientKind
    address: Text
    representative: Text
    country: Country = HOME_COUNTRY
    foreign: ForeignSystem | None = None
    # The purposes for which it may receive data; empty for a party that only provides.
    purposes: list[Key] = []
    # The categories it may receive; every category of those purposes when unset.
    categories: list[Key] | None = None
    # Provision rests on a contract that is itself the record (Rule 19(3)): kept 1 year.
    record_by_contract: bool = False
    since: date | None = None
    until: date | None = None


class JointUse(Strict):
    """An announced joint use (APPI Art. 27(5)(iii)): the five items, all required."""

    key: Key
    title: Text
    # The joint users besides the company: recipient keys.
    users: Annotated[list[Key], Field(min_length=1)]
    categories: Annotated[list[Key], Field(min_length=1)]
    purposes: Annotated[list[Key], Field(min_length=1)]
    # The party responsible for the data: a recipient key, or the company when unset.
    responsible: Key | None = None
    since: date


class SubProcessor(Strict):
    name: Text
    service: Text
    country: Country = HOME_COUNTRY


class Processor(Strict):
    """An entrusted company (APPI Art. 25, 27(5)(i)): hand-over only under contract and NDA."""

    key: Key
    name: Text
    service: Text
    address: Text
    country: Country = HOME_COUNTRY
    foreign: ForeignSystem | None = None
    purposes: Annotated[list[Key], Field(min_length=1)]
    categories: Annotated[list[Key], Field(min_length=1)]
    contract_from: date
    contract_until: date | None = None
    nda_signed: date
    nda_until: date | None = None
    subprocessors: list[SubProcessor] = []
    # How often the company checks the processor's handling (an ISO period).
    supervision_every: str = "P1Y"

    @field_validator("supervision_every")
    @classmethod
    def _every_is_a_period(cls, value: str) -> str:
        parse_duration(value)
        return value


class MeasureKind(StrEnum):
    """The headings of the security measures a notice publishes (PPC guidelines 10)."""

    POLICY = "policy"
    ORGANIZATIONAL = "organizational"
    HUMAN = "human"
    PHYSICAL = "physical"
    TECHNICAL = "technical"
    EXTERNAL_ENVIRONMENT = "external_environment"


class SecurityMeasure(Strict):
    kind: MeasureKind
    description: Text


class ExceptionCode(StrEnum):
    """The cases of APPI Art. 27(1) in which data may be provided without consent."""

    LAWS = "art27_1_i"  # based on laws and regulations
    LIFE_OR_PROPERTY = "art27_1_ii"  # protecting life, body or property; consent hard to get
    PUBLIC_HEALTH = "art27_1_iii"  # public health or children's sound upbringing
    STATE_AFFAIRS = "art27_1_iv"  # cooperating with state or local bodies' duties
    ACADEMIC_TEACHING = "art27_1_v"  # an academic body teaching or publishing results
    ACADEMIC_RESEARCH = "art27_1_vi"  # an academic body's joint research
    ACADEMIC_RECIPIENT = "art27_1_vii"  # the recipient is an academic body doing research


class ProvisionBasis(StrEnum):
    """What a provision to a third party rests on."""

    CONSENT = "consent"
    JOINT_USE = "joint_use"
    EXCEPTION = "exception"


class Policy(Strict):
    """A whole policy file."""

    version: Annotated[int, Field(ge=1)] = 1
    company: Company
    subject_kinds: list[SubjectKind]
    data_categories: list[DataCategory]
    purposes: list[Purpose]
    channels: list[Channel]
    roles: list[Role]
    requests: Requests = Requests()
    recipients: list[Recipient] = []
    joint_uses: list[JointUse] = []
    processors: list[Processor] = []
    security_measures: list[SecurityMeasure] = []
