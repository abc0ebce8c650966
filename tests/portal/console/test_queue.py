"""The request queue: what the actor may work, overdue first, filters by code only."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from mamori.dsr import workflow
from mamori.policy.schemas import RequestKind
from mamori.runtime import Runtime
from tests.auth.support import entries
from tests.conftest import actor
from tests.portal.console.conftest import new_request, sign_in_staff


def test_not_signed_in_goes_to_the_sign_in_page(console_client: TestClient) -> None:
    answer = console_client.get("/console", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/signin"


def test_overdue_first_with_dates_in_the_company_calendar(
    staff_client: TestClient, rt: Runtime
) -> None:
    fresh, _s, values = new_request(rt)
    late, _s2, _v = new_request(rt, RequestKind.ERASURE, received_at=rt.now() - timedelta(days=40))
    page = staff_client.get("/console?lang=en")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = page.text
    assert text.index(late) < text.index(fresh)
    assert f'href="/console/requests/{fresh}"' in text
    assert "Overdue" in text and 'class="overdue-mark"' in text
    # Received Monday 30 November 10:00 in Tokyo; ten business days: Monday 14 December.
    assert "2026-11-30" in text and "2026-12-14" in text
    assert all(v not in text for v in values.values())
    japanese = staff_client.get("/console?lang=ja").text
    assert "2026年12月14日" in japanese and "期限超過" in japanese


def test_filters_narrow_by_kind_state_mine_and_overdue(
    staff_client: TestClient, rt: Runtime
) -> None:
    disclosure, _s, _v = new_request(rt)
    erasure, _s2, _v2 = new_request(
        rt, RequestKind.ERASURE, received_at=rt.now() - timedelta(days=40)
    )
    with rt.db.transaction() as tx:
        workflow.assign(tx, rt, actor=actor("officer"), ref=disclosure, to="officer")
    by_kind = staff_client.get("/console?kind=erasure").text
    assert erasure in by_kind and disclosure not in by_kind
    overdue = staff_client.get("/console?overdue=1").text
    assert erasure in overdue and disclosure not in overdue
    mine = staff_client.get("/console?mine=1").text
    assert disclosure in mine and erasure not in mine
    assert disclosure not in staff_client.get("/console?state=in_progress").text


def test_a_filter_value_not_ours_is_named_next_to_its_field(staff_client: TestClient) -> None:
    answer = staff_client.get("/console?kind=everything&state=completed&lang=en")
    assert answer.status_code == 422
    assert 'aria-describedby="kind-error"' in answer.text and 'id="state-error"' in answer.text
    assert "Choose a kind from the list." in answer.text


def test_a_role_that_works_no_kind_sees_why_the_queue_is_empty(
    console_client: TestClient, rt: Runtime
) -> None:
    ref, _s, _v = new_request(rt)
    sign_in_staff(console_client, "sales")
    page = console_client.get("/console?lang=en")
    assert page.status_code == 200 and 'id="queue-none"' in page.text and ref not in page.text
    assert "may not work any kind of request" in page.text
    assert "請求も扱えない" in console_client.get("/console?lang=ja").text
    last = entries(rt, "dsr.*")[-1]
    assert (last["actor"], last["outcome"], last["rule"]) == (
        "sales",
        "denied",
        "role_not_permitted",
    )


def test_support_sees_only_the_kinds_it_works(console_client: TestClient, rt: Runtime) -> None:
    disclosure, _s, _v = new_request(rt)
    sign_in_staff(console_client, "support")
    page = console_client.get("/console?lang=en")
    assert page.status_code == 200 and disclosure not in page.text
    assert 'value="inquiry"' in page.text and 'value="disclosure"' not in page.text
