"""The policy loader: every problem found, with its line and a plain sentence."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.errors import PolicyError
from mamori.policy.loader import (
    Problem,
    check_policy_file,
    check_policy_text,
    load_policy,
    policy_digest,
)
from mamori.policy.schemas import Policy
from mamori.policy.taxonomy import fideslang_categories, fideslang_data_uses


def _text(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


MINIMAL: dict[str, Any] = {
    "version": 1,
    "company": {
        "name": _text("例株式会社", "Example Corporation"),
        "address": _text("東京都千代田区", "Chiyoda-ku, Tokyo"),
        "representative": _text("代表取締役 例 太郎", "Taro Rei, President"),
        "privacy_officer": {
            "name": _text("管理部長", "Head of Administration"),
            "department": _text("管理部", "Administration"),
        },
        "contact": {
            "department": _text("管理部", "Administration"),
            "phone": "+81-3-0000-0000",
            "email": "privacy@example.jp",
        },
        "timezone": "Asia/Tokyo",
        "business_hours": {"open": "09:00", "close": "18:00"},
        "holidays": ["2026-06-01"],
    },
    "subject_kinds": [{"key": "customer", "title": _text("お客様", "Customer")}],
    "data_categories": [
        {"key": "user.name", "title": _text("氏名", "Name")},
        {
            "key": "user.contact.email",
            "title": _text("メールアドレス", "E-mail address"),
            "validator": "email",
            "lookup": True,
        },
        {
            "key": "user.name.kana",
            "extends": "user.name",
            "title": _text("フリガナ", "Name in kana"),
            "validator": "kana",
        },
        {
            "key": "user.health_and_medical",
            "title": _text("健康情報", "Health"),
            "special_care": True,
        },
    ],
    "purposes": [
        {
            "key": "newsletter",
            "title": _text("メール配信", "Newsletter"),
            "description": _text("メールをお送りします。", "We send you e-mails."),
            "legal_basis": "consent",
            "data_use": "marketing.communications.email",
            "categories": ["user.name", "user.contact.email"],
            "retention": "P3Y",
        },
        {
            "key": "delivery",
            "title": _text("お届け", "Delivery"),
            "description": _text("製品をお届けします。", "We deliver products."),
            "legal_basis": "contract",
            "data_use": "essential.service",
            "categories": ["user.name", "user.name.kana"],
            "retention": "P5Y",
        },
    ],
    "channels": [
        {
            "key": "signup",
            "title": _text("申込み", "Sign-up"),
            "subject_kind": "customer",
            "purposes": ["newsletter", "delivery"],
        }
    ],
    "roles": [
        {
            "key": "marketing",
            "title": _text("マーケティング", "Marketing"),
            "permissions": [
                {"purposes": ["newsletter", "dsr.disclosure"], "actions": ["read", "export"]}
            ],
        }
    ],
}


def policy(**changes: Any) -> dict[str, Any]:
    """A deep copy of MINIMAL; ``changes`` replace top-level sections."""
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def dump(data: object) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line that is ``needle``, indentation aside."""
    lines = enumerate(text.splitlines(), 1)
    hits = [number for number, line in lines if line.strip() == needle.strip()]
    assert len(hits) >= nth, f"{needle!r} found {len(hits)} times"
    return hits[nth - 1]


def problems_of(data: object) -> tuple[str, list[Problem]]:
    text = dump(data)
    found, problems = check_policy_text(text)
    assert found is None
    assert problems
    return text, problems


def only_problem(data: object) -> tuple[str, Problem]:
    text, problems = problems_of(data)
    assert len(problems) == 1, [str(p) for p in problems]
    return text, problems[0]


# --- valid input --------------------------------------------------------------


def test_minimal_policy_is_valid() -> None:
    found, problems = check_policy_text(dump(MINIMAL))
    assert problems == []
    assert isinstance(found, Policy)
    assert [p.key for p in found.purposes] == ["newsletter", "delivery"]


def test_a_role_may_name_system_purposes() -> None:
    found, _ = check_policy_text(dump(MINIMAL))
    assert found is not None
    assert "dsr.disclosure" in found.roles[0].permissions[0].purposes


