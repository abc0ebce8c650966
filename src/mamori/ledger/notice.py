"""The publicly announced matters (APPI Art. 32(1), Cabinet Order Art. 10), from a notice version.

Everything here is read from the snapshot a published notice version froze,
never from the policy file as it is now: the page of version N must read the
same after version N+1 is published. A version published before the snapshot
carried a section (recipients, joint uses, ...) shows that section as ``None``,
which the page renders as "not announced in this version"; nothing is filled
in from today's policy.

The result is one language-resolved structure, the JSON form of the notice;
the HTML page renders exactly it. It names companies and the company's own
contact, never a data subject.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from mamori.db.base import to_utc_text
from mamori.errors import ValidationFailed
from mamori.policy.schemas import HOME_COUNTRY, MeasureKind, RecipientKind
from mamori.policy.service import Notice

LANGUAGES = ("ja", "en")
Snapshot = Mapping[str, Any]
Pick = Callable[[Mapping[str, str] | None], str | None]

# The requests a person may make (Art. 32(1)(iii), 33-35), in the order the page lists them.
REQUEST_KINDS: dict[str, dict[str, str]] = {
    "disclosure": {
        "ja": "保有個人データの開示（第三者提供記録の開示を含む）",
        "en": "Disclosure of retained personal data (including records of provision to third parties)",
    },
    "notification": {"ja": "利用目的の通知", "en": "Notification of the purposes of use"},
    "correction": {
        "ja": "内容の訂正・追加・削除",
        "en": "Correction, addition or deletion of the content",
    },
    "cessation_of_use": {"ja": "利用の停止", "en": "Cessation of use"},
    "erasure": {"ja": "消去", "en": "Erasure"},
    "cessation_of_provision": {
        "ja": "第三者への提供の停止",
        "en": "Cessation of provision to third parties",
    },
    "inquiry": {"ja": "お問い合わせ", "en": "Inquiries"},
    "complaint": {"ja": "苦情のお申出", "en": "Complaints"},
}
MEASURE_HEADINGS: dict[str, dict[str, str]] = {
    MeasureKind.POLICY: {"ja": "基本方針の策定", "en": "Basic policy"},
    MeasureKind.ORGANIZATIONAL: {
        "ja": "組織的安全管理措置",
        "en": "Organizational security measures",
    },
    MeasureKind.HUMAN: {"ja": "人的安全管理措置", "en": "Human security measures"},
    MeasureKind.PHYSICAL: {"ja": "物理的安全管理措置", "en": "Physical security measures"},
    MeasureKind.TECHNICAL: {"ja": "技術的安全管理措置", "en": "Technical security measures"},
    MeasureKind.EXTERNAL_ENVIRONMENT: {
        "ja": "外的環境の把握",
        "en": "Understanding the external environment",
    },
}
RECIPIENT_KINDS: dict[str, dict[str, str]] = {
    RecipientKind.SUBSIDIARY: {"ja": "当社の子会社", "en": "Our subsidiaries"},
    RecipientKind.ASSOCIATE: {"ja": "当社の関連会社", "en": "Our associate companies"},
    RecipientKind.SALES_PARTNER: {
        "ja": "当社の正規販売パートナー",
        "en": "Our official sales partners",
    },
    RecipientKind.COHOST: {"ja": "イベントの共催者", "en": "Co-hosts of events"},
    RecipientKind.EXHIBITOR: {
        "ja": "セミナー・展示会の出展企業",
        "en": "Exhibitors at seminars and exhibitions",
    },
    RecipientKind.OTHER: {"ja": "その他の第三者", "en": "Other third parties"},
}
COUNTRIES: dict[str, dict[str, str]] = {
    "JP": {"ja": "日本", "en": "Japan"},
    "SG": {"ja": "シンガポール", "en": "Singapore"},
    "US": {"ja": "アメリカ合衆国", "en": "United States"},
    "CN": {"ja": "中華人民共和国", "en": "China"},
    "KR": {"ja": "大韓民国", "en": "Republic of Korea"},
    "TW": {"ja": "台湾", "en": "Taiwan"},
    "GB": {"ja": "英国", "en": "United Kingdom"},
    "DE": {"ja": "ドイツ", "en": "Germany"},
    "IN": {"ja": "インド", "en": "India"},
}
WEEKDAYS = {"ja": "月火水木金土日", "en": ("Monday", "Tuesday", "Wednesday", "Thursday",
                                           "Friday", "Saturday", "Sunday")}  # fmt: skip
SENTENCES: dict[str, dict[str, str]] = {
    "free": {"ja": "無料", "en": "free"},
    "fee": {"ja": "{amount:,}円", "en": "{amount:,} yen"},
    "due": {
        "ja": "ご請求の受付から{days}営業日以内の回答を目標としています。",
        "en": "We aim to answer within {days} business days of receiving your request.",
    },
    "hours": {"ja": "{days} {open}〜{close}", "en": "{days}, {open} to {close}"},
    "closed": {
        "ja": "（祝日、年末年始および当社休業日を除く）",
        "en": " (except national holidays, the year-end and New Year holidays, and our company holidays)",
    },
    "closed_no_year_end": {
        "ja": "（祝日および当社休業日を除く）",
        "en": " (except national holidays and our company holidays)",
    },
    "member_pages": {
        "ja": "Web会員サービスのご登録内容の変更・訂正は、会員専用のウェブページでも受け付けています。",
        "en": "Web members can also change or correct their registration on the members-only web pages.",
    },
    "identity_code": {
        "ja": "ウェブ・メールでのご請求：当社にご登録のメールアドレスに確認コードをお送りし、ご入力いただきます。",
        "en": "Requests on the web or by e-mail: we send a confirmation code to the e-mail address we hold for you, and you enter it.",
    },
    "identity_staff": {
        "ja": "お電話・郵送・ご来社でのご請求：当社にご登録の電話番号への折り返しのお電話、または本人確認書類の確認によります。",
        "en": "Requests by phone, letter or in person: we call you back at the number we hold for you, or check an identity document.",
    },
    "joint_use": {
        "ja": "以下のとおり、個人データを共同して利用します（個人情報保護法第27条第5項第3号）。",
        "en": "We use personal data jointly as follows (APPI Art. 27(5)(iii)).",
    },
    "provision": {
        "ja": "ご本人の同意がある場合、共同利用による場合、または法令に基づく場合等を除き、個人データを第三者に提供しません。当社の子会社、関連会社および正規販売パートナーも第三者にあたります。",
        "en": "We do not provide personal data to third parties except with your consent, under an announced joint use, or where the law allows it. Our subsidiaries, associate companies and official sales partners are third parties too.",
    },
    "entrustment": {
        "ja": "当社は、業務の一部として、信頼できると判断し秘密保持契約を締結した会社に個人情報の取扱いを委託することがあります。この場合も、お客様の個人情報は当社の個人情報保護方針に基づき保護されます。",
        "en": "We may entrust, as part of our business, the handling of personal information to companies that we judge trustworthy and with which we have made a non-disclosure agreement. Your personal information is then protected under our principles for protecting personal information.",
    },
    "complaints": {
        "ja": "個人情報の取扱いに関する苦情は、下記の窓口までお申し出ください。",
        "en": "Please address complaints about our handling of personal information to the contact below.",
    },
}


def matters(notice: Notice, snapshot: Snapshot, lang: str) -> dict[str, Any]:
    """The announced matters of ``notice`` in ``lang``, as JSON-ready data."""
    if lang not in LANGUAGES:
        raise ValidationFailed(
            f"the notice is published in {' or '.join(LANGUAGES)}, not in '{lang[:10]}'",
            code="language_unsupported",
        )

    def pick(text: Mapping[str, str] | None) -> str | None:
        return text[lang] if text else None

    company = snapshot["company"]
    local = ZoneInfo(company.get("timezone") or "Asia/Tokyo")
    effective = notice.effective_at.astimezone(local).date()
    return {
        "lang": lang,
        "version": notice.version,
        "effective_at": to_utc_text(notice.effective_at),
        "effective_date": effective.isoformat(),
        "company": _company(company, pick),
        "purposes": _purposes(snapshot, pick),
        "requests": _requests(snapshot, lang, pick),
        "security_measures": _measures(snapshot.get("security_measures"), lang, pick),
        "joint_uses": _joint_uses(snapshot, lang, pick),
        "provision": _provision(snapshot, lang, pick, effective),
        "entrustment": _entrustment(snapshot.get("processors"), lang, pick, effective),
        "complaints": _complaints(company, lang, pick),
    }


def _company(company: Snapshot, pick: Pick) -> dict[str, Any]:
    officer = company["privacy_officer"]
    return {
        "name": pick(company["name"]),
        "address": pick(company["address"]),
        "representative": pick(company["representative"]),
        "privacy_officer": {
            "name": pick(officer["name"]),
            "department": pick(officer["department"]),
        },
    }


def _purposes(snapshot: Snapshot, pick: Pick) -> list[dict[str, Any]]:
    """Each purpose with the items it uses; an old snapshot without titles shows their keys."""
    titles = {c["key"]: c["title"] for c in snapshot.get("data_categories", [])}
    return [
        {
            "key": p["key"],
            "title": pick(p["title"]),
            "description": pick(p["description"]),
            "categories": [
                {"key": key, "title": pick(titles.get(key)) or key} for key in p["categories"]
            ],
        }
        for p in snapshot["purposes"]
    ]


def _contact(company: Snapshot, lang: str, pick: Pick) -> dict[str, Any]:
    contact = company["contact"]
    return {
        "department": pick(contact["department"]),
        "phone": contact["phone"],
        "email": contact.get("email"),
        "hours": _hours(company.get("business_hours") or {}, lang),
    }


def _hours(hours: Snapshot, lang: str) -> str:
    """The desk's hours in words: "Monday to Friday, 09:00 to 18:00 (except ...)"."""
    names = WEEKDAYS[lang]
    days = sorted(hours.get("weekdays", [0, 1, 2, 3, 4]))
    joiner = "〜" if lang == "ja" else " to "
    suffix = "曜日" if lang == "ja" else ""
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        shown = f"{names[days[0]]}{suffix}{joiner}{names[days[-1]]}{suffix}"
    else:
        shown = ("・" if lang == "ja" else ", ").join(f"{names[d]}{suffix}" for d in days)
    line = SENTENCES["hours"][lang].format(
        days=shown, open=hours.get("open", "09:00"), close=hours.get("close", "18:00")
    )
    closed = "closed" if hours.get("year_end_closure", True) else "closed_no_year_end"
    return line + SENTENCES[closed][lang]


