"""Tables of the privacy center's sign-in: codes sent to members, their sessions, spent CSRF tokens.

No column holds a personal value: a code and a session cookie are kept as
keyed digests, and a member is named by their subject's row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class MemberCode(Base):
    """A one-time sign-in code mailed to the address a member's record holds."""

    __tablename__ = "member_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))  # HMAC of the code
    created_at: Mapped[datetime] = mapped_column(UtcText)
    expires_at: Mapped[datetime] = mapped_column(UtcText)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (Index("ix_member_codes_subject", "subject_id", "created_at"),)


class MemberSession(Base):
    """A signed-in member's browser session; the cookie is kept as its SHA-256."""

    __tablename__ = "member_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcText)
    last_seen_at: Mapped[datetime] = mapped_column(UtcText)
    expires_at: Mapped[datetime] = mapped_column(UtcText)
    ended_at: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (Index("ix_member_sessions_expires", "expires_at"),)


class MemberCsrfUse(Base):
    """A member's CSRF token already spent, kept until it could no longer be valid."""

    __tablename__ = "member_csrf_used"

    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("member_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcText)

    __table_args__ = (Index("ix_member_csrf_used_expires", "expires_at"),)
