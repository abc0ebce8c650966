"""The disclosure report, the notification of purposes, their renderings and their mail."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import markupsafe
import pytest

from mamori.consents import service as consents
from mamori.dsr import disclosure
from mamori.errors import Denied, NotFound, ValidationFailed
from mamori.guard.rules import Actor
from mamori.policy.compiled import SYSTEM_REQUESTS_ROLE
from mamori.runtime import Runtime
from mamori.subjects import changes, shredding
from mamori.subjects.service import normalize_values
from tests.conftest import Clock, actor
from tests.dsr.smtp import Mailbox
from tests.factories import register_customer

OFFICER = actor("officer")
ORGANIZATION = "user.contact.organization"
SCRIPT = '<script>alert("x")</script> & <b>'


def report_of(rt: Runtime, ref: str, who: Actor = OFFICER, **kwargs: Any) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        return disclosure.build_report(tx, rt, actor=who, ref=ref, **kwargs)


def audit_rows(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.db.transaction() as tx:
        return tx.fetchall(
            "SELECT actor, purpose, action, subjects, categories, outcome, rule"
            " FROM audit_entries ORDER BY seq"
        )


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in items}


def subscriber(rt: Runtime) -> str:
    """A subscriber who consented to the newsletter and to partners' information."""
    ref, _ = register_customer(
        rt,
        by=OFFICER,
        channel="email_subscription",
        purpose="email_delivery",
        consents=("email_delivery", "partner_information"),
        explicit=True,
    )
    return ref


# -- contents -------------------------------------------------------------------


def test_the_report_holds_every_value_with_where_and_when_it_came_from(rt: Runtime) -> None:
    ref, typed = register_customer(rt)
    report = report_of(rt, ref)
    assert report["report"] == "disclosure"
    assert report["generated_at"] == "2026-11-30T01:00:00.000000Z"
    assert report["notice"] == {"version": 1, "effective_at": "2026-11-30T01:00:00.000000Z"}
    subject = report["subject"]
    assert subject["ref"] == ref
    assert subject["kind"]["key"] == "customer"
    assert subject["kind"]["title"]["en"].startswith("Customer")
    assert subject["channel"] == {
        "key": "product_purchase",
        "title": {"ja": "製品のご購入", "en": "Product purchase"},
    }
    assert subject["suspended"] == [] and subject["erased"] is False
    values = by_key(report["values"])
    assert set(values) == set(typed)
    assert values["user.name"]["value"] == typed["user.name"]
    assert values["user.name"]["title"] == {"ja": "氏名", "en": "Name"}
    assert values["user.name"]["channel"]["key"] == "product_purchase"
    assert values["user.name"]["collected_at"] == "2026-11-30T01:00:00.000000Z"
    assert values["user.name"]["notice_version"] == 1
    assert all(v["history"] == [] for v in values.values())
    assert report["provisions"] == []
    assert report["company"]["name"]["en"] == "QualitySoft Corporation"
    assert report["company"]["contact"]["phone"] == "+81-3-5275-6121"


def test_the_report_lists_the_purposes_the_channel_announced_with_their_terms(
    rt: Runtime,
) -> None:
    ref, typed = register_customer(rt)
    purposes = by_key(report_of(rt, ref)["purposes"])
    # product_purchase announces these; none rests on consent.
    assert set(purposes) == {
        "purchase_fulfillment",
        "invoicing_payment",
        "registration_correction",
        "satisfaction_research",
        "service_improvement",
    }
    invoicing = purposes["invoicing_payment"]
    assert invoicing["legal_basis"] == "legal_obligation"
    assert invoicing["retention"] == "P7Y"
    assert invoicing["retention_duty"]["en"].startswith("The Corporation Tax Act")
    assert invoicing["third_party_provision"] is False
    assert invoicing["suspended"] is False
    assert [c["key"] for c in invoicing["announced_by"]] == ["product_purchase"]
    covered = {c["key"] for c in invoicing["categories"]}
    assert covered == set(typed) & set(rt.policy.categories_of("invoicing_payment"))
    assert "user.name.kana" not in covered
    assert purposes["purchase_fulfillment"]["description"]["ja"]
    assert all(not key.startswith("dsr.") for key in purposes)


