"""The disclosure report's records of provision to, and receipt from, third parties."""

from __future__ import annotations

from typing import Any

from mamori.dsr import disclosure
from mamori.policy.schemas import ProvisionBasis
from mamori.runtime import Runtime
from tests.conftest import actor
from tests.recipients.conftest import provide, subscriber

REASON = "Asked in writing by the tax office under the National Tax Act."


def _report(rt: Runtime, ref: str) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        return disclosure.build_report(tx, rt, actor=actor("officer"), ref=ref)


def test_a_provided_subject_finds_the_record_in_their_report(rt: Runtime) -> None:
    ref, _ = subscriber(rt)
    record = provide(rt, [ref], recipient="partner_singapore").record
    (item,) = _report(rt, ref)["provisions"]
    assert item["at"] == record["at"]
    assert item["recipient"]["key"] == "partner_singapore"
    assert item["recipient"]["name"]["en"].startswith("QS Asia Pacific")
    assert item["recipient"]["name"]["ja"]
    assert (item["recipient"]["kind"], item["recipient"]["country"]) == ("sales_partner", "SG")
    assert item["purpose"]["key"] == "partner_information" and item["purpose"]["title"]["ja"]
    assert [c["key"] for c in item["categories"]] == record["categories"]
    assert (item["basis"], item["exception_code"]) == ("consent", None)
    assert item["consent_at"]


def test_a_subject_never_provided_finds_none(rt: Runtime) -> None:
    provided, _ = subscriber(rt)
    never, _ = subscriber(rt)
    provide(rt, [provided])
    report = _report(rt, never)
    assert report["provisions"] == [] and report["receipts"] == []
    for language in ("ja", "en"):
        page = disclosure.render_html(report, language)
        assert "partner_kanto" not in page


def test_the_report_shows_the_records_in_both_languages(rt: Runtime) -> None:
    ref, _ = subscriber(rt, consent=False)
    provide(rt, [ref], basis=ProvisionBasis.EXCEPTION, exception="art27_1_iv", reason=REASON)
    report = _report(rt, ref)
    (item,) = report["provisions"]
    assert (item["basis"], item["exception_code"], item["consent_at"]) == (
        "exception",
        "art27_1_iv",
        None,
    )
    ja = disclosure.render_html(report, "ja")
    en = disclosure.render_html(report, "en")
    assert "関東販売パートナー株式会社" in ja and "法令に基づく例外" in ja and "art27_1_iv" in ja
    assert "Kanto Sales Partner K.K." in en and "An exception under the law" in en
    assert REASON not in ja + en  # the staff's reason is for the record, not the report
    assert "第三者から受け取った記録はありません" in ja
    assert b"partner_kanto" in disclosure.render_json(report)


def test_a_receipt_record_shows_in_the_report(rt: Runtime) -> None:
    ref, _ = subscriber(rt)
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "INSERT INTO receipts (ref, at, actor, provider, party_version, obtained_how, channel,"
            " categories, subject_count, rejected_count, keep_until)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
            (
                "r" + "b" * 16, "2026-11-30T01:00:00.000000Z", "officer", "event_cohost", 1,
                "Attendee form of the co-hosted expo", "cohost_attendee_list",
                '["user.name", "user.contact.email"]', 1, 0, "2029-11-30T01:00:00.000000Z",
            ),
        )  # fmt: skip
        subject = tx.fetchone("SELECT id FROM subjects WHERE ref = ?", (ref,))[0]
        tx.execute(
            "INSERT INTO receipt_subjects (receipt_id, subject_id) VALUES (?,?)", (row[0], subject)
        )
    report = _report(rt, ref)
    (item,) = report["receipts"]
    assert item["provider"]["key"] == "event_cohost"
    assert item["provider"]["name"]["en"].startswith("Japan Software Expo")
    assert [c["key"] for c in item["categories"]] == ["user.name", "user.contact.email"]
    en = disclosure.render_html(report, "en")
    assert "Attendee form of the co-hosted expo" in en and "How the provider obtained it" in en
