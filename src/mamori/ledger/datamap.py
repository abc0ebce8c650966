"""The data map as a fideslang manifest that Fides can load.

Built with fideslang's own models, so what is written has passed fideslang's
validation: the organization (the controller and its privacy officer), the
Mamori extensions of the taxonomy (``user.name.kana`` declared under
``user.name``, subject kinds fideslang has no word for), a system for the
registry with one privacy declaration per purpose, a third-party system per
processor and recipient, and a dataset describing the registry's values by
category. ``problems`` checks that every key the manifest uses resolves in
fideslang's default taxonomy or in the manifest's own declarations.

fideslang is imported inside the functions: the import costs ~170 ms and most
commands never draw the map.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from mamori.errors import IntegrityError
from mamori.policy.schemas import HOME_COUNTRY, LegalBasis, Policy, Purpose
from mamori.policy.taxonomy import fideslang_categories
from mamori.runtime import Runtime

if TYPE_CHECKING:
    from fideslang.models import DataFlow, PrivacyDeclaration, System

ORGANIZATION = "default_organization"
REGISTRY = "mamori_registry"
DATASET = "mamori_registry_dataset"
MEDIA_TYPE = "application/yaml"
_BASIS = {
    LegalBasis.CONSENT: "Consent",
    LegalBasis.CONTRACT: "Contract",
    LegalBasis.LEGAL_OBLIGATION: "Legal obligations",
    LegalBasis.LEGITIMATE_INTEREST: "Legitimate interests",
}


def build(rt: Runtime) -> dict[str, list[dict[str, Any]]]:
    """The manifest as plain data, every resource validated by its fideslang model."""
    source = rt.policy.source
    manifest = {
        "organization": [_organization(source)],
        "data_category": _extension_categories(source),
        "data_subject": _extension_subjects(source),
        "system": [_dump(s) for s in _systems(source)],
        "dataset": [_dataset(source)],
    }
    found = problems(manifest)
    if found:
        raise IntegrityError(
            "the data map does not resolve in fideslang: " + "; ".join(found),
            code="datamap_invalid",
        )
    return manifest


def to_yaml(manifest: dict[str, list[dict[str, Any]]]) -> str:
    return yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False, width=100)


def _dump(model: Any) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    return data


def _organization(source: Policy) -> dict[str, Any]:
    from fideslang.models import ContactDetails, Organization

    company = source.company
    contact = company.contact
    org = Organization(
        fides_key=ORGANIZATION,
        name=company.name.en,
        description=f"{company.name.ja} / {company.name.en}",
        controller=ContactDetails(
            name=company.name.en,
            address=company.address.en,
            phone=contact.phone,
            email=contact.email or "",
        ),
        data_protection_officer=ContactDetails(
            name=f"{company.privacy_officer.name.en}, {company.privacy_officer.department.en}",
            address=company.address.en,
            phone=contact.phone,
            email=contact.email or "",
        ),
        representative=ContactDetails(name=company.representative.en, address=company.address.en),
    )
    return _dump(org)


def _extension_categories(source: Policy) -> list[dict[str, Any]]:
    """Mamori's categories (and any missing ancestors) declared under their fideslang parent."""
    from fideslang.models import DataCategory

    known = set(fideslang_categories())
    titles = {c.key: c.title for c in source.data_categories}
    out: list[dict[str, Any]] = []
    for key in sorted(titles):
        chain: list[str] = []
        cursor = key
        while cursor not in known and "." in cursor:
            chain.append(cursor)
            cursor = cursor.rsplit(".", 1)[0]
        for item in reversed(chain):
            title = titles.get(item)
            model = DataCategory(
                fides_key=item,
                parent_key=item.rsplit(".", 1)[0],
                name=title.en if title else item,
                description=f"{title.ja} / {title.en} (Mamori extension)" if title else item,
                is_default=False,
            )
            out.append(_dump(model))
            known.add(item)
    return out


def _default_subjects() -> frozenset[str]:
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    return frozenset(str(s.fides_key) for s in DEFAULT_TAXONOMY.data_subject)


def _extension_subjects(source: Policy) -> list[dict[str, Any]]:
    from fideslang.models import DataSubject

    known = _default_subjects()
    return [
        _dump(
            DataSubject(
                fides_key=k.key,
                name=k.title.en,
                description=f"{k.title.ja} / {k.title.en} (Mamori extension)",
                is_default=False,
            )
        )
        for k in source.subject_kinds
        if k.key not in known
    ]


