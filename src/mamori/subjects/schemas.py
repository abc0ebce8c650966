"""Shapes of the registry's HTTP input and output."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mamori.subjects.service import SubjectView

CategoryKey = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=100)
]
Value = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Values = Annotated[dict[CategoryKey, Value], Field(min_length=1, max_length=50)]
Ref = Annotated[str, StringConstraints(pattern=r"^s[a-z2-7]{16}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubjectCreate(Strict):
    channel: CategoryKey = Field(description="The collection channel from the policy.")
    values: Values = Field(description="Category key → value as the person gave it.")
    consents: list[CategoryKey] = Field(
        default=[], max_length=50, description="Purposes consented to."
    )
    explicit: bool = Field(False, description="The consents were given explicitly (opt-in).")


class SubjectCreated(Strict):
    ref: Ref


class Source(Strict):
    channel: str
    collected_at: str
    notice_version: int | None


class SubjectRead(Strict):
    ref: Ref
    kind: str
    channel: str
    created_at: str
    values: dict[str, str]
    sources: dict[str, Source]

    @classmethod
    def of(cls, view: SubjectView) -> SubjectRead:
        sources = {
            c: Source(channel=s[0], collected_at=s[1], notice_version=s[2])
            for c, s in view.sources.items()
        }
        return cls(
            ref=view.ref,
            kind=view.kind,
            channel=view.channel,
            created_at=view.created_at,
            values=view.values,
            sources=sources,
        )


class SubjectSearch(Strict):
    email: Annotated[str, StringConstraints(min_length=3, max_length=320)] | None = None
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SubjectSearch:
        if (self.email is None) == (self.phone is None):
            raise ValueError("give exactly one of email or phone")
        return self


class SubjectRefs(Strict):
    refs: list[Ref]


class SubjectSummary(Strict):
    ref: Ref
    kind: str
    channel: str
    created_at: str


class SubjectPage(Strict):
    items: list[SubjectSummary]
    next_after: Ref | None = Field(None, description="Pass as 'after' for the next page.")

    @classmethod
    def of(cls, rows: list[dict[str, Any]], next_after: str | None) -> SubjectPage:
        return cls(items=[SubjectSummary(**r) for r in rows], next_after=next_after)


class SubjectCorrect(Strict):
    values: Values
    channel: CategoryKey | None = Field(
        None, description="The channel the correction came through."
    )


class SubjectCorrected(Strict):
    ref: Ref
    corrected: list[str]
