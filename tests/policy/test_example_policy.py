"""The shipped example: QualitySoft's whole policy, valid and complete."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from mamori.policy.loader import check_policy_file, load_policy
from mamori.policy.schemas import Action, LegalBasis, Policy, Text
from mamori.policy.system import SYSTEM_PURPOSES

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "qualitysoft" / "policy.yaml"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def example() -> Policy:
    return load_policy(EXAMPLE)


def all_texts(policy: Policy) -> list[tuple[str, Text]]:
    texts = [
        ("company.name", policy.company.name),
        ("company.address", policy.company.address),
        ("company.representative", policy.company.representative),
    ]
    for section in ("subject_kinds", "data_categories", "purposes", "channels", "roles"):
        texts += [(f"{section}:{item.key}", item.title) for item in getattr(policy, section)]
    texts += [(f"purposes:{p.key}:description", p.description) for p in policy.purposes]
    return texts


def test_example_has_no_problems() -> None:
    policy, problems = check_policy_file(EXAMPLE)
    assert [str(p) for p in problems] == []
    assert policy is not None


def test_every_text_is_in_japanese_and_english(example: Policy) -> None:
    for where, text in all_texts(example):
        assert JAPANESE.search(text.ja), f"{where}: no Japanese in {text.ja!r}"
        assert not JAPANESE.search(text.en), f"{where}: Japanese in the English {text.en!r}"
        assert text.en.strip(), where


def test_every_purpose_describes_itself_concretely(example: Policy) -> None:
    for purpose in example.purposes:
        assert len(purpose.description.ja) >= 30, purpose.key
        assert len(purpose.description.en.split()) >= 12, purpose.key
        assert purpose.categories, purpose.key


def test_every_channel_announces_declared_purposes(example: Policy) -> None:
    purposes = {p.key for p in example.purposes}
    kinds = {k.key for k in example.subject_kinds}
    for channel in example.channels:
        assert channel.purposes, channel.key
        assert set(channel.purposes) <= purposes, channel.key
        assert channel.subject_kind in kinds, channel.key


def test_every_purpose_is_announced_by_some_channel(example: Policy) -> None:
    announced = {p for channel in example.channels for p in channel.purposes}
    assert announced == {p.key for p in example.purposes}


# Each collection case the seed policy names, the channel that collects it and
# the purpose that channel must announce.
COLLECTION_CASES = [
    ("purchase our products", "product_purchase", "purchase_fulfillment"),
    ("register for our services", "service_registration", "purchase_fulfillment"),
    ("receive our services", "service_use", "location_service"),
    ("requests for support", "support_request", "product_support"),
    ("applications for our events/seminars", "event_application", "event_registration"),
    ("email delivery service", "email_subscription", "email_delivery"),
    ("membership services", "membership_registration", "membership"),
    ("send invoices ... confirm reception of payment", "invoice_payment", "invoicing_payment"),
    ("rewards for cooperation about our researches", "research_cooperation", "research_reward"),
    ("premium products for our prize promotions", "prize_entry", "prize_premium"),
    ("if our staff obtains a business card", "business_card_exchange", "business_card_promotion"),
    ("location information acquired in the background", "app_background_location", "location_service"),
    ("Phone: +81-3-5275-6121", "phone_inquiry", "inquiry_handling"),
    ("inquiries by e-mail", "email_inquiry", "inquiry_handling"),
    ("applied to attend exhibitions or seminars", "exhibitor_introduction", "exhibitor_introduction"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "channel", "purpose"), COLLECTION_CASES)
def test_collection_case_has_a_channel(
    example: Policy, case: str, channel: str, purpose: str
) -> None:
    channels = {c.key: c for c in example.channels}
    assert channel in channels, case
    assert purpose in channels[channel].purposes, case


def test_business_cards_register_prospects(example: Policy) -> None:
    channel = next(c for c in example.channels if c.key == "business_card_exchange")
    assert channel.subject_kind == "prospect"
    assert channel.method == "import"


def test_company_contact_matches_the_policy(example: Policy) -> None:
    company = example.company
    assert company.name.en == "QualitySoft Corporation"
    assert company.name.ja == "クオリティソフト株式会社"
    assert "Kiyoharu Ura" in company.representative.en
    assert "浦 清春" in company.representative.ja
    assert company.contact.phone == "+81-3-5275-6121"
    assert company.contact.department.ja.endswith("経営管理部")
    assert company.privacy_officer.department.en == "Business Management Department"
    assert company.timezone == "Asia/Tokyo"
    hours = company.business_hours
    assert (hours.open, hours.close, hours.weekdays) == ("09:00", "18:00", [0, 1, 2, 3, 4])
    assert hours.year_end_closure
    assert company.holidays
    assert {day.year for day in company.holidays} >= {2026, 2027}


def test_legal_bases_and_flags(example: Policy) -> None:
    purposes = {p.key: p for p in example.purposes}
    assert purposes["email_delivery"].legal_basis is LegalBasis.CONSENT
    assert purposes["personalization"].legal_basis is LegalBasis.CONSENT
    assert purposes["personalization"].profiling
    assert purposes["invoicing_payment"].legal_basis is LegalBasis.LEGAL_OBLIGATION
    assert purposes["invoicing_payment"].retention_period >= timedelta(days=7 * 365)
    assert purposes["business_card_promotion"].legal_basis is LegalBasis.LEGITIMATE_INTEREST
    assert purposes["location_service"].retention_period <= timedelta(days=90)
    for key in ("partner_information", "exhibitor_introduction"):
        assert purposes[key].third_party_provision, key
        assert purposes[key].legal_basis is LegalBasis.CONSENT, key
    provided = {p.key for p in example.purposes if p.third_party_provision}
    assert provided == {"partner_information", "exhibitor_introduction"}


def test_statistics_purposes_do_not_use_direct_identifiers(example: Policy) -> None:
    # "Information is handled only as statistical data, and we never publicize
    #  individual names"
    identifiers = {"user.name", "user.name.kana", "user.contact.email", "user.contact.phone_number"}
    for key in ("service_improvement", "research_publication", "usage_analysis"):
        used = set(next(p for p in example.purposes if p.key == key).categories)
        assert not used & identifiers, key


def test_location_and_inventory_are_categories(example: Policy) -> None:
    categories = {c.key: c for c in example.data_categories}
    for key in ("user.device.inventory", "user.location.precise", "user.location.imprecise"):
        assert key in categories
    location = next(p for p in example.purposes if p.key == "location_service")
    assert {"user.device.inventory", "user.location.precise"} <= set(location.categories)


def test_lookup_categories_are_email_and_phone(example: Policy) -> None:
    lookups = {c.key for c in example.data_categories if c.lookup}
    assert lookups == {"user.contact.email", "user.contact.phone_number"}


def test_special_care_data_only_under_consent(example: Policy) -> None:
    special = {c.key for c in example.data_categories if c.special_care}
    assert special
    for item in example.purposes:
        if special & set(item.categories):
            assert item.legal_basis is LegalBasis.CONSENT, item.key


def test_japanese_address_categories(example: Policy) -> None:
    categories = {c.key: c for c in example.data_categories}
    assert categories["user.contact.address.postal_code"].validator.value == "postal_code"
    assert categories["user.contact.address.prefecture"].validator.value == "prefecture"
    assert categories["user.contact.address.prefecture"].extends == "user.contact.address"
    assert categories["user.name.kana"].validator.value == "kana"
    assert categories["user.contact.organization.division"].extends == "user.contact.organization"


def test_subject_kinds(example: Policy) -> None:
    assert {k.key for k in example.subject_kinds} == {
        "customer",
        "member",
        "prospect",
        "attendee",
        "subscriber",
        "research_participant",
        "prize_entrant",
        "inquirer",
    }


def test_privacy_officer_may_do_everything(example: Policy) -> None:
    officer = next(r for r in example.roles if r.key == "privacy_officer")
    assert officer.privileged
    assert officer.auditor
    allowed = {p for permission in officer.permissions for p in permission.purposes}
    assert allowed == {p.key for p in example.purposes} | set(SYSTEM_PURPOSES)
    actions = {a for permission in officer.permissions for a in permission.actions}
    assert actions == set(Action)


def test_roles(example: Policy) -> None:
    roles = {r.key: r for r in example.roles}
    assert set(roles) == {
        "privacy_officer",
        "sales",
        "support",
        "marketing",
        "accounting",
        "auditor",
        "admin",
        "integration",
    }
    assert roles["auditor"].auditor
    assert not roles["auditor"].permissions
    assert roles["admin"].admin
    assert roles["admin"].privileged
    assert not roles["admin"].permissions
    marketing = {a for p in roles["marketing"].permissions for a in p.actions}
    assert marketing == {Action.READ, Action.EXPORT}
    integration = {a for p in roles["integration"].permissions for a in p.actions}
    assert integration == {Action.WRITE}
    for key, role in roles.items():
        if key != "privacy_officer":
            assert all(Action.PROVIDE not in p.actions for p in role.permissions), key


def test_only_reserved_mail_domains_appear() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for address in re.findall(r"[\w.+-]+@[\w.-]+", text):
        assert address.endswith(("example.com", "example.jp")), address