def test_an_extension_may_extend_a_declared_extension() -> None:
    data = policy()
    data["data_categories"].append(
        {
            "key": "user.name.kana.family",
            "extends": "user.name.kana",
            "title": _text("姓（フリガナ）", "Family name in kana"),
        }
    )
    assert check_policy_text(dump(data))[1] == []


def test_special_care_data_is_fine_under_consent() -> None:
    data = policy()
    data["purposes"][0]["categories"].append("user.health_and_medical")
    assert check_policy_text(dump(data))[1] == []


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + dump(MINIMAL).encode())
    assert check_policy_file(path)[1] == []


# --- shape problems, translated -----------------------------------------------


def test_missing_english_description_names_the_purpose() -> None:
    data = policy()
    del data["purposes"][0]["description"]["en"]
    text, problem = only_problem(data)
    assert problem.message == "purpose 'newsletter' has no English description"
    assert problem.path == "purposes[0].description.en"
    # The field is absent: the line is that of its parent, "description:".
    assert problem.line == line_of(text, "description:")


def test_missing_field_points_at_the_item() -> None:
    data = policy()
    del data["purposes"][1]["legal_basis"]
    text, problem = only_problem(data)
    assert problem.message == "purpose 'delivery' has no field 'legal_basis'"
    assert problem.line == line_of(text, "- key: delivery")


def test_missing_section_is_named() -> None:
    data = policy()
    del data["roles"]
    _, problem = only_problem(data)
    assert problem.message == "the policy has no 'roles' section"
    assert problem.line == 1


def test_unknown_field_is_named_with_a_suggestion() -> None:
    text = dump(MINIMAL).replace("  purposes:\n  - newsletter", "  purpse:\n  - newsletter")
    found, problems = check_policy_text(text)
    assert found is None
    unknown = [p for p in problems if "unknown field" in p.message]
    assert len(unknown) == 1
    assert unknown[0].message == (
        "channel 'signup' has an unknown field 'purpse' (did you mean 'purposes'?)"
    )
    assert unknown[0].line == line_of(text, "purpse:")
    assert any(p.message == "channel 'signup' has no field 'purposes'" for p in problems)


def test_unknown_field_without_a_close_match_lists_the_allowed_ones() -> None:
    data = policy()
    data["subject_kinds"][0]["colour"] = "blue"
    _, problem = only_problem(data)
    assert problem.message == (
        "subject kind 'customer' has an unknown field 'colour' (allowed here: key, title)"
    )


def test_wrong_legal_basis_lists_the_choices() -> None:
    data = policy()
    data["purposes"][0]["legal_basis"] = "contrct"
    text, problem = only_problem(data)
    assert problem.message == (
        "purpose 'newsletter': field 'legal_basis' must be one of consent, contract, "
        "legal_obligation, legitimate_interest (found 'contrct')"
    )
    assert problem.line == line_of(text, "legal_basis: contrct")


def test_wrong_action_in_a_permission() -> None:
    data = policy()
    data["roles"][0]["permissions"][0]["actions"] = ["read", "delete"]
    text, problem = only_problem(data)
    assert problem.path == "roles[0].permissions[0].actions[1]"
    assert "must be one of read, write, export, provide" in problem.message
    assert problem.line == line_of(text, "- delete")


def test_key_with_capitals_is_explained() -> None:
    data = policy()
    data["purposes"][0]["key"] = "News Letter"
    _, problem = only_problem(data)
    assert "must be a key of lower-case letters" in problem.message
    assert "'News Letter'" in problem.message


def test_retention_that_is_not_a_period() -> None:
    data = policy()
    data["purposes"][0]["retention"] = "3 years"
    text, problem = only_problem(data)
    assert problem.message == (
        "purpose 'newsletter': field 'retention' '3 years' is not a period like P3Y, P6M or P90D"
    )
    assert problem.line == line_of(text, "retention: 3 years")


def test_absurd_retention_is_reported_not_raised() -> None:
    data = policy()
    data["purposes"][1]["retention"] = "P99999999999Y"
    text, problem = only_problem(data)
    assert problem.path == "purposes[1].retention"
    assert "longer than the 200 years" in problem.message
    assert problem.line == line_of(text, "retention: P99999999999Y")


