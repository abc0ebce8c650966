"""The audit trail page: auditors only, newest first, filters, pages of fifty, no personal value."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mamori.audit.service import Entry
from mamori.runtime import Runtime
from tests.factories import register_customer
from tests.portal.console.conftest import sign_in_staff


def append(rt: Runtime, count: int, **fields: str) -> None:
    """``count`` entries through the audit log itself, with the fields given."""
    base = {
        "actor": "sales",
        "purpose": "purchase_fulfillment",
        "outcome": "allowed",
        "rule": "granted",
    }
    base.update(fields)
    with rt.db.transaction() as tx:
        for _ in range(count):
            entry = Entry(base["actor"], base["purpose"], "read", ["saaaaaaaaaaaaaaaa"], [],
                          base["outcome"], base["rule"])  # fmt: skip
            rt.audit.append(tx, entry, at=rt.now())


def seqs(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr>\s*<th scope="row">(\d+)</th>', page)]


@pytest.fixture
def auditor(console_client: TestClient) -> TestClient:
    sign_in_staff(console_client, "auditor")
    console_client.cookies.set("mamori_lang", "en")
    return console_client


def test_the_auditor_sees_the_newest_entries_first(rt: Runtime, auditor: TestClient) -> None:
    append(rt, 3, actor="support", purpose="product_support")
    page = auditor.get("/console/audit")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    shown = seqs(page.text)
    assert shown == sorted(shown, reverse=True) and len(shown) >= 3
    assert "product_support" in page.text


def test_filters_narrow_by_actor_outcome_rule_and_purpose(rt: Runtime, auditor: TestClient) -> None:
    append(rt, 2, actor="support", purpose="product_support")
    append(rt, 1, actor="marketing", purpose="email_delivery", outcome="denied", rule="no_consent")
    page = auditor.get("/console/audit?actor=marketing&outcome=denied&rule=no_consent").text
    assert len(seqs(page)) == 1 and "email_delivery" in page
    page = auditor.get("/console/audit?purpose=product_support").text
    assert len(seqs(page)) == 2
    assert 'value="product_support"' in page  # the filter stays in its field
    page = auditor.get("/console/audit?actor=nobody").text
    assert seqs(page) == [] and "No entry matches these filters." in page


def test_days_filter_by_the_company_calendar(rt: Runtime, auditor: TestClient) -> None:
    rt.clock.moment -= timedelta(days=3)  # type: ignore[attr-defined]
    append(rt, 1, actor="accounting", purpose="invoicing_payment")
    rt.clock.moment += timedelta(days=3)  # type: ignore[attr-defined]
    append(rt, 1, actor="accounting", purpose="invoicing_payment")
    day = (rt.now() - timedelta(days=3)).astimezone(rt.policy.zone).date().isoformat()
    page = auditor.get(f"/console/audit?actor=accounting&from={day}&to={day}").text
    assert len(seqs(page)) == 1
    today = rt.now().astimezone(rt.policy.zone).date().isoformat()
    assert len(seqs(auditor.get(f"/console/audit?actor=accounting&from={today}").text)) == 1


def test_pages_hold_fifty_and_the_next_link_keeps_the_filters(
    rt: Runtime, auditor: TestClient
) -> None:
    append(rt, 120, actor="support", purpose="product_support")
    first = auditor.get("/console/audit?actor=support").text
    assert len(seqs(first)) == 50
    link = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    assert "actor=support" in url and f"before={seqs(first)[-1]}" in url
    second = auditor.get(url).text
    assert len(seqs(second)) == 50 and max(seqs(second)) < min(seqs(first))
    third_link = re.search(r'<a href="([^"]+)" rel="next">', second)
    assert third_link is not None
    third = auditor.get(third_link.group(1).replace("&amp;", "&")).text
    assert len(seqs(third)) == 20 and 'rel="next"' not in third
    assert 'href="/console/audit?actor=support">Newest entries' in third


def test_bad_filters_are_named_next_to_their_fields(auditor: TestClient) -> None:
    page = auditor.get("/console/audit?actor=<b>x</b>&outcome=maybe&from=2026-13-01&to=yesterday")
    assert page.status_code == 422
    text = page.text
    assert 'aria-describedby="f-actor-error"' in text and 'id="f-actor-error"' in text
    assert "Choose one of the outcomes listed." in text
    assert text.count("Enter a day as YYYY-MM-DD.") == 2
    assert "<b>x</b>" not in text
    assert seqs(text) == []


def test_days_in_the_wrong_order_are_refused_in_japanese(console_client: TestClient) -> None:
    sign_in_staff(console_client, "auditor")
    page = console_client.get("/console/audit?from=2026-11-20&to=2026-11-01")
    assert page.status_code == 422
    assert "終了日が開始日より前になっています。" in page.text


def test_a_cursor_that_is_not_a_number_starts_at_the_newest(
    rt: Runtime, auditor: TestClient
) -> None:
    append(rt, 2)
    assert seqs(auditor.get("/console/audit?before=abc").text)


@pytest.mark.parametrize("handle", ["sales", "support"])
def test_a_role_that_is_not_an_auditor_is_refused_and_audited(
    rt: Runtime, console_client: TestClient, handle: str
) -> None:
    sign_in_staff(console_client, handle)
    page = console_client.get("/console/audit")
    assert page.status_code == 403 and "not_auditor" in page.text
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT actor, outcome, rule FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
    assert tuple(row) == (handle, "denied", "not_auditor")


def test_the_privacy_officer_is_an_auditor_too(staff_client: TestClient) -> None:
    assert staff_client.get("/console/audit").status_code == 200


def test_no_personal_value_reaches_the_page(rt: Runtime, auditor: TestClient) -> None:
    ref, values = register_customer(rt)
    page = auditor.get("/console/audit").text
    assert ref in page
    for value in values.values():
        assert value not in page


def test_without_a_session_the_trail_sends_to_sign_in(console_client: TestClient) -> None:
    answer = console_client.get("/console/audit", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"


def test_the_trail_of_one_person(rt: Runtime, auditor: TestClient) -> None:
    ref, _ = register_customer(rt)
    append(rt, 2)
    page = auditor.get(f"/console/audit?subject={ref}").text
    assert seqs(page) and all("saaaaaaaaaaaaaaaa" not in row for row in page.split("<tr>")[2:])
    bad = auditor.get("/console/audit?subject=someone@example.jp")
    assert bad.status_code == 422 and 'id="f-subject-error"' in bad.text
    assert "someone@example.jp" not in bad.text  # what is not a reference is not shown again
