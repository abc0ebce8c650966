"""Signing in with an e-mailed code: same answer for strangers, counted tries, expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from tests.conftest import Clock
from tests.dsr.smtp import Mailbox
from tests.portal.conftest import code_in

EMAIL = "user.contact.email"


def test_a_member_signs_in_with_the_code_from_the_mail(
    member_client: TestClient, mailbox: Mailbox, member: tuple[str, dict[str, str]]
) -> None:
    address = member[1][EMAIL]
    page = member_client.post("/privacy/signin", data={"email": address.upper()})
    assert page.status_code == 200 and page.url.path == "/privacy/signin/code"
    assert "コードをお送りしました" in page.text
    code = code_in(mailbox, address)
    me = member_client.post("/privacy/signin/code", data={"code": code})
    assert me.url.path == "/privacy/me" and me.status_code == 200
    assert "mamori_member" in member_client.cookies
    assert address not in str(me.url) and address in me.text


def test_an_unknown_address_gets_the_same_page_and_no_mail(
    member_client: TestClient, mailbox: Mailbox, member: tuple[str, dict[str, str]]
) -> None:
    known = member_client.post("/privacy/signin", data={"email": member[1][EMAIL]})
    before = len(mailbox.messages)
    unknown = member_client.post("/privacy/signin", data={"email": "nobody@example.com"})
    assert len(mailbox.messages) == before == 1
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text
    wrong = member_client.post("/privacy/signin/code", data={"code": "123456"})
    assert wrong.status_code == 422


def test_a_malformed_address_is_an_error_next_to_the_field(member_client: TestClient) -> None:
    page = member_client.post("/privacy/signin?lang=en", data={"email": "not an address"})
    assert page.status_code == 422
    assert 'aria-describedby="email-error"' in page.text
    assert "such as name@example.jp" in page.text


def test_wrong_codes_are_counted_until_the_code_is_spent(
    member_client: TestClient, mailbox: Mailbox, member: tuple[str, dict[str, str]]
) -> None:
    address = member[1][EMAIL]
    member_client.cookies.set("mamori_lang", "en")
    member_client.post("/privacy/signin", data={"email": address})
    right = code_in(mailbox, address)
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        page = member_client.post("/privacy/signin/code", data={"code": wrong})
        assert page.status_code == 422 and "That code is not right" in page.text
    last = member_client.post("/privacy/signin/code", data={"code": wrong})
    assert "wrong too many times" in last.text
    spent = member_client.post("/privacy/signin/code", data={"code": right})
    assert spent.status_code == 422 and "No code is waiting" in spent.text


def test_an_expired_code_is_refused(
    member_client: TestClient,
    mailbox: Mailbox,
    clock: Clock,
    member: tuple[str, dict[str, str]],
) -> None:
    address = member[1][EMAIL]
    member_client.cookies.set("mamori_lang", "en")
    member_client.post("/privacy/signin", data={"email": address})
    clock.moment += timedelta(minutes=11)
    page = member_client.post("/privacy/signin/code", data={"code": code_in(mailbox, address)})
    assert page.status_code == 422 and "expired" in page.text


def test_a_session_ends_after_thirty_idle_minutes(
    member_client: TestClient,
    sign_in: Callable[[str], None],
    clock: Clock,
    member: tuple[str, dict[str, str]],
) -> None:
    sign_in(member[1][EMAIL])
    clock.moment += timedelta(minutes=29)
    assert member_client.get("/privacy/me").url.path == "/privacy/me"
    clock.moment += timedelta(minutes=31)
    page = member_client.get("/privacy/me")
    assert page.url.path == "/privacy/signin"
    assert "セッションの有効期限が切れました" in page.text


def test_without_a_session_me_sends_to_sign_in(member_client: TestClient) -> None:
    answer = member_client.get("/privacy/me", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/privacy/signin"


def test_gpc_statement(member_client: TestClient, rt: Runtime) -> None:
    answer = member_client.get("/.well-known/gpc.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {"gpc": True, "lastUpdate": "2026-11-28"}


def test_codes_for_one_address_are_rate_limited(
    member_client: TestClient, mailbox: Mailbox, member: tuple[str, dict[str, str]]
) -> None:
    address = member[1][EMAIL]
    answers = [member_client.post("/privacy/signin", data={"email": address}) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert len(mailbox.messages) == 5
    assert "試行回数が多すぎます" in answers[-1].text


def test_sign_out_ends_the_session_and_both_steps_are_audited(
    rt: Runtime,
    member_client: TestClient,
    sign_in: Callable[[str], None],
    member: tuple[str, dict[str, str]],
) -> None:
    sign_in(member[1][EMAIL])
    page = member_client.get("/privacy/me").text
    token = page.split('action="/privacy/signout"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    out = member_client.post("/privacy/signout", data={"csrf": token})
    assert out.url.path == "/privacy/signin" and "サインアウトしました" in out.text
    assert member_client.get("/privacy/me").url.path == "/privacy/signin"
    with rt.db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT action, actor, detail FROM audit_entries WHERE purpose = 'auth.session'"
            " ORDER BY seq"
        )
    assert [r[0] for r in rows] == ["session_open", "session_close"]
    assert {r[1] for r in rows} == {f"member:{member[0]}"}
    assert member[1][EMAIL] not in str(rows)


def test_a_switch_without_a_session_goes_to_sign_in(member_client: TestClient) -> None:
    answer = member_client.post(
        "/privacy/me/consents/personalization", data={"state": "on"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/privacy/signin"


def test_a_language_chosen_on_the_form_survives_its_redirect(
    member_client: TestClient, mailbox: Mailbox, member: tuple[str, dict[str, str]]
) -> None:
    address = member[1][EMAIL]
    sent = member_client.post(
        "/privacy/signin?lang=en", data={"email": address}, follow_redirects=False
    )
    assert sent.status_code == 303 and "mamori_lang=en" in sent.headers["set-cookie"]
    page = member_client.get(sent.headers["location"])
    assert "If that address belongs to a member, a code is on its way." in page.text
    me = member_client.post(
        "/privacy/signin/code?lang=ja", data={"code": code_in(mailbox, address)}
    )
    assert me.url.path == "/privacy/me" and me.headers["content-language"] == "ja"


@pytest.mark.parametrize(
    ("lang", "subject", "line"),
    [("ja", "プライバシーセンターのサインインコード", "有効期限は 10 分です。"),
     ("en", "Your privacy center sign-in code", "It is valid for 10 minutes.")],
)  # fmt: skip
def test_the_code_mail_is_in_the_language_of_the_page(
    rt: Runtime,
    member_client: TestClient,
    mailbox: Mailbox,
    member: tuple[str, dict[str, str]],
    lang: str,
    subject: str,
    line: str,
) -> None:
    address = member[1][EMAIL]
    member_client.post("/privacy/signin", params={"lang": lang}, data={"email": address})
    letter = mailbox.last_to(address)
    company = getattr(rt.policy.source.company.name, lang)
    opening = {"ja": f"【{company}】", "en": f"[{company}] "}[lang]
    assert str(letter["Subject"]) == opening + subject
    body = mailbox.text(letter)
    assert line in body and code_in(mailbox, address) in body
    assert ("sign in" in body) == (lang == "en")


def test_code_tries_are_limited_per_client_address(
    member_client: TestClient, mailbox: Mailbox, member: tuple[str, dict[str, str]]
) -> None:
    address = member[1][EMAIL]
    member_client.post("/privacy/signin", data={"email": address})
    wrong = "000000" if code_in(mailbox, address) != "000000" else "111111"
    tries = [member_client.post("/privacy/signin/code", data={"code": wrong}) for _ in range(10)]
    assert [t.status_code for t in tries] == [422] * 10
    member_client.post("/privacy/signin", data={"email": address})  # a fresh, right code
    right = member_client.post("/privacy/signin/code", data={"code": code_in(mailbox, address)})
    assert right.status_code == 429 and right.url.path == "/privacy/signin/code"
    assert "試行回数が多すぎます" in right.text and 'aria-describedby="code-error"' in right.text
    english = member_client.post("/privacy/signin/code?lang=en", data={"code": wrong})
    assert english.status_code == 429 and "Too many attempts" in english.text
    assert "mamori_member" not in member_client.cookies
