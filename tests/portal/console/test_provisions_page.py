"""Provision records in the console: the list and one record, read only by those who may, audited."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from tests.portal.console.conftest import sign_in_staff
from tests.recipients.conftest import provide, subscriber


def last_entry(rt: Runtime) -> dict[str, Any]:
    with rt.db.transaction() as tx:
        row = tx.fetchone(
            "SELECT actor, purpose, action, subjects, outcome, rule, detail"
            " FROM audit_entries ORDER BY seq DESC LIMIT 1"
        )
    keys = ("actor", "purpose", "action", "subjects", "outcome", "rule", "detail")
    entry = dict(zip(keys, row, strict=True))
    entry["subjects"], entry["detail"] = json.loads(entry["subjects"]), json.loads(entry["detail"])
    return entry


@pytest.fixture
def provided(rt: Runtime) -> tuple[str, list[str], list[dict[str, str]]]:
    """One provision to the Kanto partner of two subscribers who consented."""
    people = [subscriber(rt) for _ in range(2)]
    made = provide(rt, [ref for ref, _ in people])
    return str(made.record["ref"]), [ref for ref, _ in people], [v for _, v in people]


@pytest.fixture
def officer(staff_client: TestClient) -> TestClient:
    staff_client.cookies.set("mamori_lang", "en")
    return staff_client


def test_the_list_shows_date_recipient_purpose_basis_and_counts(
    rt: Runtime, officer: TestClient, provided: tuple[str, list[str], list[dict[str, str]]]
) -> None:
    ref, _, people = provided
    page = officer.get("/console/provisions")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert f'href="/console/provisions/{ref}"' in text
    assert rt.policy.recipients["partner_kanto"].name.en in text
    assert rt.policy.purposes["partner_information"].title.en in text
    assert "The person's consent" in text
    assert re.search(r'<td class="number">2</td><td class="number">0</td>', text)
    for values in people:
        assert all(v not in text for v in values.values())
    entry = last_entry(rt)
    assert (entry["purpose"], entry["action"], entry["outcome"]) == (
        "system.records",
        "read",
        "allowed",
    )


def test_one_record_names_its_people_by_reference_and_the_read_is_audited(
    rt: Runtime, officer: TestClient, provided: tuple[str, list[str], list[dict[str, str]]]
) -> None:
    ref, refs, people = provided
    page = officer.get(f"/console/provisions/{ref}")
    assert page.status_code == 200
    for subject in refs:
        assert f'href="/console/subjects/{subject}"' in page.text
    for values in people:
        assert all(v not in page.text for v in values.values())
    assert ref not in page.text.split("<title>")[1].split("</title>")[0]
    entry = last_entry(rt)
    assert entry["outcome"] == "allowed" and sorted(entry["subjects"]) == sorted(refs)
    assert entry["detail"]["provision"] == ref


def test_filters_by_recipient_and_days(
    rt: Runtime, officer: TestClient, provided: tuple[str, list[str], list[dict[str, str]]]
) -> None:
    ref = provided[0]
    today = rt.now().astimezone(rt.policy.zone).date().isoformat()
    assert ref in officer.get(f"/console/provisions?recipient=partner_kanto&from={today}").text
    other = next(k for k in rt.policy.recipients if k != "partner_kanto")
    page = officer.get(f"/console/provisions?recipient={other}").text
    assert ref not in page and "No provision record matches these filters." in page
    assert ref not in officer.get("/console/provisions?to=2020-01-01").text


def test_bad_filters_are_named_next_to_their_fields(officer: TestClient) -> None:
    page = officer.get("/console/provisions?recipient=nobody&from=2026-02-30")
    assert page.status_code == 422
    assert 'aria-describedby="f-recipient-error"' in page.text
    assert "Choose one of the recipients listed." in page.text
    assert 'id="f-from-error"' in page.text


@pytest.mark.parametrize("handle", ["support", "marketing"])
def test_a_role_that_may_not_read_records_is_refused_and_audited(
    rt: Runtime,
    console_client: TestClient,
    handle: str,
    provided: tuple[str, list[str], list[dict[str, str]]],
) -> None:
    sign_in_staff(console_client, handle)
    for path in ("/console/provisions", f"/console/provisions/{provided[0]}"):
        page = console_client.get(path)
        assert page.status_code == 403 and "records_not_permitted" in page.text
        assert provided[1][0] not in page.text
        entry = last_entry(rt)
        assert (entry["actor"], entry["outcome"], entry["rule"]) == (
            handle,
            "denied",
            "records_not_permitted",
        )


def test_the_auditor_may_read_them(
    console_client: TestClient, provided: tuple[str, list[str], list[dict[str, str]]]
) -> None:
    sign_in_staff(console_client, "auditor")
    assert console_client.get(f"/console/provisions/{provided[0]}").status_code == 200


@pytest.mark.parametrize(
    ("ref", "shown"), [("paaaaaaaaaaaaaaaa", "paaaaaaaaaaaaaaaa"), ("<x>", "<malformed>")]
)
def test_an_unknown_or_malformed_record_is_a_page_and_audited(
    rt: Runtime, officer: TestClient, ref: str, shown: str
) -> None:
    page = officer.get(f"/console/provisions/{ref}")
    assert page.status_code == 404 and "There is nothing here" in page.text
    assert "<x>" not in page.text
    entry = last_entry(rt)
    assert (entry["outcome"], entry["rule"]) == ("denied", "unknown_provision")
    assert entry["detail"]["provision"] == shown


def test_the_list_speaks_japanese(
    staff_client: TestClient, provided: tuple[str, list[str], list[dict[str, str]]]
) -> None:
    page = staff_client.get("/console/provisions?lang=ja").text
    assert "本人の同意" in page and "提供した人数" in page


def test_without_a_session_the_records_send_to_sign_in(console_client: TestClient) -> None:
    answer = console_client.get("/console/provisions", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"
