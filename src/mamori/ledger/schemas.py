"""Request and response shapes of the ledger routes: strict, nothing extra accepted."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mamori.ledger.reviews import MAX_FINDINGS


class LedgerFormat(StrEnum):
    CSV = "csv"
    HTML = "html"
    JSON = "json"


class RopaFormat(StrEnum):
    JSON = "json"
    HTML = "html"


class Language(StrEnum):
    EN = "en"
    JA = "ja"


class ReviewCreate(BaseModel):
    """A review of the ledger: the day, what was found, and (optionally) the CSV reviewed."""

    model_config = ConfigDict(extra="forbid")

    reviewed_on: date
    findings: Annotated[str, Field(min_length=1, max_length=MAX_FINDINGS)]
    ledger_digest: Annotated[
        str | None,
        Field(
            pattern=r"^[0-9a-f]{64}$",
            description="SHA-256 of the ledger CSV reviewed; the ledger as it stands when unset.",
        ),
    ] = None

    @field_validator("reviewed_on", mode="before")
    @classmethod
    def _a_string(cls, value: object) -> object:
        # Lax parsing would read a number as seconds since 1970; the schema says a string.
        if not isinstance(value, str):
            raise ValueError("give the review's day as a string, YYYY-MM-DD")
        return value


class ReviewRead(BaseModel):
    id: int
    reviewed_on: str
    reviewer: str
    findings: str
    ledger_digest: str
    recorded_at: str
    recorded_by: str


class ReviewsPage(BaseModel):
    reviews: list[ReviewRead]
    last_reviewed_on: str | None
    next_due: str | None
    overdue: bool
