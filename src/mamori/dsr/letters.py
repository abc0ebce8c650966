"""Telling the requester what was decided (APPI Art. 33(3), 34(3), 35(7)).

When a request is completed or refused, the person is told without delay: by
mail to the address Mamori holds for them when a mail server is configured,
otherwise the request records that a letter is owed and the desk sends one.
The mail names the request, the decision, and for a refusal the reason from the
fixed list; for a report delivered by link, the link. It never quotes a value.
"""

from __future__ import annotations

from mamori.db.engine import Tx
from mamori.dsr import mail
from mamori.dsr import store as requests
from mamori.dsr.states import REASON_TEXT, Reason
from mamori.dsr.verification import EMAIL, read_address
from mamori.guard.rules import Actor
from mamori.runtime import Runtime
from mamori.subjects import store as subjects

KIND = {
    "disclosure": ("保有個人データの開示", "disclosure of your personal data"),
    "notification": ("利用目的の通知", "notification of the purposes of use"),
    "correction": ("訂正・追加・削除", "correction of your personal data"),
    "cessation_of_use": ("利用停止", "cessation of use"),
    "resumption_of_use": ("利用の再開", "resumption of use"),
    "erasure": ("消去", "erasure of your personal data"),
    "cessation_of_provision": ("第三者提供の停止", "cessation of provision to third parties"),
    "resumption_of_provision": ("第三者提供の再開", "resumption of provision to third parties"),
    "inquiry": ("お問い合わせ", "inquiry"),
    "complaint": ("苦情のお申し出", "complaint"),
}


def address_of(tx: Tx, rt: Runtime, actor: Actor, row: requests.RequestRow) -> str | None:
    """The address to tell, read through the guard; None when there is none to use.

    Read before a fulfilment acts, since an erasure removes it. The subject's
    facts are checked first, so a read the guard would refuse is never asked.
    """
    if not rt.settings.smtp_url or row.subject_ref is None:
        return None
    subject = subjects.load(tx, row.subject_ref)
    if subject.erased_at is not None or EMAIL not in subject.entries:
        return None
    return read_address(tx, rt, actor, row.subject_ref, row)


def tell(rt: Runtime, row: requests.RequestRow, *, to: str | None, link: str | None = None) -> str:
    """Mail the decision, or say a letter is owed; returns "mail" or "letter"."""
    if to is None:
        return "letter"
    en = row.language == "en"
    company = rt.policy.source.company
    name = company.name.en if en else company.name.ja
    what = KIND[row.kind.value][1 if en else 0]
    if row.reason:
        reason = REASON_TEXT[Reason(row.reason)][1 if en else 0]
        subject, body = (
            (
                f"[{name}] Your request {row.ref} could not be granted",
                f"We could not grant your request {row.ref} ({what}).\nReason: {reason}.\n",
            )
            if en
            else (
                f"【{name}】ご請求（受付番号 {row.ref}）について",
                f"ご請求（受付番号 {row.ref}、{what}）にはお応えできませんでした。\n理由：{reason}。\n",
            )
        )
    else:
        subject, body = (
            (
                f"[{name}] Your request {row.ref} is complete",
                f"Your request {row.ref} ({what}) has been completed.\n",
            )
            if en
            else (
                f"【{name}】ご請求（受付番号 {row.ref}）の完了",
                f"ご請求（受付番号 {row.ref}、{what}）への対応が完了しました。\n",
            )
        )
    if link:
        valid = rt.policy.source.requests.download_valid_days
        body += (
            f"Download your report (works once, for {valid} days): {link}\n"
            if en
            else f"報告書のダウンロード（{valid}日間・1回限り有効）：{link}\n"
        )
    contact = company.contact
    body += f"\n{contact.department.en if en else contact.department.ja}  {contact.phone}\n"
    mail.send(rt, to=to, subject=subject, body=body)
    return "mail"
