"""Cross-references of the third-party sections: recipients, joint uses, processors.

Each check returns findings (a location and a sentence) the loader turns into
problems with their lines, like every other section's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mamori.policy.schemas import HOME_COUNTRY, Policy
from mamori.policy.taxonomy import Finding, Loc, suggest


def party_findings(policy: Policy) -> list[Finding]:
    return [*_recipients(policy), *_joint_uses(policy), *_processors(policy)]


def _unknown(
    loc: Loc, name: str, noun: str, values: Sequence[str], known: Iterable[str], section: str
) -> list[Finding]:
    declared = set(known)
    return [
        (
            (*loc, index),
            f"{name} names {noun} '{value}', which is not declared under {section}"
            f"{suggest(value, declared)}",
        )
        for index, value in enumerate(values)
        if value not in declared
    ]


def _abroad(loc: Loc, name: str, country: str, has_foreign: bool) -> list[Finding]:
    if country != HOME_COUNTRY and not has_foreign:
        message = (
            f"{name} is in {country}, outside Japan: give foreign.system and foreign.measures "
            "(the country's protection system and the party's measures, APPI Art. 28)"
        )
        return [((*loc, "country"), message)]
    return []


def _recipients(policy: Policy) -> list[Finding]:
    purposes = {p.key: p for p in policy.purposes}
    categories = [c.key for c in policy.data_categories]
    findings: list[Finding] = []
    for i, recipient in enumerate(policy.recipients):
        loc: Loc = ("recipients", i)
        name = f"recipient '{recipient.key}'"
        findings += _unknown(
            (*loc, "purposes"), name, "purpose", recipient.purposes, purposes, "purposes"
        )
        for j, key in enumerate(recipient.purposes):
            purpose = purposes.get(key)
            if purpose is not None and not purpose.third_party_provision:
                message = (
                    f"{name} may receive data for '{key}', which does not announce provision "
                    "to third parties (set third_party_provision: true on the purpose, or "
                    "declare a joint use)"
                )
                findings.append(((*loc, "purposes", j), message))
        wanted = recipient.categories or []
        findings += _unknown(
            (*loc, "categories"), name, "category", wanted, categories, "data_categories"
        )
        covered = {
            c for key in recipient.purposes if key in purposes for c in purposes[key].categories
        }
        for j, category in enumerate(wanted):
            if category in categories and recipient.purposes and category not in covered:
                message = f"{name} may receive '{category}', which none of its purposes covers"
                findings.append(((*loc, "categories", j), message))
        findings += _abroad(loc, name, recipient.country, recipient.foreign is not None)
        if recipient.since and recipient.until and recipient.until < recipient.since:
            findings.append(((*loc, "until"), f"{name} ends before it begins"))
    return findings


def _joint_uses(policy: Policy) -> list[Finding]:
    recipients = [r.key for r in policy.recipients]
    purposes = {p.key: p for p in policy.purposes}
    categories = [c.key for c in policy.data_categories]
    findings: list[Finding] = []
    for i, use in enumerate(policy.joint_uses):
        loc: Loc = ("joint_uses", i)
        name = f"joint use '{use.key}'"
        findings += _unknown(
            (*loc, "users"), name, "joint user", use.users, recipients, "recipients"
        )
        findings += _unknown(
            (*loc, "purposes"), name, "purpose", use.purposes, purposes, "purposes"
        )
        findings += _unknown(
            (*loc, "categories"), name, "category", use.categories, categories, "data_categories"
        )
        covered = {c for key in use.purposes if key in purposes for c in purposes[key].categories}
        for j, category in enumerate(use.categories):
            if category in categories and category not in covered:
                message = f"{name} shares '{category}', which none of its purposes covers"
                findings.append(((*loc, "categories", j), message))
        if use.responsible is not None and use.responsible not in recipients:
            message = (
                f"{name} names '{use.responsible}' as responsible, which is not declared under "
                f"recipients{suggest(use.responsible, set(recipients))}; leave it out for the company"
            )
            findings.append(((*loc, "responsible"), message))
    return findings


def _processors(policy: Policy) -> list[Finding]:
    purposes = [p.key for p in policy.purposes]
    categories = [c.key for c in policy.data_categories]
    findings: list[Finding] = []
    for i, processor in enumerate(policy.processors):
        loc: Loc = ("processors", i)
        name = f"processor '{processor.key}'"
        findings += _unknown(
            (*loc, "purposes"), name, "purpose", processor.purposes, purposes, "purposes"
        )
        findings += _unknown(
            (*loc, "categories"),
            name,
            "category",
            processor.categories,
            categories,
            "data_categories",
        )
        findings += _abroad(loc, name, processor.country, processor.foreign is not None)
        if processor.contract_until and processor.contract_until < processor.contract_from:
            findings.append(((*loc, "contract_until"), f"{name}'s contract ends before it begins"))
        if processor.nda_until and processor.nda_until < processor.nda_signed:
            findings.append(
                ((*loc, "nda_until"), f"{name}'s non-disclosure agreement ends before it is signed")
            )
    return findings
