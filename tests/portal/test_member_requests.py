"""Members file and follow their own requests: the list, a request's page, CSRF, another's ref, the report."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.api.app import create_app
from mamori.dsr import fulfil, workflow
from mamori.dsr import store as requests
from mamori.portal.member import pages
from mamori.portal.member import requests as member_requests
from mamori.runtime import Runtime
from tests.conftest import Clock, actor
from tests.portal.conftest import register_member

EMAIL = "user.contact.email"
LIST = "/privacy/me/requests"
Member = tuple[str, dict[str, str]]


@pytest.fixture
def member_client(rt: Runtime) -> Iterator[TestClient]:
    """The app with the member pages and, until the center mounts them, the request pages."""
    app = create_app(runtime=rt)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/privacy/signin" not in paths:
        app.include_router(pages.router)
    if LIST not in paths:
        app.include_router(member_requests.router)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def signed(sign_in: Callable[[str], None], member: Member) -> Member:
    sign_in(member[1][EMAIL])
    return member


def token_in(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def file(client: TestClient, kind: str, **fields: Any) -> Any:
    """Open the form of ``kind`` and post it with ``fields``; the answer, redirects followed."""
    form = client.get(f"{LIST}/new?kind={kind}")
    assert form.status_code == 200, form.text
    return client.post(LIST, data={"kind": kind, "csrf": token_in(form.text), **fields})


def ref_of(answer: Any) -> str:
    found = re.fullmatch(r"/privacy/me/requests/(r[a-z2-7]{16})", answer.url.path)
    assert found is not None, answer.url
    return found.group(1)


def rows(rt: Runtime, subject: str | None = None) -> list[requests.RequestRow]:
    with rt.db.transaction() as tx:
        found = tx.fetchall(f"SELECT {requests.COLUMNS} {requests.FROM} ORDER BY r.id")
    every = [requests.RequestRow.from_db(r) for r in found]
    return [r for r in every if subject is None or r.subject_ref == subject]


def audit(rt: Runtime, rule: str) -> list[Any]:
    with rt.db.transaction() as tx:
        return tx.fetchall(
            "SELECT actor, purpose, action, outcome, detail FROM audit_entries WHERE rule = ?"
            " ORDER BY seq",
            (rule,),
        )


def test_a_disclosure_is_filed_as_the_member_and_needs_no_identity_check(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    answer = file(member_client, "disclosure")
    assert answer.status_code == 200 and answer.history[0].status_code == 303
    ref = ref_of(answer)
    [row] = rows(rt)
    assert (row.ref, row.subject_ref, row.received_via) == (ref, signed[0], "portal")
    assert (row.state.value, row.identity_method) == ("in_progress", "signed_in")
    assert row.created_by == f"member:{signed[0]}"
    assert '<dd id="request-state">対応中</dd>' in answer.text
    assert re.search(r'<dd id="request-due">\d{4}-\d{2}-\d{2}</dd>', answer.text)
    assert "ご本人であることを確認しました" in answer.text  # the history
    assert 'id="report-download"' not in answer.text


def test_the_list_shows_only_the_members_own_requests_newest_first(
    rt: Runtime, clock: Clock, member_client: TestClient, signed: Member
) -> None:
    other, _ = register_member(rt)
    with rt.db.transaction() as tx:
        from mamori.dsr.arrival import NewRequest, create
        from mamori.dsr.states import Via
        from mamori.policy.schemas import RequestKind

        theirs = create(
            tx, rt, actor=actor("officer"),
            new=NewRequest(kind=RequestKind.DISCLOSURE, via=Via.PHONE, subject=other),
        ).ref  # fmt: skip
    first = ref_of(file(member_client, "disclosure"))
    clock.moment += timedelta(minutes=5)
    second = ref_of(file(member_client, "notification"))
    page = member_client.get(LIST + "?lang=en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert theirs not in page.text
    assert page.text.index(second) < page.text.index(first)
    assert "Notification of purposes of use" in page.text and "In progress" in page.text
    assert 'href="/privacy/me/requests/new?kind=erasure"' in page.text


def test_the_state_is_shown_in_the_pages_language(
    member_client: TestClient, signed: Member
) -> None:
    ref = ref_of(file(member_client, "disclosure"))
    english = member_client.get(f"{LIST}/{ref}?lang=en")
    assert '<dd id="request-state">In progress</dd>' in english.text
    assert english.headers["content-language"] == "en"
    assert "<title>Your request" in english.text and ref not in english.text.split("</title>")[0]


def test_a_double_submit_records_one_request(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    form = member_client.get(f"{LIST}/new?kind=disclosure")
    data = {"kind": "disclosure", "csrf": token_in(form.text)}
    assert member_client.post(LIST, data=data).status_code == 200
    again = member_client.post(LIST, data=data)
    assert again.status_code == 403 and "フォームを受け付けられませんでした" in again.text
    assert len(rows(rt)) == 1
    assert [a[0] for a in audit(rt, "csrf_replayed")] == [f"member:{signed[0]}"]


def test_the_same_request_filed_again_is_linked_to_the_open_one(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    first = ref_of(file(member_client, "disclosure"))
    answer = file(member_client, "disclosure")
    second = ref_of(answer)
    assert [r.state.value for r in rows(rt)] == ["in_progress", "linked"]
    assert "先のご請求にまとめました" in answer.text
    assert f'href="/privacy/me/requests/{first}"' in answer.text and first != second


@pytest.mark.parametrize("token", ["", "forged", "1.2.3"])
def test_a_forged_csrf_token_records_nothing_and_is_audited(
    rt: Runtime, member_client: TestClient, signed: Member, token: str
) -> None:
    answer = member_client.post(LIST + "?lang=en", data={"kind": "disclosure", "csrf": token})
    assert answer.status_code == 403 and "This form could not be accepted" in answer.text
    assert rows(rt) == []
    assert len(audit(rt, "csrf_missing") + audit(rt, "csrf_invalid")) == 1


def test_an_expired_session_goes_to_sign_in_and_records_nothing(
    rt: Runtime, clock: Clock, member_client: TestClient, signed: Member
) -> None:
    form = member_client.get(f"{LIST}/new?kind=disclosure")
    clock.moment += timedelta(minutes=31)
    answer = member_client.post(
        LIST, data={"kind": "disclosure", "csrf": token_in(form.text)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/privacy/signin?ended=1"
    assert rows(rt) == []
    for path in (LIST, f"{LIST}/new?kind=erasure", f"{LIST}/rabcdefghijklmnop"):
        assert member_client.get(path, follow_redirects=False).status_code == 303


def test_signed_out_visitors_are_sent_to_sign_in(member_client: TestClient) -> None:
    answer = member_client.get(LIST, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/privacy/signin"


def test_another_persons_request_is_refused_by_the_guard_and_audited(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    other, _ = register_member(rt)
    with rt.db.transaction() as tx:
        from mamori.dsr.arrival import NewRequest, create
        from mamori.dsr.states import Via
        from mamori.policy.schemas import RequestKind

        theirs = create(
            tx, rt, actor=actor("officer"),
            new=NewRequest(kind=RequestKind.DISCLOSURE, via=Via.PHONE, subject=other),
        ).ref  # fmt: skip
    for path in (f"{LIST}/{theirs}", f"{LIST}/{theirs}/report"):
        answer = member_client.get(path + "?lang=en")
        assert answer.status_code == 403 and "This action is not allowed" in answer.text
    refused = audit(rt, "own_subject_only")
    assert len(refused) == 2 and {r[0] for r in refused} == {f"member:{signed[0]}"}
    assert all(r[3] == "denied" for r in refused)


@pytest.mark.parametrize("ref", ["rabcdefghijklmnop", "new-but-not-a-ref", "x" * 300])
def test_an_unknown_reference_is_a_not_found_page_and_audited(
    rt: Runtime, member_client: TestClient, signed: Member, ref: str
) -> None:
    answer = member_client.get(f"{LIST}/{ref}")
    assert answer.status_code == 404 and "<html" in answer.text
    [entry] = audit(rt, "unknown_request")
    assert entry[0] == f"member:{signed[0]}" and "x" * 50 not in str(entry[4])


def test_an_unknown_kind_is_a_not_found_page(member_client: TestClient, signed: Member) -> None:
    assert member_client.get(f"{LIST}/new?kind=lottery").status_code == 404
    bare = member_client.get(f"{LIST}/new", follow_redirects=False)
    assert bare.status_code == 303 and bare.headers["location"] == LIST
    form = member_client.get(f"{LIST}/new?kind=disclosure")
    posted = member_client.post(LIST, data={"kind": "lottery", "csrf": token_in(form.text)})
    assert posted.status_code == 404


def complete(rt: Runtime, ref: str) -> None:
    """The privacy officer takes the fee and completes the request (link delivery)."""
    officer = actor("officer")
    with rt.db.transaction() as tx:
        row = requests.load(tx, ref)
        if row.fee_yen:
            workflow.record_payment(tx, rt, actor=officer, ref=ref, amount_yen=row.fee_yen)
        fulfil.complete(tx, rt, actor=officer, ref=ref)


def test_the_report_is_built_on_demand_for_the_members_completed_disclosure(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    ref = ref_of(file(member_client, "disclosure"))
    waiting = member_client.get(f"{LIST}/{ref}/report?lang=en")
    assert waiting.status_code == 409 and "The report is not ready yet" in waiting.text
    complete(rt, ref)
    page = member_client.get(f"{LIST}/{ref}?lang=ja")
    assert '<dd id="request-state">完了</dd>' in page.text
    assert (
        f'id="report-download" class="button" href="/privacy/me/requests/{ref}/report"' in page.text
    )
    with rt.db.transaction() as tx:
        links = tx.fetchone("SELECT COUNT(*) FROM dsr_downloads")
    for lang, heading in (("ja", 'lang="ja"'), ("en", 'lang="en"')):
        report = member_client.get(f"{LIST}/{ref}/report?lang={lang}")
        assert report.status_code == 200 and heading in report.text
        assert (
            report.headers["content-disposition"] == f'attachment; filename="disclosure-{ref}.html"'
        )
        assert report.headers["cache-control"] == "no-store"
        assert signed[1][EMAIL] in report.text
    with rt.db.transaction() as tx:
        assert tx.fetchone("SELECT COUNT(*) FROM dsr_downloads") == links  # nothing stored
        built = tx.fetchall(
            "SELECT purpose, action, outcome FROM audit_entries WHERE actor = ?"
            " AND action = 'export' ORDER BY seq",
            (f"member:{signed[0]}",),
        )
    assert [tuple(b) for b in built] == [("dsr.disclosure", "export", "allowed")] * 2


def test_the_history_names_no_staff(rt: Runtime, member_client: TestClient, signed: Member) -> None:
    ref = ref_of(file(member_client, "disclosure"))
    complete(rt, ref)
    page = member_client.get(f"{LIST}/{ref}?lang=en").text
    assert "officer" not in page and "Fee received" in page and "Completed" in page
    assert json.dumps(signed[1][EMAIL]).strip('"') not in page


def test_a_notification_of_purposes_is_downloadable_too(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    ref = ref_of(file(member_client, "notification"))
    complete(rt, ref)
    report = member_client.get(f"{LIST}/{ref}/report?lang=en")
    assert report.status_code == 200
    assert report.headers["content-disposition"].endswith(f'"notification-{ref}.html"')
    assert signed[1][EMAIL] not in report.text  # purposes only, no values


def test_a_finished_request_that_is_no_disclosure_has_no_report(
    rt: Runtime, member_client: TestClient, signed: Member
) -> None:
    ref = ref_of(file(member_client, "cessation_of_use", scope="some", purpose=["personalization"]))
    page = member_client.get(f"{LIST}/{ref}?lang=en").text
    assert "Purposes" in page and 'id="report-download"' not in page
    assert member_client.get(f"{LIST}/{ref}/report").status_code == 409
