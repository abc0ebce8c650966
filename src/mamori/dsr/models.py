"""Tables of data-subject requests: the requests, their history, identity codes,
download links, downstream systems and the webhook outbox.

No column holds a personal value in the clear. A request names its subject by
reference; what a requester asks to have corrected is sealed under the
subject's own data key (so an erasure shreds it too); codes and link tokens are
kept as keyed digests; webhook payloads carry references and category keys only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class DsrRequest(Base):
    __tablename__ = "dsr_requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    # Random and unguessable: the handle a requester and the portal use.
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subjects.id"))
    # How the request reached the company: api, portal, phone, email, form, letter, visit.
    received_via: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcText)
    due_at: Mapped[datetime | None] = mapped_column(UtcText)
    # While identity or a fee is awaited the clock stops; paused_since marks the start.
    paused_since: Mapped[datetime | None] = mapped_column(UtcText)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    assigned_to: Mapped[str] = mapped_column(String(100))
    # JSON lists: purposes a cessation concerns, categories a correction concerns.
    purposes: Mapped[str] = mapped_column(Text, default="[]")
    categories: Mapped[str] = mapped_column(Text, default="[]")
    # msgpack {category: sealed value}: the values a correction asks for, sealed
    # under the subject's data key until they are applied.
    pending: Mapped[bytes | None] = mapped_column(LargeBinary)
    language: Mapped[str] = mapped_column(String(5), default="ja")
    fee_yen: Mapped[int] = mapped_column(default=0)
    fee_paid_at: Mapped[datetime | None] = mapped_column(UtcText)
    identity_method: Mapped[str | None] = mapped_column(String(40))
    identity_by: Mapped[str | None] = mapped_column(String(100))
    identity_at: Mapped[datetime | None] = mapped_column(UtcText)
    reason: Mapped[str | None] = mapped_column(String(40))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("dsr_requests.id"))
    # JSON: what fulfilment did (no values): erased categories, download id, ...
    outcome: Mapped[str] = mapped_column(Text, default="{}")
    created_by: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime | None] = mapped_column(UtcText)
    updated_at: Mapped[datetime] = mapped_column(UtcText)

    __table_args__ = (
        Index("ix_dsr_open", "state", "due_at"),
        Index("ix_dsr_subject", "subject_id", "kind"),
    )


class DsrEvent(Base):
    """One step of a request's history; every step is also an audit entry."""

    __tablename__ = "dsr_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("dsr_requests.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcText)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_dsr_events_request", "request_id", "id"),)


class IdentityCode(Base):
    """A one-time code sent by e-mail; only its keyed digest is kept."""

    __tablename__ = "dsr_identity_codes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("dsr_requests.id", ondelete="CASCADE"))
    digest: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcText)
    expires_at: Mapped[datetime] = mapped_column(UtcText)
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcText)
    # Set when a newer code replaced this one, or attempts ran out.
    spent_at: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (Index("ix_dsr_codes_request", "request_id"),)


class DownloadLink(Base):
    """A link to a disclosure report: expires, and works once."""

    __tablename__ = "dsr_downloads"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("dsr_requests.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UtcText)
    expires_at: Mapped[datetime] = mapped_column(UtcText)
    used_at: Mapped[datetime | None] = mapped_column(UtcText)


class DownstreamSystem(Base):
    """A system that holds copies of personal data and must hear of changes."""

    __tablename__ = "downstream_systems"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    # The signing secret, sealed under a key derived from the audit key.
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    events: Mapped[str] = mapped_column(Text, default="[]")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcText)
    created_by: Mapped[str] = mapped_column(String(100))


class OutboxMessage(Base):
    """A webhook waiting to be delivered, or delivered, or given up on."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("downstream_systems.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("dsr_requests.id"))
    event: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcText)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcText)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcText)
    dead_at: Mapped[datetime | None] = mapped_column(UtcText)

    __table_args__ = (
        Index("ix_outbox_due", "delivered_at", "dead_at", "next_attempt_at"),
        Index("ix_outbox_request", "request_id"),
    )
