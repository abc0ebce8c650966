"""Which data categories and data uses a policy file may name.

Categories and uses come from fideslang's default taxonomy, so a Mamori policy
reads the same as a Fides data map. Where fideslang has no word for something a
Japanese policy needs (furigana, a prefecture, a division), the policy declares
an *extension*: a key under an existing category with ``extends: <parent>``.

fideslang is imported inside the functions and the keys are cached, because the
import costs about 170 ms and most commands never look at the taxonomy. This
module only answers questions; it never edits a policy.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import cache

from mamori.policy.schemas import DataCategory, LegalBasis, Policy, Validator

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]


@cache
def fideslang_categories() -> frozenset[str]:
    """The keys of fideslang's default data categories (``user.name``, ...)."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(str(item.fides_key) for item in DEFAULT_TAXONOMY.data_category)


@cache
def fideslang_data_uses() -> frozenset[str]:
    """The keys of fideslang's default data uses (``essential.service``, ...)."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(str(item.fides_key) for item in DEFAULT_TAXONOMY.data_use)


def suggest(word: str, choices: frozenset[str] | set[str]) -> str:
    """A ' (did you mean ...?)' hint naming the closest choice, or ''."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def data_use_problem(data_use: str) -> str | None:
    """Why ``data_use`` is not a fideslang data use, or None when it is one."""
    uses = fideslang_data_uses()
    if data_use in uses:
        return None
    return (
        f"data_use '{data_use}' is not a fideslang data use{suggest(data_use, uses)}; "
        "use a key such as essential.service, marketing.communications.email or "
        "analytics.reporting"
    )


def category_problems(categories: Sequence[DataCategory]) -> list[Finding]:
    """Every category whose key is neither a fideslang key nor a valid extension."""
    declared = {category.key for category in categories}
    findings: list[Finding] = []
    for index, category in enumerate(categories):
        found = _category_problem(category, declared)
        if found is not None:
            field, message = found
            findings.append((("data_categories", index, field), message))
    return findings


def _category_problem(category: DataCategory, declared: set[str]) -> tuple[str, str] | None:
    known = fideslang_categories()
    key, parent = category.key, category.extends
    if parent is None:
        if key in known:
            return None
        return "key", (
            f"category '{key}' is not in the fideslang taxonomy{suggest(key, known)}; "
            "to add it as an extension, declare 'extends: <parent>' with a fideslang "
            "category it refines"
        )
    if key in known:
        return "extends", (
            f"category '{key}' is a fideslang category and must not declare 'extends'"
        )
    if parent not in known and parent not in declared:
        return "extends", (
            f"category '{key}' extends '{parent}', which is neither a fideslang category "
            "nor declared in this file"
        )
    if not key.startswith(parent + "."):
        return "key", (
            f"category '{key}' extends '{parent}', so its key must start with '{parent}.'"
        )
    return None


# Categories that are special-care personal information (要配慮個人情報, APPI
# Art. 2(3)): medical history and health, criminal record, race, creed.
SPECIAL_CARE_ROOTS = (
    "user.health_and_medical",
    "user.biometric.health",
    "user.criminal_history",
    "user.demographic.race_ethnicity",
    "user.demographic.religious_belief",
    "user.demographic.political_opinion",
)
LOOKUP_VALIDATORS = frozenset({Validator.EMAIL, Validator.PHONE})


def flag_problems(categories: Sequence[DataCategory]) -> list[Finding]:
    """Categories whose lookup or special-care flag contradicts what they hold."""
    findings: list[Finding] = []
    for index, category in enumerate(categories):
        if category.lookup and category.validator not in LOOKUP_VALIDATORS:
            findings.append(
                (
                    ("data_categories", index, "lookup"),
                    f"category '{category.key}' is marked 'lookup: true' but its validator is "
                    f"'{category.validator.value}'; only e-mail and phone categories can be "
                    "used to find a person",
                )
            )
        if not category.special_care and is_special_care_key(category.key):
            findings.append(
                (
                    ("data_categories", index, "key"),
                    f"category '{category.key}' is special-care personal information "
                    "(APPI Art. 2(3)); mark it 'special_care: true'",
                )
            )
    return findings


def is_special_care_key(key: str) -> bool:
    """Whether ``key`` is, or refines, a category the law treats as special-care."""
    return any(key == root or key.startswith(root + ".") for root in SPECIAL_CARE_ROOTS)


def special_care_problems(policy: Policy) -> list[Finding]:
    """Purposes that use special-care data without resting on consent."""
    special = {category.key for category in policy.data_categories if category.special_care}
    findings: list[Finding] = []
    for i, purpose in enumerate(policy.purposes):
        if purpose.legal_basis is LegalBasis.CONSENT:
            continue
        for j, category in enumerate(purpose.categories):
            if category in special:
                message = (
                    f"purpose '{purpose.key}' uses special-care category '{category}' but "
                    f"rests on {purpose.legal_basis.value}; special-care data needs the "
                    "person's explicit consent (APPI Art. 20(2))"
                )
                findings.append((("purposes", i, "categories", j), message))
    return findings