def test_unquoted_closing_time_gets_a_hint() -> None:
    text = dump(MINIMAL).replace("close: '18:00'", "close: 18:00")
    found, problems = check_policy_text(text)
    assert found is None
    assert len(problems) == 1
    assert "must be a time in quotes like '18:00'" in problems[0].message
    assert problems[0].line == line_of(text, "close: 18:00")


def test_impossible_date_is_reported_at_its_line() -> None:
    text = dump(MINIMAL).replace("- '2026-06-01'", "- 2026-02-30")
    _, problems = check_policy_text(text)
    assert len(problems) == 1
    assert problems[0].path == "company.holidays[0]"
    assert "must be a date like 2026-06-01 (found '2026-02-30')" in problems[0].message
    assert problems[0].line == line_of(text, "- 2026-02-30")


def test_missing_text_block_names_both_languages() -> None:
    data = policy()
    del data["company"]["representative"]
    _, problem = only_problem(data)
    assert problem.message == (
        "the company has no representative (a Japanese 'ja' and an English 'en' text)"
    )


def test_a_text_given_as_a_string_asks_for_both_languages() -> None:
    data = policy()
    data["subject_kinds"][0]["title"] = "Customer"
    _, problem = only_problem(data)
    assert problem.message == (
        "subject kind 'customer': field 'title' must have a Japanese 'ja' and an English "
        "'en' text (found 'Customer')"
    )


def test_weekday_out_of_range() -> None:
    data = policy()
    data["company"]["business_hours"]["weekdays"] = [0, 7]
    _, problem = only_problem(data)
    assert problem.path == "company.business_hours.weekdays[1]"
    assert "at most 6 (weekdays go from 0 for Monday to 6 for Sunday)" in problem.message


# --- hand-written files with exact lines -------------------------------------

HAND_WRITTEN = """\
version: 1
company:
  name: {ja: 例株式会社, en: Example Corporation}
  address: {ja: 東京都千代田区, en: Tokyo}
  representative: {ja: 例 太郎, en: Taro Rei}
  privacy_officer:
    name: {ja: 管理部長, en: Head of Administration}
    department: {ja: 管理部, en: Administration}
  contact:
    department: {ja: 管理部, en: Administration}
    phone: '+81-3-0000-0000'
subject_kinds:
  - key: customer
    title: {ja: お客様, en: Customer}
data_categories:
  - key: user.name
    title: {ja: 氏名, en: Name}
purposes:
  - key: delivery
    title: {ja: お届け, en: Delivery}
    description: {ja: お届けします。, en: We deliver.}
    legal_basis: contract
    data_use: essential.service
    categories: [user.name, user.contact.email]
    retention: P5Y
channels:
  - key: shop
    title: {ja: ショップ, en: Shop}
    subject_kind: customer
    purposes: [delivery, newsletter]
roles:
  - key: sales
    title: {ja: 営業, en: Sales}
    permissions:
      - purposes: [delivery]
        actions: [read]
"""


def test_hand_written_file_reports_exact_lines() -> None:
    found, problems = check_policy_text(HAND_WRITTEN)
    assert found is None
    assert [(p.line, p.path) for p in problems] == [
        (24, "purposes[0].categories[1]"),
        (30, "channels[0].purposes[1]"),
    ]
    assert "uses category 'user.contact.email', which is not declared" in problems[0].message
    assert "announces purpose 'newsletter', which is not declared" in problems[1].message


def test_hand_written_file_missing_english_title() -> None:
    text = HAND_WRITTEN.replace("title: {ja: お届け, en: Delivery}", "title: {ja: お届け}")
    _, problems = check_policy_text(text)
    assert [(p.line, p.message) for p in problems] == [
        (20, "purpose 'delivery' has no English title")
    ]


def test_problem_renders_line_path_and_message() -> None:
    problem = Problem(12, "purposes[3].categories[1]", "something is wrong")
    assert str(problem) == "line 12: purposes[3].categories[1]: something is wrong"
    assert str(Problem(None, "", "cannot read")) == "cannot read"
    assert problem.to_dict() == {
        "line": 12,
        "path": "purposes[3].categories[1]",
        "message": "something is wrong",
    }


