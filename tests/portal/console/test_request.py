"""A request in the console: its page, one form per step its state allows, and each step's refusals."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from mamori.dsr import store as requests
from mamori.dsr.states import State
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from tests.auth.support import entries
from tests.dsr.smtp import Mailbox
from tests.portal.console.conftest import csrf_in, new_request, sign_in_staff


def page(client: TestClient, ref: str, lang: str = "en") -> Any:
    return client.get(f"/console/requests/{ref}?lang={lang}")


def step(client: TestClient, ref: str, name: str, **fields: str) -> Any:
    """Post the form ``step-<name>`` of the request's page with ``fields``."""
    token = csrf_in(page(client, ref).text, f"step-{name}")
    data = {"csrf": token, **fields}
    return client.post(f"/console/requests/{ref}/{name}", data=data, follow_redirects=False)


def state_of(rt: Runtime, ref: str) -> State:
    with rt.db.transaction() as tx:
        return requests.load(tx, ref).state


def history(rt: Runtime, ref: str) -> list[str]:
    with rt.db.transaction() as tx:
        return [e["action"] for e in requests.events(tx, requests.load(tx, ref).id)]


def test_the_page_shows_the_request_and_the_forms_its_state_allows(
    staff_client: TestClient, rt: Runtime
) -> None:
    ref, subject, values = new_request(rt)
    shown = page(staff_client, ref)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert re.search(r'<dd id="request-state">Received</dd>', shown.text)
    assert subject in shown.text and "request_received" in shown.text
    assert "1000 yen" in shown.text or "1,000" in shown.text
    for form in ("identity-code", "identity-record", "assign", "reject", "withdraw"):
        assert f'id="step-{form}"' in shown.text
    assert 'id="step-complete"' not in shown.text and 'id="step-payment"' not in shown.text
    assert all(v not in shown.text for v in values.values())
    assert ref not in shown.text.split("<title>")[1].split("</title>")[0]
    assert '<dd id="request-state">受付済み</dd>' in page(staff_client, ref, "ja").text


def test_a_disclosure_from_identity_to_fee_to_a_download_link(
    staff_client: TestClient, rt: Runtime
) -> None:
    ref, _subject, _values = new_request(rt)
    done = step(staff_client, ref, "identity-record", method="document_seen")
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/requests/{ref}?done=identity_record"
    assert "The identity check is recorded." in staff_client.get(done.headers["location"]).text
    japanese = staff_client.get(done.headers["location"] + "&lang=ja").text
    assert "本人確認を記録しました。" in japanese and 'id="step-done"' in japanese
    assert step(staff_client, ref, "complete").status_code == 303  # asks for the fee first
    assert state_of(rt, ref) is State.AWAITING_FEE
    wrong = step(staff_client, ref, "payment", amount_yen="999")
    assert wrong.status_code == 422 and 'aria-describedby="amount_yen-error"' in wrong.text
    assert "The amount is not the fee for this request." in wrong.text
    assert step(staff_client, ref, "payment", amount_yen="1000").status_code == 303
    shown = page(staff_client, ref)
    assert 'id="step-complete-submit"' in shown.text
    assert 'id="delivery-link" name="delivery" value="link" checked' in shown.text
    finished = step(staff_client, ref, "complete", delivery="link", format="html")
    assert finished.status_code == 200 and "/downloads/" in finished.text
    assert '<dd id="request-state">Completed</dd>' in finished.text
    assert history(rt, ref)[-1] == "completed"


def test_a_step_that_does_not_fit_the_state_is_a_409_page_and_audited(
    staff_client: TestClient, rt: Runtime
) -> None:
    ref, _s, _v = new_request(rt)
    token = csrf_in(page(staff_client, ref).text, "step-withdraw")
    answer = staff_client.post(
        f"/console/requests/{ref}/complete", data={"csrf": token}, params={"lang": "ja"}
    )
    assert answer.status_code == 409 and 'lang="ja"' in answer.text
    assert "請求の状態に合いません" in answer.text
    last = entries(rt, "dsr.*")[-1]
    assert (last["actor"], last["outcome"], last["rule"]) == ("officer", "denied", "request_state")
    assert state_of(rt, ref) is State.RECEIVED


def test_a_role_that_may_not_gets_the_403_page_and_the_refusal_is_audited(
    console_client: TestClient, rt: Runtime
) -> None:
    ref, _s, _v = new_request(rt)
    sign_in_staff(console_client, "support")
    answer = page(console_client, ref)
    assert answer.status_code == 403 and "not allowed" in answer.text
    last = entries(rt, "dsr.disclosure")[-1]
    assert (last["actor"], last["outcome"], last["rule"]) == (
        "support",
        "denied",
        "role_not_permitted",
    )


def test_an_unknown_or_malformed_reference_is_the_404_page(staff_client: TestClient) -> None:
    for ref in ("raaaaaaaaaaaaaaaa", "not-a-ref", "r" + "a" * 400):
        answer = page(staff_client, ref)
        assert answer.status_code == 404 and "There is nothing here" in answer.text
    posted = staff_client.post("/console/requests/raaaaaaaaaaaaaaaa/frobnicate", data={"csrf": "x"})
    assert posted.status_code in (403, 404)