def test_consented_purposes_count_and_withdrawn_ones_do_not(rt: Runtime) -> None:
    ref = subscriber(rt)
    with rt.db.transaction() as tx:
        consents.record(
            tx,
            rt,
            actor=OFFICER,
            ref=ref,
            purpose="partner_information",
            state="withdrawn",
            channel="unsubscribe_link",
            evidence={"form": "footer-link"},
        )
    report = report_of(rt, ref)
    purposes = by_key(report["purposes"])
    assert set(purposes) == {"email_delivery"}
    assert purposes["email_delivery"]["consent"] == "granted"
    history = report["consents"]
    assert [(e["purpose"], e["state"]) for e in history] == [
        ("email_delivery", "granted"),
        ("partner_information", "granted"),
        ("partner_information", "withdrawn"),
    ]
    assert history[2]["channel"] == "unsubscribe_link"
    assert history[2]["evidence"] == {"form": "footer-link"}
    assert history[0]["explicit"] is True


def test_a_correction_shows_the_new_value_and_the_one_it_replaced(
    rt: Runtime, clock: Clock
) -> None:
    ref, typed = register_customer(rt)
    before = clock.moment
    clock.moment = before + timedelta(days=3)
    with rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=OFFICER,
            ref=ref,
            purpose="purchase_fulfillment",
            values={ORGANIZATION: "株式会社サンプル"},
            channel="invoice_payment",
        )
    item = by_key(report_of(rt, ref)["values"])[ORGANIZATION]
    assert item["value"] == "株式会社サンプル"
    assert item["channel"]["key"] == "invoice_payment"
    assert item["collected_at"] == "2026-12-03T01:00:00.000000Z"
    assert item["history"] == [
        {
            "value": typed[ORGANIZATION],
            "channel": {
                "key": "product_purchase",
                "title": {"ja": "製品のご購入", "en": "Product purchase"},
            },
            "collected_at": "2026-11-30T01:00:00.000000Z",
            "notice_version": 1,
            "replaced_at": "2026-12-03T01:00:00.000000Z",
        }
    ]