def _requests(snapshot: Snapshot, lang: str, pick: Pick) -> dict[str, Any]:
    """Where and how to ask, the identity check, each kind's fee and the internal target.

    Fees and the target were frozen only from the second snapshot shape on;
    without them the page says they were not announced in that version.
    """
    settings = snapshot.get("requests")
    fees: Mapping[str, int] = settings.get("fees", {}) if settings else {}
    kinds = []
    for kind, title in REQUEST_KINDS.items():
        amount = int(fees.get(kind, 0)) if settings is not None else None
        kinds.append(
            {"kind": kind, "title": title[lang], "fee": amount, "fee_text": _fee(amount, lang)}
        )
    due = settings.get("due_business_days") if settings else None
    return {
        "where": _contact(snapshot["company"], lang, pick),
        "member_pages": SENTENCES["member_pages"][lang],
        "identity": [SENTENCES["identity_code"][lang], SENTENCES["identity_staff"][lang]],
        "kinds": kinds,
        "due_business_days": due,
        "due_text": SENTENCES["due"][lang].format(days=due) if due else None,
    }


def _fee(amount: int | None, lang: str) -> str | None:
    if amount is None:
        return None
    return SENTENCES["fee"][lang].format(amount=amount) if amount else SENTENCES["free"][lang]


