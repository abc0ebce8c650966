"""The public notice (APPI Art. 32): every matter in both languages, frozen per version.

Runs on SQLite and PostgreSQL. A policy variant is written to the home's
policy file and loaded into the runtime, as a restart after editing the file
would; publishing then freezes the variant as the next version.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import yaml

from mamori.demo import EXAMPLE_POLICY
from mamori.errors import NotFound, ValidationFailed
from mamori.ledger import notice_html
from mamori.ledger.notice import matters
from mamori.policy import service
from mamori.policy.compiled import CompiledPolicy
from mamori.policy.loader import load_policy
from mamori.runtime import Runtime
from mamori.staff import service as staff
from tests.conftest import Clock, actor

Variant = Callable[[dict[str, Any]], None]


def use_policy(rt: Runtime, change: Variant) -> None:
    """Edit the example policy with ``change``, write it as the home's policy and load it."""
    data = yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8"))
    change(data)
    rt.settings.policy_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    rt.policy = CompiledPolicy.build(load_policy(rt.settings.policy_file))


def publish(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return service.publish(tx, rt, actor=actor("officer")).version


def page(rt: Runtime, lang: str, version: int | None = None) -> str:
    with rt.db.transaction() as tx:
        notice, snapshot = service.frozen(tx, rt, version)
    return notice_html.render(matters(notice, snapshot, lang))


def body(rt: Runtime, lang: str, version: int | None = None) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        notice, snapshot = service.frozen(tx, rt, version)
    return matters(notice, snapshot, lang)


class Outline(HTMLParser):
    """The page's tags, headings and visible text, to check its structure."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[int] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def plain(html: str) -> str:
    """The page's text with entities decoded, as a reader sees it."""
    return " ".join(" ".join(outline(html).text).split())


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_announced_matter_is_on_the_page(rt: Runtime, lang: str) -> None:
    source = rt.policy.source
    text = plain(page(rt, lang))
    company = source.company
    for value in (company.name, company.address, company.representative):
        assert getattr(value, lang) in text
    for purpose in source.purposes:
        assert getattr(purpose.title, lang) in text
        assert getattr(purpose.description, lang) in text
    kinds = body(rt, lang)["requests"]["kinds"]
    assert [k["kind"] for k in kinds] == [
        "disclosure",
        "notification",
        "correction",
        "cessation_of_use",
        "erasure",
        "cessation_of_provision",
        "inquiry",
        "complaint",
    ]
    fees = {"ja": ("1,000円", "無料"), "en": ("1,000 yen", "free")}[lang]
    for kind in kinds:
        assert kind["title"] in text
        assert kind["fee_text"] == (
            fees[0] if kind["kind"] in ("disclosure", "notification") else fees[1]
        )
        assert f"{kind['title']} {kind['fee_text']}" in text
    headings = {
        "ja": ["組織的安全管理措置", "人的安全管理措置", "物理的安全管理措置", "技術的安全管理措置"],
        "en": ["Organizational security measures", "Human security measures",
               "Physical security measures", "Technical security measures"],
    }[lang]  # fmt: skip
    for heading in headings:
        assert heading in text
    for measure in source.security_measures:
        assert getattr(measure.description, lang) in text
    assert company.contact.phone in text and getattr(company.contact.department, lang) in text
    assert {"ja": "10営業日以内", "en": "within 10 business days"}[lang] in text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_joint_use_and_its_five_items(rt: Runtime, lang: str) -> None:
    text = plain(page(rt, lang))
    use = rt.policy.source.joint_uses[0]
    subsidiary = rt.policy.recipient("qs_solutions")
    company = rt.policy.source.company
    assert getattr(use.title, lang) in text  # the fact of joint use
    categories = {c.key: c for c in rt.policy.source.data_categories}
    for key in use.categories:  # the items
        assert getattr(categories[key].title, lang) in text
    assert getattr(subsidiary.name, lang) in text  # the joint users
    purposes = {p.key: p for p in rt.policy.source.purposes}
    assert getattr(purposes["product_support"].title, lang) in text  # their purposes
    responsible = body(rt, lang)["joint_uses"]["uses"][0]["responsible"]  # the company: unset
    assert responsible == {
        "name": getattr(company.name, lang),
        "address": getattr(company.address, lang),
        "representative": getattr(company.representative, lang),
    }
    label = {
        "ja": "個人データの管理について責任を有する者",
        "en": "Party responsible for managing the data",
    }
    assert label[lang] in text


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_singapore_partner_with_its_country_and_system(rt: Runtime, lang: str) -> None:
    text = plain(page(rt, lang))
    partner = rt.policy.recipient("partner_singapore")
    assert partner.foreign is not None
    assert {"ja": "シンガポール", "en": "Singapore"}[lang] in text
    assert getattr(partner.name, lang) in text
    assert getattr(partner.foreign.system, lang) in text
    assert getattr(partner.foreign.measures, lang) in text
    kinds = [k["kind"] for k in body(rt, lang)["provision"]["recipient_kinds"]]
    assert kinds == ["sales_partner", "exhibitor"]  # only parties that receive data


def test_entrustment_lists_services_of_contracts_in_force(rt: Runtime, clock: Clock) -> None:
    entrust = body(rt, "en")["entrustment"]
    assert "non-disclosure agreement" in entrust["statement"]
    # The call center's contract lapsed on 2026-09-30, before this notice took effect.
    assert entrust["services"] == [
        "Sending newsletters and notices by e-mail",
        "Server operation and maintenance (data stored in Japan)",
    ]


def test_the_accredited_body_is_named_where_the_company_has_one(rt: Runtime) -> None:
    assert body(rt, "en")["complaints"]["accredited_body"] is None

    def join(data: dict[str, Any]) -> None:
        data["company"]["accredited_body"] = {
            "ja": "一般財団法人テスト協会",
            "en": "Test Association",
        }

    use_policy(rt, join)
    version = publish(rt)
    assert "Test Association" in plain(page(rt, "en", version))
    assert "一般財団法人テスト協会" in plain(page(rt, "ja", version))


def _changed(data: dict[str, Any]) -> None:
    data["purposes"][0]["title"] = {"ja": "新しい目的の名前", "en": "A renamed purpose"}
    data["requests"]["fees"] = {"disclosure": 0, "notification": 500}
    data["joint_uses"] = []
    data["security_measures"] = data["security_measures"][:1]
    data["recipients"][1]["foreign"]["system"]["en"] = "A changed description of the system."
    data["company"]["contact"]["phone"] = "+81-3-0000-0000"


def test_a_version_never_changes_after_the_next_is_published(rt: Runtime, clock: Clock) -> None:
    before = {lang: page(rt, lang, 1) for lang in ("ja", "en")}
    before_json = body(rt, "en", 1)
    use_policy(rt, _changed)
    clock.moment += timedelta(days=1)
    assert publish(rt) == 2
    clock.moment += timedelta(days=1)
    assert {lang: page(rt, lang, 1) for lang in ("ja", "en")} == before
    assert body(rt, "en", 1) == before_json
    # Version 2 is the one in force, and it says what changed.
    newer = body(rt, "en")
    assert newer["version"] == 2
    assert newer["purposes"][0]["title"] == "A renamed purpose"
    fees = {k["kind"]: k["fee_text"] for k in newer["requests"]["kinds"]}
    assert (fees["disclosure"], fees["notification"]) == ("free", "500 yen")
    assert newer["joint_uses"]["uses"] == []
    assert "We do not use personal data jointly" in plain(page(rt, "en"))
    assert [g["kind"] for g in newer["security_measures"]] == ["policy"]
    assert newer["company"]["name"] == before_json["company"]["name"]
    assert "+81-3-0000-0000" not in before["en"] and "+81-3-0000-0000" in page(rt, "en")


def test_a_version_frozen_before_the_snapshot_grew_still_renders(rt: Runtime) -> None:
    """Versions published by the first snapshot shape lack sections: said, not invented."""
    with rt.db.transaction() as tx:
        _, snapshot = service.frozen(tx, rt, 1)
        old = {k: snapshot[k] for k in ("company", "purposes", "channels")}
        tx.execute(
            "UPDATE notice_versions SET snapshot = ? WHERE version = 1",
            (json.dumps(old, ensure_ascii=False),),
        )
    old_body = body(rt, "en", 1)
    assert old_body["joint_uses"] is None and old_body["provision"] is None
    assert old_body["security_measures"] is None and old_body["entrustment"]["services"] is None
    assert all(k["fee"] is None for k in old_body["requests"]["kinds"])
    # Items show their keys when the version froze no titles for them.
    assert old_body["purposes"][0]["categories"][0] == {"key": "user.name", "title": "user.name"}
    for lang, words in (
        ("en", "Not announced in this version."),
        ("ja", "この版では公表していません。"),
    ):
        text = plain(page(rt, lang, 1))
        assert text.count(words) >= 4
        assert outline(page(rt, lang, 1)).headings.count(1) == 1


def test_a_script_in_a_purpose_title_is_escaped(rt: Runtime) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'

    def inject(data: dict[str, Any]) -> None:
        data["purposes"][0]["title"] = {"ja": attack, "en": attack}
        data["purposes"][0]["description"]["en"] = "</style><script>alert(2)</script>"

    use_policy(rt, inject)
    version = publish(rt)
    for lang in ("ja", "en"):
        html = page(rt, lang, version)
        assert "<script" not in html.lower() and "<img" not in html.lower()
        assert "&lt;script&gt;" in html
        assert attack in plain(html)  # shown as text, as typed
        assert [tag for tag, _ in outline(html).tags].count("style") == 1


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_page_is_one_document_with_headings_in_order(rt: Runtime, lang: str) -> None:
    html = page(rt, lang)
    parsed = outline(html)
    assert parsed.tags[0] == ("html", {"lang": lang})
    assert parsed.headings.count(1) == 1 and parsed.headings[0] == 1
    # No heading skips a level on the way down.
    assert all(b <= a + 1 for a, b in zip(parsed.headings, parsed.headings[1:], strict=False))
    tags = {tag for tag, _ in parsed.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "form"}
    assert not re.search(r"(src|href)\s*=", html)
    assert "@media print" in html and 'name="viewport"' in html
    assert ("version" if lang == "en" else "版") in plain(html)


def test_the_matters_are_json_ready(rt: Runtime) -> None:
    data = body(rt, "ja")
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["version"] == 1 and data["effective_date"] == "2026-11-30"
    # Effective at 01:00 UTC is 10:00 in Tokyo: the date is the company's.
    assert data["effective_at"].startswith("2026-11-30T01:00")


def test_unknown_versions_and_languages_are_refused(rt: Runtime) -> None:
    with rt.db.transaction() as tx:
        with pytest.raises(NotFound) as missing:
            service.frozen(tx, rt, 99)
        assert missing.value.code == "notice_not_found"
        notice, snapshot = service.frozen(tx, rt)
    with pytest.raises(ValidationFailed) as language:
        matters(notice, snapshot, "fr")
    assert language.value.code == "language_unsupported"


def test_no_notice_in_force_before_the_first_takes_effect(bare_rt: Runtime, clock: Clock) -> None:
    with bare_rt.db.transaction() as tx:
        with pytest.raises(NotFound, match="no privacy notice is in force yet"):
            service.frozen(tx, bare_rt)
        staff_actor = actor("officer")
        staff.add(tx, bare_rt, handle="officer", roles=["privacy_officer"], by="cli:test")
        later = clock.moment + timedelta(days=7)
        service.publish(tx, bare_rt, actor=staff_actor, effective_at=later)
    with bare_rt.db.transaction() as tx:
        with pytest.raises(NotFound):
            service.frozen(tx, bare_rt)  # announced, not yet in force
        assert service.frozen(tx, bare_rt, 1)[0].version == 1  # but readable ahead


def test_ended_parties_are_left_out_and_future_ones_announced_ahead(rt: Runtime) -> None:
    def dates(data: dict[str, Any]) -> None:
        for recipient in data["recipients"]:
            if recipient["key"] in ("partner_kanto", "partner_singapore"):
                recipient["until"] = "2026-06-30"
            if recipient["key"] == "seminar_exhibitors":
                recipient["since"] = "2027-04-01"

    use_policy(rt, dates)
    provision = body(rt, "en", publish(rt))["provision"]
    assert [k["kind"] for k in provision["recipient_kinds"]] == ["exhibitor"]
    assert provision["foreign"] == []  # the Singapore partner's provision has ended