# --- cross-references ---------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "noun"),
    [
        ("purposes", "purpose"),
        ("data_categories", "category"),
        ("channels", "channel"),
        ("roles", "role"),
        ("subject_kinds", "subject kind"),
    ],
)
def test_duplicate_keys(section: str, noun: str) -> None:
    data = policy()
    first = data[section][0]
    data[section].append(copy.deepcopy(first))
    text, problems = problems_of(data)
    duplicate = [p for p in problems if "declared twice" in p.message]
    assert len(duplicate) == 1, [str(p) for p in problems]
    index = len(data[section]) - 1
    assert duplicate[0].path == f"{section}[{index}].key"
    assert duplicate[0].message.startswith(f"{noun} key '{first['key']}' is declared twice")
    assert duplicate[0].line == line_of(text, f"- key: {first['key']}", nth=2)


def test_system_purpose_key_is_reserved() -> None:
    data = policy()
    data["purposes"][1]["key"] = "dsr.erasure"
    data["channels"][0]["purposes"] = ["newsletter"]
    _, problem = only_problem(data)
    assert problem.message == "purpose key 'dsr.erasure' is reserved for a system purpose"


def test_undeclared_category_in_purpose() -> None:
    data = policy()
    data["purposes"][0]["categories"].append("user.contact.phone_number")
    text, problem = only_problem(data)
    assert problem.path == "purposes[0].categories[2]"
    assert problem.message.startswith(
        "purpose 'newsletter' uses category 'user.contact.phone_number', which is not "
        "declared under data_categories"
    )
    assert problem.line == line_of(text, "- user.contact.phone_number")


def test_category_listed_twice_in_purpose() -> None:
    data = policy()
    data["purposes"][0]["categories"].append("user.name")
    _, problem = only_problem(data)
    assert problem.message == "purpose 'newsletter' lists category 'user.name' twice"


def test_unknown_data_use() -> None:
    data = policy()
    data["purposes"][0]["data_use"] = "marketing.newsletter"
    text, problem = only_problem(data)
    assert problem.path == "purposes[0].data_use"
    assert "data_use 'marketing.newsletter' is not a fideslang data use" in problem.message
    assert problem.line == line_of(text, "data_use: marketing.newsletter")


def test_category_outside_fideslang_needs_extends() -> None:
    data = policy()
    del data["data_categories"][2]["extends"]
    text, problem = only_problem(data)
    assert problem.path == "data_categories[2].key"
    assert "'user.name.kana' is not in the fideslang taxonomy" in problem.message
    assert "extends" in problem.message
    assert problem.line == line_of(text, "- key: user.name.kana")


def test_fideslang_category_must_not_extend() -> None:
    data = policy()
    data["data_categories"][0]["extends"] = "user"
    text, problem = only_problem(data)
    assert problem.message == (
        "category 'user.name' is a fideslang category and must not declare 'extends'"
    )
    assert problem.line == line_of(text, "extends: user", nth=1)


def test_extension_of_unknown_parent() -> None:
    data = policy()
    data["data_categories"][2].update(key="user.nickname.kana", extends="user.nickname")
    data["purposes"][1]["categories"] = ["user.name"]
    _, problem = only_problem(data)
    assert problem.path == "data_categories[2].extends"
    assert "extends 'user.nickname', which is neither a fideslang category" in problem.message


def test_extension_key_must_start_with_its_parent() -> None:
    data = policy()
    data["data_categories"][2].update(key="user.kana", extends="user.name")
    data["purposes"][1]["categories"] = ["user.name"]
    _, problem = only_problem(data)
    assert problem.message == (
        "category 'user.kana' extends 'user.name', so its key must start with 'user.name.'"
    )


