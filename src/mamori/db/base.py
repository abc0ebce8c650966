"""The declarative base and the column types every domain's tables share.

Times are stored as ISO-8601 UTC text (``2026-11-28T04:05:06.123456Z``) on
both SQLite and PostgreSQL: one representation that sorts, reads the same in
raw SQL on the hot paths, and never silently changes zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only aliases the rowid for INTEGER PRIMARY KEY, not BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc_text(moment: datetime) -> str:
    """The stored form of a moment; naive datetimes are refused, not guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: Mamori stores only aware UTC times")
    # isoformat is several times faster than strftime; the slice drops "+00:00".
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


def from_utc_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class UtcText(TypeDecorator[datetime]):
    """An aware datetime stored as fixed-width ISO UTC text."""

    impl = String(27)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> str | None:
        return None if value is None else to_utc_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_utc_text(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
