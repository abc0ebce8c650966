"""The grant: the only thing that lets sealed personal data be opened or written.

A ``Grant`` names the actor, the purpose, the action, the data categories and
the subjects an access may touch. Only ``mamori.guard.service`` mints them (it
holds the private mint); the vault refuses anything else. Python cannot make
this unforgeable against code that goes looking for the mint, but it makes
the one road obvious and any second road stand out in review and in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mamori.errors import IntegrityError
from mamori.policy.schemas import Action

_MINT = object()


@dataclass(frozen=True, slots=True)
class Grant:
    actor: str
    purpose: str
    action: Action
    categories: frozenset[str]
    subjects: frozenset[str]
    mint: object = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mint is not _MINT:
            raise IntegrityError("a grant can only be issued by the guard", code="forged_grant")

    def covers(self, subject_ref: str, categories: frozenset[str] | set[str]) -> bool:
        return subject_ref in self.subjects and categories <= self.categories


def mint(
    *,
    actor: str,
    purpose: str,
    action: Action,
    categories: frozenset[str],
    subjects: frozenset[str],
) -> Grant:
    """Issue a grant. Called by the guard's decision function and nowhere else."""
    return Grant(actor, purpose, action, categories, subjects, _MINT)