def test_channel_with_unknown_purpose_and_subject_kind() -> None:
    data = policy()
    data["channels"][0]["subject_kind"] = "customers"
    data["channels"][0]["purposes"] = ["newsleter"]
    text, problems = problems_of(data)
    assert [p.path for p in problems] == ["channels[0].subject_kind", "channels[0].purposes[0]"]
    assert problems[0].message == (
        "channel 'signup' collects from subject kind 'customers', which is not declared "
        "under subject_kinds (did you mean 'customer'?)"
    )
    assert problems[1].message == (
        "channel 'signup' announces purpose 'newsleter', which is not declared under "
        "purposes (did you mean 'newsletter'?)"
    )
    assert problems[1].line == line_of(text, "- newsleter")


def test_channel_may_not_announce_a_system_purpose() -> None:
    data = policy()
    data["channels"][0]["purposes"] = ["dsr.disclosure"]
    _, problem = only_problem(data)
    assert "announces purpose 'dsr.disclosure'" in problem.message


def test_role_with_unknown_purpose() -> None:
    data = policy()
    data["roles"][0]["permissions"][0]["purposes"].append("marketing_mail")
    text, problem = only_problem(data)
    assert problem.path == "roles[0].permissions[0].purposes[2]"
    assert problem.message.startswith(
        "role 'marketing' is allowed purpose 'marketing_mail', which is neither declared "
        "under purposes nor a system purpose"
    )
    assert problem.line == line_of(text, "- marketing_mail")


def test_provision_to_third_parties_on_a_contract() -> None:
    data = policy()
    data["purposes"][1]["third_party_provision"] = True
    text, problem = only_problem(data)
    assert problem.path == "purposes[1].legal_basis"
    assert problem.message.startswith(
        "purpose 'delivery' provides data to third parties but rests on a contract"
    )
    assert problem.line == line_of(text, "legal_basis: contract")


def test_special_care_category_without_consent() -> None:
    data = policy()
    data["purposes"][1]["categories"].append("user.health_and_medical")
    text, problem = only_problem(data)
    assert problem.path == "purposes[1].categories[2]"
    assert problem.message.startswith(
        "purpose 'delivery' uses special-care category 'user.health_and_medical' but "
        "rests on contract"
    )
    assert problem.line == line_of(text, "- user.health_and_medical")


def test_health_category_must_be_marked_special_care() -> None:
    data = policy()
    data["data_categories"][3]["special_care"] = False
    _, problem = only_problem(data)
    assert "special-care personal information" in problem.message
    assert "special_care: true" in problem.message


def test_lookup_needs_email_or_phone_validator() -> None:
    data = policy()
    data["data_categories"][0]["lookup"] = True
    text, problem = only_problem(data)
    assert problem.path == "data_categories[0].lookup"
    assert problem.message.startswith(
        "category 'user.name' is marked 'lookup: true' but its validator is 'text'"
    )
    assert problem.line == line_of(text, "lookup: true", nth=1)


def test_duplicated_company_holiday() -> None:
    data = policy()
    data["company"]["holidays"] = ["2026-06-01", "2026-08-13", "2026-06-01"]
    _, problem = only_problem(data)
    assert problem.path == "company.holidays[2]"
    assert problem.message == "company holiday 2026-06-01 is listed twice"


@pytest.mark.parametrize(("opening", "closing"), [("18:00", "09:00"), ("09:00", "09:00")])
def test_business_hours_must_open_before_closing(opening: str, closing: str) -> None:
    data = policy()
    data["company"]["business_hours"] = {"open": opening, "close": closing}
    _, problem = only_problem(data)
    assert problem.path == "company.business_hours.close"
    assert "opening must come before closing" in problem.message


def test_business_hours_must_be_times_of_day() -> None:
    data = policy()
    data["company"]["business_hours"] = {"open": "09:00", "close": "25:00"}
    _, problem = only_problem(data)
    assert problem.message == "business hours '25:00' is not a time of day"


@pytest.mark.parametrize("zone", ["Asia/Tokio", "Tokyo", "", "../etc/passwd", "/etc/localtime"])
def test_invalid_timezone(zone: str) -> None:
    data = policy()
    data["company"]["timezone"] = zone
    _, problem = only_problem(data)
    assert problem.path == "company.timezone"
    assert f"timezone '{zone}' is not a known IANA time zone" in problem.message


