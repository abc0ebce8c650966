"""The data map: a fideslang manifest that fideslang itself loads, every key resolving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from fastapi.testclient import TestClient
from fideslang.default_taxonomy import DEFAULT_TAXONOMY
from fideslang.models import Taxonomy
from fideslang.parse import load_manifests_into_taxonomy

from mamori.ledger import datamap, ledger
from mamori.runtime import Runtime
from tests.api.conftest import client, token_for
from tests.api.support import last_entry, refused

__all__ = ["client", "token_for"]  # the API fixtures, shared


def _loaded(rt: Runtime) -> tuple[dict[str, Any], Taxonomy]:
    raw = yaml.safe_load(datamap.to_yaml(datamap.build(rt)))
    return raw, load_manifests_into_taxonomy(raw)


def _dataset_categories(node: dict[str, Any]) -> list[str]:
    found = list(node.get("data_categories") or [])
    for child in [*(node.get("collections") or []), *(node.get("fields") or [])]:
        found += _dataset_categories(child)
    return found


def test_the_manifest_loads_in_fideslang_and_every_key_resolves(rt: Runtime) -> None:
    raw, taxonomy = _loaded(rt)
    assert {"organization", "system", "dataset"} <= set(raw)
    categories = {str(c.fides_key) for c in DEFAULT_TAXONOMY.data_category}
    declared = {str(c.fides_key): c for c in taxonomy.data_category}
    for key, category in declared.items():
        assert category.parent_key in categories | set(declared), key
    categories |= set(declared)
    subjects = {str(s.fides_key) for s in DEFAULT_TAXONOMY.data_subject}
    subjects |= {str(s.fides_key) for s in taxonomy.data_subject}
    uses = {str(u.fides_key) for u in DEFAULT_TAXONOMY.data_use}
    systems = {str(s.fides_key) for s in taxonomy.system} | {"user"}
    for system in taxonomy.system:
        for d in system.privacy_declarations:
            assert set(d.data_categories) <= categories, (system.fides_key, d.data_categories)
            assert set(d.data_subjects) <= subjects, d.data_subjects
            assert d.data_use in uses, d.data_use
        for flow in [*(system.egress or []), *(system.ingress or [])]:
            assert flow.fides_key in systems
    for dataset in raw["dataset"]:
        assert set(_dataset_categories(dataset)) <= categories
    assert datamap.problems(raw) == []


def test_extensions_are_declared_under_their_fideslang_parent(rt: Runtime) -> None:
    _, taxonomy = _loaded(rt)
    parents = {str(c.fides_key): c.parent_key for c in taxonomy.data_category}
    assert parents["user.name.kana"] == "user.name"
    assert parents["user.contact.address.prefecture"] == "user.contact.address"
    assert parents["user.device.inventory"] == "user.device"
    assert "user.name" not in parents  # fideslang's own keys are not redeclared
    subjects = {str(s.fides_key) for s in taxonomy.data_subject}
    assert {"subscriber", "attendee", "member"} <= subjects and "customer" not in subjects


def test_a_declaration_per_purpose_and_third_parties_marked(rt: Runtime) -> None:
    _, taxonomy = _loaded(rt)
    systems = {str(s.fides_key): s for s in taxonomy.system}
    registry = systems[datamap.REGISTRY]
    assert sorted(d.name or "" for d in registry.privacy_declarations) == sorted(
        p.title.en for p in rt.policy.source.purposes
    )
    uses = {d.name: d.data_use for d in registry.privacy_declarations}
    assert uses["E-mail delivery service"] == "marketing.communications.email"
    assert registry.does_international_transfers is True
    singapore = systems["recipient.partner_singapore"]
    assert singapore.system_type == "Third Party" and "third_party" in (singapore.tags or [])
    assert singapore.does_international_transfers is True
    [declaration] = singapore.privacy_declarations
    assert "user.contact.phone_number" not in declaration.data_categories
    mail = systems["processor.mail_delivery"]
    assert [getattr(r, "value", r) for r in mail.responsibility] == ["Processor"]
    assert {d.data_use for d in mail.privacy_declarations} >= {"marketing.communications.email"}
    cohost = systems["recipient.event_cohost"]
    assert cohost.privacy_declarations == [] and cohost.egress
    assert [str(o.fides_key) for o in taxonomy.organization] == [datamap.ORGANIZATION]


def test_the_route_serves_yaml_to_auditors_only(
    client: TestClient, rt: Runtime, token_for: Callable[[str], dict[str, str]]
) -> None:
    answer = client.get("/datamap", headers=token_for("auditor"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/yaml")
    assert load_manifests_into_taxonomy(yaml.safe_load(answer.text)).system
    assert last_entry(rt)["action"] == "read_datamap"
    refused(client.get("/datamap", headers=token_for("marketing")), ledger.READER_RULE)