def _subjects_of(source: Policy, purpose: str) -> list[str]:
    return sorted({c.subject_kind for c in source.channels if purpose in c.purposes})


def _declaration(
    source: Policy, purpose: Purpose, categories: list[str], third_parties: list[str]
) -> PrivacyDeclaration:
    from fideslang.models import LegalBasisForProcessingEnum, PrivacyDeclaration

    return PrivacyDeclaration(
        name=purpose.title.en,
        data_use=purpose.data_use,
        data_categories=categories,
        data_subjects=_subjects_of(source, purpose.key),
        legal_basis_for_processing=LegalBasisForProcessingEnum(_BASIS[purpose.legal_basis]),
        retention_period=purpose.retention,
        data_shared_with_third_parties=bool(third_parties),
        third_parties=", ".join(third_parties) or None,
        dataset_references=[DATASET],
    )


def _systems(source: Policy) -> list[System]:
    from fideslang.models import System

    registry = System(
        fides_key=REGISTRY,
        organization_fides_key=ORGANIZATION,
        name="Mamori registry",
        description="The personal-data registry: values sealed per person (AES-256-GCM).",
        system_type="Application",
        responsibility=["Controller"],
        privacy_declarations=[
            _declaration(source, p, list(p.categories), _third_parties(source, p.key))
            for p in source.purposes
        ],
        egress=_flows(source),
        ingress=_ingress(source),
        dataset_references=[DATASET],
        uses_profiling=any(p.profiling for p in source.purposes),
        does_international_transfers=_abroad(source),
        legal_name=source.company.name.en,
        legal_address=source.company.address.en,
        data_security_practices="; ".join(m.description.en for m in source.security_measures)
        or None,
    )
    return [registry, *_processor_systems(source), *_recipient_systems(source)]


def _abroad(source: Policy) -> bool:
    countries = [r.country for r in source.recipients] + [p.country for p in source.processors]
    return any(c != HOME_COUNTRY for c in countries)


def _third_parties(source: Policy, purpose: str) -> list[str]:
    names = [r.name.en for r in source.recipients if purpose in r.purposes]
    for joint in source.joint_uses:
        if purpose in joint.purposes:
            names += [r.name.en for r in source.recipients if r.key in joint.users]
    return names


def processor_key(key: str) -> str:
    return f"processor.{key}"


def recipient_key(key: str) -> str:
    return f"recipient.{key}"


def _flows(source: Policy) -> list[DataFlow]:
    from fideslang.models import DataFlow

    flows = [
        DataFlow(fides_key=processor_key(p.key), type="system", data_categories=list(p.categories))
        for p in source.processors
    ]
    receiving = {r.key for r in source.recipients if r.purposes}
    receiving |= {u for j in source.joint_uses for u in j.users}
    flows += [
        DataFlow(fides_key=recipient_key(r.key), type="system")
        for r in source.recipients
        if r.key in receiving
    ]
    return flows


def _ingress(source: Policy) -> list[DataFlow]:
    """Parties that give us data (a co-host's attendee list) send to the registry."""
    from fideslang.models import DataFlow

    return [
        DataFlow(fides_key=recipient_key(r.key), type="system")
        for r in source.recipients
        if not r.purposes and not any(r.key in j.users for j in source.joint_uses)
    ] + [DataFlow(fides_key="user", type="user")]


def _processor_systems(source: Policy) -> list[System]:
    from fideslang.models import System

    purposes = {p.key: p for p in source.purposes}
    out = []
    for p in source.processors:
        declarations = [
            _declaration(source, purposes[k], _within(purposes[k], p.categories), [])
            for k in p.purposes
            if k in purposes
        ]
        out.append(
            System(
                fides_key=processor_key(p.key),
                organization_fides_key=ORGANIZATION,
                name=p.name.en,
                description=p.service.en,
                system_type="Third Party",
                responsibility=["Processor"],
                tags=["third_party", "processor", f"country:{p.country}"],
                privacy_declarations=declarations,
                ingress=[_from_registry()],
                does_international_transfers=p.country != HOME_COUNTRY,
                legal_name=p.name.en,
                legal_address=p.address.en,
            )
        )
    return out


def _within(purpose: Purpose, allowed: list[str] | None) -> list[str]:
    return [c for c in purpose.categories if allowed is None or c in allowed]


