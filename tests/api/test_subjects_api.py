"""The API's happy paths, the browser session with its CSRF tokens, and foreign data.

Service tokens call the registry, consents, policy, audit, staff and token
routes as an integrator would; a staff member signs in and works through a
session whose state-changing requests each need a fresh CSRF token; tokens
and sessions reach only what their role and purpose allow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.runtime import Runtime
from tests.api.conftest import PASSWORD
from tests.api.support import audit_count, last_entry, problem, refused, token_id
from tests.conftest import Clock
from tests.factories import customer_values, register_customer

Tokens = Callable[[str], dict[str, str]]
PURCHASE = {"purpose": "purchase_fulfillment"}
EMAIL_DELIVERY = {"purpose": "email_delivery"}


def create(client: TestClient, headers: dict[str, str], values: dict[str, str]) -> str:
    answer = client.post(
        "/subjects",
        params=PURCHASE,
        headers=headers,
        json={"channel": "product_purchase", "values": values},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["ref"])


def subject_count(rt: Runtime) -> int:
    with rt.db.transaction() as tx:
        return int(tx.fetchone("SELECT count(*) FROM subjects")[0])


def test_register_read_and_find(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    sales = token_for("sales")
    values = customer_values(rt)
    ref = create(client, sales, values)

    read = client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales)
    assert read.status_code == 200, read.text
    body = read.json()
    assert (body["ref"], body["kind"], body["channel"]) == (ref, "customer", "product_purchase")
    assert body["values"]["user.name"] == values["user.name"]
    assert body["values"]["user.contact.email"] == values["user.contact.email"]
    assert set(body["sources"]) == set(body["values"])

    only = client.get(
        f"/subjects/{ref}", params={**PURCHASE, "category": "user.name"}, headers=sales
    )
    assert set(only.json()["values"]) == {"user.name"}

    for field, category in (
        ("email", "user.contact.email"),
        ("phone", "user.contact.phone_number"),
    ):
        found = client.post(
            "/subjects/search", params=PURCHASE, headers=sales, json={field: values[category]}
        )
        assert found.status_code == 200, found.text
        assert found.json() == {"refs": [ref]}
    nobody = client.post(
        "/subjects/search", params=PURCHASE, headers=sales, json={"email": "nobody@example.com"}
    )
    assert nobody.json() == {"refs": []}
    entry = last_entry(rt)
    assert (entry["outcome"], entry["action"]) == ("allowed", "read")


def test_list_pages_with_next_after(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    refs = {register_customer(rt)[0] for _ in range(5)}
    sales = token_for("sales")
    seen: list[str] = []
    after: str | None = None
    for _ in range(10):
        params: dict[str, Any] = {**PURCHASE, "limit": 2, "channel": "product_purchase"}
        if after:
            params["after"] = after
        page = client.get("/subjects", params=params, headers=sales)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        assert all("values" not in item for item in body["items"])
        seen += [item["ref"] for item in body["items"]]
        after = body["next_after"]
        if after is None:
            break
    assert seen == sorted(refs)
    other = client.get("/subjects", params={**PURCHASE, "kind": "prospect"}, headers=sales)
    assert other.json() == {"items": [], "next_after": None}


def test_correct_keeps_the_old_value_as_history(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    sales = token_for("sales")
    ref, values = register_customer(rt)
    answer = client.patch(
        f"/subjects/{ref}",
        params=PURCHASE,
        headers=sales,
        json={"values": {"user.name": "山田 花子"}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ref": ref, "corrected": ["user.name"]}
    now = client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales).json()["values"]
    assert now["user.name"] == "山田 花子"
    assert now["user.contact.email"] == values["user.contact.email"]
    with rt.db.transaction() as tx:
        history = tx.fetchall(
            "SELECT h.category, h.replaced_by FROM subject_value_history h"
            " JOIN subjects s ON s.id = h.subject_id WHERE s.ref = ?",
            (ref,),
        )
    assert [tuple(r) for r in history] == [("user.name", f"token:{token_id(sales)}")]


def test_consent_grant_withdraw_and_history(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    ref, _ = register_customer(rt)
    shop = token_for("integration")
    url = f"/subjects/{ref}/consents"
    evidence = {"form": "newsletter-2026", "text_version": "3"}
    granted = client.post(
        url + "/grant",
        params=EMAIL_DELIVERY,
        headers=shop,
        json={"channel": "product_purchase", "explicit": True, "evidence": evidence},
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert (body["state"], body["changed"], body["event"]["evidence"]) == (
        "granted",
        True,
        evidence,
    )
    again = client.post(url + "/grant", params=EMAIL_DELIVERY, headers=shop, json={})
    assert (again.json()["changed"], again.json()["event"]) == (False, None)
    withdrawn = client.post(
        url + "/withdraw", params=EMAIL_DELIVERY, headers=shop, json={"channel": "gpc"}
    )
    assert (withdrawn.json()["state"], withdrawn.json()["changed"]) == ("withdrawn", True)

    history = client.get(url, params=EMAIL_DELIVERY, headers=token_for("marketing"))
    assert history.status_code == 200, history.text
    events = history.json()
    assert [(e["state"], e["channel"]) for e in events] == [
        ("granted", "product_purchase"),
        ("withdrawn", "gpc"),
    ]
    assert {e["actor"] for e in events} == {f"token:{token_id(shop)}"}
    not_consent = client.post(url + "/grant", params=PURCHASE, headers=shop, json={})
    problem(not_consent, 409, "consent_not_applicable")


def test_policy_and_notices(client: TestClient, token_for: Tokens) -> None:
    sales = token_for("sales")
    policy = client.get("/policy", headers=sales)
    assert policy.status_code == 200, policy.text
    assert "purchase_fulfillment" in {p["key"] for p in policy.json()["purposes"]}
    notices = client.get("/policy/notices", headers=sales).json()
    assert [n["version"] for n in notices] == [1]

    officer = token_for("privacy_officer")
    published = client.post(
        "/policy/notices", headers=officer, json={"effective_at": "2026-12-01T00:00:00+09:00"}
    )
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 2
    assert published.json()["published_by"] == f"token:{token_id(officer)}"
    effective = datetime.fromisoformat(published.json()["effective_at"])
    assert effective == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    versions = [n["version"] for n in client.get("/policy/notices", headers=sales).json()]
    assert versions == [1, 2]
    naive = client.post(
        "/policy/notices", headers=officer, json={"effective_at": "2026-12-01T00:00:00"}
    )
    problem(naive, 422, "request_invalid")


@pytest.mark.parametrize("role", ["auditor", "privacy_officer"])
def test_audit_tail_and_verify(
    client: TestClient, rt: Runtime, token_for: Tokens, role: str
) -> None:
    ref, _ = register_customer(rt)
    sales = token_for("sales")
    client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales)
    client.get(f"/subjects/{ref}", params=EMAIL_DELIVERY, headers=sales)  # refused
    auditor = token_for(role)

    tail = client.get("/audit", params={"limit": 3}, headers=auditor)
    assert tail.status_code == 200, tail.text
    seqs = [e["seq"] for e in tail.json()]
    assert len(seqs) == 3 and seqs == sorted(seqs, reverse=True)

    denied = client.get("/audit", params={"outcome": "denied", "subject": ref}, headers=auditor)
    assert [(e["rule"], e["purpose"]) for e in denied.json()] == [
        ("role_not_permitted", "email_delivery")
    ]
    mine = client.get(
        "/audit", params={"actor": f"token:{token_id(sales)}", "subject": ref}, headers=auditor
    ).json()
    assert [e["outcome"] for e in mine] == ["denied", "allowed"]
    filtered = client.get("/audit", params={"purpose": "purchase_fulfillment"}, headers=auditor)
    assert filtered.status_code == 200, filtered.text
    assert {e["purpose"] for e in filtered.json()} == {"purchase_fulfillment"}

    report = client.post("/audit/verify", headers=auditor)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["ok"] is True and body["findings"] == [] and body["total_findings"] == 0
    assert body["entries"] == body["last_seq"] == body["checkpoint_seq"] == audit_count(rt)


def test_staff_add_disable_enable(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    admin = token_for("admin")
    added = client.post("/staff", headers=admin, json={"handle": "newcomer", "roles": ["support"]})
    assert added.status_code == 201, added.text
    assert added.json() == {"handle": "newcomer", "roles": ["support"], "active": True}
    problem(
        client.post("/staff", headers=admin, json={"handle": "newcomer", "roles": ["support"]}),
        409,
        "staff_exists",
    )
    problem(
        client.post("/staff", headers=admin, json={"handle": "other", "roles": ["emperor"]}),
        422,
    )
    listed = {s["handle"]: s for s in client.get("/staff", headers=admin).json()}
    assert listed["newcomer"]["active"] is True and "officer" in listed

    disabled = client.post("/staff/newcomer/disable", headers=admin)
    assert disabled.json() == {"handle": "newcomer", "roles": ["support"], "active": False}
    assert (last_entry(rt)["action"], last_entry(rt)["actor"]) == (
        "staff_disable",
        f"token:{token_id(admin)}",
    )
    enabled = client.post("/staff/newcomer/enable", headers=admin)
    assert enabled.json()["active"] is True
    problem(client.post("/staff/nobody/disable", headers=admin), 404, "unknown_staff")


def test_token_create_list_revoke(client: TestClient, rt: Runtime, token_for: Tokens) -> None:
    admin = token_for("admin")
    made = client.post(
        "/tokens", headers=admin, json={"label": "web shop", "role": "integration", "days": 7}
    )
    assert made.status_code == 201, made.text
    token = made.json()
    secret = token["secret"]
    assert token["state"] == "active" and token["role"] == "integration"
    shop = {"Authorization": f"Bearer {secret}"}
    me = client.get("/auth/me", headers=shop).json()
    assert (me["handle"], me["kind"], me["roles"]) == (
        f"token:{token['id']}",
        "token",
        ["integration"],
    )

    listed = client.get("/tokens", headers=admin)
    assert secret not in listed.text
    assert {t["id"] for t in listed.json()} >= {token["id"], token_id(admin)}
    assert all("secret" not in t for t in listed.json())

    revoked = client.delete(f"/tokens/{token['id']}", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["state"] == "revoked"
    answer = client.get("/auth/me", headers=shop)
    assert problem(answer, 401, "unauthenticated")["rule"] == "token_revoked"
    entry = last_entry(rt)
    assert (entry["actor"], entry["outcome"], entry["rule"]) == (
        f"token:{token['id']}",
        "denied",
        "token_revoked",
    )
    problem(client.delete("/tokens/0000abcd", headers=admin), 404, "unknown_token")
    problem(
        client.post("/tokens", headers=admin, json={"label": "x", "role": "emperor"}),
        422,
        "unknown_role",
    )


def test_an_expired_token_is_refused(client: TestClient, clock: Clock, token_for: Tokens) -> None:
    sales = token_for("sales")
    assert client.get("/auth/me", headers=sales).status_code == 200
    clock.moment += timedelta(days=31)
    answer = client.get("/subjects", params=PURCHASE, headers=sales)
    assert problem(answer, 401, "unauthenticated")["rule"] == "token_expired"


# -- the browser session ---------------------------------------------------------------
def test_session_needs_a_fresh_csrf_token_for_each_change(
    client: TestClient, rt: Runtime, staff_session: Callable[[str], str]
) -> None:
    csrf = staff_session("sales")
    cookie = client.cookies.get("mamori_session")
    assert cookie
    me = client.get("/auth/me")  # a read needs no CSRF token
    assert me.json()["handle"] == "sales" and me.json()["kind"] == "staff"
    form = {"channel": "product_purchase", "values": customer_values(rt)}

    first = client.post("/subjects", params=PURCHASE, json=form, headers={"x-csrf-token": csrf})
    assert first.status_code == 201, first.text
    count = subject_count(rt)
    for token, rule in (
        (csrf, "csrf_replayed"),
        (None, "csrf_missing"),
        (csrf[:-4] + "AAAA", "csrf_invalid"),
        ("not-a-token", "csrf_invalid"),
    ):
        headers = {"x-csrf-token": token} if token else {}
        refused(client.post("/subjects", params=PURCHASE, json=form, headers=headers), rule)
        entry = last_entry(rt)
        assert (entry["actor"], entry["purpose"], entry["rule"]) == ("sales", "auth.csrf", rule)
    assert subject_count(rt) == count, "a refused form wrote nothing"

    ref = str(client.get("/subjects", params=PURCHASE).json()["items"][0]["ref"])
    change = {"values": {"user.contact.address.building": "Annex 3"}}
    refused(client.patch(f"/subjects/{ref}", params=PURCHASE, json=change), "csrf_missing")
    fresh = client.get("/auth/csrf").json()["csrf_token"]
    answer = client.patch(
        f"/subjects/{ref}", params=PURCHASE, json=change, headers={"x-csrf-token": fresh}
    )
    assert answer.status_code == 200, answer.text


def test_a_csrf_token_of_another_session_is_invalid(
    client: TestClient, rt: Runtime, staff_session: Callable[[str], str]
) -> None:
    first = staff_session("sales")
    client.cookies.clear()
    staff_session("support")
    refused(client.post("/auth/logout", headers={"x-csrf-token": first}), "csrf_invalid")


def test_logout_ends_the_session(client: TestClient, staff_session: Callable[[str], str]) -> None:
    staff_session("sales")
    cookie = client.cookies.get("mamori_session")
    refused(client.post("/auth/logout"), "csrf_missing")
    fresh = client.get("/auth/csrf").json()["csrf_token"]
    bye = client.post("/auth/logout", headers={"x-csrf-token": fresh})
    assert bye.status_code == 204
    assert "mamori_session" not in client.cookies
    client.cookies.set("mamori_session", str(cookie))  # a kept copy of the cookie
    answer = client.get("/auth/me")
    assert problem(answer, 401, "unauthenticated")["rule"] == "session_invalid"


def test_the_session_of_a_disabled_account_is_refused(
    client: TestClient, rt: Runtime, staff_session: Callable[[str], str], token_for: Tokens
) -> None:
    staff_session("sales")
    assert client.get("/subjects", params=PURCHASE).status_code == 200
    disabled = client.post("/staff/sales/disable", headers=token_for("admin"))
    assert disabled.status_code == 200, disabled.text
    refused(client.get("/subjects", params=PURCHASE), "actor_disabled")
    entry = last_entry(rt)
    assert (entry["actor"], entry["rule"]) == ("sales", "actor_disabled")
    # The refusal ended the session: enabling the account does not bring it back.
    client.post("/staff/sales/enable", headers=token_for("admin"))
    answer = client.get("/subjects", params=PURCHASE)
    assert problem(answer, 401, "unauthenticated")["rule"] == "session_invalid"


def test_session_cookie_attributes(
    client: TestClient, staff_session: Callable[[str], str], rt: Runtime
) -> None:
    staff_session("sales")  # sets the password
    answer = client.post("/auth/login", json={"handle": "sales", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back
    with TestClient(create_app(runtime=rt), base_url="https://testserver") as tls:
        answer = tls.post("/auth/login", json={"handle": "sales", "password": PASSWORD})
        assert "secure" in answer.headers["set-cookie"].lower()


# -- a caller and data that is not theirs to read ---------------------------------------
def test_a_write_only_token_cannot_read_what_it_wrote(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    shop = token_for("integration")
    values = customer_values(rt)
    ref = create(client, shop, values)
    for answer in (
        client.get(f"/subjects/{ref}", params=PURCHASE, headers=shop),
        client.get("/subjects", params=PURCHASE, headers=shop),
        client.post(
            "/subjects/search",
            params=PURCHASE,
            headers=shop,
            json={"email": values["user.contact.email"]},
        ),
        client.get(f"/subjects/{ref}/consents", params=EMAIL_DELIVERY, headers=shop),
    ):
        assert values["user.contact.email"] not in answer.text
        refused(answer, "action_not_permitted")
    # What it wrote is there, for a caller who may read it.
    read = client.get(f"/subjects/{ref}", params=PURCHASE, headers=token_for("sales"))
    assert read.json()["values"]["user.name"] == values["user.name"]


def test_a_category_outside_the_purpose_is_refused(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    ref, _ = register_customer(rt)
    answer = client.get(
        f"/subjects/{ref}",
        params={"purpose": "invoicing_payment", "category": "user.behavior.browsing_history"},
        headers=token_for("sales"),
    )
    refused(answer, "category_outside_purpose")


def test_a_subject_is_not_read_for_a_purpose_it_was_not_collected_for(
    client: TestClient, rt: Runtime, token_for: Tokens
) -> None:
    ref, _ = register_customer(
        rt, channel="business_card_exchange", purpose="business_card_promotion"
    )
    sales = token_for("sales")
    answer = client.get(f"/subjects/{ref}", params=PURCHASE, headers=sales)
    assert problem(answer, 403)["rule"] in {"purpose_not_announced", "category_outside_purpose"}
