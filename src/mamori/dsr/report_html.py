"""The disclosure report as one printable HTML page, in Japanese or English.

The page is what a requester reads, prints or files: no script, no external
resource, an inline print style for A4, a heading per section and tables a
screen reader can follow. Every value is escaped by Jinja2's autoescape, since
values are whatever a person or a form once typed. Times are shown in the
company's time zone and keep their stored UTC form in ``<time datetime>``;
retention periods keep theirs in ``<data value>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from mamori.db.base import from_utc_text
from mamori.errors import ValidationFailed
from mamori.templating import environment

LANGUAGES = ("ja", "en")
TEMPLATES = Path(__file__).parent / "templates"
_PERIOD = re.compile(r"^P(?:(?P<y>\d+)Y)?(?:(?P<m>\d+)M)?(?:(?P<d>\d+)D)?$")

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "disclosure": "保有個人データの開示",
        "notification": "利用目的の通知",
        "lead_disclosure": "ご請求に基づき、当社が保有するあなたの個人データを以下のとおり開示します。",
        "lead_notification": "ご請求に基づき、当社があなたの個人データを利用する目的を以下のとおり通知します。",
        "generated_at": "作成日時",
        "notice": "適用されるプライバシーポリシーの版",
        "notice_version": "版",
        "notice_at_collection": "取得時のポリシーの版",
        "effective_at": "施行日時",
        "company": "個人情報取扱事業者",
        "company_name": "名称",
        "address": "住所",
        "representative": "代表者",
        "privacy_officer": "個人情報保護管理者",
        "contact": "お問い合わせ窓口",
        "phone": "電話番号",
        "email": "メールアドレス",
        "subject": "ご本人",
        "ref": "参照番号",
        "kind": "区分",
        "channel": "取得経路",
        "created_at": "登録日時",
        "suspended": "利用停止中の目的",
        "erased": "消去済み",
        "values": "保有個人データ",
        "category": "項目",
        "value": "内容",
        "collected_at": "取得日時",
        "history": "訂正前の内容",
        "replaced_at": "訂正日時",
        "no_values": "保有している個人データはありません。",
        "purposes": "利用目的",
        "description": "説明",
        "legal_basis": "法的根拠",
        "retention": "保存期間",
        "retention_duty": "保存義務",
        "third_party_provision": "第三者提供",
        "announced_by": "公表した取得経路",
        "consent": "同意",
        "categories": "対象となる項目",
        "use_suspended": "利用停止",
        "no_purposes": "現在、あなたの個人データを利用している目的はありません。",
        "consents": "同意の履歴",
        "at": "日時",
        "purpose": "目的",
        "state": "状態",
        "explicit": "明示的な同意",
        "actor": "記録者",
        "evidence": "記録内容",
        "no_consents": "同意の記録はありません。",
        "provisions": "第三者提供の記録",
        "no_provisions": "第三者に提供した記録はありません。",
        "recipient": "提供先",
        "recipient_kind": "提供先の区分",
        "country": "提供先の国",
        "basis": "提供の根拠",
        "exception_code": "法令上の例外（第27条第1項）",
        "consent_at": "同意の日時",
        "basis_consent": "ご本人の同意",
        "basis_joint_use": "共同利用",
        "basis_exception": "法令に基づく例外",
        "receipts": "第三者から受け取った記録",
        "no_receipts": "第三者から受け取った記録はありません。",
        "provider": "提供元",
        "obtained_how": "提供元による取得の経緯",
        "yes": "はい",
        "no": "いいえ",
        "none": "なし",
        "all_purposes": "すべての目的",
        "granted": "同意",
        "withdrawn": "撤回",
        "years": "年",
        "months": "か月",
        "days": "日",
        "consent_basis": "ご本人の同意",
        "contract_basis": "契約の履行",
        "legal_obligation_basis": "法令上の義務",
        "legitimate_interest_basis": "正当な利益",
    },
    "en": {
        "disclosure": "Disclosure of held personal data",
        "notification": "Notification of purposes of use",
        "lead_disclosure": "As you requested, we disclose below the personal data we hold about you.",
        "lead_notification": "As you requested, we notify you below of the purposes for which we use your personal data.",
        "generated_at": "Prepared at",
        "notice": "Privacy notice version in force",
        "notice_version": "Version",
        "notice_at_collection": "Notice version at collection",
        "effective_at": "In force since",
        "company": "Business operator",
        "company_name": "Name",
        "address": "Address",
        "representative": "Representative",
        "privacy_officer": "Privacy officer",
        "contact": "Contact",
        "phone": "Phone",
        "email": "E-mail",
        "subject": "You",
        "ref": "Reference",
        "kind": "Kind",
        "channel": "Collected through",
        "created_at": "Registered at",
        "suspended": "Purposes whose use is suspended",
        "erased": "Erased",
        "values": "Personal data held",
        "category": "Item",
        "value": "Value",
        "collected_at": "Collected at",
        "history": "Before correction",
        "replaced_at": "Corrected at",
        "no_values": "We hold no personal data about you.",
        "purposes": "Purposes of use",
        "description": "Description",
        "legal_basis": "Legal basis",
        "retention": "Retention",
        "retention_duty": "Duty to retain",
        "third_party_provision": "Provision to third parties",
        "announced_by": "Announced at collection through",
        "consent": "Consent",
        "categories": "Items concerned",
        "use_suspended": "Use suspended",
        "no_purposes": "We use your personal data for no purpose at present.",
        "consents": "Consent history",
        "at": "At",
        "purpose": "Purpose",
        "state": "State",
        "explicit": "Explicit consent",
        "actor": "Recorded by",
        "evidence": "Record",
        "no_consents": "There are no consent records.",
        "provisions": "Records of provision to third parties",
        "no_provisions": "There are no records of provision to third parties.",
        "recipient": "Recipient",
        "recipient_kind": "Kind of recipient",
        "country": "Recipient's country",
        "basis": "Basis of the provision",
        "exception_code": "Legal exception (Art. 27(1))",
        "consent_at": "Consent given at",
        "basis_consent": "Your consent",
        "basis_joint_use": "Joint use",
        "basis_exception": "An exception under the law",
        "receipts": "Records of data received from third parties",
        "no_receipts": "There are no records of data received from third parties.",
        "provider": "Provided by",
        "obtained_how": "How the provider obtained it",
        "yes": "Yes",
        "no": "No",
        "none": "None",
        "all_purposes": "All purposes",
        "granted": "Granted",
        "withdrawn": "Withdrawn",
        "years": " years",
        "months": " months",
        "days": " days",
        "consent_basis": "Your consent",
        "contract_basis": "Performance of a contract",
        "legal_obligation_basis": "Legal obligation",
        "legitimate_interest_basis": "Legitimate interest",
    },
}


def render(report: Mapping[str, Any], language: str) -> str:
    """The page for ``report`` in ``language``; times shown in the company's time zone."""
    if language not in LANGUAGES:
        raise ValidationFailed(
            f"a report is written in {' or '.join(LANGUAGES)}, not in the language asked for",
            code="language_unsupported",
        )
    template = environment(TEMPLATES).get_template("report.html")
    return template.render(
        r=report,
        lang=language,
        t=LABELS[language],
        zone=ZoneInfo(report["company"].get("timezone") or "Asia/Tokyo"),
        **_helpers(language),
    )


