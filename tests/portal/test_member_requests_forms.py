"""The request forms: erasure confirmed after its preview, correction, cessation, inquiry fields."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.runtime import Runtime
from tests.portal.conftest import register_member
from tests.portal.test_member_requests import (
    EMAIL,
    LIST,
    Member,
    file,
    member_client,
    ref_of,
    rows,
    signed,
    token_in,
)

__all__ = ["member_client", "signed"]
POSTAL = "user.contact.address.postal_code"
INQUIRY = {
    "name": "山田 太郎",
    "company": "テスト株式会社",
    "division": "総務部",
    "email": "taro.yamada@example.jp",
    "phone": "020-0123-4567",
    "description": "資料請求について確認させてください。",
}


def errors(page: str) -> dict[str, str]:
    """Field id → the id of the error that describes it."""
    return dict(re.findall(r'id="([\w-]+)"[^>]*aria-describedby="([\w-]+)"', page))


def test_the_erasure_form_shows_what_ends_and_what_is_kept_first(
    member_client: TestClient, signed: Member
) -> None:
    page = member_client.get(f"{LIST}/new?kind=erasure&lang=en").text
    assert page.index("What ends") < page.index('id="request-form"')
    assert "Memberships and accounts" in page
    assert "What the law makes us keep" in page
    assert 'name="confirm" value="yes"' in page and 'id="erasure-confirm"' in page
    japanese = member_client.get(f"{LIST}/new?kind=erasure&lang=ja").text
    assert "会員登録・アカウント" in japanese and "終了するもの" in japanese


def test_an_unconfirmed_erasure_is_not_filed(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    answer = file(member_client, "erasure")
    assert answer.status_code == 422
    assert errors(answer.text)["erasure-confirm"] == "erasure-confirm-error"
    assert "確認のチェックボックスにチェックを入れてください" in answer.text
    assert rows(rt) == []
    confirmed = member_client.post(
        LIST, data={"kind": "erasure", "csrf": token_in(answer.text), "confirm": "yes"}
    )
    assert confirmed.status_code == 200 and ref_of(confirmed)
    [row] = rows(rt)
    assert (row.kind.value, row.state.value) == ("erasure", "in_progress")


def test_the_erasure_preview_is_read_as_the_member_and_audited(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    member_client.get(f"{LIST}/new?kind=erasure")
    with rt.db.transaction() as tx:
        seen = tx.fetchall(
            "SELECT purpose, outcome FROM audit_entries WHERE actor = ? AND purpose = ?",
            (f"member:{signed[0]}", "dsr.erasure"),
        )
    assert [tuple(s) for s in seen] == [("dsr.erasure", "allowed")]


def test_a_correction_names_a_held_item_and_a_valid_value(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    form = member_client.get(f"{LIST}/new?kind=correction&lang=en").text
    assert f'<option value="{POSTAL}">' in form and "user.health_and_medical" not in form
    bad = file(member_client, "correction", item=POSTAL, value="12-34")
    assert bad.status_code == 422 and errors(bad.text)["f-value"] == "f-value-error"
    assert 'value="12-34"' in bad.text and bad.text.count("12-34") == 1
    assert rows(rt) == []
    good = member_client.post(
        LIST, data={"kind": "correction", "csrf": token_in(bad.text), "item": POSTAL,
                    "value": "100-0001"},
    )  # fmt: skip
    assert good.status_code == 200 and ref_of(good)
    [row] = rows(rt)
    assert row.categories == [POSTAL] and row.pending is not None  # sealed until applied


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [({"item": "", "value": "x"}, "f-item", "Choose the item to correct."),
     ({"item": "user.health_and_medical", "value": "x"}, "f-item", "Choose the item to correct."),
     ({"item": POSTAL, "value": " "}, "f-value", "This field cannot be left empty."),
     ({"item": "user.name", "value": "あ" * 501}, "f-value", "This is too long.")],
)  # fmt: skip
def test_a_correction_with_mistakes_says_so_by_the_field(
    rt: Runtime, member_client: TestClient, signed: Member,
    fields: dict[str, str], field: str, message: str,
) -> None:  # fmt: skip
    member_client.cookies.set("mamori_lang", "en")
    answer = file(member_client, "correction", **fields)
    assert answer.status_code == 422 and message in answer.text
    assert errors(answer.text)[field] == f"{field}-error"
    assert rows(rt) == []


def test_cessation_offers_only_the_members_own_purposes(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    form = member_client.get(f"{LIST}/new?kind=cessation_of_use").text
    offered = set(re.findall(r'name="purpose" value="([\w.]+)"', form))
    assert "personalization" in offered and "invoicing_payment" not in offered
    assert not any(p.startswith("dsr.") for p in offered)
    foreign = file(member_client, "cessation_of_use", scope="some", purpose=["invoicing_payment"])
    assert foreign.status_code == 422 and "一覧にある利用目的から選んでください。" in foreign.text
    none = file(member_client, "cessation_of_use", scope="some")
    assert none.status_code == 422 and errors(none.text)
    assert rows(rt) == []
    some = file(member_client, "cessation_of_use", scope="some", purpose=["personalization"])
    assert some.status_code == 200 and ref_of(some)
    whole = file(member_client, "cessation_of_provision", scope="all")
    assert whole.status_code == 200
    assert [(r.kind.value, r.purposes) for r in rows(rt)] == [
        ("cessation_of_use", ["personalization"]),
        ("cessation_of_provision", []),
    ]


def test_a_cessation_without_a_scope_is_refused_by_the_field(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    answer = file(member_client, "resumption_of_use")
    assert answer.status_code == 422 and "いずれかを選んでください。" in answer.text
    assert rows(rt) == []


def test_every_missing_inquiry_field_is_named_and_typed_values_are_kept_once(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    typed = {"name": INQUIRY["name"], "email": "not-an-address"}
    answer = file(member_client, "inquiry", **typed)
    assert answer.status_code == 422
    described = errors(answer.text)
    for name in ("company", "division", "phone", "description", "email"):
        assert described[f"f-{name}"] == f"f-{name}-error"
    assert "f-name" not in described
    assert answer.text.count(INQUIRY["name"]) == 1  # in its input, nowhere else
    assert answer.text.count("not-an-address") == 1
    assert rows(rt) == []


def test_an_over_long_inquiry_message_is_named(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    answer = file(member_client, "inquiry", **{**INQUIRY, "description": "あ" * 10_001})
    assert answer.status_code == 422 and "長すぎます。" in answer.text
    assert errors(answer.text)["f-description"] == "f-description-error"


def test_a_members_inquiry_is_filed_by_the_center_and_followed_by_that_member_only(
    rt: Runtime, member_client: TestClient, signed: Member, sign_in: Callable[[str], None]
) -> None:
    # The inquirer is a new record (their words and contact details), which the
    # member's own actor may not make: the center's intake actor files it for them.
    answer: Any = file(member_client, "inquiry", **INQUIRY)
    assert answer.status_code == 200, answer.text
    [filed] = rows(rt)
    assert filed.kind == "inquiry" and filed.created_by == f"center:{signed[0]}"
    assert filed.subject_ref != signed[0]  # the inquirer's own record
    assert answer.url.path == f"{LIST}/{filed.ref}"
    assert INQUIRY["description"] not in answer.text  # the words stay sealed
    listed = member_client.get(LIST)
    assert f"{LIST}/{filed.ref}" in listed.text
    with rt.db.transaction() as tx:
        sealed = tx.fetchall(
            "SELECT COUNT(*) FROM audit_entries WHERE actor = ?", (filed.created_by,)
        )
    assert sealed[0][0] >= 1  # the registration and the request are audited under it
    # Another member may not follow it: refused and audited.
    member_client.cookies.clear()
    other = register_member(rt)
    sign_in(other[1][EMAIL])
    seen = member_client.get(f"{LIST}/{filed.ref}")
    assert seen.status_code == 403 and INQUIRY["name"] not in seen.text
    assert f"{LIST}/{filed.ref}" not in member_client.get(LIST).text


def test_what_the_law_keeps_is_listed_with_its_reason_and_date() -> None:
    # The example's web members hold nothing a legal duty keeps, so the table is drawn
    # from a preview as the page receives it.
    from mamori.portal.web import page_environment

    kept = {
        "title": "請求書の宛名",
        "purpose": "請求・お支払い",
        "reason": "法人税法",
        "until": "2033-03-31",
    }
    page = page_environment("ja").get_template("member/request_new.html").render(
        lang="ja", other_languages=["en"], path=LIST + "/new", company_name="テスト",
        language_links={"en": LIST + "/new?kind=erasure&lang=en"},
        kind="erasure", csrf="t", fields={}, problems={}, fee_yen=0,
        preview={"ends": [], "kept": [kept], "erased": ["メールアドレス"]},
    )  # fmt: skip
    assert "法令により保管するもの" in page and "2033-03-31" in page and "法人税法" in page
    assert "消去するもの" in page and "保管が必要なデータはありません" not in page
