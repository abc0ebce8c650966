"""Consent events: append-only, the source of truth for consent state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class ConsentEvent(Base):
    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))  # granted | withdrawn
    explicit: Mapped[bool]
    channel: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UtcText)
    notice_version: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(100))
    # How the choice was made (form id, checkbox text version, ...); never personal values.
    evidence: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_consent_subject_purpose", "subject_id", "purpose", "id"),)
