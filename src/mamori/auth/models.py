"""The tables of authentication: credentials, service tokens, sessions, spent CSRF tokens.

None of them holds a working secret: a password is an argon2id hash, a TOTP
seed is sealed (``auth/sealing.py``), a token and a session cookie are kept
as their SHA-256 digest, a CSRF token only by its id once it has been used.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, UtcText


def _handle_fk() -> ForeignKey:
    return ForeignKey("staff_accounts.handle", ondelete="CASCADE")


class StaffCredential(Base):
    """A staff account's password, second factor and failed-attempt state."""

    __tablename__ = "staff_credentials"

    handle: Mapped[str] = mapped_column(String(100), _handle_fk(), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcText)
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)  # confirmed seed
    totp_pending: Mapped[bytes | None] = mapped_column(LargeBinary)  # enrolled, not confirmed
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # last accepted time-step
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UtcText)


class ServiceToken(Base):
    """A service token for another system, bound to one role of the policy."""

    __tablename__ = "service_tokens"

    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the whole secret
    label: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcText)
    expires_at: Mapped[datetime] = mapped_column(UtcText)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcText)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    last_used_at: Mapped[datetime | None] = mapped_column(UtcText)


class StaffSession(Base):
    """A browser session of a staff account; the cookie itself is never stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie
    handle: Mapped[str] = mapped_column(String(100), _handle_fk())
    created_at: Mapped[datetime] = mapped_column(UtcText)
    last_seen_at: Mapped[datetime] = mapped_column(UtcText)
    expires_at: Mapped[datetime] = mapped_column(UtcText)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (
        Index("ix_staff_sessions_handle", "handle"),
        Index("ix_staff_sessions_expires_at", "expires_at"),
    )


class CsrfUse(Base):
    """A CSRF token already spent, kept until it could no longer be valid anyway."""

    __tablename__ = "csrf_used"

    session_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("staff_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcText)

    __table_args__ = (Index("ix_csrf_used_expires_at", "expires_at"),)
