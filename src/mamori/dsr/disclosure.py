"""The disclosure report (APPI Art. 33) and the notification of purposes (Art. 32(2)).

A person may ask what Mamori holds about them. The report answers in one
document: who they are in the registry, every value with where and when it
came from and what it replaced, every purpose their data is used for, their
consent history and the company that answers for it. It is read through the
guard once, with a system purpose and every category the subject holds, and
the vault opens values and their history under that one grant; so building a
report leaves exactly one audit entry, and a refused or unknown subject is
refused the same way every other access is.

The notification of purposes is the same report without values or history.
``render_json`` and ``render_html`` (``mamori.dsr.report_html``) turn a report
into what is handed over.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mamori.consents import service as consents
from mamori.db.base import to_utc_text
from mamori.db.engine import Tx
from mamori.dsr import mail, report_html
from mamori.guard.grant import Grant
from mamori.guard.rules import WILDCARD, Actor
from mamori.guard.service import authorize
from mamori.policy.schemas import Action, LegalBasis, Text
from mamori.recipients import records
from mamori.runtime import Runtime
from mamori.subjects import store
from mamori.subjects.service import load_or_refuse

DISCLOSURE = "dsr.disclosure"
NOTIFICATION = "dsr.notification"

_HISTORY = (
    "SELECT category, sealed, channel, collected_at, notice_version, replaced_at"
    " FROM subject_value_history WHERE subject_id = ? AND sealed IS NOT NULL ORDER BY id"
)
_NOTICE = (
    "SELECT version, effective_at FROM notice_versions WHERE effective_at <= ?"
    " ORDER BY version DESC LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class _Former:
    """One replaced value as kept in the history, still sealed."""

    category: str
    sealed: bytes
    channel: str
    collected_at: str
    notice_version: int | None
    replaced_at: str


def build_report(
    tx: Tx,
    rt: Runtime,
    *,
    actor: Actor,
    ref: str,
    purpose: str = DISCLOSURE,
    values: bool = True,
) -> dict[str, Any]:
    """Everything Mamori holds about one subject, as a JSON-ready mapping.

    With ``values=False`` it is the notification of purposes: no values and no
    history; left at the default purpose, it is asked for as ``dsr.notification``.
    """
    if not values and purpose == DISCLOSURE:
        purpose = NOTIFICATION
    kind = "disclosure" if values else "notification"
    action = Action.EXPORT if values else Action.READ
    row = load_or_refuse(tx, rt, actor=actor, ref=ref, purpose=purpose, action=action)
    # Replaced values open under the same grant, so their categories are asked for too.
    former = _former_values(tx, row.id) if values else []
    categories = sorted(set(row.entries) | {f.category for f in former}) if values else []
    decision = authorize(
        tx,
        rt,
        actor=actor,
        purpose=purpose,
        action=action,
        categories=categories,
        subjects=[row.facts()],
        detail={"report": kind},
    )
    assert decision.grant is not None  # authorize raises when the only subject is refused
    report = _frame(tx, rt, row, kind)
    if values:
        report["values"] = _values(rt, decision.grant, row, former)
    report["purposes"] = _purposes(rt, row)
    report["consents"] = _consents(tx, row.id)
    report.update(_provision_records(tx, rt, row.id))
    return report


def build_notification(tx: Tx, rt: Runtime, *, actor: Actor, ref: str) -> dict[str, Any]:
    """The notification of purposes (Art. 32(2)): the report without values."""
    return build_report(tx, rt, actor=actor, ref=ref, purpose=NOTIFICATION, values=False)


def render_json(report: Mapping[str, Any]) -> bytes:
    """The report as UTF-8 JSON with keys in a stable order, readable in any language."""
    text = json.dumps(report, ensure_ascii=False, sort_keys=True, indent=2)
    return (text + "\n").encode()


def render_html(report: Mapping[str, Any], language: str) -> str:
    """The report as one printable HTML page in ``language`` ("ja" or "en")."""
    return report_html.render(report, language)


_MAIL = {
    "ja": (
        "{company}より：{title}",
        "お客様\n\n{company}です。ご請求いただいた「{title}」を添付ファイルでお送りします。\n"
        "HTMLファイルはブラウザで開いて印刷できます。JSONファイルは同じ内容を機械で読める形式にしたものです。\n\n"
        "お問い合わせ：{contact}（{phone}）\n",
    ),
    "en": (
        "{title} from {company}",
        "Dear customer,\n\nAs you requested, {company} sends you the {title} attached.\n"
        "The HTML file opens in a browser and prints; the JSON file holds the same content "
        "in a machine-readable form.\n\nContact: {contact} ({phone})\n",
    ),
}


def mail_report(rt: Runtime, *, to: str, report: Mapping[str, Any], language: str) -> None:
    """Send the report to ``to`` as JSON and HTML attachments, with a short generic letter.

    The letter greets no one by name and quotes no value: mail passes through
    servers the company does not run, so what is personal stays in the attachments.
    """
    html = render_html(report, language)  # refuses an unsupported language first
    kind = "disclosure" if report["report"] == "disclosure" else "notification"
    company = rt.policy.source.company
    words = {
        "company": getattr(company.name, language),
        "title": _TITLES[kind][language],
        "contact": getattr(company.contact.department, language),
        "phone": company.contact.phone,
    }
    subject, body = (part.format(**words) for part in _MAIL[language])
    stamp = str(report["generated_at"])[:10]
    mail.send(
        rt,
        to=to,
        subject=subject,
        body=body,
        attachments=(
            mail.Attachment(f"{kind}-{stamp}.json", "application/json", render_json(report)),
            mail.Attachment(f"{kind}-{stamp}.html", "text/html", html.encode()),
        ),
    )


_TITLES = {
    "disclosure": {"ja": "保有個人データの開示", "en": "disclosure of the personal data we hold"},
    "notification": {"ja": "利用目的の通知", "en": "notification of the purposes of use"},
}


# -- the parts of a report ------------------------------------------------------


def _text(text: Text | None) -> dict[str, str] | None:
    return None if text is None else {"ja": text.ja, "en": text.en}


def _named(key: str, title: Text | None) -> dict[str, Any]:
    """A policy key with its title; a key the policy no longer declares has none."""
    return {"key": key, "title": _text(title)}


def _frame(tx: Tx, rt: Runtime, row: store.SubjectRow, kind: str) -> dict[str, Any]:
    """What every report opens with: what it is, when, who answers for it, about whom."""
    return {
        "report": kind,
        "generated_at": to_utc_text(rt.now()),
        "company": _company(rt),
        "notice": _notice(tx, rt),
        "subject": _subject(rt, row),
    }


def _company(rt: Runtime) -> dict[str, Any]:
    company = rt.policy.source.company
    return {
        "name": _text(company.name),
        "address": _text(company.address),
        "representative": _text(company.representative),
        "privacy_officer": {
            "name": _text(company.privacy_officer.name),
            "department": _text(company.privacy_officer.department),
        },
        "contact": {
            "department": _text(company.contact.department),
            "phone": company.contact.phone,
            "email": company.contact.email,
        },
        "timezone": company.timezone,
    }


def _notice(tx: Tx, rt: Runtime) -> dict[str, Any] | None:
    """The notice version in force as the report is made (raw SQL: it is on the hot path)."""
    row = tx.fetchone(_NOTICE, (to_utc_text(rt.now()),))
    return None if row is None else {"version": row[0], "effective_at": row[1]}


def _subject(rt: Runtime, row: store.SubjectRow) -> dict[str, Any]:
    kinds = {k.key: k.title for k in rt.policy.source.subject_kinds}
    channel = rt.policy.channels.get(row.channel)
    return {
        "ref": row.ref,
        "kind": _named(row.kind, kinds.get(row.kind)),
        "channel": _named(row.channel, channel.title if channel else None),
        "created_at": row.created_at,
        "suspended": sorted(row.suspended),
        "erased": row.erased_at is not None,
    }


def _former_values(tx: Tx, subject_id: int) -> list[_Former]:
    rows = tx.fetchall(_HISTORY, (subject_id,))
    return [_Former(r[0], bytes(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def _values(
    rt: Runtime, grant: Grant, row: store.SubjectRow, former: Sequence[_Former]
) -> list[dict[str, Any]]:
    """Each held value with its source, and the values it replaced, in the policy's order."""
    opened = rt.vault.open(grant, row.ref, row.wrapped(), row.sealed_values(), row.entries)
    history: dict[str, list[dict[str, Any]]] = {}
    for old in former:
        value = rt.vault.open(
            grant, row.ref, row.wrapped(), {old.category: old.sealed}, [old.category]
        )
        history.setdefault(old.category, []).append(
            {
                "value": value[old.category],
                **_source(rt, old.channel, old.collected_at, old.notice_version),
                "replaced_at": old.replaced_at,
            }
        )
    order = {key: n for n, key in enumerate(rt.policy.categories)}
    shown = sorted(set(opened) | set(history), key=lambda c: (order.get(c, len(order)), c))
    out = []
    for category in shown:
        spec = rt.policy.categories.get(category)
        item: dict[str, Any] = _named(category, spec.title if spec else None)
        if category in opened:
            channel, collected_at, notice = row.source(category)
            item.update(value=opened[category], **_source(rt, channel, collected_at, notice))
        else:
            item.update(value=None, channel=None, collected_at=None, notice_version=None)
        item["history"] = history.get(category, [])
        out.append(item)
    return out