def _measures(
    measures: list[Snapshot] | None, lang: str, pick: Pick
) -> list[dict[str, Any]] | None:
    """The measures grouped under the headings of the PPC guidelines, in their order."""
    if measures is None:
        return None
    groups = []
    for kind in MeasureKind:
        items = [pick(m["description"]) for m in measures if m["kind"] == kind.value]
        if items:
            groups.append(
                {"kind": kind.value, "heading": MEASURE_HEADINGS[kind][lang], "items": items}
            )
    return groups


def _party(party: Snapshot, pick: Pick) -> dict[str, Any]:
    return {
        "name": pick(party["name"]),
        "address": pick(party["address"]),
        "representative": pick(party["representative"]),
    }


def _joint_uses(snapshot: Snapshot, lang: str, pick: Pick) -> dict[str, Any] | None:
    """Each joint use with its five items (Art. 27(5)(iii)); the company answers when unset."""
    uses = snapshot.get("joint_uses")
    if uses is None:
        return None
    recipients: dict[str, Snapshot] = {r["key"]: r for r in snapshot.get("recipients", [])}
    titles = {c["key"]: c["title"] for c in snapshot.get("data_categories", [])}
    purposes = {p["key"]: p["title"] for p in snapshot["purposes"]}
    shown = []
    for use in uses:
        responsible = recipients.get(use.get("responsible") or "") or snapshot["company"]
        shown.append(
            {
                "key": use["key"],
                "title": pick(use["title"]),
                "since": use["since"],
                "items": [pick(titles.get(k)) or k for k in use["categories"]],
                "users": [
                    pick(recipients[k]["name"]) if k in recipients else k for k in use["users"]
                ],
                "purposes": [pick(purposes.get(k)) or k for k in use["purposes"]],
                "responsible": _party(responsible, pick),
            }
        )
    return {"statement": SENTENCES["joint_use"][lang], "uses": shown}


