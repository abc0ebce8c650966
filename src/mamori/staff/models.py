"""Staff accounts: the actors the guard knows by name.

An account is a handle (a work login such as ``sales.tanaka`` or ``desk-3``)
and its roles. No other detail of the employee is kept here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.db.base import Base, Id, UtcText


class StaffAccount(Base):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    handle: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[str] = mapped_column(Text)  # JSON list of role keys
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcText)
