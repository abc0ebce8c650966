"""Notice versions: the purposes as announced, frozen at publication."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class NoticeVersion(Base):
    __tablename__ = "notice_versions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(unique=True)
    effective_at: Mapped[datetime] = mapped_column(UtcText)
    published_at: Mapped[datetime] = mapped_column(UtcText)
    published_by: Mapped[str] = mapped_column(String(100))
    policy_digest: Mapped[str] = mapped_column(String(64))
    # JSON of the purposes, channels and company as announced.
    snapshot: Mapped[str] = mapped_column(Text)
