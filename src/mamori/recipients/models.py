"""Tables of data that leaves or enters the company from outside parties.

The policy file declares recipients, joint uses and processors; each
declaration is also kept here, versioned, so a record can name the party as
it was declared on the day. Provision and receipt records (APPI Art. 29, 30)
name subjects by their row and reference, never by a personal value, and
outlive an erasure: the law asks for the record, not for the data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class PartyVersion(Base):
    """One declaration of a recipient, joint use or processor, as the policy had it."""

    __tablename__ = "party_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # recipient | joint_use | processor
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    digest: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(Text)  # JSON of the declaration
    recorded_at: Mapped[datetime] = mapped_column(UtcText)
    # Set when a later policy no longer declares the party.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (UniqueConstraint("kind", "key", "version"),)


class Provision(Base):
    """One provision to a third party: the record APPI Art. 29 and Rule 20 ask for."""

    __tablename__ = "provisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(UtcText)
    actor: Mapped[str] = mapped_column(String(100))
    recipient: Mapped[str] = mapped_column(String(100))
    party_version: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(100))
    categories: Mapped[str] = mapped_column(Text)  # JSON list of category keys
    basis: Mapped[str] = mapped_column(String(20))  # consent | joint_use | exception
    exception_code: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)  # written by staff, never a value
    subject_count: Mapped[int]
    refused_count: Mapped[int]
    export_format: Mapped[str] = mapped_column(String(10))
    # sha256 of the file handed over: proves later what left, without keeping it.
    export_digest: Mapped[str] = mapped_column(String(64))
    keep_until: Mapped[datetime] = mapped_column(UtcText)

    __table_args__ = (
        Index("ix_provisions_recipient", "recipient", "at"),
        Index("ix_provisions_keep", "keep_until"),
    )


class ProvisionSubject(Base):
    """A subject included in a provision, with the consent it rested on."""

    __tablename__ = "provision_subjects"

    provision_id: Mapped[int] = mapped_column(
        ForeignKey("provisions.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)
    consent_at: Mapped[datetime | None] = mapped_column(UtcText)
    consent_notice: Mapped[int | None]

    __table_args__ = (Index("ix_provision_subjects_subject", "subject_id"),)


class Receipt(Base):
    """One receipt of data from a third party: the record APPI Art. 30 asks for."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(UtcText)
    actor: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(100))
    party_version: Mapped[int]
    obtained_how: Mapped[str] = mapped_column(Text)  # how the provider obtained the data
    channel: Mapped[str] = mapped_column(String(100))
    categories: Mapped[str] = mapped_column(Text)  # JSON list
    subject_count: Mapped[int]
    rejected_count: Mapped[int]
    keep_until: Mapped[datetime] = mapped_column(UtcText)

    __table_args__ = (
        Index("ix_receipts_provider", "provider", "at"),
        Index("ix_receipts_keep", "keep_until"),
    )


class ReceiptSubject(Base):
    __tablename__ = "receipt_subjects"

    receipt_id: Mapped[int] = mapped_column(
        ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), primary_key=True)

    __table_args__ = (Index("ix_receipt_subjects_subject", "subject_id"),)


class Handover(Base):
    """One hand-over to an entrusted processor (APPI Art. 25: supervision needs a trail)."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    at: Mapped[datetime] = mapped_column(UtcText)
    actor: Mapped[str] = mapped_column(String(100))
    processor: Mapped[str] = mapped_column(String(100))
    party_version: Mapped[int]
    purpose: Mapped[str] = mapped_column(String(100))
    categories: Mapped[str] = mapped_column(Text)
    subject_count: Mapped[int]
    refused_count: Mapped[int]
    export_format: Mapped[str] = mapped_column(String(10))
    export_digest: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_handovers_processor", "processor", "at"),)


class Supervision(Base):
    """A check of how a processor handles the data entrusted to it."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    processor: Mapped[str] = mapped_column(String(100))
    done_on: Mapped[str] = mapped_column(String(10))  # ISO date, in the company's zone
    kind: Mapped[str] = mapped_column(String(40))  # audit | questionnaire | on_site | report
    outcome: Mapped[str] = mapped_column(String(20))  # satisfactory | findings | corrective_action
    findings: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcText)
    recorded_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_supervisions_processor", "processor", "done_on"),)
