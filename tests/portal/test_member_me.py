"""What a signed-in member sees and switches: their values, consents, CSRF, GPC, another's record."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.consents import service as consents
from mamori.errors import Denied
from mamori.portal.member.gpc import gpc_purposes
from mamori.portal.member.sessions import member_actor
from mamori.runtime import Runtime
from mamori.subjects import service
from tests.conftest import Clock, actor
from tests.portal.conftest import register_member

EMAIL = "user.contact.email"
Member = tuple[str, dict[str, str]]


def csrf_of(page: str, action: str) -> str:
    form = page.split(f'action="{action}"', 1)[1]
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match is not None
    return match.group(1)


def events(rt: Runtime, ref: str) -> list[Any]:
    with rt.db.transaction() as tx:
        return consents.history(tx, rt, actor=actor("officer"), ref=ref, purpose="dsr.disclosure")


def audit(rt: Runtime, rule: str) -> list[Any]:
    with rt.db.transaction() as tx:
        return tx.fetchall(
            "SELECT actor, outcome, rule, detail FROM audit_entries WHERE rule = ? ORDER BY seq",
            (rule,),
        )


@pytest.fixture
def signed(sign_in: Callable[[str], None], member: Member) -> Member:
    sign_in(member[1][EMAIL])
    return member


def test_my_data_shows_the_values_by_category_in_both_languages(
    member_client: TestClient, signed: Member
) -> None:
    values = signed[1]
    ja = member_client.get("/privacy/me")
    assert ja.headers["cache-control"] == "no-store"
    assert "メールアドレス" in ja.text and values[EMAIL] in ja.text
    assert "Web会員へのご登録" in ja.text and "お客様との契約" in ja.text and "10年" in ja.text
    en = member_client.get("/privacy/me?lang=en")
    assert "E-mail address" in en.text and values["user.name"] in en.text
    assert "A contract with you" in en.text and "10 years" in en.text
    assert values[EMAIL] not in en.text.split("</title>")[0]


def test_the_read_is_audited_as_the_member(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    member_client.get("/privacy/me")
    with rt.db.transaction() as tx:
        rows = tx.fetchall(
            "SELECT purpose, outcome FROM audit_entries WHERE actor = ? ORDER BY seq",
            (f"member:{signed[0]}",),
        )
    assert ("dsr.disclosure", "allowed") in [tuple(r) for r in rows]


def test_a_consent_switch_pressed_twice_records_one_event(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    page = member_client.get("/privacy/me").text
    action = "/privacy/me/consents/personalization"
    first, second = csrf_of(page, action), None
    answer = member_client.post(action, data={"state": "on", "csrf": first})
    assert answer.url.path == "/privacy/me" and "ご選択を保存しました" in answer.text
    second = csrf_of(member_client.get("/privacy/me").text, action)
    member_client.post(action, data={"state": "on", "csrf": second})
    made = [e for e in events(rt, signed[0]) if e.purpose == "personalization"]
    assert [(e.state, e.channel) for e in made] == [("granted", "privacy_center")]


def test_forged_and_replayed_csrf_tokens_are_refused_and_audited(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    action = "/privacy/me/consents/personalization"
    forged = member_client.post(action, data={"state": "on", "csrf": "x" * 16 + ".1.abc"})
    assert forged.status_code == 403 and "フォームを受け付けられませんでした" in forged.text
    token = csrf_of(member_client.get("/privacy/me").text, action)
    assert member_client.post(action, data={"state": "off", "csrf": token}).status_code == 200
    replay = member_client.post(f"{action}?lang=en", data={"state": "on", "csrf": token})
    assert replay.status_code == 403 and "This form could not be accepted" in replay.text
    assert [r[0] for r in audit(rt, "csrf_invalid")] == [f"member:{signed[0]}"]
    assert len(audit(rt, "csrf_replayed")) == 1
    assert [e.state for e in events(rt, signed[0])] == ["withdrawn"]


def test_a_forged_subject_in_a_form_changes_only_the_members_own_record(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    other, _ = register_member(rt)
    action = "/privacy/me/consents/personalization"
    token = csrf_of(member_client.get("/privacy/me").text, action)
    member_client.post(action, data={"state": "on", "csrf": token, "subject": other, "ref": other})
    assert events(rt, other) == []
    assert [e.purpose for e in events(rt, signed[0])] == ["personalization"]


def test_the_member_actor_cannot_reach_another_record(rt: Runtime, signed: Member) -> None:
    other, _ = register_member(rt)
    with pytest.raises(Denied) as refused, rt.db.transaction() as tx:
        service.read(tx, rt, actor=member_actor(signed[0]), ref=other, purpose="dsr.disclosure")
    assert refused.value.rule == "own_subject_only"
    rows = audit(rt, "own_subject_only")
    assert rows and rows[-1][0] == f"member:{signed[0]}" and rows[-1][1] == "denied"


def test_gpc_withdraws_partner_consent_once_with_channel_gpc(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    assert gpc_purposes(rt) == ["exhibitor_introduction", "partner_information"]
    with rt.db.transaction() as tx:
        for purpose in ("partner_information", "personalization"):
            consents.record(
                tx, rt, actor=member_actor(signed[0]), ref=signed[0], purpose=purpose,
                state="granted", channel="privacy_center",
            )  # fmt: skip
    for _ in range(2):
        page = member_client.get("/privacy/me?lang=en", headers={"Sec-GPC": "1"})
        assert "Global Privacy Control" in page.text
    made = [(e.purpose, e.state, e.channel) for e in events(rt, signed[0])][2:]
    assert made == [("partner_information", "withdrawn", "gpc")]
    plain = member_client.get("/privacy/me?lang=en")
    assert "Global Privacy Control" not in plain.text


def test_a_language_chosen_on_a_switch_survives_its_redirect(
    member_client: TestClient, signed: Member
) -> None:
    action = "/privacy/me/consents/personalization"
    token = csrf_of(member_client.get("/privacy/me").text, action)
    answer = member_client.post(f"{action}?lang=en", data={"state": "on", "csrf": token})
    assert answer.url.path == "/privacy/me" and answer.headers["content-language"] == "en"
    assert "Your choice has been saved." in answer.text


def test_the_page_links_the_members_requests(member_client: TestClient, signed: Member) -> None:
    page = member_client.get("/privacy/me?lang=en").text
    links = re.findall(r'<a id="my-requests-link" href="([^"]+)">([^<]+)</a>', page)
    assert links == [("/privacy/me/requests", "Your requests")]
    assert page.index("my-requests-link") < page.index("<h2>")


def test_held_since_is_the_day_in_the_companys_zone(
    rt: Runtime, member_client: TestClient, sign_in: Callable[[str], None], clock: Clock
) -> None:
    # 20:30 UTC on 30 November is already 1 December in Tokyo, where the company keeps its days.
    clock.moment = datetime(2026, 11, 30, 20, 30, tzinfo=UTC)
    assert str(rt.policy.zone) == "Asia/Tokyo"
    _, values = register_member(rt)
    sign_in(values[EMAIL])
    page = member_client.get("/privacy/me?lang=en").text
    assert "on 2026-12-01." in page
    cells = re.findall(r"<td>(\d{4}-\d{2}-\d{2})</td>", page)
    assert cells and set(cells) == {"2026-12-01"}


def test_gpc_withdraws_every_third_party_purpose_of_the_real_policy_and_nothing_else(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    consent_based = sorted(
        key for key, rule in rt.policy.rules.items() if rule.needs_consent and not rule.system
    )
    assert consent_based == [
        "email_delivery", "event_participation", "exhibitor_introduction",
        "partner_information", "personalization",
    ]  # fmt: skip
    with rt.db.transaction() as tx:
        for purpose in consent_based:
            consents.record(
                tx, rt, actor=member_actor(signed[0]), ref=signed[0], purpose=purpose,
                state="granted", channel="privacy_center",
            )  # fmt: skip
    member_client.get("/privacy/me", headers={"Sec-GPC": "1"})
    by_gpc = {e.purpose: e.state for e in events(rt, signed[0]) if e.channel == "gpc"}
    # Provision to partners (and their marketing) and introductions to exhibitors: both go to
    # third parties. The newsletter, event invitations and personalisation are the company's own.
    assert by_gpc == {"partner_information": "withdrawn", "exhibitor_introduction": "withdrawn"}
    with rt.db.transaction() as tx:
        state = consents.derive_state(
            consents.history(
                tx, rt, actor=actor("officer"), ref=signed[0], purpose="dsr.disclosure"
            )
        )
    still = sorted(p for p, entry in state.items() if entry[0])
    assert still == ["email_delivery", "event_participation", "personalization"]


def test_gpc_finds_a_partner_purpose_even_without_its_flag(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A purpose a recipient is named for provides to third parties, whatever its flag says."""
    rule = rt.policy.rules["partner_information"]
    monkeypatch.setitem(
        rt.policy.rules, "partner_information", replace(rule, third_party_provision=False)
    )
    assert "partner_information" in gpc_purposes(rt)
    assert "email_delivery" not in gpc_purposes(rt)