def test_every_problem_is_reported_in_line_order() -> None:
    data = policy()
    data["company"]["timezone"] = "Mars/Olympus"
    data["purposes"][0]["categories"].append("user.location.precise")
    data["purposes"][1]["data_use"] = "shipping"
    data["channels"][0]["subject_kind"] = "visitor"
    data["roles"][0]["permissions"][0]["purposes"].append("sales")
    _, problems = problems_of(data)
    assert [p.path for p in problems] == [
        "company.timezone",
        "purposes[0].categories[2]",
        "purposes[1].data_use",
        "channels[0].subject_kind",
        "roles[0].permissions[0].purposes[2]",
    ]
    lines = [p.line for p in problems]
    assert lines == sorted(lines)
    assert None not in lines


def test_every_shape_problem_is_reported() -> None:
    data = policy()
    data["purposes"][0]["legal_basis"] = "maybe"
    del data["purposes"][1]["title"]["ja"]
    data["channels"][0]["purposes"] = "newsletter"
    data["version"] = 0
    _, problems = problems_of(data)
    assert [p.path for p in problems] == [
        "version",
        "purposes[0].legal_basis",
        "purposes[1].title.ja",
        "channels[0].purposes",
    ]
    assert problems[2].message == "purpose 'delivery' has no Japanese title"
    assert problems[3].message.startswith("channel 'signup': field 'purposes' must be a list")


# --- files and YAML -----------------------------------------------------------


def test_yaml_syntax_error_has_its_line() -> None:
    text = "version: 1\ncompany:\n  name: [unclosed\nroles: []\n"
    found, problems = check_policy_text(text)
    assert found is None
    assert len(problems) == 1
    assert problems[0].message.startswith("the file is not valid YAML")
    assert problems[0].line == 4


def test_duplicate_yaml_key_is_reported() -> None:
    text = dump(MINIMAL).replace("version: 1\n", "version: 1\nversion: 2\n")
    _, problems = check_policy_text(text)
    assert [(p.line, p.path) for p in problems] == [(2, "version")]
    assert problems[0].message.startswith("'version' appears twice in the same mapping")


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    found, problems = check_policy_text(text, source="policy.yaml")
    assert found is None
    assert [str(p) for p in problems] == ["policy.yaml is empty; a policy file needs its sections"]


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "a list"), ("just text\n", "a single value")]
)
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    found, problems = check_policy_text(text)
    assert found is None
    assert len(problems) == 1
    assert problems[0].line == 1
    assert problems[0].message.endswith(f"not {kind}")


def test_control_character_is_reported() -> None:
    found, problems = check_policy_text("version: 1\nname: a\x07b\n")
    assert found is None
    assert [p.line for p in problems] == [2]
    assert "#x0007" in problems[0].message


def test_unsafe_yaml_tag_is_refused() -> None:
    found, problems = check_policy_text("version: !!python/object/apply:os.system ['true']\n")
    assert found is None
    assert problems[0].line == 1
    assert "not valid YAML" in problems[0].message


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    found, problems = check_policy_text("a: " + "[" * 5000 + "]" * 5000)
    assert found is None
    assert problems


def test_alias_bomb_is_a_problem_not_a_hang() -> None:
    rows = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for n in range(1, 12):
        previous = chr(ord("a") + n - 1)
        name = chr(ord("a") + n)
        rows.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    found, problems = check_policy_text("\n".join(rows))
    assert found is None
    assert problems


def test_recursive_alias_is_a_problem() -> None:
    found, problems = check_policy_text("purposes: &p [*p]\ncompany: &c {name: *c}\n")
    assert found is None
    assert problems


def test_not_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_bytes("version: 1\ncompany:\n  name: 例\n".encode("shift_jis"))
    found, problems = check_policy_file(path)
    assert found is None
    assert len(problems) == 1
    assert problems[0].line == 3
    assert "is not UTF-8 text" in problems[0].message


@pytest.mark.parametrize("name", ["absent.yaml", "."])
def test_unreadable_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    found, problems = check_policy_file(path)
    assert found is None
    assert len(problems) == 1
    assert problems[0].line is None
    assert problems[0].message.startswith(f"cannot read the policy file {path}")


