"""The HTTP face of receipts, processors, hand-overs and supervision (both backends).

Also checks, for each route, the rows proposed for ``tests/api/test_routes.py``:
the wrong role is refused with its rule (audited) and the right one goes through.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from tests.api.conftest import cheap_argon2, client, token_for
from tests.api.support import last_entry, problem, refused
from tests.factories import customer_values, register_customer

__all__ = ["cheap_argon2", "client", "token_for"]
Tokens = Callable[[str], dict[str, str]]
HOW = "Attendee list of the Japan Software Expo, shared with the attendees' consent"


def _attendee_body(rt: Runtime, count: int = 1) -> dict[str, Any]:
    keep = ("user.name", "user.contact.email")
    records = []
    for _ in range(count):
        values = customer_values(rt, purpose="event_registration")
        records.append({"values": {c: values[c] for c in keep}})
    return {
        "provider": "event_cohost",
        "channel": "cohost_attendee_list",
        "obtained_how": HOW,
        "records": records,
    }


def _receipt(client: TestClient, rt: Runtime, token_for: Tokens) -> dict[str, Any]:
    answer = client.post("/receipts", json=_attendee_body(rt), headers=token_for("privacy_officer"))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_receipt_over_http(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    body = _attendee_body(rt, 2)
    answer = client.post("/receipts", json=body, headers=token_for("privacy_officer"))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["purpose"] == "event_registration"
    record = made["record"]
    assert record["provider"]["representative"]["en"] == "Saburo Takahashi, Chair"
    assert len(record["subjects"]) == 2
    auditor = token_for("auditor")
    listed = client.get("/receipts", headers=auditor).json()
    assert [r["ref"] for r in listed] == [record["ref"]]
    shown = client.get(f"/receipts/{record['ref']}", headers=auditor).json()
    assert shown["subjects"] == record["subjects"]
    problem(client.get("/receipts/c" + "a" * 16, headers=auditor), 404, "unknown_receipt")


def test_a_bad_csv_is_a_problem_listing_lines(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    body = {**_attendee_body(rt), "records": None}
    body["csv"] = "user.name,user.contact.email\n山田 太郎,taro-at-example.jp\n"
    answer = client.post("/receipts", json=body, headers=token_for("privacy_officer"))
    found = problem(answer, 422, "records_invalid")
    assert found["problems"] == ["line 2: user.contact.email is not a valid e-mail address"]
    assert "taro" not in answer.text and "山田" not in answer.text


def test_an_undeclared_provider_is_a_403(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    body = {**_attendee_body(rt), "provider": "someone_else"}
    refused(
        client.post("/receipts", json=body, headers=token_for("privacy_officer")),
        "unknown_recipient",
    )
    assert last_entry(rt)["rule"] == "unknown_recipient"


def test_processors_and_a_handover(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    staff = token_for("integration")
    listed = client.get("/processors", headers=staff).json()
    assert [p["key"] for p in listed] == ["mail_delivery", "call_center", "cloud_hosting"]
    calls = client.get("/processors/call_center", headers=staff).json()
    assert calls["contract"] == {"from": "2023-10-01", "until": "2026-09-30", "in_force": False}
    problem(client.get("/processors/nobody", headers=staff), 404)
    ref, values = register_customer(rt)
    body = {"purpose": "invoicing_payment", "subjects": [ref], "format": "csv"}
    answer = client.post(
        "/processors/cloud_hosting/handovers", json=body, headers=token_for("accounting")
    )
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["refused"] == [] and made["record"]["subject_count"] == 1
    assert made["export"]["format"] == "csv" and values["user.name"] in made["export"]["content"]
    records = client.get("/processors/cloud_hosting/handovers", headers=token_for("auditor"))
    assert [h["ref"] for h in records.json()] == [made["record"]["ref"]]


def test_a_lapsed_contract_over_http(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    body = {"purpose": "product_support", "all": True, "format": "json"}
    answer = client.post(
        "/processors/call_center/handovers", json=body, headers=token_for("privacy_officer")
    )
    refused(answer, "contract_lapsed")


def test_bad_handover_bodies(client: TestClient, token_for: Tokens) -> None:
    officer = token_for("privacy_officer")
    for body in (
        {"purpose": "email_delivery", "format": "json"},
        {"purpose": "email_delivery", "all": True, "subjects": ["s" + "a" * 16]},
        {"purpose": "email_delivery", "subjects": ["not-a-ref"]},
        {"purpose": "email_delivery", "all": True, "format": "xml"},
    ):
        answer = client.post("/processors/mail_delivery/handovers", json=body, headers=officer)
        problem(answer, 422, "request_invalid")


def test_supervision_over_http(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    body = {"done_on": "2026-11-01", "kind": "on_site", "outcome": "satisfactory"}
    answer = client.post(
        "/processors/mail_delivery/supervisions", json=body, headers=token_for("privacy_officer")
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["next_due"] == "2027-11-01"
    listed = client.get("/processors/mail_delivery/supervisions", headers=token_for("auditor"))
    assert [s["kind"] for s in listed.json()] == ["on_site"]
    bad = {**body, "outcome": "great"}
    answer = client.post(
        "/processors/mail_delivery/supervisions", json=bad, headers=token_for("privacy_officer")
    )
    problem(answer, 422, "request_invalid")


# The rows proposed for tests/api/test_routes.py, checked here the way that test does.
ROWS: list[tuple[str, str, str, str, str, Callable[[Runtime, str], Any] | None]] = [
    ("POST", "/receipts", "marketing", "role_not_permitted", "privacy_officer", None),
    ("GET", "/receipts", "sales", "records_not_permitted", "auditor", None),
    ("GET", "/receipts/{receipt}", "sales", "records_not_permitted", "auditor", None),
    ("POST", "/processors/cloud_hosting/handovers", "sales", "action_not_permitted", "accounting",
     lambda rt, ref: {"purpose": "invoicing_payment", "subjects": [ref], "format": "json"}),
    ("GET", "/processors/cloud_hosting/handovers", "sales", "records_not_permitted", "auditor", None),
    ("POST", "/processors/cloud_hosting/supervisions", "auditor", "not_privileged",
     "privacy_officer",
     lambda rt, ref: {"done_on": "2026-11-01", "kind": "questionnaire", "outcome": "satisfactory"}),
    ("GET", "/processors/cloud_hosting/supervisions", "sales", "records_not_permitted", "auditor",
     None),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[f"{r[0]} {r[1]}" for r in ROWS])
def test_route_rows(
    client: TestClient, rt: Runtime, token_for: Tokens, row: tuple[Any, ...]
) -> None:
    method, template, wrong, rule, right, make = row
    ref, _ = register_customer(rt)
    path = template
    if "{receipt}" in template:
        path = template.format(receipt=_receipt(client, rt, token_for)["record"]["ref"])
    body = _attendee_body(rt) if template == "/receipts" and method == "POST" else None
    if make is not None:
        body = make(rt, ref)
    wrong_headers = token_for(wrong)
    refused(client.request(method, path, json=body, headers=wrong_headers), rule)
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", rule)
    if template == "/receipts" and method == "POST":
        body = _attendee_body(rt)
    answer = client.request(method, path, json=body, headers=token_for(right))
    assert answer.status_code < 300, answer.text
    json.loads(answer.text)