def test_suspended_use_is_shown_and_does_not_stop_disclosure(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        changes.set_suspension(tx, rt, actor=OFFICER, ref=ref, purposes=None, suspend=True)
    report = report_of(rt, ref)
    assert report["subject"]["suspended"] == ["*"]
    assert all(p["suspended"] for p in report["purposes"])
    assert report["values"]


def test_mamori_acting_for_the_requester_may_build_the_report(rt: Runtime) -> None:
    ref, typed = register_customer(rt)
    system = Actor("request:r1", (SYSTEM_REQUESTS_ROLE,), kind="system")
    values = by_key(report_of(rt, ref, system)["values"])
    assert {k: v["value"] for k, v in values.items()} == normalize_values(rt, typed)


# -- the guard and the audit log ------------------------------------------------------


def test_building_a_report_leaves_exactly_one_audit_entry(rt: Runtime) -> None:
    ref, typed = register_customer(rt)
    before = len(audit_rows(rt))
    report_of(rt, ref)
    rows = audit_rows(rt)
    assert len(rows) == before + 1
    who, purpose, action, subjects, categories, outcome, _ = rows[-1]
    assert (who, purpose, action, outcome) == ("officer", "dsr.disclosure", "export", "allowed")
    assert json.loads(subjects) == [ref]
    assert json.loads(categories) == sorted(typed)


def test_staff_without_the_disclosure_purpose_are_refused_and_audited(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    before = len(audit_rows(rt))
    with pytest.raises(Denied) as caught:
        report_of(rt, ref, actor("sales"))
    assert caught.value.rule == "role_not_permitted"
    rows = audit_rows(rt)
    assert len(rows) == before + 1
    assert rows[-1][:3] == ("sales", "dsr.disclosure", "export")
    assert rows[-1][5:] == ("denied", "role_not_permitted")


def test_an_erased_subject_is_refused_and_audited(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        shredding.shred(tx, rt, actor=OFFICER, ref=ref)
    with pytest.raises(Denied) as caught:
        report_of(rt, ref)
    assert caught.value.rule == "subject_erased"
    last = audit_rows(rt)[-1]
    assert last[1] == "dsr.disclosure" and last[5:] == ("denied", "subject_erased")
    assert json.loads(last[3]) == [ref]


def test_an_unknown_subject_is_not_found_and_audited(rt: Runtime) -> None:
    with pytest.raises(NotFound) as caught:
        report_of(rt, "saaaaaaaaaaaaaaaa")
    assert caught.value.code == "unknown_subject"
    last = audit_rows(rt)[-1]
    assert last[1] == "dsr.disclosure" and last[5:] == ("denied", "unknown_subject")


def test_an_unknown_subject_asked_by_a_refused_caller_says_only_refused(rt: Runtime) -> None:
    with pytest.raises(Denied) as caught:
        report_of(rt, "saaaaaaaaaaaaaaaa", actor("sales"))
    assert caught.value.rule == "role_not_permitted"


# -- the notification of purposes ----------------------------------------------------


def test_the_notification_holds_no_value_and_is_audited_as_such(rt: Runtime) -> None:
    ref, typed = register_customer(rt)
    with rt.db.transaction() as tx:
        report = disclosure.build_notification(tx, rt, actor=OFFICER, ref=ref)
    assert report["report"] == "notification"
    assert "values" not in report
    assert report["purposes"] and report["provisions"] == []
    text = disclosure.render_json(report).decode()
    html = disclosure.render_html(report, "ja")
    company = json.dumps(report["company"], ensure_ascii=False)  # may name the same ward
    for value in normalize_values(rt, typed).values():
        assert value in company or (value not in text and value not in html)
    _, purpose, action, _, categories, outcome, _ = audit_rows(rt)[-1]
    assert (purpose, action, outcome, categories) == ("dsr.notification", "read", "allowed", "[]")
    assert report_of(rt, ref, values=False)["report"] == "notification"


# -- renderings --------------------------------------------------------------------


def test_json_is_utf8_sorted_and_parses_back(rt: Runtime) -> None:
    ref, typed = register_customer(rt)
    report = report_of(rt, ref)
    data = disclosure.render_json(report)
    assert json.loads(data.decode("utf-8")) == report
    assert typed["user.name"].encode() in data  # not \u-escaped
    assert data == disclosure.render_json(json.loads(data))
    keys = list(json.loads(data))
    assert keys == sorted(keys)


def test_html_escapes_what_a_person_typed(rt: Runtime) -> None:
    ref, _ = register_customer(rt, **{ORGANIZATION: SCRIPT})
    for language in ("ja", "en"):
        html = disclosure.render_html(report_of(rt, ref), language)
        assert "<script" not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;" in html


def test_html_has_every_section_in_either_language(rt: Runtime) -> None:
    ref = subscriber(rt)
    report = report_of(rt, ref)
    headings = {
        "ja": [
            "個人情報取扱事業者",
            "ご本人",
            "保有個人データ",
            "利用目的",
            "同意の履歴",
            "第三者提供の記録",
        ],
        "en": [
            "Business operator",
            "You",
            "Personal data held",
            "Purposes of use",
            "Consent history",
            "Records of provision to third parties",
        ],
    }
    for language, expected in headings.items():
        html = disclosure.render_html(report, language)
        assert f'<html lang="{language}">' in html
        assert re.findall(r"<h2>(.*?)</h2>", html) == expected
        assert "@media print" in html and "size: A4" in html
        assert "<script" not in html and "<link" not in html and "src=" not in html
        assert "http://" not in html and "https://" not in html
        assert '<th scope="row">' in html and '<th scope="col">' in html


def test_html_holds_every_value_of_the_json(rt: Runtime, clock: Clock) -> None:
    ref = subscriber(rt)
    clock.moment += timedelta(hours=5)
    with rt.db.transaction() as tx:
        changes.correct(
            tx,
            rt,
            actor=OFFICER,
            ref=ref,
            purpose="email_delivery",
            values={"user.name": "山田 太郎"},
        )
        consents.record(
            tx,
            rt,
            actor=OFFICER,
            ref=ref,
            purpose="partner_information",
            state="withdrawn",
            channel="staff",
            evidence={"note": "電話で撤回"},
        )
    report = report_of(rt, ref)
    assert by_key(report["values"])["user.name"]["history"]
    for language in ("ja", "en"):
        html = disclosure.render_html(report, language)
        missing = [leaf for leaf in leaves(report, language) if leaf not in html]
        assert not missing, f"{language}: {missing}"


def leaves(node: Any, language: str) -> Iterator[str]:
    """Every string and number of a report, texts in one language, as the HTML would hold them."""
    if isinstance(node, dict):
        if set(node) == {"ja", "en"}:
            yield escape(node[language])
            return
        for key, value in node.items():
            if key == "evidence":
                if value:  # an empty record is shown empty
                    yield escape(json.dumps(value, ensure_ascii=False, sort_keys=True))
            elif key not in ("consent", "legal_basis", "report", "state", "timezone"):  # words
                yield from leaves(value, language)
    elif isinstance(node, list):
        for item in node:
            yield from leaves(item, language)
    elif isinstance(node, str):
        yield escape(node)
    elif isinstance(node, int) and not isinstance(node, bool):
        yield str(node)


def escape(text: str) -> str:
    return str(markupsafe.escape(text))


def test_html_shows_a_category_kept_only_in_history(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    report = report_of(rt, ref)
    gone = report["values"][0]
    gone.update(value=None, channel=None, collected_at=None, notice_version=None)
    gone["history"] = [{**report["values"][1], "replaced_at": report["generated_at"]}]
    html = disclosure.render_html(report, "en")
    assert '<td class="value"><span class="empty">None</span></td>' in html


def test_html_refuses_a_language_it_is_not_written_in(rt: Runtime) -> None:
    ref, _ = register_customer(rt)
    with pytest.raises(ValidationFailed):
        disclosure.render_html(report_of(rt, ref), "fr")


# -- mail ---------------------------------------------------------------------------


def test_the_report_arrives_by_mail_as_json_and_html(rt: Runtime, mailbox: Mailbox) -> None:
    ref, typed = register_customer(rt)
    report = report_of(rt, ref)
    disclosure.mail_report(rt, to="requester@example.jp", report=report, language="ja")
    message = mailbox.last_to("requester@example.jp")
    parts = {p.get_filename(): p for p in message.iter_attachments()}
    assert set(parts) == {"disclosure-2026-11-30.json", "disclosure-2026-11-30.html"}
    attached = parts["disclosure-2026-11-30.json"]
    assert attached.get_content_type() == "application/json"
    assert json.loads(attached.get_payload(decode=True)) == report
    page = parts["disclosure-2026-11-30.html"].get_payload(decode=True).decode()
    assert typed["user.name"] in page and '<html lang="ja">' in page
    body = Mailbox.text(message)
    assert "保有個人データの開示" in body and "クオリティソフト株式会社" in body
    shown = list(typed.values()) + list(normalize_values(rt, typed).values())
    assert all(value not in body for value in shown)
    assert all(value not in str(message["Subject"]) for value in shown)


def test_the_mail_letter_follows_the_language(rt: Runtime, mailbox: Mailbox) -> None:
    ref, _ = register_customer(rt)
    with rt.db.transaction() as tx:
        report = disclosure.build_notification(tx, rt, actor=OFFICER, ref=ref)
    disclosure.mail_report(rt, to="requester@example.com", report=report, language="en")
    message = mailbox.last_to("requester@example.com")
    assert "notification of the purposes of use" in Mailbox.text(message)
    assert str(message["Subject"]).endswith("from QualitySoft Corporation")
    names = {p.get_filename() for p in message.iter_attachments()}
    assert names == {"notification-2026-11-30.json", "notification-2026-11-30.html"}


def test_an_unsupported_language_sends_nothing(rt: Runtime, mailbox: Mailbox) -> None:
    ref, _ = register_customer(rt)
    with pytest.raises(ValidationFailed):
        disclosure.mail_report(
            rt, to="requester@example.jp", report=report_of(rt, ref), language="de"
        )
    assert mailbox.messages == []