def _source(rt: Runtime, channel: str, collected_at: str, notice: int | None) -> dict[str, Any]:
    spec = rt.policy.channels.get(channel)
    return {
        "channel": _named(channel, spec.title if spec else None),
        "collected_at": collected_at,
        "notice_version": notice,
    }


def _purposes(rt: Runtime, row: store.SubjectRow) -> list[dict[str, Any]]:
    """Every purpose the subject's data is used for, in the policy's order.

    A purpose counts when a channel the data came through announced it and it
    needs no consent, or when the person's consent to it stands; a purpose that
    rests on consent never given, or withdrawn, is not a use of their data.
    """
    channels = {row.channel} | {entry[store.CHANNEL] for entry in row.entries.values()}
    granted = {p for p, state in row.consents.items() if state and state[0]}
    held = set(row.entries)
    out = []
    for key, purpose in rt.policy.purposes.items():
        rule = rt.policy.rules[key]
        if rule.system:
            continue
        announced = sorted(c for c in channels if key in rt.policy.channel_purposes.get(c, ()))
        if not (key in granted or (announced and not rule.needs_consent)):
            continue
        out.append(
            {
                **_named(key, purpose.title),
                "description": _text(purpose.description),
                "legal_basis": purpose.legal_basis.value,
                "retention": purpose.retention,
                "retention_duty": _text(purpose.retention_duty),
                "third_party_provision": purpose.third_party_provision,
                "announced_by": [_named(c, rt.policy.channels[c].title) for c in announced],
                "consent": _consent_state(row.consents.get(key))
                if purpose.legal_basis is LegalBasis.CONSENT
                else None,
                "categories": [
                    _named(c, rt.policy.categories[c].title)
                    for c in sorted(held & rt.policy.categories_of(key))
                ],
                "suspended": WILDCARD in row.suspended or key in row.suspended,
            }
        )
    return out


def _consent_state(state: Sequence[int] | None) -> str | None:
    if state is None:
        return None
    return "granted" if state[0] else "withdrawn"


def _consents(tx: Tx, subject_id: int) -> list[dict[str, Any]]:
    """The whole consent history, oldest first (the guard has granted disclosure already)."""
    return [event.to_dict() for event in consents.events_for(tx, subject_id)]


def _provision_records(tx: Tx, rt: Runtime, subject_id: int) -> dict[str, list[dict[str, Any]]]:
    """Records of provision to third parties (Art. 33(5)) and of receipts from them.

    Each names the party as declared the day it was made, with the purpose's
    and the items' titles from the policy in force.
    """
    found = records.for_subject(tx, subject_id)
    for item in found["provisions"]:
        purpose = rt.policy.purposes.get(item["purpose"])
        item["purpose"] = _named(item["purpose"], purpose.title if purpose else None)
        item["categories"] = _items(rt, item["categories"])
    for item in found["receipts"]:
        item["categories"] = _items(rt, item["categories"])
    return found


def _items(rt: Runtime, keys: Sequence[str]) -> list[dict[str, Any]]:
    specs = rt.policy.categories
    return [_named(k, specs[k].title if k in specs else None) for k in keys]
