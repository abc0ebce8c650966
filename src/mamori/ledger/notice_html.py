"""The public notice as one page, in Japanese or English, in the house look of the reports.

The page renders exactly the matters ``mamori.ledger.notice.matters`` built,
so the HTML and the JSON form never say different things. No script, no
external resource, an inline style for screens, phones and A4 print. Every
value is escaped by Jinja2's autoescape: titles come from a policy file that
people edit. The style's hash is given for the Content-Security-Policy the
route sends, so the inline style is allowed without ``'unsafe-inline'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mamori.errors import ValidationFailed
from mamori.ledger.notice import LANGUAGES
from mamori.templating import environment

TEMPLATES = Path(__file__).parent / "templates"

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "個人情報の取扱いに関する公表事項",
        "lead": "個人情報の保護に関する法律（第21条、第27条、第28条、第32条）に基づき、以下の事項を公表します。",
        "version": "公表事項の版",
        "effective": "施行日",
        "company": "個人情報取扱事業者",
        "name": "名称",
        "address": "住所",
        "representative": "代表者",
        "privacy_officer": "個人情報保護管理者",
        "purposes": "利用目的",
        "items": "利用する個人データの項目",
        "requests": "開示等のご請求の手続",
        "where": "お申出先",
        "department": "窓口",
        "phone": "電話番号",
        "email": "メールアドレス",
        "hours": "受付時間",
        "identity": "ご本人確認の方法",
        "kinds": "ご請求の種類と手数料",
        "kind": "ご請求の種類",
        "fee": "手数料",
        "due": "回答の目安",
        "security": "安全管理のために講じた措置",
        "joint_use": "共同利用",
        "joint_items": "共同して利用する個人データの項目",
        "joint_users": "共同して利用する者の範囲",
        "joint_purposes": "利用する者の利用目的",
        "responsible": "個人データの管理について責任を有する者",
        "since": "共同利用の開始日",
        "no_joint_use": "個人データの共同利用は行っていません。",
        "provision": "第三者への提供",
        "recipient_kinds": "提供先の種類",
        "recipient_kind": "提供先",
        "provided_for": "提供の目的",
        "no_recipients": "第三者への提供は予定していません。",
        "foreign": "外国にある第三者への提供",
        "country": "国名",
        "system": "当該国の個人情報保護制度",
        "measures": "提供先が講じる措置",
        "entrustment": "取扱いの委託",
        "services": "委託する業務の例",
        "complaints": "苦情のお申出先",
        "accredited_body": "認定個人情報保護団体",
        "not_announced": "この版では公表していません。",
        "none": "なし",
    },
    "en": {
        "title": "Public notice on the handling of personal information",
        "lead": "Under the Act on the Protection of Personal Information (Art. 21, 27, 28 and 32), we announce the following.",
        "version": "Notice version",
        "effective": "In force from",
        "company": "Business operator",
        "name": "Name",
        "address": "Address",
        "representative": "Representative",
        "privacy_officer": "Privacy officer",
        "purposes": "Purposes of use",
        "items": "Personal data used",
        "requests": "How to make a request",
        "where": "Where to ask",
        "department": "Contact",
        "phone": "Phone",
        "email": "E-mail",
        "hours": "Hours",
        "identity": "How we confirm your identity",
        "kinds": "Requests and fees",
        "kind": "Request",
        "fee": "Fee",
        "due": "When we answer",
        "security": "Security measures taken",
        "joint_use": "Joint use",
        "joint_items": "Personal data used jointly",
        "joint_users": "Joint users",
        "joint_purposes": "Their purposes of use",
        "responsible": "Party responsible for managing the data",
        "since": "Joint use since",
        "no_joint_use": "We do not use personal data jointly with others.",
        "provision": "Provision to third parties",
        "recipient_kinds": "Kinds of recipients",
        "recipient_kind": "Recipient",
        "provided_for": "Provided for",
        "no_recipients": "We plan no provision to third parties.",
        "foreign": "Provision to third parties in foreign countries",
        "country": "Country",
        "system": "That country's system for protecting personal information",
        "measures": "Measures the recipient takes",
        "entrustment": "Entrusting the handling",
        "services": "Examples of entrusted services",
        "complaints": "Where to complain",
        "accredited_body": "Accredited personal information protection organization",
        "not_announced": "Not announced in this version.",
        "none": "None",
    },
}


def render(matters: Mapping[str, Any]) -> str:
    """The page for ``matters``, in the language they were built in."""
    lang = matters["lang"]
    if lang not in LANGUAGES:
        raise ValidationFailed(
            f"the notice is published in {' or '.join(LANGUAGES)}", code="language_unsupported"
        )
    template = environment(TEMPLATES).get_template("notice.html")
    return template.render(m=matters, lang=lang, t=LABELS[lang])
