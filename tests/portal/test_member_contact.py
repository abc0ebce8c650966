"""Contact correction: the postal code checked and used to fill the address, errors by the field."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from mamori.subjects import service
from tests.conftest import actor

EMAIL = "user.contact.email"
POSTAL = "user.contact.address.postal_code"
Member = tuple[str, dict[str, str]]


@pytest.fixture
def signed(sign_in: Callable[[str], None], member: Member) -> Member:
    sign_in(member[1][EMAIL])
    return member


def form_of(client: TestClient) -> dict[str, str]:
    """The contact form's fields as the page fills them in."""
    page = client.get("/privacy/me/contact").text
    fields = dict(re.findall(r'name="([a-z_]+)" type="text" value="([^"]*)"', page))
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    return {**fields, "csrf": token.group(1)}


def held(rt: Runtime, ref: str) -> dict[str, str]:
    with rt.db.transaction() as tx:
        view = service.read(tx, rt, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")
    return view.values


def test_the_form_offers_the_contact_categories_the_member_holds(
    member_client: TestClient, signed: Member
) -> None:
    fields = form_of(member_client)
    assert fields["email"] == signed[1][EMAIL]
    assert "address_postal_code" in fields and "name" not in fields


def test_a_blank_prefecture_and_municipality_are_filled_from_the_postal_code(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    fields = form_of(member_client)
    fields.update(address_postal_code="100-0001", address_prefecture="", address_municipality="")
    answer = member_client.post("/privacy/me/contact", data=fields)
    assert answer.url.path == "/privacy/me" and "連絡先を更新しました" in answer.text
    values = held(rt, signed[0])
    assert values[POSTAL] == "100-0001"
    assert values["user.contact.address.prefecture"] == "東京都"
    assert values["user.contact.address.municipality"] == "千代田区"
    with rt.db.transaction() as tx:
        kept = tx.fetchone("SELECT COUNT(*) FROM subject_value_history")
    assert kept is not None and kept[0] >= 1


@pytest.mark.parametrize(
    ("lang", "message"),
    [("ja", "郵便番号は「100-0001」のように7桁で入力してください。"),
     ("en", "Enter a postal code of seven digits, such as 100-0001.")],
)  # fmt: skip
def test_a_malformed_postal_code_is_an_error_next_to_the_field(
    rt: Runtime, member_client: TestClient, signed: Member, lang: str, message: str
) -> None:
    member_client.cookies.set("mamori_lang", lang)
    fields = form_of(member_client)
    fields["address_postal_code"] = "12-34"
    answer = member_client.post("/privacy/me/contact", data=fields)
    assert answer.status_code == 422
    assert 'aria-describedby="f-address_postal_code-error"' in answer.text
    assert message in answer.text
    assert held(rt, signed[0])[POSTAL] == signed[1][POSTAL]


def test_a_replayed_contact_form_is_refused(member_client: TestClient, signed: Member) -> None:
    fields = form_of(member_client)
    assert member_client.post("/privacy/me/contact", data=fields).status_code == 200
    assert member_client.post("/privacy/me/contact", data=fields).status_code == 403
