"""The console's sign-in: password and a second factor for every account, one clear message per refusal."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.api.deps import SESSION_COOKIE
from mamori.runtime import Runtime
from tests.auth.support import PASSWORD, entries, set_password
from tests.portal.console.conftest import authenticator, csrf_in, next_code, sign_in_staff


def form(client: TestClient, handle: str, **changes: str) -> dict[str, str]:
    return {"handle": handle, "password": PASSWORD, "totp": next_code(client, handle), **changes}


def post(client: TestClient, data: dict[str, Any], **kwargs: Any) -> Any:
    return client.post("/console/signin", data=data, follow_redirects=False, **kwargs)


def test_the_form_has_the_fields_and_the_button(console_client: TestClient) -> None:
    page = console_client.get("/console/signin?lang=en")
    assert page.status_code == 200
    for marker in ('name="handle"', 'name="password"', 'name="totp"', 'id="signin-submit"'):
        assert marker in page.text
    assert page.headers["cache-control"] == "no-store"
    # Under no-referrer a browser sends "Origin: null" with the form, which is refused.
    assert page.headers["referrer-policy"] == "same-origin"
    assert "Your session has ended" in console_client.get("/console/signin?ended=1").text


def test_password_and_code_open_a_strict_httponly_session(console_client: TestClient) -> None:
    answer = post(console_client, form(console_client, "officer"))
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(SESSION_COOKIE + "=")
    for flag in ("HttpOnly", "SameSite=strict", "Max-Age=43200", "Path=/"):
        assert flag.lower() in cookie.lower()
    assert console_client.get("/console").status_code == 200


def test_an_account_without_a_second_factor_is_refused_and_told_how(
    console_client: TestClient, rt: Runtime
) -> None:
    set_password(rt, "sales")  # sales is not privileged: the API would let it in without TOTP
    answer = post(
        console_client,
        {"handle": "sales", "password": PASSWORD, "totp": "123456"},
        params={"lang": "en"},
    )
    assert answer.status_code == 403
    assert "mamori staff totp" in answer.text and SESSION_COOKIE not in answer.headers.get(
        "set-cookie", ""
    )
    last = entries(rt, "auth.login")[-1]
    assert (last["actor"], last["outcome"], last["rule"]) == (
        "sales",
        "denied",
        "second_factor_required",
    )
    japanese = post(
        console_client,
        {"handle": "sales", "password": PASSWORD, "totp": "123456"},
        params={"lang": "ja"},
    )
    assert "二要素" in japanese.text


def test_wrong_name_and_wrong_password_read_the_same(console_client: TestClient) -> None:
    authenticator(console_client, "officer")
    wrong = post(
        console_client,
        form(console_client, "officer", password="not it at all"),
        params={"lang": "en"},
    )
    nobody = post(console_client, {"handle": "nobody", "password": PASSWORD, "totp": "123456"})
    assert wrong.status_code == nobody.status_code == 403
    message = "The name or the password is wrong."
    assert message in wrong.text and message in nobody.text


def test_a_wrong_code_says_so_in_japanese(console_client: TestClient) -> None:
    authenticator(console_client, "officer")
    answer = post(
        console_client, form(console_client, "officer", totp="000000"), params={"lang": "ja"}
    )
    assert answer.status_code == 403
    assert "コード" in answer.text and 'role="alert"' in answer.text


def test_five_failures_lock_the_account(console_client: TestClient) -> None:
    state = console_client.app.state  # type: ignore[attr-defined]
    state.limits = type(state.limits)(general=(6000, 60), login_per_account=(50, 900))
    authenticator(console_client, "officer")
    for attempt in range(5):
        post(console_client, form(console_client, "officer", password=f"wrong {attempt}"))
    locked = post(console_client, form(console_client, "officer"), params={"lang": "en"})
    assert locked.status_code == 403 and "locked for 15 minutes" in locked.text


def test_form_mistakes_are_named_next_to_the_field(console_client: TestClient) -> None:
    answer = post(
        console_client, {"handle": "x" * 500, "password": "", "totp": "12ab"}, params={"lang": "en"}
    )
    assert answer.status_code == 422
    for field in ("handle", "password", "totp"):
        assert f'aria-describedby="{field}-error"' in answer.text
        assert f'id="{field}-error"' in answer.text
    assert "x" * 101 not in answer.text


def test_a_form_from_another_site_is_refused(console_client: TestClient) -> None:
    answer = post(
        console_client,
        form(console_client, "officer"),
        headers={"Origin": "https://evil.example.com"},
    )
    assert answer.status_code == 403 and SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    same = post(
        console_client, form(console_client, "officer"), headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 303


def test_the_rate_limit_is_a_page_in_the_pages_language(console_client: TestClient) -> None:
    console_client.app.state.limits = type(console_client.app.state.limits)(  # type: ignore[attr-defined]
        general=(6000, 60), login_per_address=(2, 60)
    )
    for _ in range(2):
        post(console_client, {"handle": "nobody", "password": "x", "totp": "123456"})
    slow = post(
        console_client,
        {"handle": "nobody", "password": "x", "totp": "123456"},
        params={"lang": "ja"},
    )
    assert slow.status_code == 429
    assert slow.headers["content-type"].startswith("text/html") and 'lang="ja"' in slow.text


def test_sign_out_spends_a_token_and_ends_the_session(
    staff_client: TestClient, rt: Runtime
) -> None:
    page = staff_client.get("/console")
    forged = staff_client.post("/console/signout", data={"csrf": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    token = csrf_in(page.text)
    out = staff_client.post("/console/signout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/console/signin?out=1"
    assert staff_client.get("/console", follow_redirects=False).status_code == 303
    assert entries(rt, "auth.session")[-1]["action"] in {"session_close", "logout"}


def test_an_ended_session_goes_back_to_sign_in_saying_so(
    staff_client: TestClient, rt: Runtime
) -> None:
    from datetime import timedelta

    rt.clock.moment += timedelta(hours=13)  # type: ignore[attr-defined]
    answer = staff_client.get("/console", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin?ended=1"
    sign_in_staff(staff_client, "officer")


@pytest.mark.parametrize(
    "path", ["/console/subjects", "/console/audit", "/console/provisions", "/console/dashboard"]
)
def test_every_console_page_carries_a_working_sign_out(staff_client: TestClient, path: str) -> None:
    page = staff_client.get(path)
    assert page.status_code == 200, page.text
    token = csrf_in(page.text, "signout")
    out = staff_client.post("/console/signout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303
    assert staff_client.get("/console", follow_redirects=False).status_code == 303
