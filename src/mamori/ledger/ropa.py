"""Records of processing activities (GDPR Art. 30(1)), built from the policy.

One activity per purpose, as in the management ledger. Recipients are the
third parties that may receive the purpose's data, the joint users and the
processors whose scope covers it; a transfer to a third country is any of
those outside Japan, with the safeguards the policy documents for it under
APPI Art. 28 (the country's system and the recipient's measures). Nothing
here reads the registry: the records describe processing, not people.
"""

from __future__ import annotations

from typing import Any

from mamori.policy.schemas import HOME_COUNTRY, ForeignSystem, Policy, Purpose, Text
from mamori.runtime import Runtime


def build(rt: Runtime) -> dict[str, Any]:
    """The records as plain data (the JSON form, and the page's input)."""
    source = rt.policy.source
    company = source.company
    return {
        "generated_at": rt.now().isoformat(),
        "controller": {
            "name": company.name.model_dump(),
            "address": company.address.model_dump(),
            "representative": company.representative.model_dump(),
            "privacy_officer": company.privacy_officer.model_dump(),
            "contact": company.contact.model_dump(),
        },
        "security_measures": [m.model_dump(mode="json") for m in source.security_measures],
        "activities": [_activity(source, p) for p in source.purposes],
    }


def _activity(source: Policy, purpose: Purpose) -> dict[str, Any]:
    kinds = {k.key: k.title for k in source.subject_kinds}
    subject_keys = sorted({c.subject_kind for c in source.channels if purpose.key in c.purposes})
    categories = {c.key: c.title for c in source.data_categories}
    return {
        "key": purpose.key,
        "name": purpose.title.model_dump(),
        "purpose": purpose.description.model_dump(),
        "legal_basis": purpose.legal_basis.value,
        "data_subjects": [
            {"key": k, "title": kinds[k].model_dump()} for k in subject_keys if k in kinds
        ],
        "data_categories": [
            {"key": k, "title": categories[k].model_dump()} for k in purpose.categories
        ],
        "recipients": _recipients(source, purpose.key),
        "transfers": _transfers(source, purpose.key),
        "retention": {
            "period": purpose.retention,
            "duty": purpose.retention_duty.model_dump() if purpose.retention_duty else None,
        },
        "security_measures": [m.kind.value for m in source.security_measures],
    }


def _recipients(source: Policy, purpose: str) -> list[dict[str, Any]]:
    """Third parties, joint users and processors that may receive the purpose's data."""
    by_key = {r.key: r for r in source.recipients}
    out: list[dict[str, Any]] = []
    for r in source.recipients:
        if purpose in r.purposes:
            out.append(_party(r.key, r.name, "third_party", r.country, r.kind.value))
    for joint in source.joint_uses:
        if purpose in joint.purposes:
            for key in joint.users:
                user = by_key.get(key)
                if user is not None:
                    out.append(_party(key, user.name, "joint_user", user.country, joint.key))
    for p in source.processors:
        if purpose in p.purposes:
            out.append(_party(p.key, p.name, "processor", p.country, p.service.en))
    return out


def _party(key: str, name: Text, role: str, country: str, detail: str) -> dict[str, Any]:
    return {
        "key": key,
        "name": name.model_dump(),
        "role": role,
        "country": country,
        "detail": detail,
    }


def _transfers(source: Policy, purpose: str) -> list[dict[str, Any]]:
    """Every party outside Japan the purpose's data may reach, with its documented safeguards."""
    out: list[dict[str, Any]] = []
    for r in source.recipients:
        if purpose in r.purposes and r.country != HOME_COUNTRY:
            out.append(_transfer(r.key, r.name, r.country, r.foreign))
    for p in source.processors:
        if purpose not in p.purposes:
            continue
        if p.country != HOME_COUNTRY:
            out.append(_transfer(p.key, p.name, p.country, p.foreign))
        for sub in p.subprocessors:
            if sub.country != HOME_COUNTRY:
                out.append(_transfer(p.key, sub.name, sub.country, p.foreign))
    return out


def _transfer(key: str, name: Text, country: str, foreign: ForeignSystem | None) -> dict[str, Any]:
    missing = Text(ja="記載なし（ポリシーに記載がありません）", en="Not documented in the policy")
    return {
        "key": key,
        "party": name.model_dump(),
        "country": country,
        "system": (foreign.system if foreign else missing).model_dump(),
        "safeguards": (foreign.measures if foreign else missing).model_dump(),
        "documented": foreign is not None,
    }