def _helpers(language: str) -> dict[str, Any]:
    labels = LABELS[language]

    def text(value: Mapping[str, str] | None, fallback: str = "") -> str:
        """A ja/en text in the page's language, or the key it belongs to."""
        return value[language] if value else fallback

    def when(value: str | None, zone: ZoneInfo) -> Markup:
        return _moment(value, zone) if value else escape(labels["none"])

    def period(value: str) -> Markup:
        return Markup('<data value="{}">{}</data>').format(value, _period(value, labels))

    def yes_no(value: bool) -> str:
        return labels["yes"] if value else labels["no"]

    def evidence(value: Mapping[str, Any]) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""

    return {"text": text, "when": when, "period": period, "yes_no": yes_no, "evidence": evidence}


@lru_cache(maxsize=4096)
def _moment(value: str, zone: ZoneInfo) -> Markup:
    """A stored UTC time as the company's local time; a report repeats the same few."""
    shown = from_utc_text(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return Markup('<time datetime="{}">{}</time>').format(value, shown)


def _period(value: str, labels: Mapping[str, str]) -> str:
    """An ISO-8601 period of years, months and days in plain words."""
    match = _PERIOD.match(value)
    if not match:
        return value
    parts = [
        f"{int(n)}{labels[unit]}"
        for unit, n in zip(("years", "months", "days"), match.groups(), strict=True)
        if n
    ]
    return " ".join(parts) or value
