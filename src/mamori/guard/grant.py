"""The grant: the only thing that lets sealed personal data be opened or written.

A ``Grant`` names the actor, the purpose, the action, the data categories and
the subjects an access may touch. Only ``mamori.guard.service`` mints them (it
holds the private mint); the vault refuses anything else. Python cannot make
this unforgeable against code that goes looking for the mint, but it makes
the one road obvious and any second road stand out in review and in tests.
"""

from __future__ import annotations

from mamori.errors import IntegrityError
from mamori.policy.schemas import Action

_MINT = object()


class Grant:
    """Immutable, not copyable, not picklable: the only way to get one is ``mint``."""

    __slots__ = ("action", "actor", "categories", "purpose", "subjects")
    actor: str
    purpose: str
    action: Action
    categories: frozenset[str]
    subjects: frozenset[str]

    def __init__(
        self,
        actor: str,
        purpose: str,
        action: Action,
        categories: frozenset[str],
        subjects: frozenset[str],
        mint: object,
    ) -> None:
        if mint is not _MINT:
            raise IntegrityError("a grant can only be issued by the guard", code="forged_grant")
        setattr_ = object.__setattr__
        setattr_(self, "actor", actor)
        setattr_(self, "purpose", purpose)
        setattr_(self, "action", action)
        setattr_(self, "categories", frozenset(categories))
        setattr_(self, "subjects", frozenset(subjects))

    def __setattr__(self, name: str, value: object) -> None:
        raise IntegrityError("a grant cannot be changed once issued", code="forged_grant")

    def __delattr__(self, name: str) -> None:
        raise IntegrityError("a grant cannot be changed once issued", code="forged_grant")

    def __copy__(self) -> Grant:
        raise IntegrityError("a grant cannot be copied", code="forged_grant")

    def __deepcopy__(self, memo: object) -> Grant:
        raise IntegrityError("a grant cannot be copied", code="forged_grant")

    def __reduce__(self) -> str | tuple[object, ...]:
        raise IntegrityError("a grant cannot leave the process", code="forged_grant")

    def __repr__(self) -> str:
        return (
            f"Grant(actor={self.actor!r}, purpose={self.purpose!r}, action={self.action.value}, "
            f"categories={len(self.categories)}, subjects={len(self.subjects)})"
        )

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