def test_load_policy_returns_the_policy(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(dump(MINIMAL), encoding="utf-8")
    assert load_policy(path).company.name.en == "Example Corporation"


def test_load_policy_raises_with_every_problem(tmp_path: Path) -> None:
    data = policy()
    data["purposes"][0]["data_use"] = "nothing"
    data["channels"][0]["subject_kind"] = "nobody"
    path = tmp_path / "policy.yaml"
    path.write_text(dump(data), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.message == f"the policy file {path} has 2 problems"
    assert len(caught.value.problems) == 2
    assert caught.value.to_dict()["problems"][0]["path"] == "purposes[0].data_use"


def test_load_policy_counts_one_problem_in_the_singular(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"has 1 problem$"):
        load_policy(tmp_path / "absent.yaml")


def test_digest_is_the_same_for_file_text_and_bytes(tmp_path: Path) -> None:
    text = dump(MINIMAL)
    path = tmp_path / "policy.yaml"
    path.write_bytes(text.encode("utf-8"))
    digest = policy_digest(path)
    assert len(digest) == 64
    assert digest == policy_digest(text) == policy_digest(text.encode("utf-8"))
    assert policy_digest(text + "\n") != digest


def test_taxonomy_keys_come_from_fideslang() -> None:
    assert "user.contact.email" in fideslang_categories()
    assert "user.name.kana" not in fideslang_categories()
    assert "marketing.communications.email" in fideslang_data_uses()
    assert fideslang_categories() is fideslang_categories()


# --- fuzz: no input raises ----------------------------------------------------

_FIELDS = sorted(
    {
        "version", "company", "subject_kinds", "data_categories", "purposes", "channels",
        "roles", "key", "title", "description", "ja", "en", "legal_basis", "data_use",
        "categories", "retention", "extends", "lookup", "validator", "special_care",
        "permissions", "actions", "subject_kind", "business_hours", "open", "close",
        "weekdays", "holidays", "timezone", "name", "address", "representative",
        "privacy_officer", "contact", "department", "phone", "purpse",
    }
)  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.dates(),
    st.text(max_size=12),
    st.sampled_from(
        ["P5Y", "P99999999999Y", "consent", "user.name", "essential.service", "09:00", "read"]
    ),
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(_FIELDS), inner, max_size=6)
    ),
    max_leaves=40,
)
_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@_FUZZ
@given(st.text())
def test_any_text_yields_problems_not_exceptions(text: str) -> None:
    found, problems = check_policy_text(text)
    assert (found is None) == bool(problems)
    assert all(isinstance(p, Problem) for p in problems)


@_FUZZ
@given(st.text(alphabet=":-[]{}&*!|>'\"#%@`,?\n\t abc01.", max_size=80))
def test_yaml_punctuation_yields_problems_not_exceptions(text: str) -> None:
    found, problems = check_policy_text(text)
    assert (found is None) == bool(problems)


@_FUZZ
@given(st.dictionaries(st.sampled_from(_FIELDS), _TREES, max_size=8))
def test_yaml_ish_dicts_yield_problems_not_exceptions(data: dict[str, Any]) -> None:
    found, problems = check_policy_text(dump(data))
    assert found is None
    assert problems
    assert all(isinstance(str(p), str) for p in problems)


@_FUZZ
@given(
    st.sampled_from(["purposes", "data_categories", "channels", "roles", "subject_kinds"]),
    st.sampled_from(_FIELDS),
    _TREES,
)
def test_one_wrong_value_yields_problems_not_exceptions(
    section: str, field: str, value: object
) -> None:
    data = policy()
    data[section][0][field] = value
    found, problems = check_policy_text(dump(data))
    assert (found is None) == bool(problems)
    for problem in problems:
        assert problem.line is not None


@_FUZZ
@given(st.binary(max_size=200))
def test_any_bytes_in_a_file_yield_problems_not_exceptions(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.yaml"
        path.write_bytes(raw)
        found, problems = check_policy_file(path)
    assert found is None
    assert problems


def test_lone_surrogate_is_a_problem() -> None:
    found, problems = check_policy_text("version: 1\nname: \ud800\n")
    assert found is None
    assert len(problems) == 1