def test_forged_and_replayed_tokens_change_nothing(staff_client: TestClient, rt: Runtime) -> None:
    ref, _s, _v = new_request(rt)
    forged = staff_client.post(f"/console/requests/{ref}/withdraw", data={"csrf": "forged.1.x"})
    assert forged.status_code == 403 and state_of(rt, ref) is State.RECEIVED
    token = csrf_in(page(staff_client, ref).text, "step-withdraw")
    url = f"/console/requests/{ref}/withdraw"
    first = staff_client.post(url, data={"csrf": token}, follow_redirects=False)
    again = staff_client.post(url, data={"csrf": token}, params={"lang": "en"})
    assert first.status_code == 303 and again.status_code == 403
    assert "This form could not be accepted" in again.text
    assert history(rt, ref).count("withdrawn") == 1
    assert entries(rt, "auth.csrf")[-1]["rule"] == "csrf_replayed"


def test_reject_needs_a_reason_from_the_list(staff_client: TestClient, rt: Runtime) -> None:
    ref, _s, _v = new_request(rt)
    bad = step(staff_client, ref, "reject", reason="because " * 200)
    assert bad.status_code == 422 and 'id="reason-error"' in bad.text
    assert "because because" not in bad.text and state_of(rt, ref) is State.RECEIVED
    good = step(staff_client, ref, "reject", reason="no_data_held")
    assert good.status_code == 303 and state_of(rt, ref) is State.REJECTED


def test_assign_offers_only_staff_who_may_work_the_kind(
    staff_client: TestClient, rt: Runtime
) -> None:
    ref, _s, _v = new_request(rt)
    shown = page(staff_client, ref).text
    assert '<option value="officer">' in shown and '<option value="sales">' not in shown
    refused = step(staff_client, ref, "assign", to="sales")
    assert refused.status_code == 422 and 'id="to-error"' in refused.text
    assert step(staff_client, ref, "assign", to="officer").status_code == 303


def test_an_erasure_shows_its_preview_and_asks_for_confirmation(
    staff_client: TestClient, rt: Runtime
) -> None:
    ref, _s, _v = new_request(rt, RequestKind.ERASURE)
    step(staff_client, ref, "identity-record", method="phone_callback")
    shown = page(staff_client, ref)
    assert 'id="erasure-preview"' in shown.text
    assert shown.text.index('id="erasure-preview"') < shown.text.index('id="step-complete"')
    unconfirmed = step(staff_client, ref, "complete")
    assert unconfirmed.status_code == 422 and 'aria-describedby="confirm-error"' in unconfirmed.text
    assert state_of(rt, ref) is State.IN_PROGRESS
    done = step(staff_client, ref, "complete", confirm="1")
    assert done.status_code == 303 and state_of(rt, ref) is State.COMPLETED


def test_the_identity_code_goes_by_mail_and_a_wrong_one_is_named(
    staff_client: TestClient, rt: Runtime, mailbox: Mailbox
) -> None:
    ref, _s, _values = new_request(rt)
    assert step(staff_client, ref, "identity-code").status_code == 303
    sent = re.search(r"\b(\d{6})\b", Mailbox.text(mailbox.messages[-1]))
    assert sent is not None
    wrong = "000000" if sent.group(1) != "000000" else "111111"
    refused = step(staff_client, ref, "identity-verify", code=wrong)
    assert refused.status_code == 422 and 'id="code-error"' in refused.text
    assert "The try was counted" in refused.text
    right = step(staff_client, ref, "identity-verify", code=sent.group(1))
    assert right.status_code == 303 and state_of(rt, ref) is State.IN_PROGRESS


def test_an_ended_session_goes_to_sign_in(staff_client: TestClient, rt: Runtime) -> None:
    from datetime import timedelta

    ref, _s, _v = new_request(rt)
    token = csrf_in(page(staff_client, ref).text, "step-withdraw")
    rt.clock.moment += timedelta(hours=1)  # type: ignore[attr-defined]
    answer = staff_client.post(
        f"/console/requests/{ref}/withdraw", data={"csrf": token}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin?ended=1"
    assert state_of(rt, ref) is State.RECEIVED


def test_support_answers_an_inquiry_and_a_long_code_is_a_form_error(
    console_client: TestClient, rt: Runtime
) -> None:
    from mamori.dsr import inquiries
    from mamori.dsr.states import Via
    from tests.conftest import actor

    fields = {
        "name": "山田 太郎",
        "company": "例示株式会社",
        "division": "総務部",
        "email": "yamada@example.jp",
        "phone": "020-0123-4567",
        "description": "請求書について",
    }
    with rt.db.transaction() as tx:
        got = inquiries.receive(
            tx, rt, actor=actor("support"), kind=RequestKind.INQUIRY, via=Via.PHONE, fields=fields
        )
    ref = got.request.ref
    sign_in_staff(console_client, "support")
    shown = page(console_client, ref)
    assert shown.status_code == 200 and 'id="answered_via"' in shown.text
    assert "yamada@example.jp" not in shown.text and "山田" not in shown.text
    done = step(console_client, ref, "complete", answered_via="phone")
    assert done.status_code == 303 and state_of(rt, ref) is State.COMPLETED


def test_an_over_long_code_is_named_next_to_its_field(
    staff_client: TestClient, rt: Runtime, mailbox: Mailbox
) -> None:
    ref, _s, _v = new_request(rt)
    step(staff_client, ref, "identity-code")
    long = step(staff_client, ref, "identity-verify", code="1" * 5000)
    assert long.status_code == 422 and 'aria-describedby="code-error"' in long.text
    assert "1" * 100 not in long.text