def _not_ended(party: Snapshot, on: date, end: str = "until") -> bool:
    """Not ended by the notice's effective date (ISO dates compare as text).

    A party that starts later is announced already: provision and joint use
    must be announced before they begin, not after.
    """
    return (party.get(end) or "9999-12-31") >= on.isoformat()


def _provision(snapshot: Snapshot, lang: str, pick: Pick, on: date) -> dict[str, Any] | None:
    """The kinds of recipients, and the Art. 28 information for each one abroad."""
    recipients = snapshot.get("recipients")
    if recipients is None:
        return None
    purposes = {p["key"]: p["title"] for p in snapshot["purposes"]}
    receiving = [r for r in recipients if r.get("purposes") and _not_ended(r, on)]
    kinds = []
    for kind in RecipientKind:
        members = [r for r in receiving if r["kind"] == kind.value]
        keys = sorted({p for r in members for p in r["purposes"]})
        if members:
            kinds.append(
                {
                    "kind": kind.value,
                    "title": RECIPIENT_KINDS[kind][lang],
                    "purposes": [pick(purposes.get(k)) or k for k in keys],
                }
            )
    processors = [p for p in snapshot.get("processors", []) if _entrusted(p, on)]
    foreign = [_abroad(r, lang, pick) for r in [*receiving, *processors]]
    return {
        "statement": SENTENCES["provision"][lang],
        "recipient_kinds": kinds,
        "foreign": [f for f in foreign if f is not None],
    }


def _abroad(party: Snapshot, lang: str, pick: Pick) -> dict[str, Any] | None:
    country = party.get("country") or HOME_COUNTRY
    if country == HOME_COUNTRY:
        return None
    system = party.get("foreign") or {}
    return {
        "name": pick(party["name"]),
        "country": country,
        "country_name": COUNTRIES.get(country, {}).get(lang, country),
        "system": pick(system.get("system")),
        "measures": pick(system.get("measures")),
    }


def _entrusted(processor: Snapshot, on: date) -> bool:
    return _not_ended(processor, on, end="contract_until")


def _entrustment(
    processors: list[Snapshot] | None, lang: str, pick: Pick, on: date
) -> dict[str, Any]:
    """The policy's sentence on entrustment; the kinds of services when the version froze them.

    A processor whose contract had lapsed by the effective date is not
    listed: hand-over to it is refused until the contract is renewed.
    """
    services: list[str] | None = None
    if processors is not None:
        seen = [pick(p["service"]) for p in processors if _entrusted(p, on)]
        services = [s for i, s in enumerate(seen) if s and s not in seen[:i]]
    return {"statement": SENTENCES["entrustment"][lang], "services": services}


def _complaints(company: Snapshot, lang: str, pick: Pick) -> dict[str, Any]:
    return {
        "statement": SENTENCES["complaints"][lang],
        "contact": _contact(company, lang, pick),
        "accredited_body": pick(company.get("accredited_body")),
    }
