"""The audit log: one hash-chained row per guarded access, denial or change."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[str] = mapped_column(String(27))
    actor: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    subjects: Mapped[str] = mapped_column(Text)  # JSON list of subject refs
    categories: Mapped[str] = mapped_column(Text)  # JSON list of category keys
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | denied | done
    rule: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)  # JSON object, never personal values
    prev: Mapped[bytes] = mapped_column(LargeBinary)
    hash: Mapped[bytes] = mapped_column(LargeBinary)

    # No secondary index: each would add a page write to every audited access.
    # Entries are read newest-first by sequence number, or streamed in order.
