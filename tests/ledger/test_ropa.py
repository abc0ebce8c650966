"""GDPR Art. 30 records of processing: controller, activities, transfers with safeguards."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from mamori.ledger import ledger, ledger_html, ropa
from mamori.runtime import Runtime
from tests.api.conftest import client, token_for
from tests.api.support import last_entry, refused

__all__ = ["client", "token_for"]  # the API fixtures, shared


def _activities(records: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["key"]: a for a in records["activities"]}


def test_the_controller_and_one_activity_per_purpose(rt: Runtime) -> None:
    records = ropa.build(rt)
    controller = records["controller"]
    assert controller["name"]["en"] == "QualitySoft Corporation"
    assert controller["representative"]["en"] == "Kiyoharu Ura, President"
    assert controller["contact"]["phone"] == "+81-3-5275-6121"
    assert controller["privacy_officer"]["department"]["en"] == "Business Management Department"
    assert list(_activities(records)) == [p.key for p in rt.policy.source.purposes]
    assert {m["kind"] for m in records["security_measures"]} >= {"technical", "organizational"}


def test_the_singapore_transfer_is_listed_with_its_safeguards(rt: Runtime) -> None:
    partners = _activities(ropa.build(rt))["partner_information"]
    assert [s["key"] for s in partners["data_subjects"]] == ["subscriber"]
    roles = {(r["key"], r["role"]) for r in partners["recipients"]}
    assert roles == {
        ("partner_kanto", "third_party"),
        ("partner_singapore", "third_party"),
        ("mail_delivery", "processor"),
    }
    [transfer] = partners["transfers"]
    assert (transfer["key"], transfer["country"], transfer["documented"]) == (
        "partner_singapore",
        "SG",
        True,
    )
    assert "Personal Data Protection Act 2012" in transfer["system"]["en"]
    assert "OECD" in transfer["safeguards"]["en"]
    assert "technical" in partners["security_measures"]


def test_joint_users_processors_and_retention_duties(rt: Runtime) -> None:
    activities = _activities(ropa.build(rt))
    support = {(r["key"], r["role"]) for r in activities["product_support"]["recipients"]}
    assert ("qs_solutions", "joint_user") in support
    assert {("call_center", "processor"), ("cloud_hosting", "processor")} <= support
    assert activities["product_support"]["transfers"] == []
    invoices = activities["invoicing_payment"]
    assert invoices["retention"]["period"] == "P7Y"
    assert "Corporation Tax Act" in invoices["retention"]["duty"]["en"]
    assert {"customer"} == {s["key"] for s in invoices["data_subjects"]}


def test_the_page_in_english_and_japanese(rt: Runtime) -> None:
    records = ropa.build(rt)
    records["activities"][0]["name"]["en"] = "<script>x()</script>"
    english = ledger_html.render_ropa(records)
    assert "Records of processing activities" in english and '<html lang="en">' in english
    assert "<script" not in english and "&lt;script&gt;" in english
    assert not re.search(r"<[^>]*\s(src|href)=", english)
    assert "Singapore" in english and "size: A4" in english
    japanese = ledger_html.render_ropa(records, "ja")
    assert "処理活動の記録" in japanese and "シンガポール" in japanese


def test_the_route_serves_json_and_html_to_auditors_only(
    client: TestClient, rt: Runtime, token_for: Callable[[str], dict[str, str]]
) -> None:
    auditor = token_for("auditor")
    data = client.get("/records-of-processing", headers=auditor)
    assert data.status_code == 200 and data.headers["content-type"] == "application/json"
    assert _activities(data.json())["partner_information"]["transfers"][0]["country"] == "SG"
    assert last_entry(rt)["action"] == "read_ropa"
    page = client.get(
        "/records-of-processing", params={"format": "html", "lang": "ja"}, headers=auditor
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "処理活動の記録" in page.text
    refused(client.get("/records-of-processing", headers=token_for("sales")), ledger.READER_RULE)
    assert last_entry(rt)["rule"] == ledger.READER_RULE
    bad = client.get("/records-of-processing", params={"lang": "fr"}, headers=auditor)
    assert bad.status_code == 422
