"""Looking a person up in the console: purpose first, the address in the body, values as the guard allows.

The promises: nothing is shown before a purpose is chosen; the e-mail address
or phone number never appears in a URL; only the values the purpose may use
are shown; every look-up and read is in the audit trail, and every refusal
too, with the guard's rule on the page.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from mamori.subjects.service import normalize_values
from tests.factories import register_customer
from tests.portal.console.conftest import csrf_in, sign_in_staff

EMAIL = "user.contact.email"
PHONE = "user.contact.phone_number"


def entries(rt: Runtime, count: int) -> list[dict[str, Any]]:
    """The last ``count`` audit entries, oldest first."""
    with rt.db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT actor, purpose, action, subjects, categories, outcome, rule, detail"
            " FROM audit_entries ORDER BY seq DESC LIMIT ?",
            (count,),
        )
    keys = ("actor", "purpose", "action", "subjects", "categories", "outcome", "rule", "detail")
    found = []
    for row in reversed(rows):
        entry = dict(zip(keys, row, strict=True))
        for name in ("subjects", "categories", "detail"):
            entry[name] = json.loads(entry[name])
        found.append(entry)
    return found


def look_up(client: TestClient, **fields: str) -> Any:
    token = csrf_in(client.get("/console/subjects").text)
    return client.post("/console/subjects", data={"csrf": token, **fields})


@pytest.fixture
def officer(staff_client: TestClient) -> TestClient:
    staff_client.cookies.set("mamori_lang", "en")
    return staff_client


@pytest.fixture
def customer(rt: Runtime) -> tuple[str, dict[str, str]]:
    return register_customer(rt)


def test_the_form_asks_for_the_purpose_first(rt: Runtime, officer: TestClient) -> None:
    page = officer.get("/console/subjects")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert text.index('name="purpose"') < text.index('name="email"') < text.index('name="phone"')
    for purpose in rt.policy.purposes_for(("privacy_officer",)):
        assert f'<option value="{purpose}"' in text
    assert '<label for="f-purpose">' in text and '<label for="f-email">' in text


def test_a_role_is_offered_only_its_own_purposes(rt: Runtime, console_client: TestClient) -> None:
    sign_in_staff(console_client, "sales")
    text = console_client.get("/console/subjects").text
    assert '<option value="purchase_fulfillment"' in text
    assert '<option value="product_support"' not in text


def test_an_email_finds_the_person_and_shows_the_permitted_values(
    rt: Runtime, officer: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    ref, values = customer
    answer = look_up(officer, purpose="purchase_fulfillment", email=values[EMAIL].upper())
    assert answer.status_code == 200 and not answer.url.query
    assert f'href="/console/subjects/{ref}?purpose=purchase_fulfillment"' in answer.text
    for value in normalize_values(rt, values).values():
        assert value in answer.text
    title = answer.text.split("<title>")[1].split("</title>")[0]
    assert values[EMAIL] not in title and ref not in title
    find, read = entries(rt, 2)
    assert (find["purpose"], find["outcome"], find["detail"]) == (
        "purchase_fulfillment",
        "allowed",
        {"lookup": EMAIL},
    )
    assert read["subjects"] == [ref] and read["action"] == "read"


def test_a_phone_number_finds_the_person_too(
    officer: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    ref, values = customer
    answer = look_up(officer, purpose="purchase_fulfillment", phone=values[PHONE])
    assert answer.status_code == 200 and ref in answer.text


def test_nobody_found_says_so(officer: TestClient) -> None:
    answer = look_up(officer, purpose="purchase_fulfillment", email="nobody@example.jp")
    assert answer.status_code == 200
    assert "No one whose data this purpose may use holds that address or number." in answer.text


def test_only_what_the_purpose_covers_is_shown(
    rt: Runtime, officer: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    ref, values = customer
    covered = rt.policy.categories_of("satisfaction_research")
    hidden = [k for k in values if k not in covered]
    assert hidden, "the example needs a category the research purpose does not cover"
    page = officer.get(f"/console/subjects/{ref}?purpose=satisfaction_research")
    assert page.status_code == 200
    for key in hidden:
        assert values[key] not in page.text
    assert entries(rt, 1)[0]["purpose"] == "satisfaction_research"


def test_the_subject_page_asks_for_the_purpose_first(
    rt: Runtime, officer: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    ref, values = customer
    before = entries(rt, 1)
    page = officer.get(f"/console/subjects/{ref}")
    assert page.status_code == 200
    assert '<select id="f-purpose" name="purpose"' in page.text
    assert all(v not in page.text for v in values.values())
    assert entries(rt, 1) == before  # nothing was read


def test_a_purpose_the_role_may_not_use_is_refused_and_audited(
    rt: Runtime, console_client: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    sign_in_staff(console_client, "support")
    console_client.cookies.set("mamori_lang", "en")
    ref, values = customer
    answer = look_up(console_client, purpose="purchase_fulfillment", email=values[EMAIL])
    assert answer.status_code == 403 and "role_not_permitted" in answer.text
    assert values[EMAIL] not in answer.text
    assert entries(rt, 1)[0]["rule"] == "role_not_permitted"
    page = console_client.get(f"/console/subjects/{ref}?purpose=purchase_fulfillment")
    assert page.status_code == 403 and all(v not in page.text for v in values.values())
    last = entries(rt, 1)[0]
    assert (last["actor"], last["outcome"], last["rule"]) == (
        "support",
        "denied",
        "role_not_permitted",
    )


def test_a_purpose_that_does_not_cover_the_address_is_refused(
    rt: Runtime, officer: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    assert EMAIL not in rt.policy.categories_of("usage_analysis")
    answer = look_up(officer, purpose="usage_analysis", email=customer[1][EMAIL])
    assert answer.status_code == 403
    last = entries(rt, 1)[0]
    assert last["outcome"] == "denied" and last["purpose"] == "usage_analysis"
    assert last["rule"] in answer.text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "a@example.jp"}, "purpose", "Choose the purpose of the look-up first."),
        ({"purpose": "NOT A KEY", "email": "a@example.jp"}, "purpose", "Choose one of the purposes listed."),
        ({"purpose": "purchase_fulfillment"}, "email", "Enter an e-mail address or a phone number to look for."),
        ({"purpose": "purchase_fulfillment", "email": "a@example.jp", "phone": "020-0000-0001"},
         "email", "Fill in only one: the e-mail address or the phone number."),
        ({"purpose": "purchase_fulfillment", "email": "not-an-address"}, "email",
         "This is not an e-mail address. Check it and try again."),
        ({"purpose": "purchase_fulfillment", "phone": "abc"}, "phone",
         "This is not a phone number. Check it and try again."),
        ({"purpose": "purchase_fulfillment", "email": "a" * 400 + "@example.jp"}, "email",
         "This is longer than any e-mail address can be."),
    ],
)  # fmt: skip
def test_mistakes_are_named_next_to_their_fields(
    officer: TestClient, fields: dict[str, str], field: str, message: str
) -> None:
    answer = look_up(officer, **fields)
    assert answer.status_code == 422
    assert f'id="f-{field}-error" class="error">{message}' in answer.text
    assert f'aria-describedby="f-{field}-error"' in answer.text or (
        f'f-{field}-error"' in answer.text.split(f'id="f-{field}"')[1].split(">")[0]
    )
    assert csrf_in(answer.text)  # a fresh token to try again with


def test_mistakes_are_told_in_japanese(staff_client: TestClient) -> None:
    staff_client.cookies.set("mamori_lang", "ja")
    answer = look_up(staff_client, purpose="purchase_fulfillment")
    assert answer.status_code == 422
    assert "検索するメールアドレスまたは電話番号を入力してください。" in answer.text


def test_a_forged_or_replayed_token_is_refused_and_audited(
    rt: Runtime, officer: TestClient, customer: tuple[str, dict[str, str]]
) -> None:
    email = customer[1][EMAIL]
    forged = officer.post(
        "/console/subjects",
        data={"csrf": "forged", "purpose": "purchase_fulfillment", "email": email},
    )
    assert forged.status_code == 403 and email not in forged.text
    assert entries(rt, 1)[0]["purpose"] == "auth.csrf"
    token = csrf_in(officer.get("/console/subjects").text)
    form = {"csrf": token, "purpose": "purchase_fulfillment", "email": email}
    assert officer.post("/console/subjects", data=form).status_code == 200
    replayed = officer.post("/console/subjects", data=form)
    assert replayed.status_code == 403
    last = entries(rt, 1)[0]
    assert (last["purpose"], last["rule"]) == ("auth.csrf", "csrf_replayed")


def test_an_unknown_reference_is_refused_and_audited(rt: Runtime, officer: TestClient) -> None:
    page = officer.get("/console/subjects/saaaaaaaaaaaaaaaa?purpose=purchase_fulfillment")
    assert page.status_code == 404
    last = entries(rt, 1)[0]
    assert (last["outcome"], last["rule"]) == ("denied", "unknown_subject")
    page = officer.get("/console/subjects/<script>?purpose=purchase_fulfillment")
    assert page.status_code == 404 and "<script>" not in page.text
    assert entries(rt, 1)[0]["detail"] == {"unknown_subject": "<malformed>"}


def test_an_expired_session_goes_to_sign_in(rt: Runtime, officer: TestClient) -> None:
    token = csrf_in(officer.get("/console/subjects").text)
    rt.clock.moment += timedelta(minutes=31)  # type: ignore[attr-defined]
    answer = officer.post(
        "/console/subjects",
        data={"csrf": token, "purpose": "purchase_fulfillment", "email": "a@example.jp"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin?ended=1"


def test_without_a_session_the_look_up_sends_to_sign_in(console_client: TestClient) -> None:
    answer = console_client.get("/console/subjects", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"


def test_the_look_up_speaks_japanese(staff_client: TestClient) -> None:
    page = staff_client.get("/console/subjects?lang=ja").text
    assert "この検索の利用目的" in page and '<html lang="ja">' in page


def test_what_is_not_a_reference_is_not_shown_again(officer: TestClient) -> None:
    page = officer.get("/console/subjects/someone@example.jp")
    assert page.status_code == 200 and '<select id="f-purpose"' in page.text
    assert '<p class="refs">' not in page.text
