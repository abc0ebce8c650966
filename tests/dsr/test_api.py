"""The request desk over HTTP: a disclosure from arrival to a download that works once,
an erasure with its preview, inquiries with every missing field named, public fees and hours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from tests.api.support import problem
from tests.conftest import Clock
from tests.dsr.smtp import Mailbox
from tests.factories import register_customer

Headers = Callable[[str], dict[str, str]]


def _request(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    answer = client.post("/requests", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_disclosure_from_arrival_to_a_download_that_works_once(
    rt: Runtime, client: TestClient, token_for: Headers
) -> None:
    officer = token_for("privacy_officer")
    ref, values = register_customer(rt)
    made = _request(
        client, officer, kind="disclosure", via="letter", subject=ref, identity="document_seen"
    )
    assert made["state"] == "in_progress"
    assert made["fee_yen"] == 1000
    path = f"/requests/{made['ref']}"
    held = client.post(f"{path}/complete", json={}, headers=officer).json()
    assert held["request"]["state"] == "awaiting_fee"
    assert held["download"] is None
    paid = client.post(f"{path}/payment", json={"amount_yen": 1000}, headers=officer)
    assert paid.json()["state"] == "in_progress"
    done = client.post(f"{path}/complete", json={"format": "json"}, headers=officer).json()
    assert done["request"]["state"] == "completed"
    link = done["download"]
    first = client.get(link)
    assert first.status_code == 200
    report = json.loads(first.content)
    assert values["user.contact.email"] in first.text
    assert report["subject"]["ref"] == ref
    problem(client.get(link), 410, "download_used")
    detail = client.get(path, headers=officer).json()
    assert [e["action"] for e in detail["history"]] == [
        "request_received",
        "identity_verified",
        "fee_requested",
        "fee_paid",
        "completed",
    ]


def test_erasure_preview_then_erasure_leaves_nothing_to_read(
    rt: Runtime, client: TestClient, token_for: Headers
) -> None:
    officer = token_for("privacy_officer")
    ref, _ = register_customer(rt)
    made = _request(
        client, officer, kind="erasure", via="phone", subject=ref, identity="phone_callback"
    )
    path = f"/requests/{made['ref']}"
    preview = client.get(f"{path}/erasure-preview", headers=officer)
    assert preview.status_code == 200, preview.text
    assert preview.json()["erased"]
    done = client.post(f"{path}/complete", json={}, headers=officer).json()
    assert done["request"]["state"] == "completed"
    read = client.get(
        f"/subjects/{ref}", params={"purpose": "purchase_fulfillment"}, headers=officer
    )
    # Bought through a channel that announced invoicing: the invoice data is kept under the
    # Corporation Tax Act, and every other use is refused from now on.
    assert problem(read, 403, "access_denied")["rule"] == "use_suspended"
    shown = preview.json()
    assert "user.contact.email" in {k["category"] for k in shown["kept"]}
    assert shown["kept"][0]["reason"]["en"].startswith("The Corporation Tax Act")
    outcome = done["request"]["outcome"]
    assert set(outcome["erased"]) == {e["category"] for e in shown["erased"]}
    assert set(outcome["kept"]) == {k["category"] for k in shown["kept"]}
    again = client.post(
        "/requests", json={"kind": "erasure", "via": "api", "subject": ref}, headers=officer
    )
    assert problem(again, 409, "already_erased")


def test_inquiry_names_every_missing_field_and_registers_the_inquirer(
    rt: Runtime, client: TestClient, token_for: Headers
) -> None:
    support = token_for("support")
    missing = client.post(
        "/requests/inquiries",
        json={"via": "email", "fields": {"name": "山田 太郎", "description": "請求書について"}},
        headers=support,
    )
    body = problem(missing, 422, "inquiry_invalid")
    assert body["problems"] == [
        "company is required",
        "division is required",
        "email is required",
        "phone is required",
    ]
    fields = {
        "name": "山田 太郎",
        "company": "株式会社サンプル",
        "division": "総務部",
        "email": "not-an-address",
        "phone": "03-0000-0000",
        "description": "請求書の宛名について",
    }
    bad = problem(
        client.post("/requests/inquiries", json={"via": "form", "fields": fields}, headers=support),
        422,
        "inquiry_invalid",
    )
    assert any("email" in p for p in bad["problems"])
    assert "not-an-address" not in json.dumps(bad)
    fields["email"] = "yamada@example.jp"
    fields["phone"] = "020-0123-4567"
    ok = client.post(
        "/requests/inquiries", json={"via": "email", "fields": fields}, headers=support
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["request"]["kind"] == "inquiry"
    assert ok.json()["request"]["state"] == "in_progress"
    assert ok.json()["request"]["subject"]


def test_phone_call_outside_hours_says_so_with_the_next_opening(
    rt: Runtime, client: TestClient, token_for: Headers, clock: Clock
) -> None:
    clock.moment = datetime(2026, 12, 31, 3, 0, tzinfo=UTC)  # 31 Dec, 12:00 in Tokyo: closed
    fields = {"name": "佐藤 花子", "phone": "020-0123-4568", "description": "会員情報の確認"}
    answer = client.post(
        "/requests/inquiries",
        json={"via": "phone", "fields": fields, "language": "en"},
        headers=token_for("support"),
    )
    assert answer.status_code == 201, answer.text
    hours = answer.json()["hours"]
    assert hours["open"] is False
    assert "year-end" in hours["closed_because"]
    assert hours["next_opening"].startswith("2027-01-04T09:00:00+09:00")


def test_fees_and_hours_are_public(client: TestClient, clock: Clock) -> None:
    fees = client.get("/requests/fees").json()
    assert fees == {"fees": {"disclosure": 1000, "notification": 1000}, "due_business_days": 10}
    clock.moment = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert client.get("/requests/hours").json()["open"] is True


def test_identity_code_over_http(
    rt: Runtime, client: TestClient, token_for: Headers, mailbox: Mailbox
) -> None:
    officer = token_for("privacy_officer")
    ref, _ = register_customer(rt)
    made = _request(client, officer, kind="erasure", via="email", subject=ref)
    path = f"/requests/{made['ref']}"
    sent = client.post(f"{path}/identity/code", headers=officer)
    assert sent.status_code == 200, sent.text
    wrong = client.post(f"{path}/identity/verify", json={"code": "12345x"}, headers=officer)
    assert problem(wrong, 403, "access_denied")["rule"] == "identity_code_wrong"
    import re

    code = re.search(r"\b(\d{6})\b", Mailbox.text(mailbox.messages[-1]))
    assert code is not None
    right = client.post(f"{path}/identity/verify", json={"code": code.group(1)}, headers=officer)
    assert right.json()["state"] == "in_progress"
