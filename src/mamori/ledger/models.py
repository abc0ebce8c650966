"""The annual review of the personal-information management ledger (JIS Q 15001)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class LedgerReview(Base):
    __tablename__ = "ledger_reviews"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    reviewed_on: Mapped[str] = mapped_column(String(10))  # ISO date
    reviewer: Mapped[str] = mapped_column(String(100))
    findings: Mapped[str] = mapped_column(Text)
    # sha256 of the ledger's CSV as reviewed, so the review names what it saw.
    ledger_digest: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcText)
    recorded_by: Mapped[str] = mapped_column(String(100))
