"""Tables of the registry: subjects, their sealed values, history and look-ups.

A subject's current values live in one row, sealed per category under the
subject's own data key (wrapped by the key-encryption key, in the same row).
One row means a guarded read is one select. The row also carries the
projections the guard needs (current consents, suspended purposes), which are
rebuilt from their append-only event tables in the same transaction as every
event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(100), index=True)
    channel: Mapped[str] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcText)
    updated_at: Mapped[datetime] = mapped_column(UtcText)
    kek_version: Mapped[int | None]
    key_version: Mapped[int | None]
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # msgpack {category: [channel, collected_at, notice_version, sealed value]}:
    # where each value came from, and the value itself sealed; one parse per read.
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # {purpose: [granted 0/1, consent event id]} projected from consent_events.
    consents: Mapped[str] = mapped_column(Text, default="{}")
    # purposes whose use is suspended for this subject; "*" suspends all.
    suspended: Mapped[str] = mapped_column(Text, default="[]")
    erased_at: Mapped[datetime | None] = mapped_column(UtcText)
    # An erasure that had to keep categories under a legal retention duty sets
    # when the last of them ends; the subject is shredded whole from then on.
    retained_until: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (
        # The retention sweep looks only at partly erased subjects still awaiting shredding.
        Index(
            "ix_subjects_retained",
            "retained_until",
            sqlite_where=text("retained_until IS NOT NULL AND erased_at IS NULL"),
            postgresql_where=text("retained_until IS NOT NULL AND erased_at IS NULL"),
        ),
        # The management ledger counts people per channel less the erased ones.
        Index(
            "ix_subjects_erased_channel",
            "channel",
            sqlite_where=text("erased_at IS NOT NULL"),
            postgresql_where=text("erased_at IS NOT NULL"),
        ),
    )


class ValueHistory(Base):
    """A value replaced by a correction, sealed like the current ones."""

    __tablename__ = "subject_value_history"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(100))
    key_version: Mapped[int]
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    channel: Mapped[str] = mapped_column(String(100))
    collected_at: Mapped[datetime] = mapped_column(UtcText)
    notice_version: Mapped[int | None]
    replaced_at: Mapped[datetime] = mapped_column(UtcText)
    replaced_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (Index("ix_history_subject", "subject_id", "category"),)


class BlindIndex(Base):
    """Keyed-HMAC digests of normalized look-up values (e-mail, phone)."""

    __tablename__ = "blind_indexes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(100))
    key_version: Mapped[int]
    digest: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_blind_lookup", "digest"),
        Index("ix_blind_subject", "subject_id"),
    )
