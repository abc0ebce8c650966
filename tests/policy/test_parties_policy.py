"""The third-party sections of a policy file: recipients, joint uses, processors.

Each mistake a privacy officer can make there is reported with its line and a
sentence naming the party, like every other section's.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mamori.policy.loader import check_policy_text
from tests.policy.test_loader import MINIMAL, dump, line_of, only_problem, problems_of


def _text(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


PARTNERS = {
    "key": "partners",
    "title": _text("提携先からのご案内", "Information from partners"),
    "description": _text("提携先に提供します。", "We provide your data to partners."),
    "legal_basis": "consent",
    "data_use": "marketing.communications",
    "categories": ["user.name", "user.contact.email"],
    "retention": "P3Y",
    "third_party_provision": True,
}


def _recipient(**changes: Any) -> dict[str, Any]:
    recipient = {
        "key": "partner",
        "name": _text("提携先株式会社", "Partner K.K."),
        "kind": "sales_partner",
        "address": _text("東京都港区", "Minato-ku, Tokyo"),
        "representative": _text("代表取締役 例 花子", "Hanako Rei, President"),
        "purposes": ["partners"],
    }
    recipient.update(changes)
    return recipient


def _processor(**changes: Any) -> dict[str, Any]:
    processor = {
        "key": "mailer",
        "name": _text("配信株式会社", "Mailer K.K."),
        "service": _text("メール配信", "Sending e-mail"),
        "address": _text("東京都渋谷区", "Shibuya-ku, Tokyo"),
        "purposes": ["newsletter"],
        "categories": ["user.contact.email"],
        "contract_from": "2025-04-01",
        "nda_signed": "2025-03-01",
    }
    processor.update(changes)
    return processor


def _policy(**sections: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data["purposes"].append(copy.deepcopy(PARTNERS))
    data["channels"][0]["purposes"].append("partners")
    data.update(sections)
    return data


def test_declared_parties_are_valid() -> None:
    joint = {
        "key": "group",
        "title": _text("グループ共同利用", "Group joint use"),
        "users": ["partner"],
        "categories": ["user.name"],
        "purposes": ["delivery"],
        "since": "2025-04-01",
    }
    data = _policy(recipients=[_recipient()], joint_uses=[joint], processors=[_processor()])
    found, problems = check_policy_text(dump(data))
    assert problems == [] and found is not None
    assert found.recipients[0].country == "JP"


def test_a_recipient_for_a_purpose_that_announces_no_provision() -> None:
    text, problem = only_problem(_policy(recipients=[_recipient(purposes=["newsletter"])]))
    assert problem.path == "recipients[0].purposes[0]"
    assert "does not announce provision" in problem.message
    assert problem.line == line_of(text, "- newsletter", nth=text.count("- newsletter"))


def test_a_recipient_for_an_unknown_purpose_gets_a_suggestion() -> None:
    _, problem = only_problem(_policy(recipients=[_recipient(purposes=["partner"])]))
    assert "purpose 'partner', which is not declared" in problem.message
    assert "partners" in problem.message


def test_a_recipient_abroad_needs_the_article_28_information() -> None:
    text, problem = only_problem(_policy(recipients=[_recipient(country="SG")]))
    assert problem.path == "recipients[0].country"
    assert "outside Japan" in problem.message and "Art. 28" in problem.message
    assert problem.line == line_of(text, "country: SG")
    foreign = {"system": _text("制度", "PDPA"), "measures": _text("措置", "Measures")}
    found, problems = check_policy_text(
        dump(_policy(recipients=[_recipient(country="SG", foreign=foreign)]))
    )
    assert problems == [] and found is not None


@pytest.mark.parametrize("country", ["sg", "SGP", "1A"])
def test_a_country_is_two_capital_letters(country: str) -> None:
    _, problems = problems_of(_policy(recipients=[_recipient(country=country)]))
    assert any(p.path == "recipients[0].country" for p in problems)


def test_a_recipient_category_none_of_its_purposes_covers() -> None:
    data = _policy(recipients=[_recipient(categories=["user.name.kana"])])
    _, problem = only_problem(data)
    assert problem.path == "recipients[0].categories[0]"
    assert "none of its purposes covers" in problem.message


def test_an_unknown_recipient_kind_lists_the_kinds() -> None:
    _, problem = only_problem(_policy(recipients=[_recipient(kind="friend")]))
    assert problem.path == "recipients[0].kind"
    assert "sales_partner" in problem.message and "subsidiary" in problem.message


def test_a_relationship_that_ends_before_it_begins() -> None:
    data = _policy(recipients=[_recipient(since="2026-04-01", until="2025-04-01")])
    _, problem = only_problem(data)
    assert problem.path == "recipients[0].until"


def test_a_joint_use_names_declared_users_purposes_and_items() -> None:
    joint = {
        "key": "group",
        "title": _text("グループ共同利用", "Group joint use"),
        "users": ["stranger"],
        "categories": ["user.health_and_medical"],
        "purposes": ["delivery"],
        "responsible": "nobody",
        "since": "2025-04-01",
    }
    _, problems = problems_of(_policy(recipients=[_recipient()], joint_uses=[joint]))
    paths = {p.path: p.message for p in problems}
    assert "joint user 'stranger'" in paths["joint_uses[0].users[0]"]
    assert "none of its purposes covers" in paths["joint_uses[0].categories[0]"]
    assert "'nobody' as responsible" in paths["joint_uses[0].responsible"]


def test_a_joint_use_needs_its_five_items() -> None:
    joint = {"key": "group", "title": _text("共同利用", "Joint use"), "since": "2025-04-01"}
    _, problems = problems_of(_policy(recipients=[_recipient()], joint_uses=[joint]))
    missing = {p.path for p in problems}
    assert {"joint_uses[0].users", "joint_uses[0].categories", "joint_uses[0].purposes"} <= missing


def test_a_processor_contract_and_nda_in_order() -> None:
    data = _policy(
        processors=[_processor(contract_until="2025-01-01", nda_until="2025-01-01", country="US")]
    )
    _, problems = problems_of(data)
    paths = {p.path for p in problems}
    assert {
        "processors[0].contract_until",
        "processors[0].nda_until",
        "processors[0].country",
    } <= paths


def test_a_processor_needs_contract_and_nda_dates() -> None:
    processor = _processor()
    del processor["nda_signed"]
    _, problem = only_problem(_policy(processors=[processor]))
    assert problem.path == "processors[0].nda_signed"


def test_a_processor_with_unknown_scope() -> None:
    data = _policy(processors=[_processor(purposes=["mailing"], categories=["user.email"])])
    _, problems = problems_of(data)
    paths = {p.path for p in problems}
    assert {"processors[0].purposes[0]", "processors[0].categories[0]"} <= paths


@pytest.mark.parametrize("section", ["recipients", "processors"])
def test_a_party_declared_twice(section: str) -> None:
    party = _recipient() if section == "recipients" else _processor()
    _, problems = problems_of(_policy(**{section: [party, copy.deepcopy(party)]}))
    assert any("declared twice" in p.message for p in problems)