def _from_registry() -> DataFlow:
    from fideslang.models import DataFlow

    return DataFlow(fides_key=REGISTRY, type="system")


def _recipient_systems(source: Policy) -> list[System]:
    from fideslang.models import DataFlow, System

    purposes = {p.key: p for p in source.purposes}
    out = []
    for r in source.recipients:
        declarations = [
            _declaration(source, purposes[k], _within(purposes[k], r.categories), [])
            for k in r.purposes
            if k in purposes
        ]
        for joint in source.joint_uses:
            if r.key in joint.users:
                declarations += [
                    _declaration(source, purposes[k], _within(purposes[k], joint.categories), [])
                    for k in joint.purposes
                    if k in purposes
                ]
        receives = bool(declarations)
        out.append(
            System(
                fides_key=recipient_key(r.key),
                organization_fides_key=ORGANIZATION,
                name=r.name.en,
                description=f"{r.kind.value}: {r.name.ja} / {r.name.en}",
                system_type="Third Party",
                responsibility=["Controller"],
                tags=["third_party", "recipient", r.kind.value, f"country:{r.country}"],
                privacy_declarations=declarations,
                ingress=[_from_registry()] if receives else None,
                egress=None if receives else [DataFlow(fides_key=REGISTRY, type="system")],
                does_international_transfers=r.country != HOME_COUNTRY,
                legal_name=r.name.en,
                legal_address=r.address.en,
            )
        )
    return out


def _dataset(source: Policy) -> dict[str, Any]:
    """The registry's tables as Fides sees them: each sealed value under its category."""
    from fideslang.models import Dataset, DatasetCollection, DatasetField, FidesMeta

    def plain(name: str, category: str, description: str) -> DatasetField:
        return DatasetField(name=name, data_categories=[category], description=description)

    values = [
        DatasetField(
            name=c.key.replace(".", "_"),
            description=f"{c.key}: {c.title.ja} / {c.title.en}",
            data_categories=[c.key],
        )
        for c in source.data_categories
    ]
    subjects = DatasetCollection(
        name="subjects",
        description="One row per person; values sealed under the person's own key.",
        fields=[
            plain("ref", "user.unique_id.pseudonymous", "The person's reference"),
            plain("kind", "system.operations", "The kind of person (a subject kind)"),
            plain("channel", "system.operations", "The channel of registration"),
            plain("erased_at", "system.operations", "When the person's key was destroyed"),
            DatasetField(
                name="sealed",
                description="Values by category, each sealed with AES-256-GCM",
                fides_meta=FidesMeta(data_type="object"),
                fields=values,
            ),
        ],
    )
    dataset = Dataset(
        fides_key=DATASET,
        organization_fides_key=ORGANIZATION,
        name="Mamori registry",
        description="Personal data held by Mamori, by category.",
        collections=[subjects],
    )
    return _dump(dataset)


def problems(manifest: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every key the manifest uses that neither fideslang nor the manifest declares."""
    from fideslang.default_taxonomy import DEFAULT_TAXONOMY

    categories = set(fideslang_categories()) | {c["fides_key"] for c in manifest["data_category"]}
    subjects = set(_default_subjects()) | {s["fides_key"] for s in manifest["data_subject"]}
    uses = {str(u.fides_key) for u in DEFAULT_TAXONOMY.data_use}
    systems = {s["fides_key"] for s in manifest["system"]} | {"user"}
    found: list[str] = []
    for system in manifest["system"]:
        for d in system["privacy_declarations"]:
            found += [f"data category '{c}'" for c in d["data_categories"] if c not in categories]
            found += [f"data subject '{s}'" for s in d["data_subjects"] if s not in subjects]
            if d["data_use"] not in uses:
                found.append(f"data use '{d['data_use']}'")
        for flow in [*(system.get("egress") or []), *(system.get("ingress") or [])]:
            if flow["fides_key"] not in systems:
                found.append(f"system '{flow['fides_key']}'")
    for dataset in manifest["dataset"]:
        for used in _dataset_categories(dataset):
            if used not in categories:
                found.append(f"data category '{used}'")
    return found


def _dataset_categories(node: dict[str, Any]) -> list[str]:
    used = list(node.get("data_categories") or [])
    for child in [*(node.get("collections") or []), *(node.get("fields") or [])]:
        used += _dataset_categories(child)
    return used
