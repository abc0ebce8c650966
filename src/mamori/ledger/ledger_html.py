"""The ledger and the records of processing as printable HTML pages.

Like the disclosure report (``dsr/report_html.py``): one page, no script, no
external resource, an inline print style for A4 (landscape for the ledger's
many columns), tables a screen reader can follow. Every text is escaped by
Jinja2's autoescape, since policy texts are whatever someone typed into a
file. The ledger is printed in both languages at once; the records of
processing in English (GDPR) or Japanese.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mamori.errors import ValidationFailed
from mamori.ledger.ledger import HEADERS
from mamori.templating import environment

LANGUAGES = ("en", "ja")
TEMPLATES = Path(__file__).parent / "templates"

ROPA_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Records of processing activities (GDPR Art. 30)",
        "generated_at": "Prepared at",
        "controller": "Controller",
        "name": "Name",
        "address": "Address",
        "representative": "Representative",
        "privacy_officer": "Privacy officer",
        "contact": "Contact",
        "activities": "Processing activities",
        "purposes": "Purposes of the processing",
        "legal_basis": "Legal basis",
        "data_subjects": "Categories of data subjects",
        "data_categories": "Categories of personal data",
        "recipients": "Categories of recipients",
        "transfers": "Transfers to third countries and safeguards",
        "retention": "Time limit for erasure",
        "retention_duty": "Duty to retain",
        "security": "Technical and organisational security measures",
        "none": "None",
        "country": "Country",
        "system": "The country's system",
        "measures": "Safeguards",
    },
    "ja": {
        "title": "処理活動の記録（GDPR 第30条）",
        "generated_at": "作成日時",
        "controller": "管理者",
        "name": "名称",
        "address": "住所",
        "representative": "代表者",
        "privacy_officer": "個人情報保護管理者",
        "contact": "お問い合わせ窓口",
        "activities": "処理活動",
        "purposes": "処理の目的",
        "legal_basis": "法的根拠",
        "data_subjects": "データ主体の区分",
        "data_categories": "個人データの区分",
        "recipients": "取得者の区分",
        "transfers": "第三国への移転と保護措置",
        "retention": "消去の期限",
        "retention_duty": "保存義務",
        "security": "技術的・組織的な安全管理措置",
        "none": "なし",
        "country": "国",
        "system": "当該国の制度",
        "measures": "保護措置",
    },
}


def render_ledger(ledger: Mapping[str, Any]) -> str:
    """The ledger page, headers and texts in Japanese and English."""
    template = environment(TEMPLATES).get_template("ledger.html")
    return template.render(l=ledger, headers=HEADERS)


def render_ropa(records: Mapping[str, Any], language: str = "en") -> str:
    """The records of processing in ``language`` (English unless Japanese is asked for)."""
    if language not in LANGUAGES:
        raise ValidationFailed(
            f"the records are written in {' or '.join(LANGUAGES)}, not in the language asked for",
            code="language_unsupported",
        )

    def text(value: Mapping[str, str] | None) -> str:
        return value[language] if value else ""

    template = environment(TEMPLATES).get_template("ropa.html")
    return template.render(r=records, lang=language, t=ROPA_LABELS[language], text=text)
